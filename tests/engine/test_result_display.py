"""What a notebook cell or a terminal shows for a run and its trials: one line a trial, a table for a list,
the run's settings and progress in one line."""

from __future__ import annotations

import nas_workbench as nw
from nas_workbench.engine.records import TrialResult, TrialResults
from nas_workbench.testing.workers import TINY_CHAIN


def _trial(number: int, status: str, params: float, reason: str | None = None) -> TrialResult:
    metrics = {
        "params": {"value": params, "unit": "count", "method": "counted", "source": "nn.Module.parameters"},
        "latency_ms": {
            "value": 0.25 + number,
            "unit": "ms",
            "method": "measured",
            "source": "cpu thread time",
            "detail": {"stable": number != 1, "unstable_reason": "halves disagree by 9%"},
        },
    }
    if status == "ok":
        metrics["accuracy"] = {"value": 0.9, "unit": "fraction", "method": "measured", "source": "trainer"}
    ok = status == "ok"
    return TrialResult(
        number=number, status=status, spec={}, arch=f"a{number}", summary=f"arch {number}", metrics=metrics,
        values=(0.9, params) if ok else None, feasible=ok, reason=reason, duration_s=1.0,
        datetime_complete=1.0, intermediate={}, worker="w",
    )  # fmt: skip


def test_a_trial_reads_as_one_line_with_its_figures_and_how_each_was_obtained():
    assert repr(_trial(0, "ok", 514)) == (
        "TrialResult(#0 ok: accuracy 0.9, latency_ms 0.25 (measured), params 514, arch arch 0)"
    )
    over = repr(_trial(1, "infeasible", 2_450_000, reason="over budget: params 2.45M > 1M"))
    assert over == (
        "TrialResult(#1 infeasible: latency_ms 1.25 (measured, unstable), params 2.45M, "
        "reason 'over budget: params 2.45M > 1M', arch arch 1)"
    )


def test_a_list_of_trials_shows_as_a_table_in_a_notebook():
    results = TrialResults(
        [_trial(0, "ok", 24_514), _trial(1, "infeasible", 2_450_000, reason="over <budget>")]
    )
    page = results._repr_html_()
    assert page.count("<tr>") == 3  # the header and one row a trial
    for cell in ("<th ", ">latency ms (measured)</th>", ">24.5k</td>", ">OVER</td>"):
        assert cell in page
    status, architecture = page.index(">status</th>"), page.index(">architecture</th>")
    assert status < architecture and page.count('style="text-align:left"') == 3  # last column: header, 2 rows
    assert "1.25 (unstable)" in page and "infeasible: over &lt;budget&gt;" in page  # escaped
    assert TrialResults()._repr_html_() == "<p>No trials.</p>"
    assert isinstance(results[-1:], TrialResults) and results[-1:][0] is results[1]  # a slice shows so too


def test_a_list_of_trials_prints_as_a_text_table_in_a_terminal():
    results = TrialResults([_trial(0, "ok", 24_514), _trial(1, "infeasible", 2_450_000, reason="over")])
    header, rule, first, second = str(results).splitlines()
    assert header.split()[:4] == ["trial", "budget", "val", "acc"] and header.split()[-2:] == [
        "status",
        "architecture",
    ]
    assert set(rule) == {"-", " "} and len(rule) == len(header)
    assert first.split()[:3] == ["0", "ok", "0.9"] and "24.5k" in first
    assert second.split()[:2] == ["1", "OVER"] and second.rstrip().endswith("infeasible: over  arch 1")
    assert str(TrialResults()).splitlines()[1].startswith("-----")  # no trials: the header alone
    assert repr(results).startswith("[TrialResult(#0 ok")  # repr stays the list's


def test_a_run_shows_its_study_strategy_progress_budget_and_front(storage, tiny_task):
    config = nw.SearchConfig(
        space="chain", space_options={**TINY_CHAIN, "max_depth": 2}, strategy="auto",
        objectives=["accuracy", "params"], budget={"params": 5000}, n_trials=2, storage=storage,
        study_name="shown", profile_metrics=["params", "flops", "macs"],
    )  # fmt: skip
    run = nw.search(config, data=tiny_task, evaluate=lambda spec, model: {"accuracy": 0.5})
    assert repr(run) == (
        f"SearchRun('shown': {run.config.strategy} (auto) on chain, 0 of 2 trials, "
        f"budget params <= 5,000 parameters, {storage})"
    )
    run.run()
    assert "2 of 2 trials" in repr(run)
    front = run.pareto()
    assert isinstance(front, TrialResults) and isinstance(run.results(), TrialResults)
    page = run._repr_html_()
    assert page.startswith("<p>SearchRun(&#x27;shown&#x27;") and page.count("<tr>") == len(front) + 1
