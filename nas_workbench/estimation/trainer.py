"""A compact trainer for candidate networks: the low-fidelity training of performance estimation.

AdamW with a one-cycle learning-rate schedule (a short warm-up, then cosine annealing) for
``fidelity.epochs`` epochs on a fraction of the training split; after each epoch the BatchNorm statistics
are re-estimated and the validation accuracy goes to ``on_epoch``, which may stop the run early (an Optuna
pruner's verdict). The test split is evaluated once, at the end, and only reported.

Made to learn from little data in few epochs (issue 14.11: two epochs on 600 images stayed at chance):
the batch shrinks so that an epoch takes at least `MIN_STEPS` steps, the warm-up keeps the first steps of
a fresh network stable at a high peak rate, and exact BatchNorm statistics make an early evaluation
measure what the weights learned. ``benchmarks/estimation/low_fidelity.py`` measures the effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from nas_workbench.config import Fidelity
from nas_workbench.task import Task

__all__ = ["TrainResult", "evaluate_accuracy", "prepare_inputs", "train"]

#: Called after each epoch with (epoch starting at 1, validation accuracy); returns True to stop.
EpochCallback = Callable[[int, float], bool]

#: Fewest optimizer steps an epoch should take; the batch shrinks for small training sets to reach it.
MIN_STEPS = 20
#: Smallest batch the trainer shrinks to (BatchNorm needs a few examples per batch).
MIN_BATCH = 16
#: Fraction of the steps spent warming the learning rate up (one-cycle), the rest annealing it.
WARMUP = 0.15
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@dataclass(frozen=True)
class TrainResult:
    """The outcome of training one network.

    Attributes:
        accuracy: Validation accuracy after the last epoch run (what the search optimises).
        test_accuracy: Test accuracy after the last epoch run (reported, never optimised).
        epochs: Epochs actually run (fewer than asked when stopped early).
        stopped_early: Whether ``on_epoch`` stopped training.
        history: Validation accuracy per epoch.
        seconds: Wall time of training and evaluation.
    """

    accuracy: float
    test_accuracy: float
    epochs: int
    stopped_early: bool
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def prepare_inputs(x: torch.Tensor, fidelity: Fidelity) -> torch.Tensor:
    """Apply the fidelity's input resolution (bilinear resize) to a batch of images."""
    if fidelity.resolution is None or x.shape[-1] == fidelity.resolution == x.shape[-2]:
        return x
    return F.interpolate(
        x, size=(fidelity.resolution, fidelity.resolution), mode="bilinear", align_corners=False
    )


@torch.no_grad()
def evaluate_accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512, device: str = "cpu"
) -> float:
    """Top-1 accuracy of ``model`` on (x, y), in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(y), batch_size):
        logits = model(x[start : start + batch_size].to(device))
        correct += int((logits.argmax(dim=1).cpu() == y[start : start + batch_size]).sum())
    return correct / max(len(y), 1)


def batch_size_for(examples: int, batch_size: int) -> int:
    """The batch size to train on ``examples`` with: ``batch_size``, smaller when that would leave fewer
    than `MIN_STEPS` steps an epoch (a few hundred examples at 64 a batch are 6 steps: two epochs of
    those learn nothing), never below `MIN_BATCH`."""
    return max(min(batch_size, examples // MIN_STEPS), min(MIN_BATCH, batch_size, examples), 1)


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, x: torch.Tensor, batch_size: int, device: str = "cpu") -> None:
    """Re-estimate every BatchNorm layer's running statistics on ``x`` with the current weights.

    After a few dozen steps the running averages (momentum 0.1) still mix in their initial values and
    the statistics of weights long gone, so a network evaluated on them scores near chance although it
    has learned; one pass over the training inputs, averaged exactly (momentum None), fixes that for a
    fraction of an epoch's cost.
    """
    norms = [m for m in model.modules() if isinstance(m, _BATCH_NORMS) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the pass
    model.train()
    for start in range(0, len(x), batch_size):
        model(x[start : start + batch_size].to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum


def train(
    model: nn.Module,
    task: Task,
    fidelity: Fidelity,
    seed: int = 0,
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train ``model`` on ``task`` at ``fidelity`` and return its validation and test accuracy.

    ``on_epoch`` sees every epoch's validation accuracy (the last one too, so a pruner's record is
    complete); a True answer stops training before the next epoch.

    Raises:
        FloatingPointError: The loss became NaN or infinite (the engine records the trial as failed).
    """
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = task.x_train, task.y_train
    if fidelity.subset < 1.0:
        keep = torch.randperm(len(y_train), generator=generator)[
            : max(1, round(fidelity.subset * len(y_train)))
        ]
        x_train, y_train = x_train[keep], y_train[keep]
    x_train = prepare_inputs(x_train, fidelity)
    x_valid, x_test = prepare_inputs(task.x_valid, fidelity), prepare_inputs(task.x_test, fidelity)

    model.to(device)
    batch_size = batch_size_for(len(y_train), fidelity.batch_size)
    steps_per_epoch = -(-len(y_train) // batch_size)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=fidelity.learning_rate, weight_decay=fidelity.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=fidelity.learning_rate, total_steps=fidelity.epochs * steps_per_epoch,
        pct_start=WARMUP, anneal_strategy="cos",
    )  # fmt: skip
    history: list[float] = []
    stopped = False
    for epoch in range(1, fidelity.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(x_train[batch].to(device)), y_train[batch].to(device))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        recalibrate_batch_norm(model, x_train, batch_size, device)
        history.append(evaluate_accuracy(model, x_valid, task.y_valid, device=device))
        if on_epoch is not None and on_epoch(epoch, history[-1]) and epoch < fidelity.epochs:
            stopped = True
            break
    test_accuracy = evaluate_accuracy(model, x_test, task.y_test, device=device)
    return TrainResult(
        accuracy=history[-1],
        test_accuracy=test_accuracy,
        epochs=len(history),
        stopped_early=stopped,
        history=history,
        seconds=time.perf_counter() - started,
    )
