"""How well each zero-cost proxy ranks architectures: Spearman and Kendall vs trained accuracy, per space.

For every registered space, N random architectures (seeded) are scored by every proxy on one mini-batch of
scikit-learn's digits, then trained at low fidelity with the workbench's trainer; the table gives each
proxy's rank correlation with the validation accuracy and its time per architecture. ``params`` and
``flops`` are the baselines a proxy must beat to be worth its time.

With ``--nb201-dir``, a cross-check of the data-free synflow on NAS-Bench-201's CIFAR-10 networks (3x32x32
inputs): its correlation with the published 200-epoch accuracy, and with the synflow scores stored by
NASLib (``nb201_naslib_zc_subset.csv``), which checks the implementation against an independent one.

    python benchmarks/proxies/correlation.py -n 100 --json benchmarks/results/proxies_digits.json
    python benchmarks/proxies/correlation.py -n 100 --nb201-dir /work/shared/data/nb201
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau, spearmanr

import nas_workbench as nw
from nas_workbench.config import Fidelity
from nas_workbench.estimation import PROXIES, proxy_score
from nas_workbench.estimation.trainer import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report


def correlations(scores: list[float], accuracies: list[float]) -> dict[str, float]:
    return {
        "spearman": float(spearmanr(scores, accuracies).statistic),
        "kendall": float(kendalltau(scores, accuracies).statistic),
    }


def digits_space(name: str, n: int, fidelity: Fidelity, batch_size: int, seed: int) -> dict:
    """Proxies and trained accuracy of ``n`` random architectures of space ``name`` on digits."""
    space = nw.spaces.get(name)
    task = nw.load_task("digits", seed=seed)
    inputs, targets = task.x_train[:batch_size], task.y_train[:batch_size]
    rng = random.Random(seed)
    scores: dict[str, list[float]] = {p: [] for p in PROXIES}
    seconds: dict[str, list[float]] = {p: [] for p in PROXIES}
    accuracies, train_seconds = [], []
    for index in range(n):
        spec = space.random(rng)
        torch.manual_seed(seed * 100_003 + index)
        model = space.build(spec, task.input_shape, task.num_classes)
        for proxy in PROXIES:
            started = time.perf_counter()
            scores[proxy].append(proxy_score(proxy, model, inputs, targets))
            seconds[proxy].append(time.perf_counter() - started)
        result = train(model, task, fidelity, seed=seed * 100_003 + index)
        accuracies.append(result.accuracy)
        train_seconds.append(result.seconds)
    return {
        "architectures": n,
        "accuracy": {"mean": statistics.mean(accuracies), "min": min(accuracies), "max": max(accuracies)},
        "train_s_per_arch": statistics.mean(train_seconds),
        "proxies": {
            p: {**correlations(scores[p], accuracies), "ms_per_arch": 1000 * statistics.mean(seconds[p])}
            for p in PROXIES
        },
    }


def nb201_synflow(folder: Path, n: int, seed: int) -> dict:
    """Our synflow on NAS-Bench-201 CIFAR-10 networks vs the published accuracy and NASLib's synflow."""
    with (folder / "nb201_naslib_zc_subset.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] == "cifar10"]
    with (folder / "nb201.csv").open() as f:
        accuracy = {r["arch"]: float(r["c10_valid_val_200ep"]) for r in csv.DictReader(f)}
    rows = random.Random(seed).sample(rows, min(n, len(rows)))
    space = nw.spaces.get("nb201")
    ours, theirs, published = [], [], []
    no_data = torch.zeros(1, 3, 32, 32), torch.zeros(1, dtype=torch.long)  # synflow reads the shape only
    for row in rows:
        model = space.build(space.parse(row["arch"]), (3, 32, 32), 10)
        ours.append(proxy_score("synflow", model, *no_data))
        theirs.append(float(row["synflow"]))
        published.append(accuracy[row["arch"]])
    return {
        "architectures": len(rows),
        "vs_accuracy": correlations(ours, published),
        "naslib_vs_accuracy": correlations(theirs, published),
        "vs_naslib_synflow": correlations(ours, theirs),
    }


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("-n", type=int, default=100, help="architectures per space (default 100)")
    parser.add_argument("--spaces", default=",".join(nw.spaces.list()))
    parser.add_argument(
        "--epochs", type=int, default=2, help="training epochs per architecture (low fidelity)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch the proxies see")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--nb201-dir", type=Path, help="folder with NAS-Bench-201's tables (synflow cross-check)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # small networks: one thread is fastest and leaves the other cores alone

    fidelity = Fidelity(epochs=args.epochs)
    results: dict = {"fidelity": vars(fidelity), "spaces": {}}
    for name in args.spaces.split(","):
        result = digits_space(name, args.n, fidelity, args.batch_size, args.seed)
        results["spaces"][name] = result
        print(
            f"\n{name}: {args.n} architectures, digits validation accuracy after {args.epochs} epochs "
            f"{result['accuracy']['min']:.3f}-{result['accuracy']['max']:.3f} "
            f"(training {result['train_s_per_arch']:.2f} s each)"
        )
        print(f"{'proxy':<10}{'Spearman':>10}{'Kendall':>10}{'ms/arch':>10}")
        for proxy, row in sorted(result["proxies"].items(), key=lambda kv: -kv[1]["spearman"]):
            print(f"{proxy:<10}{row['spearman']:>10.3f}{row['kendall']:>10.3f}{row['ms_per_arch']:>10.1f}")
    if args.nb201_dir is not None:
        if not (args.nb201_dir / "nb201_naslib_zc_subset.csv").exists():
            print(f"{args.nb201_dir} has no NAS-Bench-201 tables: cross-check skipped", file=sys.stderr)
        else:
            check = nb201_synflow(args.nb201_dir, args.n, args.seed)
            results["nb201_synflow"] = check
            print(
                f"\nsynflow on {check['architectures']} NAS-Bench-201 CIFAR-10 networks (Spearman / Kendall):"
            )
            for key, label in [
                ("vs_accuracy", "ours vs published accuracy"),
                ("naslib_vs_accuracy", "NASLib's vs published accuracy"),
                ("vs_naslib_synflow", "ours vs NASLib's scores"),
            ]:
                print(f"  {label:<32}{check[key]['spearman']:>8.3f}{check[key]['kendall']:>8.3f}")
    _report.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
