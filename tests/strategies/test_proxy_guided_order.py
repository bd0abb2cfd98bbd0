"""The proxy-guided strategy's order of proposals: ties drawn by function."""

from __future__ import annotations

import numpy as np
import optuna

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.twin_choice import spellings
from tests.strategies.test_proxy_guided import GridSpace, search


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


class DeadWhenOffSpace(GridSpace):
    """The grid where ``d3`` is dead while ``d2`` is 0 (as an op fed by an edge that carries nothing): the
    4 candidates ``(d0, d1, 0, *)`` are twins, and switching ``d2`` on in each gives 4 different
    functions, one decision from that twin only."""

    name = "grid4_dead_when_off"

    def signature(self, spec: ArchSpec) -> str:
        c = spec.choices
        return repr((c["d0"], c["d1"], c["d2"], c["d3"] if c["d2"] else None))


BEST = {"d0": 3, "d1": 3, "d2": 0, "d3": 0}  # trained first: the best function's best twin throughout
OPTIMUM = {"d0": 3, "d1": 3, "d2": 1, "d3": 3}  # one decision from the twin (3, 3, 0, 3) only


def estimate(spec: ArchSpec) -> float:
    """Ranks the best function first, then the cells that switch ``d2`` on beside it, the optimum highest."""
    c = spec.choices
    if (c["d0"], c["d1"]) != (3, 3):
        return 0.0
    return 20.0 if c["d2"] == 0 else 10.0 + c["d3"] + (c["d2"] == 1)


def reward(spec: ArchSpec) -> float:
    c = spec.choices
    if c == OPTIMUM:
        return 60.0
    if (c["d0"], c["d1"], c["d2"]) == (3, 3, 0):
        return 50.0 if c == BEST else 49.0
    return estimate(spec) + 20.0


def test_a_local_move_starts_from_every_twin_of_the_best_function_not_only_its_trial() -> None:
    """A twin is the same network with other dead ops, so a function's neighbours are those of all its twins:
    the best function's trial (``BEST``) is 2 decisions from the optimum, its untried twin ``(3, 3, 0, 3)``
    one. Every settled move local (``local_share`` 1) from the best function alone (``climb_from`` 1): the
    first move that is not a twin of the best is the optimum (from the best trial alone, the best-ranked
    neighbours are ``(3, 3, k, 0)``, which leave the best where it is)."""
    space = DeadWhenOffSpace()
    for seed in range(4):
        sampler = strategies.make_sampler(
            "proxy_guided",
            seed=seed,
            space=space,
            scores=lambda s: {"estimate": estimate(s)},
            score_batch=0,
            local_share=1.0,
            climb_from=1,
        )
        study = search(sampler, space, 5, objective=reward, enqueued=(BEST,))
        moves = [t.params for t in study.trials[1:]]
        first = next(c for c in moves if (c["d0"], c["d1"], c["d2"]) != (3, 3, 0))
        assert first == OPTIMUM, (seed, moves)


def test_the_climb_goes_round_the_twins_of_the_best_functions_trial_by_trial() -> None:
    """A sampled pool's climb mutates the best trials, then the other candidates computing their functions
    (``spellings``), which may outnumber its ``mutations``: each trial starts where the turn (trial number
    times mutations) falls, so over the trials every twin gets its mutations, not only the first ones."""
    functions = np.array([0, 1, 0, 2, 0, 0, 1, 0])  # the best trial 0 computes function 0, as 2, 4, 5, 7 do
    allowed = np.ones(8, dtype=bool)
    assert spellings([0], functions, allowed) == [0, 2, 4, 5, 7]
    starts = {spellings([0], functions, allowed, turn)[1] for turn in range(0, 12, 3)}  # 3 mutations a trial
    assert starts == {2, 4, 5, 7}  # every twin leads in turn, the best trial always first
    assert all(spellings([0], functions, allowed, t)[0] == 0 for t in range(6))
