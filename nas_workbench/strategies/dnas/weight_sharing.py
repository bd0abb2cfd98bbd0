"""The weight-sharing estimate of a "dnas" search's trials: an epoch's derived architecture scored with the
supernet's weights (`nas_workbench.engine.pipeline.Scorer`).

A path taken out of a supernet carries running batch-norm statistics of the supernet's mixed features, not
of its own, so they are re-estimated on a few training batches before the validation accuracy is measured.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import torch
from torch import nn

from nas_workbench.engine.pipeline import Candidate, Scorer
from nas_workbench.engine.producers import RunContext
from nas_workbench.estimation.trainer import evaluate_accuracy
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.profiling import METRICS, Measurement
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas.supernet import Supernet

__all__ = [
    "BN_CALIBRATION_EXAMPLES",
    "WEIGHT_SHARING",
    "FineTuneScorer",
    "WeightSharingScorer",
    "recalibrate_batch_norm",
]

logger = logging.getLogger("nas_workbench")

#: Training examples that re-estimate batch-norm statistics before a weight-sharing evaluation.
BN_CALIBRATION_EXAMPLES = 512
#: Source label of weight-sharing accuracies.
WEIGHT_SHARING = "supernet (weight sharing)"


class WeightSharingScorer:
    """Scores an epoch's derived architecture with the supernet's weights (its one-hot path, extracted,
    batch-norm statistics re-estimated): cheap, so architectures over budget are scored too."""

    scores_infeasible = True

    def __init__(
        self,
        run: RunContext,
        supernet: Supernet,
        spec: ArchSpec,
        epoch: int,
        examples: torch.Tensor,
        valid: tuple[torch.Tensor, torch.Tensor],
        expected: dict[str, float],
    ) -> None:
        self.run, self.supernet, self.spec, self.epoch = run, supernet, spec, epoch
        self.examples, self.valid, self.expected = examples[:BN_CALIBRATION_EXAMPLES], valid, expected

    def score(self, candidate: Candidate) -> dict[str, Measurement]:
        run, trial, spec = self.run, candidate.trial, candidate.spec
        arch = run.space.format(spec)
        if spec != self.spec:
            raise NasWorkbenchError(
                f"trial {trial.number} took another enqueued architecture ({spec}); does another process "
                f"enqueue trials into study {run.study_name!r}?"
            )
        extracted = self.supernet.extract(spec)
        examples = self.examples
        recalibrate_batch_norm(extracted, examples, run.config.fidelity.batch_size)
        accuracy = evaluate_accuracy(extracted, *self.valid, device=run.config.device)
        detail = {
            "epoch": self.epoch,
            "split": "validation",
            "batch_norm": f"statistics re-estimated on {len(examples)} training examples",
        }
        logger.info(
            "dnas epoch %d: %s, weight-sharing accuracy %.4f, expected %s",
            self.epoch,
            arch,
            accuracy,
            ", ".join(f"{m} {v:.4g} {METRICS[m].unit}" for m, v in self.expected.items()) or "-",
        )
        return {"accuracy": Measurement(accuracy, "fraction", "estimated", WEIGHT_SHARING, detail)}


class FineTuneScorer:
    """Trains a final architecture from the supernet's weights (its path cut out, `Supernet.export_state`)
    instead of from scratch: the supernet has already trained those weights, so a few epochs of
    ``training`` (the engine's `TrainingScorer` at the fine-tuning epochs) replace a whole retraining."""

    scores_infeasible = False

    def __init__(self, training: Scorer, supernet: Supernet) -> None:
        self.training, self.supernet = training, supernet

    def score(self, candidate: Candidate) -> Mapping[str, Measurement]:
        candidate.model.load_state_dict(self.supernet.export_state(candidate.spec))
        return self.training.score(candidate)


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, x: torch.Tensor, batch_size: int) -> None:
    """Re-estimate ``model``'s batch-norm statistics on ``x``, then leave it in eval mode.

    A path taken out of a supernet carries running statistics of the supernet's mixed features, not of
    its own; a few batches in train mode with a cumulative average (``momentum=None``) replace them.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    for start in range(0, len(x), batch_size):
        model(x[start : start + batch_size])
    model.eval()
