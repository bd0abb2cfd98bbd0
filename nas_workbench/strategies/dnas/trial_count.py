"""How a "dnas" search counts its trials, said to the user before and after the run.

A study's ``n_trials`` is what every strategy runs; a differentiable search spends it as one trial per
supernet epoch (the derived architecture, its accuracy a weight-sharing estimate) and one per
architecture retrained from scratch at the end (`trial_plan`). The landing may retrain fewer than planned
(with a cost target, only the architectures measured within it), and the search is complete once they
are trained: a finished study may then hold fewer trials than ``n_trials`` ("4 of 6") and is not a
stopped one. Within the retraining budget the best retrained architecture is trained again with new seeds
(or the next likeliest architectures are trained, ``retrain_distinct``)
(`retraining`), so a finished study may also hold more ("7 where 6 were planned"). This module needs
neither torch nor widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.dnas.options import MAX_REPEATS, DnasOptions

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig

__all__ = ["check_retrain_top", "most_retrained", "outcome_text", "plan_text", "run_plan_text", "trial_plan"]


def most_retrained(n_trials: int) -> int:
    """The most architectures a search of ``n_trials`` trials retrains: half its trials (at least one), so
    that at least as many trials search as retrain."""
    return max(1, n_trials // 2)


def trial_plan(n_trials: int, options: DnasOptions) -> tuple[int, int]:
    """Search epochs and architectures to retrain for ``n_trials`` trials left: ``retrain_top`` retrained
    (at most `most_retrained`; none without ``retrain``), the rest epochs (at least one)."""
    retrains = min(options.retrain_top, most_retrained(n_trials)) if options.retrain else 0
    return max(1, n_trials - retrains), retrains


def check_retrain_top(config: SearchConfig) -> None:
    """Refuse a ``retrain_top`` the config gives that ``n_trials`` cannot hold (`most_retrained`): the
    plan would retrain fewer and search longer than asked. The default (4) is capped instead, and the
    plan says so (`plan_text`). Raises `ConfigError` naming the option, its value and what is allowed."""
    given = config.strategy_options.get("retrain_top")
    retrain = config.strategy_options.get("retrain", True)
    if retrain is not True or not isinstance(given, int) or isinstance(given, bool):
        return  # no retraining, or a bad value the options' own check names
    allowed = most_retrained(config.n_trials)
    if given > allowed:
        raise ConfigError(
            "strategy_options.retrain_top",
            given,
            f"at most {allowed}, half of n_trials={config.n_trials} (each retrained architecture is a "
            f"trial, and at least as many trials search): lower retrain_top, or raise n_trials to at "
            f"least {2 * given}",
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def plan_text(n_trials: int, options: DnasOptions) -> str:
    """What a dnas search of ``n_trials`` trials will run, in one sentence (before it starts)."""
    epochs, retrains = trial_plan(n_trials, options)
    capped = (
        f"retrain_top {options.retrain_top} capped at half the trials; "
        if options.retrain and retrains < options.retrain_top
        else ""
    )
    retrained = (
        f", then up to {_plural(retrains, 'architecture')} retrained from scratch ({capped}fewer when the "
        "landing finds fewer within a cost target); the search is complete when they are"
        if retrains
        else ", no retraining (retrain off)"
    )
    if retrains and options.retrain_budget > 0:
        more = (
            "the next likeliest architectures are trained too"
            if options.retrain_distinct
            else "the best of them is trained again with new seeds"
        )
        retrained += (
            f", and {more}, up to {MAX_REPEATS} more trials, while the retraining takes at most "
            f"{options.retrain_budget:g}x the search's time (retrain_budget)"
        )
    return (
        "dnas counts a trial per supernet search epoch and per retrained architecture: "
        f"{n_trials} trials are {_plural(epochs, 'search epoch')}{retrained}."
    )


def outcome_text(counts: Mapping[str, int], n_trials: int) -> str:
    """What a finished dnas search ran, from `nas_workbench.engine.records.outcome_counts` of its trials
    ("epochs": its epochs, whatever their status; the rest: retrained), against the ``n_trials`` planned."""
    epochs = counts.get("epochs", 0)
    retrained = sum(counts.get(s, 0) for s in ("ok", "infeasible", "pruned", "failed")) - epochs
    done = epochs + retrained
    text = f"{_plural(epochs, 'search epoch')} and {_plural(retrained, 'retrained architecture')}"
    if done > n_trials:
        text += (
            f", {done} trials where {n_trials} were planned: the best retrained architecture was trained "
            "again with new seeds, or the next likeliest ones were trained, within the retraining budget "
            "(retrain_budget)"
        )
    elif done < n_trials:
        text += (
            f", {done} of the {n_trials} trials planned: the search ends once its retrained architectures "
            "are trained (with a cost target, only those that landed within it)"
        )
    return text


def run_plan_text(config: SearchConfig, trials_done: int = 0) -> str | None:
    """`plan_text` for the trials a "dnas" run of ``config`` (its strategy resolved) has left after
    ``trials_done``; None for another strategy or when none are left."""
    left = config.n_trials - trials_done
    if config.strategy != "dnas" or left <= 0:
        return None
    return plan_text(left, DnasOptions.from_config(config))
