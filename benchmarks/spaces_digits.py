"""How the spaces' default networks fare on scikit-learn's digits: cost spread, training time, accuracy.

For each space, builds the network of all first choices (the smallest), of all last choices (the largest)
and a few random ones, then reports parameters, MACs (torch.utils.flop_counter, multiply-add = 1), CPU
latency at batch 1, and training time (wall, and CPU time of this process, which a busy machine distorts
less) and accuracy with the workbench's trainer at its default fidelity.
The first-choice network is the baseline of the latency ratio.

    python benchmarks/spaces_digits.py --json spaces_digits.json
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import _report  # this folder is on the path when run as a script
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import nas_workbench as nw
from nas_workbench.config import Fidelity
from nas_workbench.estimation.trainer import train


class Extreme:
    """Answers every question with its first or last choice."""

    def __init__(self, last: bool) -> None:
        self.index = -1 if last else 0

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return list(choices)[self.index]


def latency_ms(model: nn.Module, input_shape: Sequence[int], repeats: int = 50) -> float:
    """Median wall time of a batch-1 forward pass, after warm-up."""
    x = torch.randn(1, *input_shape)
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(10):
            model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(torch.zeros(1, *input_shape))
    return counter.get_total_flops() // 2


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("--spaces", default="chain,multi_branch", help="comma-separated space names")
    parser.add_argument("--random", type=int, default=4, help="random networks per space")
    parser.add_argument("--epochs", type=int, default=Fidelity().epochs)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    task = nw.load_task("digits", seed=args.seed)
    fidelity = Fidelity(epochs=args.epochs)
    results = []
    print(
        f"digits: {len(task.y_train)} train / {len(task.y_valid)} valid images {task.input_shape}, "
        f"{args.epochs} epochs, {args.threads} thread(s)"
    )
    print(
        f"{'space':13} {'network':8} {'params':>8} {'MACs':>10} {'latency ms':>11} {'x first':>8} "
        f"{'train s':>8} {'cpu s':>6} {'valid':>6} {'test':>6}  summary"
    )
    for name in args.spaces.split(","):
        space = nw.spaces.get(name)
        specs = {"first": space.sample(Extreme(False)), "last": space.sample(Extreme(True))}
        specs.update({f"random{i}": space.random(args.seed + i) for i in range(args.random)})
        baseline = None
        for label, spec in specs.items():
            torch.manual_seed(args.seed)
            model = space.build(spec, task.input_shape, task.num_classes)
            row = {
                "space": name,
                "network": label,
                "summary": space.summary(spec),
                "params": sum(p.numel() for p in model.parameters()),
                "macs": macs(model, task.input_shape),
                "latency_ms": latency_ms(model, task.input_shape),
            }
            cpu = time.process_time()
            outcome = train(model, task, fidelity, seed=args.seed)
            row.update(train_s=outcome.seconds, train_cpu_s=time.process_time() - cpu)
            row.update(valid=outcome.accuracy, test=outcome.test_accuracy)
            baseline = baseline or row["latency_ms"]
            results.append(row)
            print(
                f"{name:13} {label:8} {row['params']:>8} {row['macs']:>10} {row['latency_ms']:>11.3f} "
                f"{row['latency_ms'] / baseline:>8.1f} {row['train_s']:>8.2f} {row['train_cpu_s']:>6.2f} "
                f"{row['valid']:>6.3f} {row['test']:>6.3f}  {row['summary'][:70]}"
            )
    _report.write_json(args.json, {"epochs": args.epochs, "threads": args.threads, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
