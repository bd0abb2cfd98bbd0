"""The proxy-guided strategy's order of proposals: ties drawn by function."""

from __future__ import annotations

import optuna

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from tests.strategies.test_proxy_guided import GridSpace


class OneBigFunctionSpace(GridSpace):
    """The grid where, among the 64 candidates with ``d0`` = 3, 63 compute one function and the 64th
    (``d1`` = ``d2`` = ``d3`` = 0) another: two functions tied by an estimator that sees only ``d0``."""

    name = "grid4_one_big_function"

    def signature(self, spec: ArchSpec) -> str:
        c = spec.choices
        if c["d0"] == 3:
            return "alone" if c["d1"] == c["d2"] == c["d3"] == 0 else "big"
        return repr(sorted(c.items()))


def test_a_tie_is_drawn_by_function_not_by_candidate() -> None:
    """Two functions tie at the top of the ranking, one with 63 twins and one alone: the first proposal is
    each about half the time (by candidate, the lone function would come first once in 64)."""
    space = OneBigFunctionSpace()
    firsts = []
    for seed in range(20):
        sampler = strategies.make_sampler(
            "proxy_guided", seed=seed, space=space, scores=lambda s: {"d0": s.choices["d0"]}, score_batch=0
        )
        study = optuna.create_study(direction="maximize", sampler=sampler, study_name=f"tie-{seed}")
        firsts.append(space.signature(space.sample(study.ask())))
    assert set(firsts) == {"alone", "big"}
    assert 4 <= firsts.count("alone") <= 16, firsts
