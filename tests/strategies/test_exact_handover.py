"""TPE and GP hand proposing to proxy-guided search once the budget is exact (`exact_constraints`,
`exact_handover`): on the toy space, whose cost (the hidden layers' total width) is an exact sum of
per-choice costs, and on the same cost with a noise fixed per architecture, as a device's table has."""

from __future__ import annotations

import random

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, create_trial

from nas_workbench import strategies
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.exact_constraints import MIN_VERIFIED, ExactConstraints
from nas_workbench.strategies.exact_handover import ExactHandover
from nas_workbench.strategies.feasibility import constrained_trials
from nas_workbench.strategies.proxy_guided import ATTR
from nas_workbench.testing.samplers import TOY_BUDGET, ToySpace, run_study, toy_accuracy, toy_cost
from tests.strategies.test_budget_aware import random_specs, toy_trial

CHOICES_AB = CategoricalDistribution((0, 1))
CHOICES_C = CategoricalDistribution(("x", "y"))


def exact(spec: ArchSpec) -> float:
    """The engine's constraint value of the toy cost under `TOY_BUDGET`: a sum of per-choice costs."""
    return (toy_cost(spec) - TOY_BUDGET) / TOY_BUDGET


def noisy(spec: ArchSpec) -> float:
    """`exact`'s cost measured with up to ±10% noise, fixed per architecture (a phone's latency table)."""
    noise = random.Random(spec.to_json()).uniform(-0.1, 0.1)
    return (toy_cost(spec) * (1.0 + noise) - TOY_BUDGET) / TOY_BUDGET


def test_an_additive_constraint_is_exact_and_predicts_every_architecture() -> None:
    fit = ExactConstraints.fit([toy_trial(s, exact(s)) for s in random_specs(30, 0)])
    assert fit is not None and fit.names == ("budget",) and fit.verified >= 10
    assert fit.worst[0] < 1e-9
    for spec in random_specs(200, 1):
        assert abs(fit.predict(spec.choices)["budget"] - exact(spec)) < 1e-9


def test_a_noisy_constraint_or_too_few_trials_are_not_exact() -> None:
    measured = [toy_trial(s, noisy(s)) for s in random_specs(60, 0)]
    assert ExactConstraints.fit(measured) is None
    assert ExactConstraints.fit(measured, tolerance=1.0) is not None  # a tolerance looser than the noise
    few = [toy_trial(s, exact(s)) for s in random_specs(MIN_VERIFIED, 0)]  # fewer beyond the costs
    assert ExactConstraints.fit(few) is None


def test_a_choice_no_trial_made_is_not_known() -> None:
    # every trial two layers deep: what a third layer or a single one costs is not known, so not exact
    shallow = [s for s in random_specs(200, 0) if s.choices["depth"] == 2][:30]
    assert ExactConstraints.fit([toy_trial(s, exact(s)) for s in shallow]) is None


def test_an_architecture_the_trials_do_not_determine_is_not_predicted() -> None:
    # "c" is asked only when a and b are both 1, and no trial chose "y" there: the decisions' blocks are
    # all told apart (the fit is exact), yet c=y's cost is not known
    def trial(a: int, b: int, c: str | None) -> FrozenTrial:
        params: dict[str, object] = {"a": a, "b": b} | ({"c": c} if c else {})
        distributions = {"a": CHOICES_AB, "b": CHOICES_AB} | ({"c": CHOICES_C} if c else {})
        cost = a + 2 * b + (4 if c == "x" else 0)
        return create_trial(params=params, distributions=distributions, value=0.0, constraints={"t": cost})

    trials = [trial(0, 0, None), trial(1, 0, None), trial(0, 1, None), trial(1, 1, "x")] * 5
    fit = ExactConstraints.fit(trials)
    assert fit is not None and fit.predict({"a": 1, "b": 1, "c": "x"})["t"] == pytest.approx(7.0)
    assert np.isnan(fit.predict({"a": 1, "b": 1, "c": "y"})["t"])


def handed_over(study: optuna.Study) -> list[int]:
    """The numbers of the trials proxy-guided search proposed (it records each one's source)."""
    return [t.number for t in study.trials if f"{ATTR}:source" in t.system_attrs]


@pytest.mark.parametrize("strategy", ["tpe", "gp"])
def test_hands_over_once_the_budget_is_exact_and_then_proposes_within_it(strategy: str) -> None:
    space = ToySpace()
    sampler = strategies.make_sampler(strategy, seed=0, space=space)
    assert isinstance(sampler, ExactHandover)
    study = run_study(sampler, space, lambda s: [toy_accuracy(s)], 40, constraint=exact)
    proposed = handed_over(study)
    assert proposed, "the exact budget was never handed over"
    first = proposed[0]
    trials = constrained_trials(study, exclude=first)[:first]
    assert ExactConstraints.fit(trials) is not None  # handed over when the trials before said it is exact
    assert proposed == list(range(first, 40))  # and kept: no trial broke the fit
    assert all(study.trials[n].constraints["budget"] <= 0 for n in proposed)


@pytest.mark.parametrize("strategy", ["tpe", "gp"])
def test_keeps_proposing_under_a_noisy_budget(strategy: str) -> None:
    space = ToySpace()
    sampler = strategies.make_sampler(strategy, seed=0, space=space)
    study = run_study(sampler, space, lambda s: [toy_accuracy(s)], 40, constraint=noisy)
    assert handed_over(study) == []
    assert any(t.constraints["budget"] <= 0 for t in study.trials)


@pytest.mark.parametrize("strategy", ["tpe", "gp"])
def test_no_handover_for_several_objectives_or_when_turned_off(strategy: str) -> None:
    space = ToySpace()
    several = strategies.make_sampler(strategy, seed=0, space=space, directions=("maximize", "minimize"))
    assert not isinstance(several, ExactHandover)
    off = strategies.make_sampler(strategy, seed=0, space=space, handover=False)
    assert not isinstance(off, ExactHandover)


def test_a_budget_on_counted_costs_alone_is_not_handed_over() -> None:
    """A parameter limit is exact by construction and TPE judges it exactly already (`exact_limits`); the
    hand-over was measured only for a measured cost found exact."""
    space = ToySpace()
    sampler = strategies.make_sampler("tpe", seed=0, space=space)
    study = run_study(
        sampler, space, lambda s: [toy_accuracy(s)], 40, constraint=exact, constraint_name="params"
    )
    assert ExactConstraints.fit(constrained_trials(study)) is not None and handed_over(study) == []


def test_a_search_on_a_device_whose_profile_is_additive_hands_over_in_the_engine(
    tmp_path, monkeypatch, tiny_task
):
    """Through `nw.search`, as a user runs it: `tpe` under a `target_device` budget whose profile (counts
    only, no FLOPs prior) predicts an exact sum of per-operation costs, the engine's constraints
    (`engine.budget.constraint_values`) make that sum exact on the trials, and proxy-guided search proposes
    the rest, within budget."""
    import nas_workbench as nw

    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))
    space = nw.spaces.get("nb201", num_cells=1, stem_channels=4)
    cost = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.5, "skip_connect": 0.1, "none": 0.0}
    archs = nw.profiling.propose(space, 12, seed=0)
    latency = [1.0 + sum(cost[op] for op in space.parse(a).choices.values()) for a in archs]
    shape, classes = tiny_task.input_shape, tiny_task.num_classes
    nw.profiling.fit_device(
        "adder", space, archs, latency, input_shape=shape, num_classes=classes, prior=False
    )
    config = nw.SearchConfig(
        space="nb201", space_options={"num_cells": 1, "stem_channels": 4}, strategy="tpe",
        objectives=["accuracy"], budget={"latency_ms": 8.0}, target_device="adder", n_trials=30,
        storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="adder", profile_metrics=["params"], seed=0,
    )  # fmt: skip
    convs = lambda spec, model: {"accuracy": sum(op == "nor_conv_3x3" for op in spec.choices.values()) / 6}  # noqa: E731
    run = nw.search(config, evaluate=convs, data=tiny_task).run()
    proposed = handed_over(run.study)
    assert proposed and proposed[0] >= MIN_VERIFIED  # once enough trials showed the sum exact
    results = {r.number: r for r in run.results()}
    assert all(results[n].status == "ok" for n in proposed)  # proxy-guided search kept within the budget


def test_a_trial_served_by_proxy_guided_search_keeps_the_exact_fit_when_another_worker_breaks_it() -> None:
    """Two workers share one sampler: trial A starts once the budget is exact (proxy-guided search serves
    it); meanwhile a trial that breaks the fit finishes and trial B starts under TPE. A's proposal is still
    predicted by the last exact fit, and B's sampler is TPE."""
    space = ToySpace()
    sampler = strategies.make_sampler("tpe", seed=0, space=space)
    assert isinstance(sampler, ExactHandover)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for spec in random_specs(30, 0):
        study.add_trial(toy_trial(spec, exact(spec)))
    first = study.ask()
    assert sampler._sampler(study, study.trials[first.number]) is sampler.then()
    breaking = random_specs(1, 7)[0]
    study.add_trial(toy_trial(breaking, exact(breaking) + 0.5))
    second = study.ask()
    assert sampler._sampler(study, study.trials[second.number]) is sampler.first
    spec = random_specs(1, 8)[0]
    predicted = sampler._predicted_costs(spec)["budget"]
    assert predicted == pytest.approx(1.0 + exact(spec), abs=1e-3)


def test_two_exact_constraints_hand_over_and_proposals_keep_within_both() -> None:
    """A latency and a memory limit, each an exact sum of per-choice costs: the hand-over waits for both
    to be exact, then proxy-guided search keeps every proposal within both limits."""
    from nas_workbench.trial_attrs import record

    space = ToySpace()

    def memory(spec: ArchSpec) -> float:  # 10 MB a layer, 15 MB more for an MLP head, against 30 MB
        return (10.0 * spec.choices["depth"] + 15.0 * (spec.choices["head"] == "mlp") - 30.0) / 30.0

    sampler = strategies.make_sampler("tpe", seed=0, space=space)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def evaluate(trial: optuna.Trial) -> float:
        spec = space.sample(trial)
        record(trial, spec=spec.to_dict())
        excess = {"latency_ms": exact(spec), "peak_memory_mb": memory(spec)}
        for name, value in excess.items():
            trial.set_constraint(name, value)  # type: ignore[attr-defined]
        if max(excess.values()) > 0:
            raise optuna.TrialPruned("over budget")
        return toy_accuracy(spec)

    study.optimize(evaluate, n_trials=40)
    proposed = handed_over(study)
    assert proposed, "the exact budget was never handed over"
    fit = ExactConstraints.fit(constrained_trials(study, exclude=proposed[0])[: proposed[0]])
    assert fit is not None and fit.names == ("latency_ms", "peak_memory_mb")
    assert all(max(study.trials[n].constraints.values()) <= 0 for n in proposed)


def test_a_fixed_edge_is_no_unknown_cost_and_the_budget_is_handed_over() -> None:
    """A one-cell NAS-Bench-201 search with an edge fixed (``fixed_choices``) under a latency that is an
    exact sum of per-edge, per-operation costs: no trial makes the edge's other operations, so with them
    counted the fit never determined every cost and TPE proposed all 60 trials. No candidate makes them
    either (the sampler draws from `spaces.with_fixed`), so the fit leaves them out and hands over; an
    architecture with another operation on that edge is still not predicted."""
    import nas_workbench as nw

    space = nw.spaces.get("nb201", num_cells=1, stem_channels=4)
    cost = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.5, "skip_connect": 0.1, "none": 0.0}

    def latency(spec: ArchSpec) -> float:  # later edges cost more: the counts of operations are not exact
        total = 1.0 + sum(cost[op] * (1 + i / 4) for i, op in enumerate(spec.choices.values()))
        return (total - 10.0) / 10.0

    fixed = {"node3.from2": "nor_conv_3x3"}
    sampler = strategies.make_sampler("tpe", seed=0, space=space, fixed_choices=fixed)
    convs = lambda spec: [sum(op == "nor_conv_3x3" for op in spec.choices.values()) / 6]  # noqa: E731
    study = run_study(sampler, space, convs, 60, constraint=latency, constraint_name="latency_ms")
    proposed = handed_over(study)
    assert proposed, "the exact budget was never handed over"
    assert all(t.params["node3.from2"] == "nor_conv_3x3" for t in study.trials)
    assert all(study.trials[n].constraints["latency_ms"] <= 0 for n in proposed)
    fit = ExactConstraints.fit(constrained_trials(study), fixed=fixed)
    assert fit is not None
    other = dict(study.trials[-1].params) | {"node3.from2": "none"}
    assert np.isnan(fit.predict(other)["latency_ms"])
