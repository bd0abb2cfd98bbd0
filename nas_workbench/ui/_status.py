"""The progress line under the Start button (trials done, time left, the best result so far), and the
status line's text while the workbench follows a study."""

from __future__ import annotations

from nas_workbench.viz import TrialTable, metric_axis_label

__all__ = ["FOLLOWING", "best_text", "eta_seconds", "format_duration", "progress_text"]

#: The status line while the workbench follows a study it does not run: trials other processes finish
#: appear (a stopped study may be resumed elsewhere); cleared once the study is complete.
FOLLOWING = (
    "Following this study: trials other processes finish appear here (read again after each change, at "
    "most every 30 s when idle)."
)


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def eta_seconds(done_in_run: int, elapsed_s: float, remaining: int) -> float | None:
    """Time left at this run's pace so far (None before its first trial ends)."""
    if done_in_run <= 0 or remaining < 0:
        return None
    return elapsed_s / done_in_run * remaining


def best_text(table: TrialTable) -> str:
    """``"best validation accuracy 0.9342 (trial 7)"``, or "" when no trial qualifies yet; a supernet's
    estimate (a gradient-based search's epoch, no network trained) says so, as it is no trained score."""
    if not table.improvements:
        return ""
    row = table.improvements[-1]
    metric, result = table.objectives[0], table.results[row]
    value = table.columns["best_so_far"][row]
    estimated = ", the supernet's estimate" if metric == "accuracy" and result.estimated_accuracy else ""
    return f"best {metric_axis_label(metric).lower()} {value:.4g} (trial {result.number}{estimated})"


def progress_text(done: int, total: int, eta_s: float | None, best: str) -> str:
    """``"12 / 30 trials · about 1 min 20 s left · best ..."`` (no time left when ``eta_s`` is None)."""
    parts = [f"{done:,} / {total:,} trials"]
    if done < total and eta_s is not None:
        parts.append(f"about {format_duration(eta_s)} left")
    if best:
        parts.append(best)
    return " · ".join(parts)
