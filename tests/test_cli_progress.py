"""The terminal's progress bar: a resumed search starts from what the study already holds, and a warning
prints above it."""

from __future__ import annotations

import re

from nas_workbench.cli import _show_warning
from nas_workbench.cli._output import Progress
from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult


def stored(number: int, status: str, accuracy: float | None = None) -> TrialResult:
    metrics = {} if accuracy is None else {"accuracy": {"value": accuracy, "unit": "fraction"}}
    return TrialResult(number, status, {}, "", "", metrics, None, status == "ok", None, None, None, {}, None)


def test_a_resumed_search_shows_the_best_score_and_over_budget_count_it_already_holds():
    earlier = [stored(0, "ok", 0.9639), stored(1, "infeasible"), stored(2, "ok", 0.91)]
    progress = Progress(5, "accuracy", maximize=True, earlier=earlier)
    assert progress.bar.postfix == "best accuracy 0.9639, over budget 1"
    progress(ev.TrialFinished("study", 3, "infeasible", None, {}, {}, "", "", "over budget", 1.0, "vm:1"))
    assert progress.bar.postfix == "best accuracy 0.9639, over budget 2"
    progress.bar.close()


def test_the_budget_is_printed_with_units_not_as_a_dict():
    """The command line printed "budget {'latency_ms': 0.5672579999895788, 'peak_memory_mb': 0.3}"."""
    from nas_workbench.cli._output import budget_text

    assert budget_text({"latency_ms": 0.5672579999895788, "peak_memory_mb": 0.3, "params": 150_000}) == (
        "latency_ms <= 0.567 ms, peak_memory_mb <= 0.3 MB, params <= 150k parameters"
    )
    assert budget_text({"latency_ms": "p30"}) == "latency_ms <= p30" and budget_text({}) == "none"


def test_a_warning_prints_on_a_line_of_its_own_above_the_progress_bar(capsys):
    """It was glued to the bar's line: "...?trial/s]warning: target_device ..." (run --target-device)."""
    progress = Progress(3, "accuracy", maximize=True)
    progress.bar.refresh()  # drawn on stderr, without a newline
    _show_warning(UserWarning("target_device 'phone' was measured at another input"), UserWarning)
    progress.bar.close()
    lines = re.split(r"[\r\n]", capsys.readouterr().err)
    (shown,) = [line for line in lines if "target_device" in line]
    assert shown == "warning: target_device 'phone' was measured at another input", shown
