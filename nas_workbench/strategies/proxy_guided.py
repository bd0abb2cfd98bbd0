"""Proxy-guided search: rank a pool of candidates for free, train the promising ones, learn whom to trust.

Training is the costly part of a search; counting an architecture's parameters, predicting its latency on
the target device or scoring it with a zero-cost proxy costs a fraction of a second. The sampler
therefore plans each trial over a `CandidatePool` (the whole space when it has at most ``pool_size``
architectures, else a seeded sample) whose every candidate carries the values of the estimators the
search knows (`SamplerContext.costs`, `SamplerContext.scores`):

1. **Budget filter, before any training**, then 2. **ranking by trusted estimators**: `PoolRanker`
   (`pool_ranking`) keeps the candidates predicted within budget (a counted cost's limit is exact, another
   constraint is predicted by the `FeasibilityModel` once ``feasibility_min_trials`` trials are profiled
   and it predicts them with skill; until then the sampler *explores*: it draws untried architectures as
   random sampling does, one decision after another (`CandidatePool.draw`), which is what that model
   learns best from, and which a budget set as a quantile of random architectures (``"p30"``) lets as
   large a share of through; a whole small space drawn uniformly, or its largest candidates (the
   ranking's top), are mostly the deepest networks of a nested space: on a user's wine MLP space under
   ``p30`` on a CPU, 0 of the first 8 trials within budget on each of 3 seeds, where random search had 2)
   and scores them by the trust-weighted mean of the estimators' percentile ranks among them, each
   estimator's trust its Spearman correlation with the trained trials, shrunk towards 1 ("larger is
   better") as if ``prior_trials`` trials had agreed.
3. **The prior first, then the best.** While some untried function ranks with or above the best trained one
   (ties included: an estimator that cannot tell the top functions apart leaves the choice to the ranking's
   draw, one per function however many twins it has), the ranking alone proposes. Once none does (the prior is
   *settled*: it has nothing it ranks better to offer), a trial trains an untried twin (below) of the best
   trained function, or of one whose untried twins are expected to beat it (`twin_choice.twin_function`)
   (never more trainings of it than functions tried: replicas of the prior's unique top would stop there), or,
   with probability ``local_share``, makes a local move: the best-ranked untried feasible candidate one
   decision away from one of the ``climb_from`` best trained functions, that is from any candidate of the pool
   computing one (its twins too, trained or not: the same network with other dead ops, so their neighbours are
   all the function's; on Pixel 2 5th each of the three best cells within budget is one decision from one twin
   of the best 11.7-MFLOP function, not from its other twins), or, half the time (`TWIN_SHARE`), a twin of the
   best; with no twin to train, a local move too once the ranking's next functions are outclassed (below),
   else, and with neither, the ranking proposes. Unless the untried functions ranked with the best are
   *outclassed* (`chance_to_beat`: the trials ranked as high lost to the best by far): then every move is
   local.
4. **One trial per function.** A candidate that computes the same function as one already tried (the
   space's ``signature``: `CellSpace.signature` gives cells that differ only in dead ops or in the node a
   skip chain runs through one signature) is proposed by the ranking only once every feasible function
   is tried, twins of the best trained function first; before that, only as a twin of the best trained
   function (3). Which twin is drawn at random: twins' estimator values differ only by their dead ops (a
   dead conv's FLOPs), so ranking them would train the same twin on every seed for no reason. A twin
   teaches nothing about the architecture, but it is trained afresh, and on NAS-Bench-201 (which trained
   each twin separately) the best of a function's twins is often the budget's optimum: its twins'
   validation accuracies spread by 0.1-0.2 points.
5. **A sampled pool climbs.** A space too large to enumerate is ranked over a random sample of ``pool_size``
   candidates (and a lazy pool over those scored so far), which under a tight budget holds few of the feasible
   ones and often none of the best. So before each trial a pool that is not the whole space adds ``mutations``
   mutations of the candidates the trial builds on, in turn: once the prior is settled, the best trial of each
   of the ``climb_from`` best trained functions, then the pool's other candidates computing one (3.), in turn
   from trial to trial, else the ranking's top untried candidate; and is ranked again: it fills in where the
   cheap estimators and the trials point (a local search, paid in ``mutations`` estimator calls a trial), not
   where a random draw happened to fall. Not while the feasibility model is still being learnt (uniform
   draws).

The pool is scored lazily by default (``score_batch`` candidates before each trial: 2,000 synflow scores
on a CPU are minutes), so the scoring is paid, and timed, as the search goes. The zero-cost scores of a lazy
pool are withheld until a trial has completed (the first trial ranks by the counted costs), then priced
and dropped when the candidates a trial scores would cost more than ``score_share`` of a training
(`score_cost.PricedScores`: on digits at 2 epochs 20 synflow and FLOPs scorings take as long as a training,
and the parameter count, ten times cheaper, ranks as well); the counted costs stay.

Each trial records what it was (system attribute ``proxy_guided:source``: ``prior``, ``local``,
``explore`` or ``uniform``), the trust in each estimator then (``proxy_guided:trust``), where the prior
ranked it (``proxy_guided:prior``: its percentile rank by each estimator and by the trusted ranking, and
its estimators' values; not for a ``uniform`` draw) and the pool's size, feasible count and the seconds
its estimators took (``proxy_guided:pool``), so the workbench and the report show the search from its study
(`nas_workbench.viz.ProxyHistory`). Single-objective.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._base import Option, SamplerContext, Strategy, check_float, check_int, register
from nas_workbench.strategies._history import Plan, PlannedOptions, PlannedSampler, feasible, parent_spec
from nas_workbench.strategies._proxy_record import ATTR, record_plan, record_prior
from nas_workbench.strategies.feasibility import CostFeatures, FeasibilityFilter, constrained_trials
from nas_workbench.strategies.pool import CandidatePool, Estimator, chance_to_beat, one_of, share_below
from nas_workbench.strategies.pool_ranking import PoolRanker, Ranking
from nas_workbench.strategies.score_cost import PricedScores
from nas_workbench.strategies.twin_choice import best_of_functions, spellings, twin_function

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12

    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["ATTR", "ProxyGuidedSampler"]

#: Share of the local moves that train a twin of the best trained function (when it has an untried one).
TWIN_SHARE = 0.5
#: Chance below which the untried functions ranked with the best trained one are deemed unable to beat it.
OUTCLASSED = 0.01
#: Scores closer than this are tied (the ranking's random tie-break adds less than 1e-9).
_TIE = 1e-6


class ProxyGuidedSampler(PlannedSampler):
    """Plans each trial over a pool ranked by cheap estimators whose trust is learnt from the trials.

    Args:
        costs: An architecture's counted costs before training (`SamplerContext.costs`).
        scores: Its zero-cost proxy scores (`SamplerContext.scores`).
        pool_size: Most candidates; a space with at most this many architectures is enumerated.
        local_share: Once no untried function ranks with or above the best trained one, the probability
            that a trial is a one-decision move from the best trials (else a twin of the best, when it has
            one; a move when it has none).
        prior_trials: How many trained trials the prior weight of each estimator is worth.
        mutations: Mutations added to a sampled (not enumerated) pool before each trial: of the best trials
            (and the best function's trained twins) once the prior is settled, else of the ranking's top
            untried candidate.
        score_batch: Candidates scored before each trial (a lazy pool: the first training waits for this
            many scorings, not the whole pool's); 0 scores the whole pool before the first trial.
        score_share: A lazy pool's ``scores``, withheld until a trial completes, are dropped once a trial's
            scorings are measured to cost more than this share of a training (`score_cost.PricedScores`);
            0 scores from the first candidate and keeps them whatever they cost.
        climb_from: How many of the best trained functions a local move and the climb start from (from
            every candidate of the pool computing one).
        limits: The budget's absolute limits, when the engine gives them (`SamplerContext.limits`).
        **base: ``space`` (required: the pool is drawn from it), ``feasibility`` (predicts the constraints
            no counted cost gives exactly) and ``seed`` (of every draw), as `PlannedSampler` takes them.
    """

    space: SearchSpace  # required here: the pool is drawn from it

    def __init__(
        self,
        costs: Estimator | None = None,
        scores: Estimator | None = None,
        pool_size: int = 2000,
        local_share: float = 0.25,
        prior_trials: float = 5.0,
        mutations: int = 30,
        score_batch: int = 20,
        score_share: float = 0.25,
        climb_from: int = 3,
        limits: Mapping[str, float] | None = None,
        **base: Unpack[PlannedOptions],
    ) -> None:
        if base.get("space") is None:
            raise ConfigError("space", None, "a search space (the pool is drawn from it)")
        super().__init__(**base)
        self.costs = costs
        self.scores = scores
        self.pool_size = check_int("pool_size", pool_size, 1)
        self.local_share = check_float("local_share", local_share, 0.0, 1.0)
        self.prior_trials = check_float("prior_trials", prior_trials, 0.0, 1e6)
        self.mutations = check_int("mutations", mutations, 0)
        self.score_batch = check_int("score_batch", score_batch, 0)
        self.score_share = check_float("score_share", score_share, 0.0, 1e6)
        self.climb_from = check_int("climb_from", climb_from, 1)
        self.limits = limits
        self._pool: CandidatePool | None = None
        self._ranker: PoolRanker | None = None
        self._priced: PricedScores | None = None

    @property
    def pool(self) -> CandidatePool:
        """The candidates and their estimator values (built, and timed, on first use)."""
        if self._pool is None:
            scores = self.scores
            if scores is not None and self.score_batch:  # lazy: the scores are paid for as the search goes
                scores = self._priced = PricedScores(scores, self.score_share, self.costs is not None)
            estimators = [e for e in (self.costs, scores) if e is not None]
            scored = self.score_batch or None
            self._pool = CandidatePool(self.space, self.pool_size, estimators, seed=self._seed, scored=scored)
            cost_names: tuple[str, ...] = ()
            if self.costs is not None and len(self._pool):
                cost_names = tuple(sorted(self.costs(self._pool.specs[0])))
            muted = self._priced.muted if self._priced is not None else None
            self._ranker = PoolRanker(
                self._pool, cost_names, self.feasibility, self.prior_trials, muted, self.limits
            )
        return self._pool

    # -- planning ------------------------------------------------------------------------------------------
    def plan(self, study: optuna.Study, trial: FrozenTrial, rng: random.Random) -> Plan:
        pool = self.pool
        if study.directions[1:]:
            raise ConfigError("strategy", "proxy_guided", "a single-objective study")
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        others = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        if others and self.score_batch:  # a lazy pool: the next candidates, scored as the search goes
            if self._priced is not None:  # priced once a trial completes; too dear: dropped, and muted
                self._priced.weigh(others, self.score_batch + self.mutations, pool)
            pool.score_more(self.score_batch)
        trained = [
            (index, sign * t.value)
            for t in others
            if t.state == TrialState.COMPLETE and t.value is not None and feasible(t)
            if (index := self._index(t)) is not None
        ]
        draw = rng.random()  # below local_share: a local move, once the prior is settled (below)
        best = max(trained, key=lambda pair: pair[1])[0] if trained else None
        ranking = self._rank(study, trial, others, trained, rng)
        tried, allowed, exploring, open_, weights, ranks, score = ranking
        functions = pool.functions
        # settled: no untried function (ranked as its top twin) ranks with or above the best trained one
        settled = outclassed = False
        if best is not None and allowed[best]:
            top = score[allowed & (functions == functions[best])].max()
            contenders = open_ & (score > top - _TIE)
            settled = not contenders.any()
            if not settled:  # outclassed: their peers (trials ranked as high) lost to the best by far
                outclassed = settled = _outclassed(trained, functions, score, contenders, best)
        local = settled and (outclassed or draw < self.local_share)
        tops = best_of_functions(trained, functions, self.climb_from)
        anchors: list[int] = []  # whose neighbours a sampled pool brings in (5.), if any
        if settled and best is not None:  # the best trials, and every other spelling of their functions
            anchors = spellings(tops, functions, allowed, trial.number * self.mutations)
            if not local and not _next_outclassed(trained, functions, score, open_, best):
                anchors.append(int(np.flatnonzero(open_)[np.argmax(score[open_])]))  # it may be proposed
        elif not exploring and open_.any():
            anchors = [int(np.flatnonzero(open_)[np.argmax(score[open_])])]
        size = len(pool)
        drawn = pool.draw(rng, open_) if exploring else None  # as random sampling draws (1.)
        if anchors and self.mutations and size < self.space.size():
            for count in range(self.mutations):  # a sampled pool climbs
                pool.add(self.space.mutate(pool.specs[anchors[count % len(anchors)]], rng))
        if len(pool) > size:  # ranked again with the candidates the climb brought in
            ranking = self._rank(study, trial, others, trained, rng)
            tried, allowed, exploring, open_, weights, ranks, score = ranking
            functions = pool.functions
        if not open_.any():  # every function within budget tried: twins, of the best trained function first
            open_ = allowed & ~tried
            known = pool.function_values([i for i, _ in trained], [v for _, v in trained])
            from scipy.stats import rankdata  # slow to import; a workbench imports this module at start

            tiers = rankdata(np.nan_to_num(known, nan=-np.inf), method="dense")  # 1, 2, ...: by function
            score += (score.max(initial=0.0) - score.min(initial=0.0) + 1.0) * tiers  # above any gap
        source, index = "uniform", None
        if exploring and open_.any():
            index = drawn if drawn is not None and open_[drawn] else one_of(np.flatnonzero(open_), rng)
            source = "explore"
        elif settled and best is not None:  # a twin of the best function, or a neighbour of the best ones
            bases = spellings(tops, functions, allowed)  # a function's neighbours: those of all its twins
            near = np.unique(np.concatenate([pool.neighbours(i) for i in bases]))
            near = near[open_[near]]
            mined = twin_function(trained, functions, allowed & ~tried, best)  # the best's, or likelier
            twins = np.flatnonzero(allowed & ~tried & (functions == mined))
            trained_functions = functions[[i for i, _ in trained]].tolist()
            if not local and trained_functions.count(mined) >= len(set(trained_functions)):
                twins = twins[:0]  # no more trainings of the function than functions tried
            if twins.size and (not local or not near.size or rng.random() < TWIN_SHARE):
                source, index = "local", one_of(twins, rng)
            elif near.size and (local or _next_outclassed(trained, functions, score, open_, best)):
                source, index = "local", int(near[np.argmax(score[near])])
        if index is None and open_.any():
            chosen = functions[np.flatnonzero(open_)[np.argmax(score[open_])]]
            # the ranking picks a function; its untried twins differ only in dead ops, so one at random
            source, index = "prior", one_of(np.flatnonzero(open_ & (functions == chosen)), rng)
        record_plan(study, trial, pool, source, weights, allowed)
        if index is not None:
            record_prior(study, trial, pool, index, ranks[index], share_below(score, allowed, index))
        if index is None:  # every predicted-feasible candidate was tried: uniform draws
            return Plan({}, rng)
        return Plan(dict(pool.specs[index].choices), rng)

    def _rank(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        others: list[FrozenTrial],
        trained: list[tuple[int, float]],
        rng: random.Random,
    ) -> Ranking:
        """The pool's `Ranking` for this trial (`PoolRanker.rank`), the profiled trials joined to the pool
        before it sizes anything."""
        profiled = [(t, self._index(t)) for t in constrained_trials(study, exclude=trial.number)]
        tried = self._tried(others)
        assert self._ranker is not None  # made with the pool
        return self._ranker.rank(study, trial, tried, profiled, trained, rng)

    def _index(self, trial: FrozenTrial) -> int | None:
        """The pool index of a finished trial's architecture (added to the pool when outside it)."""
        spec = parent_spec(trial, self.space)
        return None if spec is None else self.pool.add(spec)

    def _tried(self, trials: list[FrozenTrial]) -> np.ndarray:
        """Which candidates a trial (finished, running, or planned by this sampler) already has."""
        pool = self.pool
        mask = np.zeros(len(pool), dtype=bool)
        choices = [t.params for t in trials] + [plan.answers for plan in self._plans.values()]
        for params in choices:
            if (index := pool.find(params)) is not None:
                mask[index] = True
        return mask


def _outclassed(
    trained: list[tuple[int, float]],
    functions: np.ndarray,
    score: np.ndarray,
    contenders: np.ndarray,
    best: int,
) -> bool:
    """Whether the untried ``contenders`` (a mask of the pool) cannot beat the best trained trial: the
    trained trials the ranking put as high as the lowest of them (the best function's apart) give the best
    of their functions less than an `OUTCLASSED` chance of beating it (`chance_to_beat`; never with fewer
    than 3 such trials)."""
    floor = score[contenders].min() - _TIE
    peers = [v for i, v in trained if score[i] > floor and functions[i] != functions[best]]
    count = len(set(functions[contenders].tolist()))
    return chance_to_beat(max(v for _, v in trained), peers, count) < OUTCLASSED


def _next_outclassed(
    trained: list[tuple[int, float]], functions: np.ndarray, score: np.ndarray, open_: np.ndarray, best: int
) -> bool:
    """Whether the ranking's next untried functions (tied with its top untried candidate) are `_outclassed`:
    only then may a move pre-empt them once the prior is settled (on Pixel 2 5th the prior's unique top,
    trained first, settled it, and moves from it left the 11-way tie below, which holds the optimum)."""
    if not open_.any():
        return True
    return _outclassed(trained, functions, score, open_ & (score > score[open_].max() - _TIE), best)


def _factory(
    context: SamplerContext,
    use_scores: bool,
    feasibility_min_trials: int,
    feasibility_z: float,
    **options: Any,  # the sampler's own (pool_size, local_share, ...), as registered below
) -> ProxyGuidedSampler:
    if context.space is None:
        raise ConfigError(
            "strategy", "proxy_guided", "a search space (make_sampler(space=...)) to draw its pool from"
        )
    costs: Callable[[ArchSpec], Mapping[str, float]] | None = context.costs
    features = CostFeatures(context.space, costs) if costs is not None else None
    return ProxyGuidedSampler(
        costs=costs,
        scores=context.scores if use_scores else None,
        space=context.space,
        feasibility=FeasibilityFilter(z=feasibility_z, min_trials=feasibility_min_trials, costs=features),
        limits=context.limits,
        seed=context.seed,
        **options,
    )


register(
    Strategy(
        "proxy_guided",
        _factory,
        "ranks a pool of candidates (the whole space when small) by free estimators (counted costs, a "
        "target device's predicted latency, zero-cost proxies), drops those predicted over budget before "
        "any training, trains the top of the ranking and one-decision moves around the best, and learns "
        "from the trained trials how far to trust each estimator (Spearman-weighted rank aggregation).",
        {
            "pool_size": Option(2000, "most candidates ranked; a space this small is enumerated whole"),
            "local_share": Option(
                0.25,
                "once the prior is settled, share of trials that move one decision from the best ones (every "
                "trial with no twin of the best to train moves, once the ranking's next are outclassed)",
            ),
            "prior_trials": Option(5.0, "trained trials the prior trust (1 per estimator) is worth"),
            "mutations": Option(
                30,
                "mutations of the ranking's top (once settled: the best trials) a sampled pool adds a trial",
            ),
            "climb_from": Option(
                3, "best trained functions whose neighbours local moves and a sampled pool's climb draw on"
            ),
            "score_batch": Option(
                20, "candidates scored before each trial (lazily, as the search goes); 0: all at first"
            ),
            "score_share": Option(
                0.25, "a lazy pool's zero-cost scores: priced once a trial ends, dropped past this share"
            ),
            "use_scores": Option(
                True, "rank with the engine's zero-cost scores (synflow, FLOPs, a cell's live FLOPs)"
            ),
            "feasibility_min_trials": Option(5, "profiled trials before a learnt constraint filters"),
            "feasibility_z": Option(
                1.0, "leave-one-out deviations of margin under the limit a learnt prediction must keep"
            ),
        },
        multi_objective=False,
    )
)
