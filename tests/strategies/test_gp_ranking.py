"""gp under a budget (nas_workbench.strategies.gp_ranking): one fit of the GP per trial, its acquisition read
over many candidates together with the feasibility model's probability that they fit, on the toy space of
test_budget_aware (cost rises with accuracy; the best feasible architecture is known by enumeration)."""

from __future__ import annotations

import numpy as np
import optuna

from nas_workbench import strategies
from nas_workbench.strategies.feasibility_model import FeasibilityModel
from nas_workbench.strategies.gp_ranking import RankedGPSampler
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


def _budgeted(seed: int, n_trials: int) -> tuple[optuna.Study, list[int]]:
    """A gp search of the toy space under `BUDGET`, the engine's way, and the trial number of each GP fit."""
    space = ToySpace()
    sampler = strategies.make_sampler("gp", seed=seed, space=space, **quick_options("gp"))
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


def test_without_a_budget_gp_is_optunas_gp() -> None:
    # no constraints, no feasibility model: Optuna's own acquisition search proposes, not the ranking
    space = ToySpace()
    wrapped = strategies.make_sampler("gp", seed=0, space=space, **quick_options("gp"))
    bare = optuna.samplers.GPSampler(seed=0, n_startup_trials=4, warn_independent_sampling=False)

    def choices(sampler: optuna.samplers.BaseSampler) -> list[dict]:
        return [t.params for t in run_study(sampler, space, lambda s: [toy_accuracy(s)], 8).trials]

    assert choices(wrapped) == choices(bare)
