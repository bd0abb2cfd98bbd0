"""The proxy ensemble with its members chosen out of sample: on one data set, judged on the other two.

`ensemble.py`'s rule (`nas_workbench.strategies.pool.subset_ensemble` over six members: synflow, NASWOT,
jacov, snip, ``live_flops`` and ``residual``) reaches Spearman 0.90 on ImageNet16-120, but ``residual``
was added after looking at the cells the five-member rule ranked worst there, on every cell's accuracy.
Here the members are instead chosen by a fixed procedure on one data set only (the *choice* set), and the
rule with those members is then measured, as `ensemble.py` measures it (``--labelled`` cells weigh it
and are left out, mean and worst over ``--draws`` draws), on the other two data sets, whose accuracies
the choice never saw.

The procedure is forward selection: starting from no member, add the candidate (NASLib's twelve stored
estimators, ``live_flops`` and ``residual``) that most raises the rule's Spearman with the choice set's
validation accuracy when all its cells are labelled; stop at ``--members`` members or when no candidate
raises it. The data sets share most of their cells and their accuracies agree closely, so this is out of
sample in the accuracies, not in the architectures: a fair test of whether the choice transfers, not of
a search on cells never seen.

    python benchmarks/proxies/member_choice.py /work/shared/data/nb201 \\
        --json benchmarks/results/proxies_member_choice.json
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

import numpy as np
from ensemble import ESTIMATORS, MEMBERS, OWN, load, rho

from nas_workbench.strategies.pool import subset_ensemble

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

CANDIDATES = (*ESTIMATORS, *OWN)


def choose(scores: np.ndarray, accuracy: np.ndarray, most: int, top: int) -> list[str]:
    """The members forward selection picks on one data set (every cell labelled), in the order added."""
    every = np.arange(len(accuracy))
    chosen: list[str] = []
    best = -1.0
    while len(chosen) < most:
        trials = {}
        for name in (c for c in CANDIDATES if c not in chosen):
            columns = [CANDIDATES.index(m) for m in (*chosen, name)]
            trials[name] = rho(subset_ensemble(scores[:, columns], every, accuracy, top=top), accuracy)
        name = max(trials, key=lambda n: trials[n])
        if trials[name] <= best:
            break
        chosen.append(name)
        best = trials[name]
    return chosen


def measured(
    members: list[str], scores: np.ndarray, accuracy: np.ndarray, labelled: int, draws: int, top: int
) -> dict[str, float]:
    """The rule with ``members`` as `ensemble.py` measures it: mean and worst Spearman on the cells left
    out, over ``draws`` draws of ``labelled`` cells that weigh it."""
    columns = scores[:, [CANDIDATES.index(m) for m in members]]
    rng, every, figures = random.Random(0), np.arange(len(accuracy)), []
    for _ in range(draws):
        drawn = rng.sample(range(len(accuracy)), labelled)
        rest = np.setdiff1d(every, drawn)
        figures.append(rho(subset_ensemble(columns, drawn, accuracy[drawn], top=top)[rest], accuracy[rest]))
    return {"mean": statistics.mean(figures), "min": min(figures)}


def main() -> int:
    parser = _report.parser(__doc__)
    parser.add_argument("nb201_dir", type=Path, help="folder holding the NASLib scores and the cost table")
    parser.add_argument("--labelled", type=int, default=20)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--members", type=int, default=6, help="most members forward selection adds")
    args = parser.parse_args()
    data = load(args.nb201_dir)
    names = list(data)
    print(
        f"Members chosen on one data set (forward selection, all its cells labelled), measured on each "
        f"({args.labelled} labelled cells left out, mean (worst) over {args.draws} draws); goal 0.90"
    )
    print(f"{'chosen on':<16}{'members':<58}" + "".join(f"{n:>16}" for n in names))
    results = {}
    rows = [("ensemble.py's rule", list(MEMBERS))]
    rows += [(name, choose(*data[name], args.members, args.top)) for name in names]
    for label, members in rows:
        on = {n: measured(members, *data[n], args.labelled, args.draws, args.top) for n in names}
        results[label] = {"members": members, "measured": on}
        cells = [f"{f['mean']:.3f} ({f['min']:.2f})" + ("*" if n == label else " ") for n, f in on.items()]
        print(f"{label:<16}{', '.join(members):<58}" + "".join(f"{c:>16}" for c in cells), flush=True)
    print("*: the data set the members were chosen on (in sample); the others are out of sample")
    _report.write_json(args.json, {"settings": vars(args) | {"json": None, "nb201_dir": None}, **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
