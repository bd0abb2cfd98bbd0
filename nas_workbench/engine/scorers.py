"""The engine's own scorers (`nas_workbench.engine.pipeline.Scorer`): training, or the user's ``evaluate``.

A gradient-based strategy brings its own (a supernet's weight-sharing estimate, in
`nas_workbench.strategies.dnas.search`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import optuna
import torch

from nas_workbench.config import SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.deadline import TrialTimeoutError, within
from nas_workbench.engine.events import Emit
from nas_workbench.engine.pipeline import Candidate, score_measurement
from nas_workbench.engine.user_evaluate import checked_scores
from nas_workbench.profiling import Measurement, shared_by_caller, shared_use
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task
from nas_workbench.trial_attrs import record

__all__ = ["Evaluate", "EvaluateScorer", "TrainingScorer", "TrialTimeoutError"]

#: A user's evaluation: (spec, built model) → metrics, at least "accuracy" when it is an objective.
Evaluate = Callable[[ArchSpec, torch.nn.Module], Mapping[str, float]]

T = TypeVar("T")

_VALIDATION, _TEST, _USER = "trainer (validation split)", "trainer (test split)", "user evaluate()"


def _scored(limit: float | None, call: Callable[[], T], what: str) -> T:
    """``call()`` within ``limit`` seconds (`deadline.within`), other processes' measurements held off
    meanwhile (`shared_use`; released at the deadline even when ``call`` runs on, abandoned)."""

    def in_shared_use() -> T:
        with shared_by_caller():  # the scoring thread counts as inside this thread's shared use
            return call()

    with shared_use():
        return within(limit, in_shared_use, what)


class EvaluateScorer:
    """Scores with the user's ``evaluate(spec, model)``, within ``trial_timeout`` (`deadline.within`)."""

    scores_infeasible = False

    def __init__(self, evaluate: Evaluate, config: SearchConfig) -> None:
        self.evaluate, self.config = evaluate, config

    def score(self, candidate: Candidate) -> dict[str, Measurement]:
        spec, model = candidate.spec, candidate.model
        returned = _scored(self.config.trial_timeout, lambda: self.evaluate(spec, model), "evaluate")
        scores = checked_scores(returned, self.config.objectives)
        return {name: score_measurement(name, value, _USER) for name, value in scores.items()}


class TrainingScorer:
    """Trains the network at the configured fidelity on ``task``, reporting each epoch to the pruner.

    Args:
        config: The search's settings (fidelity, pruner, trial timeout, seed, device).
        task: The data.
        emit: Where each epoch's `TrialReported` event goes.
        study_name: Carried by the events.
    """

    scores_infeasible = False

    def __init__(self, config: SearchConfig, task: Task, emit: Emit, study_name: str) -> None:
        self.config, self.task, self.emit, self.study_name = config, task, emit, study_name

    def score(self, candidate: Candidate) -> dict[str, Measurement]:
        """Validation and test accuracy; a pruned trial keeps its hardware figures and last accuracy in
        ``metrics`` so plots can show it."""
        from nas_workbench.estimation.trainer import train

        trial, model = candidate.trial, candidate.model
        on_epoch = self._on_epoch(trial)  # an abandoned training stops at its next epoch's deadline check
        result = _scored(
            self.config.trial_timeout,
            lambda: train(
                model,
                self.task,
                self.config.fidelity,
                seed=self.config.seed * 1_000_003 + trial.number,
                device=self.config.device,
                on_epoch=on_epoch,
            ),
            "training",
        )
        if result.stopped_early:
            pruned_at = {
                **candidate.measurements,
                "accuracy": score_measurement("accuracy", result.accuracy, _VALIDATION),
            }
            record(
                trial,
                status="pruned",
                reason=f"stopped early at epoch {result.epochs} (accuracy {result.accuracy:.4f})",
                metrics={k: m.to_dict() for k, m in pruned_at.items()},
            )
            raise optuna.TrialPruned(f"pruned at epoch {result.epochs}")
        return {
            "accuracy": score_measurement("accuracy", result.accuracy, _VALIDATION),
            "test_accuracy": score_measurement("test_accuracy", result.test_accuracy, _TEST),
        }

    def _on_epoch(self, trial: optuna.Trial) -> Callable[[int, float], bool]:
        """Report each epoch, enforce the trial timeout, and ask the pruner whether to stop."""
        from nas_workbench.engine.pruning import make_pruner

        config = self.config
        pruner = make_pruner(config.pruner, **config.pruner_options)
        deadline = None if config.trial_timeout is None else time.monotonic() + config.trial_timeout

        def on_epoch(epoch: int, accuracy: float) -> bool:
            if deadline is not None and time.monotonic() > deadline:  # before reporting: it may be abandoned
                raise TrialTimeoutError(
                    f"training exceeded trial_timeout={config.trial_timeout:g} s at epoch {epoch}"
                )
            self.emit(ev.TrialReported(self.study_name, number=trial.number, epoch=epoch, accuracy=accuracy))
            return pruner is not None and pruner.report(trial, epoch, accuracy)

        return on_epoch
