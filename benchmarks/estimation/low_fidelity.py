"""Does a short training rank architectures? The low-fidelity trainer on a small task, in one run.

A user's first search is often a few epochs on a few hundred images (issue 14.11: ``Fidelity(epochs=2)`` on
600 16x16 images stayed at chance). This benchmark makes such a task from scikit-learn's digits (600
images, upsampled to 16x16, shifted by up to 2 pixels, with noise: no download) and trains the same
architectures of the "chain" space with two recipes:

- ``library``: `nas_workbench.estimation.train`, as every search trains;
- ``plain``: the recipe the trainer used before (AdamW at the fidelity's batch size, a cosine schedule from
  the first step, BatchNorm statistics as training left them), kept here as the baseline.

For each recipe it reports the mean validation accuracy at the short fidelity and at the long one, and the
Spearman rank correlation between the two over the architectures (does the short fidelity rank them as the
long one does?). A hand-tuned small CNN (three conv-BN-ReLU blocks, AdamW 3e-3, one-cycle, batch 32,
40 epochs) gives the accuracy the task allows; the table says how many epochs each recipe needs to bring
the same small CNN to 90% of it.

    python benchmarks/estimation/low_fidelity.py --archs 10 --short 2 --long 10 \\
        --json benchmarks/results/low_fidelity.json
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

import nas_workbench as nw
from nas_workbench.estimation.trainer import evaluate_accuracy, train

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

Recipe = Callable[[nn.Module, nw.Task, nw.Fidelity, int], float]


def small_task(n: int = 600, side: int = 16, seed: int = 0) -> nw.Task:
    """``n`` digits upsampled to ``side`` x ``side``, shifted by up to 2 pixels, with Gaussian noise."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(digits.target), size=n, replace=False)
    x = torch.tensor(digits.images[pick], dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False).numpy()
    shifted = np.zeros_like(x)
    for i, (dy, dx) in enumerate(rng.integers(-2, 3, size=(n, 2))):
        shifted[i] = np.roll(x[i], (int(dy), int(dx)), axis=(1, 2))
    noisy = shifted + rng.normal(scale=0.3, size=shifted.shape).astype(np.float32)
    return nw.make_task(noisy, digits.target[pick], name="digits600-16px", seed=seed)


def library(model: nn.Module, task: nw.Task, fidelity: nw.Fidelity, seed: int) -> float:
    return train(model, task, fidelity, seed=seed).accuracy


def plain(model: nn.Module, task: nw.Task, fidelity: nw.Fidelity, seed: int) -> float:
    """The trainer's recipe before issue 14.11, as the baseline: AdamW, cosine schedule."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=fidelity.learning_rate, weight_decay=fidelity.weight_decay
    )
    steps = fidelity.epochs * -(-len(task.y_train) // fidelity.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return _fit(model, task, optimizer, schedule, fidelity.epochs, fidelity.batch_size, seed)


def _fit(
    model: nn.Module,
    task: nw.Task,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    epochs: int,
    batch_size: int,
    seed: int,
) -> float:
    """Train ``model`` for ``epochs`` on shuffled batches (shuffled from ``seed``), stepping ``schedule``
    every batch; its validation accuracy."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(task.y_train), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(task.x_train[batch]), task.y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return evaluate_accuracy(model, task.x_valid, task.y_valid)


def small_cnn(task: nw.Task) -> nn.Module:
    channels = task.input_shape[0]
    layers: list[nn.Module] = []
    for width in (16, 32, 64):
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        channels = width
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, task.num_classes)
    )


def tuned_baseline(task: nw.Task, epochs: int, seed: int) -> float:
    """The small CNN, hand-tuned: AdamW 3e-3, one-cycle, batch 32, ``epochs`` epochs."""
    torch.manual_seed(seed)
    model = small_cnn(task)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * -(-len(task.y_train) // 32)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    return _fit(model, task, optimizer, schedule, epochs, 32, seed)


def epochs_to_reach(recipe: Recipe, task: nw.Task, target: float, seed: int, most: int) -> int | None:
    """The fewest epochs (1, 2, 3, 4, 6, 8, ...) at which ``recipe`` trains the small CNN to ``target``."""
    for epochs in [1, 2, 3, 4, *range(6, most + 1, 2)]:
        torch.manual_seed(seed)
        if recipe(small_cnn(task), task, nw.Fidelity(epochs=epochs), seed) >= target:
            return epochs
    return None


def architectures(space: nw.spaces.SearchSpace, n: int, seed: int) -> list[nw.ArchSpec]:
    """``n`` distinct random architectures of ``space``."""
    specs: dict[str, nw.ArchSpec] = {}
    draw = seed
    while len(specs) < n:
        spec = space.random(draw)
        specs.setdefault(spec.id, spec)
        draw += 1
    return list(specs.values())


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--short", type=int, default=2, help="epochs of the short fidelity")
    parser.add_argument("--long", type=int, default=10, help="epochs of the long fidelity")
    parser.add_argument("--learning-rate", type=float, default=nw.Fidelity().learning_rate)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = small_task(seed=args.seed)
    space = nw.spaces.get("chain")
    specs = architectures(space, args.archs, args.seed)
    recipes: dict[str, Recipe] = {"plain": plain, "library": library}

    def fidelity(epochs: int) -> nw.Fidelity:
        return nw.Fidelity(epochs=epochs, learning_rate=args.learning_rate)

    accuracies: dict[str, dict[int, list[float]]] = {
        name: {args.short: [], args.long: []} for name in recipes
    }
    seconds: dict[str, float] = dict.fromkeys(recipes, 0.0)
    for spec in specs:
        for name, recipe in recipes.items():
            for epochs in (args.short, args.long):
                torch.manual_seed(args.seed)
                model = space.build(spec, input_shape=task.input_shape, num_classes=task.num_classes)
                started = time.perf_counter()
                accuracies[name][epochs].append(recipe(model, task, fidelity(epochs), args.seed))
                seconds[name] += time.perf_counter() - started
    ceiling = tuned_baseline(task, 40, args.seed)
    target = 0.9 * ceiling
    reach = {name: epochs_to_reach(recipe, task, target, args.seed, 40) for name, recipe in recipes.items()}

    print(
        f"task {task.name}: {len(task.y_train)} train / {len(task.y_valid)} valid, {task.input_shape}, "
        f"{task.num_classes} classes; {len(specs)} chain architectures; torch threads {args.threads}"
    )
    print(f"tuned small CNN, 40 epochs: {ceiling:.3f} validation accuracy (target: 90% of it, {target:.3f})")
    header = (
        f"{'recipe':8} {f'acc@{args.short}':>9} {f'acc@{args.long}':>9} {'spearman':>9} "
        f"{'CNN epochs to target':>21} {'train s':>8}"
    )
    print(header)
    rows = {}
    for name in recipes:
        short, long = accuracies[name][args.short], accuracies[name][args.long]
        rho = float(spearmanr(short, long).statistic)
        rows[name] = {
            "short_mean": statistics.fmean(short),
            "long_mean": statistics.fmean(long),
            "spearman": rho,
            "epochs_to_target": reach[name],
            "train_seconds": seconds[name],
            "short": short,
            "long": long,
        }
        print(
            f"{name:8} {rows[name]['short_mean']:9.3f} {rows[name]['long_mean']:9.3f} {rho:9.2f} "
            f"{reach[name] if reach[name] is not None else '>40':>21} {seconds[name]:8.1f}"
        )
    _report.write_json(
        args.json,
        {
            "args": vars(args) | {"json": str(args.json)},
            "ceiling": ceiling,
            "target": target,
            "recipes": rows,
            "archs": [space.format(s) for s in specs],
        },
    )


if __name__ == "__main__":
    main()
