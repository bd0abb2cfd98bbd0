"""What the command line prints during and after a search: the Pareto table, progress bar, event log."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult, outcome_counts, pareto_front
from nas_workbench.engine.relative import device_phrase
from nas_workbench.engine.result_display import results_text
from nas_workbench.engine.verified_view import verified_sentence
from nas_workbench.metrics import COUNTED_METRICS, limit_text

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig
    from nas_workbench.engine.relative import ResolvedBudget
    from nas_workbench.engine.study_record import StudyRecord

__all__ = ["JsonlLog", "Progress", "budget_lines", "budget_text", "format_pareto_table"]

#: How a search obtains a device-dependent metric on this machine, by ``profiling_method``.
_METHOD_WORD = {"measured": "measured", "proxy": "estimated"}


def format_pareto_table(
    results: list[TrialResult],
    objectives: Sequence[str],
    directions: Sequence[str],
    budget: Mapping[str, float | str],
    record: StudyRecord | None = None,
) -> str:
    """The Pareto front as a text table: accuracy against measured hardware figures, budget marks; after a
    verification of the finalists on the target device (``record``'s verdicts), which trials the device
    measured within and over the budget: a trial measured over leaves the front, and the table alone
    would not say why (`verified_view.verified_sentence`, the sentence the widget shows)."""
    front = pareto_front(results, directions)
    lines = [results_text(front, status=False)]
    counts = outcome_counts(results)
    trained = f"{counts['trained']} trained" + (
        f", {counts['estimated']} supernet epochs (accuracy estimated)" if counts["estimated"] else ""
    )
    limits = budget_text(budget)
    lines.append(
        f"{len(front)} on the Pareto front of {len(results)} trials ({trained}, "
        f"{counts['infeasible']} over budget and not trained, {counts['pruned']} pruned, "
        f"{counts['failed']} failed); budget: {limits}"
    )
    verified = verified_sentence(record, results)
    if verified:
        lines.append(verified)
    return "\n".join(lines)


class Progress:
    """A tqdm progress bar fed by engine events: trials done, best feasible score so far, ETA."""

    def __init__(
        self, total: int, objective: str, maximize: bool, earlier: Iterable[TrialResult] = ()
    ) -> None:
        """``earlier``: the trials a resumed study already holds, counted in the best score and the
        over-budget count from the start (the bar's position comes with the run's first event)."""
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="trial", dynamic_ncols=True, file=sys.stderr)
        self.objective, self.maximize = objective, maximize
        self.best: float | None = None
        self.counts = {"ok": 0, "infeasible": 0, "pruned": 0, "failed": 0}
        for result in earlier:
            self._count(result.status, result.metrics)
        if any(self.counts.values()):
            self.bar.set_postfix_str(self._postfix())

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.bar.update(event.trials_before)
        elif isinstance(event, ev.TrialFinished):
            self._count(event.status, event.metrics)
            self.bar.set_postfix_str(self._postfix())
            self.bar.update(1)
        elif isinstance(event, ev.RunFinished):
            self.bar.close()

    def _count(self, status: str, metrics: Mapping[str, Mapping[str, Any]]) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        score = metrics.get(self.objective, {}).get("value")
        if status == "ok" and score is not None:
            better = max if self.maximize else min
            self.best = score if self.best is None else better(self.best, score)

    def _postfix(self) -> str:
        best = "-" if self.best is None else f"{self.best:.4f}"
        return f"best {self.objective} {best}, over budget {self.counts['infeasible']}"


class JsonlLog:
    """Appends every event as one JSON line (the search's log)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a", encoding="utf-8")

    def __call__(self, event: ev.Event) -> None:
        self.file.write(json.dumps(event.to_dict(), default=str) + "\n")
        self.file.flush()
        if isinstance(event, ev.RunFinished):
            self.file.close()


def budget_text(budget: Mapping[str, float | str]) -> str:
    """``"latency_ms <= 0.567 ms, params <= 150k parameters"`` (a relative limit as given), or "none"."""
    return (
        ", ".join(f"{m} <= {v if isinstance(v, str) else limit_text(m, v)}" for m, v in budget.items())
        or "none"
    )


def budget_lines(
    config: SearchConfig, resolved: Mapping[str, ResolvedBudget], verbose: bool = False
) -> list[str]:
    """What ``run`` says about the budget of ``config`` (its limits absolute, ``resolved``: the relative
    ones as given and resolved), one short line per limit, so that a terminal of 100 columns does not
    wrap it: the limit, the device it is judged on, and whether measured, estimated, predicted or counted
    there, e.g. ``"Budget: latency_ms <= 0.421 ms (p50 on this CPU, measured)"`` or ``"Budget: latency_ms
    <= 8 ms (on pixel3, predicted)"``. With ``verbose``, how a relative limit was resolved (its sample
    and interval, or its reference architecture) follows on an indented line. ``["Budget: none"]``
    without limits."""
    lines = []
    for metric, limit in config.budget.items():
        if metric in COUNTED_METRICS:
            where = "counted"
        elif metric == "latency_ms" and config.target_device:
            where = f"on {config.target_device}, predicted"
        else:
            where = (
                f"on {device_phrase(config.device)}, {_METHOD_WORD.get(config.profiling_method, 'measured')}"
            )
        given = resolved.get(metric)
        how = where if given is None else f"{given.spec} {where}"
        lines.append(f"Budget: {metric} <= {limit_text(metric, float(limit))} ({how})")
        if verbose and given is not None:
            lines.append(f"  {given.spec}: {given.detail}")
    return lines or ["Budget: none"]
