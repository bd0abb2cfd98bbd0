"""The "dnas" strategy in the engine: one study, trials per epoch and the most likely architectures
retrained, events with the architecture weights, a latency penalty that lowers the expected latency, and
clear refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import optuna
import pytest
import torch

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.engine.pipeline import Candidate
from nas_workbench.engine.records import DNAS_ATTR, WEIGHTS_ATTR
from nas_workbench.engine.scorers import EvaluateScorer
from nas_workbench.engine.study_record import stopped_itself
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies.dnas import build_supernet
from nas_workbench.strategies.dnas.weight_sharing import WEIGHT_SHARING, FineTuneScorer
from nas_workbench.task import Task

TINY_NB201 = {"num_cells": 1, "stem_channels": 4}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One private profiling cache for the module: the lookup table is filled once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def config(storage: str, **options: Any) -> nw.SearchConfig:
    strategy_options = {
        "penalty": ["latency_ms"],
        "arch_learning_rate": 0.05,
        "retrain_top": 2,
        **options.pop("strategy_options", {}),
    }
    return nw.SearchConfig(
        space="nb201",
        space_options=TINY_NB201,
        strategy="dnas",
        strategy_options=strategy_options,
        objectives=["accuracy", "params"],
        profile_metrics=[],  # counted figures only: no latency measured per trial
        fidelity=nw.Fidelity(epochs=1, batch_size=16),
        n_trials=5,
        storage=storage,
        threads=1,
        **options,
    )


def search(cfg: nw.SearchConfig, data: Task | None = None) -> tuple[nw.SearchRun, list[ev.Event]]:
    run = nw.search(cfg, data=data)
    events: list[ev.Event] = []
    run.subscribe(events.append)
    run.run()
    return run, events


@pytest.fixture(scope="module")
def penalised(
    cache: None, tiny_task: Task, tmp_path_factory: pytest.TempPathFactory
) -> tuple[nw.SearchRun, list[ev.Event]]:
    storage = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dnas.db'}"
    return search(config(storage, strategy_options={"penalty_weight": 3.0}), tiny_task)


@pytest.fixture(scope="module")
def unpenalised(
    cache: None, tiny_task: Task, tmp_path_factory: pytest.TempPathFactory
) -> tuple[nw.SearchRun, list[ev.Event]]:
    storage = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dnas.db'}"
    return search(config(storage, strategy_options={"penalty_weight": 0.0}), tiny_task)


def test_each_epoch_logs_its_derived_architecture_and_the_likeliest_ones_are_retrained(penalised) -> None:
    run, _ = penalised
    results = run.results()
    assert [r.status for r in results] == ["ok"] * 5  # n_trials: 3 search epochs and 2 retrained
    trials = run.study.get_trials()
    search_trials, final, second = trials[:3], trials[3], trials[4]
    for epoch, trial in enumerate(search_trials, start=1):
        assert (
            trial.user_attrs[DNAS_ATTR]["phase"] == "search" and trial.user_attrs[DNAS_ATTR]["epoch"] == epoch
        )
        accuracy = trial.user_attrs["metrics"]["accuracy"]
        assert (accuracy["method"], accuracy["source"]) == ("estimated", WEIGHT_SHARING)
        info = trial.user_attrs[DNAS_ATTR]  # the supernet's epoch took time: wall and CPU seconds
        assert info["seconds"] > 0 and info["cpu_seconds"] > 0
        assert trial.user_attrs["metrics"]["params"]["method"] == "counted"  # profiled like any trial
        weights = trial.user_attrs[WEIGHTS_ATTR]
        assert sorted(weights) == sorted(run.space.decision_name(i, j) for i, j in run.space.edges)
        assert all(sum(p.values()) == pytest.approx(1.0) for p in weights.values())
        nw.ArchSpec.from_dict(trial.user_attrs["spec"])  # a stored spec, like every trial's
    assert [t.user_attrs[DNAS_ATTR]["phase"] for t in (final, second)] == ["retrain"] * 2
    assert [t.user_attrs[DNAS_ATTR]["rank"] for t in (final, second)] == [1, 2]
    assert final.params == search_trials[-1].params  # the last derived architecture...
    assert second.params != final.params  # ...and the runner-up under the final weights...
    for trial in (final, second):
        accuracy = trial.user_attrs["metrics"]["accuracy"]
        assert (accuracy["method"], accuracy["source"]) == (
            "measured",
            "trainer (validation split)",
        )  # ...trained
    assert [t.values[1] for t in trials] == [t.user_attrs["metrics"]["params"]["value"] for t in trials]


def test_events_carry_the_architecture_weights_before_each_epochs_trial(penalised) -> None:
    _, events = penalised
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and events[-1].reason == "completed"
    weights = [e for e in events if isinstance(e, ev.ArchitectureWeights)]
    assert [e.epoch for e in weights] == [1, 2, 3]
    for event in weights:
        started = next(e for e in events if isinstance(e, ev.TrialStarted) and e.number == event.number)
        assert kinds.index("architecture_weights", events.index(event)) < events.index(started)
        assert event.arch == started.arch
        assert set(event.expected) == {"latency_ms"}
        assert event.to_dict()["kind"] == "architecture_weights"
    finished = [e.number for e in events if isinstance(e, ev.TrialFinished)]
    assert finished == [0, 1, 2, 3, 4]


def _expected_latency(run: nw.SearchRun) -> list[float]:
    return [t.user_attrs[DNAS_ATTR]["expected"]["latency_ms"] for t in run.study.get_trials()[:3]]


def test_the_latency_penalty_lowers_the_expected_latency(penalised, unpenalised) -> None:
    with_penalty, without = _expected_latency(penalised[0]), _expected_latency(unpenalised[0])
    assert with_penalty[-1] < with_penalty[0]  # it falls epoch after epoch...
    assert with_penalty[-1] < without[-1]  # ...below where the same search ends without the penalty


def test_a_finished_search_is_not_run_again(penalised, tiny_task: Task) -> None:
    run, _ = penalised
    assert stopped_itself(run.storage, run.study_name)  # complete, for whoever reopens the study
    again, events = search(run.config, tiny_task)
    assert len(again.results()) == 5 and events[-1].reason == "completed"
    assert not any(isinstance(e, ev.ArchitectureWeights) for e in events)


def test_stop_ends_the_search_without_retraining(cache: None, tiny_task: Task, storage: str) -> None:
    run = nw.search(config(storage, strategy_options={"gumbel": True}), data=tiny_task)
    finished: list[ev.RunFinished] = []
    run.subscribe(lambda e: run.stop() if isinstance(e, ev.TrialFinished) else None)
    run.subscribe(lambda e: finished.append(e) if isinstance(e, ev.RunFinished) else None)
    run.run()
    assert finished[0].reason == "stopped" and not stopped_itself(run.storage, run.study_name)
    assert [t.user_attrs[DNAS_ATTR]["phase"] for t in run.study.get_trials()] == ["search"]


def test_fine_tuning_starts_from_the_supernets_weights() -> None:
    """``finetune_epochs``: a final architecture's network gets the supernet's weights (its path cut out)
    before it trains, where a retraining from scratch starts from a fresh initialisation."""
    torch.manual_seed(0)
    supernet = build_supernet(nw.spaces.get("nb201", **TINY_NB201), (1, 8, 8), 10)
    spec = supernet.derive()
    shared = supernet.export_state(spec)

    def same_as_supernet(spec: nw.ArchSpec, model: torch.nn.Module) -> dict[str, float]:
        state = model.state_dict()
        return {"accuracy": float(all(torch.equal(state[key], value) for key, value in shared.items()))}

    scorer = FineTuneScorer(EvaluateScorer(same_as_supernet, nw.SearchConfig(space="nb201")), supernet)
    fresh = supernet.space.build(spec, (1, 8, 8), 10)
    assert same_as_supernet(spec, fresh)["accuracy"] == 0.0
    trial = optuna.create_study(study_name="finetune").ask()
    assert scorer.score(Candidate(trial, spec, fresh, {}))["accuracy"].value == 1.0


def test_a_space_without_relaxation_is_refused_when_the_config_is_validated(
    tiny_task: Task, storage: str
) -> None:
    with pytest.raises(ConfigError) as error:
        nw.SearchConfig(space="multi_branch", strategy="dnas", storage=storage).validate()
    assert "no continuous relaxation" in str(error.value) and "evolution" in str(error.value)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"penalty_wieght": 1.0}, r"strategy_options\.penalty_wieght.*Did you mean 'penalty_weight'"),
        ({"penalty": ["energy_mj"]}, r"strategy_options\.penalty"),
        ({"targets": {"latency": 1.0}}, r"strategy_options\.targets.*Did you mean 'latency_ms'"),
        ({"penalty": ["flops"], "targets": {"latency_ms": 1.0}}, r"targets.*penalised metrics only"),
        ({"arch_split": 1.5}, r"strategy_options\.arch_split"),
        ({"gumbel": "yes"}, r"strategy_options\.gumbel"),
        ({"retrain_top": 0}, r"strategy_options\.retrain_top"),
        ({"finetune_epochs": 1.5}, r"strategy_options\.finetune_epochs"),
    ],
)
def test_bad_options_name_the_option(tiny_task: Task, storage: str, options: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        nw.SearchConfig(space="nb201", strategy="dnas", strategy_options=options, storage=storage).validate()


def test_the_budget_is_the_default_latency_target() -> None:
    cfg = nw.SearchConfig(space="nb201", strategy="dnas", budget={"latency_ms": 2.0, "energy_mj": 1.0})
    options = nw.strategies.dnas.DnasOptions.from_config(cfg)
    # the target sits below the limit by the landing's tolerance: a landing within it stays within budget
    assert options.penalty == ("latency_ms",) and options.targets == {"latency_ms": 2.0 / 1.05}
    default = nw.strategies.dnas.DnasOptions.from_config(nw.SearchConfig(space="nb201", strategy="dnas"))
    assert default.penalty == ("latency_ms",) and default.targets == {}  # a hardware objective, weighted


@pytest.mark.slow
def test_a_search_on_digits_finds_an_architecture_that_trains_well(cache: None, storage: str) -> None:
    """Measured: nb201 with 2 cells per stage, 10 epochs, retrained at the default fidelity: 0.99
    validation accuracy (benchmarks/dnas/README.md)."""
    cfg = nw.SearchConfig(
        space="nb201",
        space_options={"num_cells": 1},
        strategy="dnas",
        objectives=["accuracy"],
        profile_metrics=[],
        n_trials=5,
        storage=storage,
        threads=1,
    )
    run, _ = search(cfg)
    retrained = [r for r in run.results() if r.metrics["accuracy"]["method"] == "measured"]
    assert len(retrained) == 2  # 3 epochs, the 2 likeliest retrained (retrain_top: at most half)
    assert max(r.value("accuracy") for r in retrained) > 0.95
