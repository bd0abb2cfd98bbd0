"""Functional twins under a budget (`skip_twins`): NAS-Bench-201's 15,625 cells compute 4,930 functions, and
a cell whose only difference is a dead op (or the order of a sum) trains to the same accuracy up to noise.
TPE under the device budgets of ``benchmarks/strategies/nb201_budgeted.py`` spent 21-61 of its 100 trials on
twins of cells it had tried; with ``skip_twins`` (an option, off by default) the feasibility filter counts a
twin of a trial within budget as tried, and leaves a twin of one over budget open (the twin without the
dead op may fit)."""

from __future__ import annotations

import zlib

import optuna

from nas_workbench import spaces, strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies._base import SamplerContext
from nas_workbench.strategies.feasibility import OPTIONS, FeasibilityFilter, make_filter

NB201 = spaces.get("nb201")
#: A 3x3 conv then a 1x1 conv in series, with a skip from a node that holds nothing (a dead op) ...
DEAD = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"
#: ... and the same cell without it: the same function.
LIVE = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
OTHER = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"


def _filter(skip_twins: bool) -> FeasibilityFilter:
    defaults = {name: option.default for name, option in OPTIONS.items()}
    return make_filter(SamplerContext(seed=0, space=NB201), **{**defaults, "skip_twins": skip_twins})


def _study_with(arch: str, constraint: float, name: str) -> optuna.Study:
    study = optuna.create_study(study_name=name, direction="maximize")
    study.enqueue_trial(dict(NB201.parse(arch).choices))
    trial = study.ask()
    NB201.sample(trial)
    trial.set_constraint("latency_ms", constraint)
    if constraint <= 0:
        study.tell(trial, 90.0)
    else:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return study


def test_a_twin_of_a_trial_within_budget_counts_as_tried_one_over_budget_does_not() -> None:
    assert NB201.signature(NB201.parse(DEAD)) == NB201.signature(NB201.parse(LIVE))
    live, dead, other = (dict(NB201.parse(a).choices) for a in (LIVE, DEAD, OTHER))
    within, over = _study_with(DEAD, -0.1, "twins-within"), _study_with(DEAD, 0.2, "twins-over")
    twins = _filter(skip_twins=True)
    assert twins.is_tried(live, twins.tried(within)) and twins.is_tried(dead, twins.tried(within))
    assert not twins.is_tried(other, twins.tried(within))
    # over budget: the cell itself was tried, but its twin without the dead op may fit
    assert twins.is_tried(dead, twins.tried(over)) and not twins.is_tried(live, twins.tried(over))
    plain = _filter(skip_twins=False)
    assert not plain.is_tried(live, plain.tried(within)) and plain.is_tried(dead, plain.tried(within))
    assert strategies.get("tpe").options["skip_twins"].default is False  # measured, not adopted (README)


def _cost(spec: ArchSpec) -> float:
    """A cell's cost: 3 per 3x3 conv, 1 per 1x1 conv or pooling (about a third of the cells fit in 5)."""
    weights = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 1.0}
    return sum(weights.get(op, 0.0) for op in spec.choices.values())


def _accuracy(spec: ArchSpec) -> float:
    """An accuracy that depends on the function only (twins score alike), as NAS-Bench-201's up to noise."""
    return float(zlib.crc32(NB201.signature(spec).encode()) % 1000) / 10.0


def test_tpe_under_a_budget_trains_no_twin_of_a_feasible_trial() -> None:
    sampler = strategies.make_sampler("tpe", seed=0, space=NB201, skip_twins=True)
    study = optuna.create_study(study_name="tpe-twins", direction="maximize", sampler=sampler)
    functions: list[str] = []  # of the trials within budget
    for number in range(40):
        trial = study.ask()
        spec = NB201.sample(trial)
        function = NB201.signature(spec)
        excess = (_cost(spec) - 5.0) / 5.0
        trial.set_constraint("budget", excess)
        if number >= 10:  # the feasibility model is fitted from the 11th trial on
            assert function not in functions, f"trial {number} computes the function of a feasible trial"
        if excess <= 0:
            functions.append(function)
            study.tell(trial, _accuracy(spec))
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert len(functions) >= 15  # it still searches inside the budget
