"""Strategies under a latency budget on this machine, in a space of the user's own, on tabular data.

A user's search the engine knows nothing of in advance: a small multilayer-perceptron space defined here
(1-3 layers of 16-128 units, ReLU or GELU: 168 architectures), scikit-learn's wine data (13 features, 3
classes, embedded), one objective (validation accuracy) and a latency budget of ``p30`` on this CPU (the
30th percentile of 32 random architectures, profiled when the study is created), so that only the
parameter count is known of an architecture before it is profiled. Each strategy runs ``--trials`` trials
per seed through ``nas_workbench.search``, the strategies in turn seed by seed; the table gives how many
trials were within budget (an over-budget trial is profiled but never trained: a trial spent) and the best
validation accuracy within budget, mean over the seeds. The trials within budget among the first
``--first`` (a user's first impression) get a column of their own; each run prints its trials in order
(``+`` within budget, ``x`` over it), with the layer count of an MLP.

``--space chain`` runs the same search in the chain space (conv networks, a sampled pool) on digits at
``--epochs`` epochs instead, whose networks are slower than this machine's timing noise.

    python benchmarks/strategies/local_budget.py --seeds 3 --trials 20 --strategies random,tpe,proxy_guided
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import optuna
import torch
from torch import nn

import nas_workbench as nw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


class PerceptronSpace(nw.spaces.SearchSpace):
    """1 to 3 fully connected layers of a searched width, one searched activation for all of them."""

    name = "benchmark_mlp"
    default_options: ClassVar[Mapping[str, Any]] = {"widths": (16, 32, 64, 128)}

    def define(self, suggester: nw.spaces.Suggester) -> dict[str, Any]:
        layers = suggester.suggest_categorical("layers", (1, 2, 3))
        choices: dict[str, Any] = {"layers": layers}
        for i in range(layers):
            choices[f"width{i}"] = suggester.suggest_categorical(f"width{i}", self.options["widths"])
        choices["activation"] = suggester.suggest_categorical("activation", ("relu", "gelu"))
        return choices

    def assemble(self, spec: nw.ArchSpec, shape: nw.spaces.NetworkShape) -> nn.Module:
        features = shape.input_shape[0] * shape.input_shape[1] * shape.input_shape[2]
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(spec.choices["layers"]):
            width = max(1, round(spec.choices[f"width{i}"] * shape.width_multiplier))
            activation = nn.ReLU() if spec.choices["activation"] == "relu" else nn.GELU()
            layers += [nn.Linear(features, width), activation]
            features = width
        return nn.Sequential(*layers, nn.Linear(features, shape.num_classes))

    def size(self) -> int:
        k = len(self.options["widths"])
        return 2 * (k + k**2 + k**3)


def run_one(
    strategy: str, seed: int, args: argparse.Namespace, task: nw.Task | None, folder: Path
) -> dict[str, Any]:
    """One search; its trials within budget (all, and among the first ``args.first``), best accuracy."""
    chain = args.space == "chain"
    trials = args.trials
    config = nw.SearchConfig(
        space="chain" if chain else PerceptronSpace.name,
        strategy=strategy,
        objectives=["accuracy"],
        budget={"latency_ms": "p30"},
        n_trials=trials,
        threads=1,
        seed=seed,
        storage=f"sqlite:///{folder / f'{strategy}-{seed}.db'}",
        study_name=f"{strategy}-{seed}",
        **({"fidelity": nw.Fidelity(epochs=args.epochs)} if chain else {}),
    )
    run = nw.search(config, data=task).run()
    results = sorted(run.results(), key=lambda r: r.number)
    within = [r for r in results if r.status == "ok"]
    trace = " ".join(
        ("+" if r.status == "ok" else "x") + ("" if chain else str(r.spec["choices"]["layers"]))
        for r in results
    )
    return {
        "within_budget": len(within),
        "first_within": sum(r.status == "ok" for r in results[: args.first]),
        "trace": trace,
        "trials": len(results),
        "best_accuracy": max((r.value("accuracy") for r in within), default=0.0),
        "limit_ms": run.config.budget["latency_ms"],
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--strategies", default="random,tpe,evolution,proxy_guided")
    parser.add_argument("--first", type=int, default=8, help="the first trials counted apart (default: 8)")
    parser.add_argument(
        "--space", choices=("mlp", "chain"), default="mlp", help="mlp on wine, chain on digits"
    )
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of the chain space's trials")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    task = None  # the chain space: the engine's digits
    if args.space == "mlp":
        nw.spaces.register(PerceptronSpace)
        from sklearn.datasets import load_wine

        x, y = load_wine(return_X_y=True)
        task = nw.make_task(x, y, name="wine", input_shape=(1, 1, 13))
    strategies = args.strategies.split(",")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in strategies}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            for strategy in strategies:
                runs[strategy].append(run_one(strategy, seed, args, task, Path(folder)))
                print(strategy, seed, runs[strategy][-1], flush=True)
    print(
        f"\n| strategy | within budget of the first {args.first}, per seed | mean "
        f"| of {args.trials}, per seed | mean | best validation, mean |"
    )
    print("|---|---|---|---|---|---|")
    for strategy, done in runs.items():
        first = [r["first_within"] for r in done]
        within = [r["within_budget"] for r in done]
        best = statistics.mean(r["best_accuracy"] for r in done)
        print(
            f"| {strategy} | {' / '.join(map(str, first))} | {statistics.mean(first):.1f} "
            f"| {' / '.join(map(str, within))} | {statistics.mean(within):.1f} | {best:.3f} |"
        )
    _report.write_json(args.json, runs)


if __name__ == "__main__":
    main()
