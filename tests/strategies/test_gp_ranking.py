"""gp under a budget (nas_workbench.strategies.gp_ranking): one fit of the GP per trial, its acquisition read
over many candidates together with the feasibility model's probability that they fit, on the toy space of
test_budget_aware (cost rises with accuracy; the best feasible architecture is known by enumeration)."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from nas_workbench import strategies
from nas_workbench.strategies.feasibility_model import FeasibilityModel
from nas_workbench.strategies.gp_ranking import RankedGPSampler, normal_scores
from nas_workbench.testing.samplers import ToySpace, quick_options, run_study, toy_accuracy, toy_cost
from tests.strategies.test_budget_aware import random_specs, relative, toy_trial


def test_the_feasibility_model_gives_each_candidate_its_log_probability_of_fitting() -> None:
    model = FeasibilityModel.fit([toy_trial(s, relative(toy_cost(s))) for s in random_specs(40, 0)])
    assert model is not None
    cheap = {"depth": 1, "layer0.width": 8}  # cost 8 of 40
    near = {"depth": 2, "layer0.width": 16, "layer1.width": 16}  # 32 of 40
    costly = {"depth": 3, **{f"layer{i}.width": 32 for i in range(3)}}  # 96: far over
    log_p = model.log_feasible([cheap, near, costly])
    assert log_p.shape == (3,)
    assert log_p[0] > -0.01 and log_p[0] >= log_p[1] > log_p[2] and log_p[2] < np.log(0.01)
    # one at a time, as many at once
    assert np.allclose([model.log_feasible([c])[0] for c in (cheap, near, costly)], log_p)


def _budgeted(seed: int, n_trials: int, **options: Any) -> tuple[optuna.Study, list[int]]:
    """A gp search of the toy space under `BUDGET`, the engine's way (``options``: the sampler's), and the
    trial number of each GP fit. The toy cost is an exact sum of per-choice costs, so the hand-over to
    proxy-guided search is turned off: these tests are of the GP's own proposals (the hand-over's are in
    test_exact_handover)."""
    space = ToySpace()
    options = {**quick_options("gp"), "handover": False, **options}
    sampler = strategies.make_sampler("gp", seed=seed, space=space, **options)
    assert isinstance(sampler, RankedGPSampler)
    gp, fits = sampler.sampler, []
    sample = gp.sample_relative

    def counted(study: optuna.Study, trial: optuna.trial.FrozenTrial, space: dict) -> dict:
        gp.acquisition = None  # type: ignore[attr-defined]
        answer = sample(study, trial, space)
        if gp.acquisition is not None:  # type: ignore[attr-defined]  # fitted (after its start-up trials)
            fits.append(trial.number)
        return answer

    gp.sample_relative = counted  # type: ignore[method-assign]
    objective = lambda s: [toy_accuracy(s)]  # noqa: E731
    study = run_study(sampler, space, objective, n_trials, constraint=lambda s: relative(toy_cost(s)))
    return study, fits


def test_the_gp_is_fitted_at_most_once_a_trial_and_stays_inside_the_budget() -> None:
    study, fits = _budgeted(seed=0, n_trials=30)
    # before, a trial drew up to `feasibility_candidates` (20) proposals, each a whole fit
    assert fits and len(fits) == len(set(fits)) <= 30
    late = study.trials[15:]  # once the GP and the feasibility model are fitted
    feasible = [t for t in late if t.constraints["budget"] <= 0]
    assert len(feasible) >= 0.8 * len(late)  # random search: about 60% (test_budget_aware)


def test_normal_scores_keep_the_order_and_not_the_scale_of_an_outlier() -> None:
    accuracies = np.array([10.0, 85.0, 86.0, 86.0, 88.0, 90.0])  # one collapsed cell among good ones
    scores = normal_scores(accuracies)
    assert list(np.argsort(scores, kind="stable")) == list(np.argsort(accuracies, kind="stable"))
    assert scores[2] == scores[3] and np.isclose(scores.mean(), 0.0)  # ties alike, centred
    plain = (accuracies - accuracies.mean()) / accuracies.std()
    # standardised as they are, the good cells span 0.18 of the scale the outlier sets; as scores, 0.55
    assert np.ptp(plain[1:]) < 0.2 * np.ptp(plain) and np.ptp(scores[1:]) > 0.5 * np.ptp(scores)


def test_under_a_budget_the_gp_models_the_normal_scores_of_the_trials_within_it(monkeypatch) -> None:
    shown: list[list[float]] = []
    fit = optuna.samplers.GPSampler._sample_relative_impl

    def recorded(self, study, completed, *args):  # type: ignore[no-untyped-def]
        if self.defer:  # ranking under the fitted feasibility model (before it, Optuna's GP as it is)
            shown.append([t.values[0] for t in completed])
            assert not any(t.constraints for t in completed)  # the feasibility model judges fit
        return fit(self, study, completed, *args)

    monkeypatch.setattr(optuna.samplers.GPSampler, "_sample_relative_impl", recorded)
    study, _ = _budgeted(seed=0, n_trials=20)
    assert len(shown) >= 5
    within = [t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    last = shown[-1]  # the trials within budget before the last fit, as normal scores, not accuracies
    assert np.allclose(sorted(last), sorted(normal_scores(np.array(within[: len(last)]))))
    assert max(last) < 3.0 and min(last) < 0.0


def test_the_gp_models_the_counted_costs_beside_the_decisions(monkeypatch) -> None:
    seen: list[tuple[dict, list[dict]]] = []
    fit = optuna.samplers.GPSampler._sample_relative_impl

    def recorded(self, study, completed, running, search_space):  # type: ignore[no-untyped-def]
        if self.defer:
            seen.append((search_space, [t.params for t in completed]))
        return fit(self, study, completed, running, search_space)

    monkeypatch.setattr(optuna.samplers.GPSampler, "_sample_relative_impl", recorded)
    study, _ = _budgeted(seed=0, n_trials=20, costs=lambda spec: {"width": toy_cost(spec)})
    assert seen
    for search_space, params in seen:
        assert isinstance(search_space["cost:width"], optuna.distributions.FloatDistribution)
        widths = [sum(p[f"layer{i}.width"] for i in range(p["depth"])) for p in params]
        assert [p["cost:width"] for p in params] == widths  # each trial's counted cost, as the GP's input
    assert not any(name.startswith("cost:") for t in study.trials for name in t.params)  # the GP's only


def test_without_a_budget_gp_is_optunas_gp() -> None:
    # no constraints, no feasibility model: Optuna's own acquisition search proposes, not the ranking
    space = ToySpace()
    wrapped = strategies.make_sampler("gp", seed=0, space=space, **quick_options("gp"))
    bare = optuna.samplers.GPSampler(seed=0, n_startup_trials=4, warn_independent_sampling=False)

    def choices(sampler: optuna.samplers.BaseSampler) -> list[dict]:
        return [t.params for t in run_study(sampler, space, lambda s: [toy_accuracy(s)], 8).trials]

    assert choices(wrapped) == choices(bare)
