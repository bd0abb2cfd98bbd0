"""The engine end to end on a tiny space: budgets, failures, stop/resume, events, storage records."""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.engine.study_record import stopped_itself
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.drift import REFERENCE_NETWORKS
from nas_workbench.testing import workers as testing_workers
from nas_workbench.testing.workers import TINY_CHAIN
from nas_workbench.viz import TrialTable
from nas_workbench.viz._state import UNSCORED_AT

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures: depth 1-2, conv or dwsep, two widths
FAST_PROFILE = ["params", "flops", "macs"]


def config(storage: str, **changes) -> nw.SearchConfig:
    settings = {
        "space": "chain",
        "space_options": TINY,
        "strategy": "random",
        "objectives": ["accuracy", "params"],
        "fidelity": nw.Fidelity(epochs=2, batch_size=32),
        "n_trials": 6,
        "storage": storage,
        "study_name": "t",
        "profile_metrics": FAST_PROFILE,
        **changes,
    }
    return nw.SearchConfig(**settings)


def score(spec, model) -> dict[str, float]:
    """A deterministic, cheap evaluation: more parameters score higher."""
    return {"accuracy": 1 - 1 / (1 + sum(p.numel() for p in model.parameters()) / 1000)}


def test_search_trains_records_and_emits_events(storage, tiny_task):
    run = nw.search(config(storage, n_trials=3), data=tiny_task)
    seen: list[ev.Event] = []
    run.subscribe(seen.append)
    run.run()
    results = run.results()
    assert [r.status for r in results] == ["ok"] * 3
    for r in results:
        assert 0.0 <= r.value("accuracy") <= 1.0 and 0.0 <= r.value("test_accuracy") <= 1.0
        assert r.metrics["params"]["method"] == "counted" and r.metrics["params"]["unit"] == "count"
        assert r.metrics["accuracy"]["source"].startswith("trainer")
        assert nw.spaces.get("chain", **TINY).parse(r.arch).to_dict() == r.spec
        assert r.values == (r.value("accuracy"), r.value("params"))
    kinds = [e.kind for e in seen]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("trial_started") == kinds.count("trial_finished") == 3
    assert kinds.count("trial_reported") == 3 * 2  # one per epoch
    assert seen[-1].reason == "completed" and seen[-1].trials_done == 3
    for event in seen:
        assert event.to_dict()["kind"] == event.kind  # JSON-able with its kind
    stored = optuna.load_study(study_name="t", storage=storage)
    meta = stored.user_attrs["nas_workbench"]
    assert meta["space"] == "chain" and meta["objectives"][1] == {"metric": "params", "direction": "minimize"}
    assert stored.trials[0].user_attrs["device"]["device"] == "cpu"


def test_trials_run_on_one_thread_by_default_and_the_callers_setting_comes_back(storage, tiny_task):
    """A kernel keeps torch's threads (every core); a default search trains and times its trials on one
    (on 2 busy cores, two threads made a default trial in JupyterLab 6-8 times slower), then gives the
    kernel's setting back. An explicit count is used as given."""
    seen: list[int] = []

    def counting(spec, model):
        seen.append(torch.get_num_threads())
        return score(spec, model)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        nw.search(config(storage, n_trials=2, threads=nw.SearchConfig().threads), evaluate=counting,
                  data=tiny_task).run()  # fmt: skip
        assert seen == [1, 1] and torch.get_num_threads() == 2
        nw.search(config(storage, n_trials=1, threads=2, study_name="two"), evaluate=counting,
                  data=tiny_task).run()  # fmt: skip
        assert seen == [1, 1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_over_budget_is_infeasible_and_spends_no_training(storage, tiny_task):
    space = nw.spaces.get("chain", **TINY)
    smallest = min(
        sum(p.numel() for p in space.build(s, (1, 8, 8), 2).parameters())
        for s in nw.spaces.enumerate_specs(space)
    )
    evaluated = []

    def evaluate(spec, model):
        evaluated.append(spec.id)
        return score(spec, model)

    run = nw.search(
        config(storage, budget={"params": smallest}, n_trials=8), evaluate=evaluate, data=tiny_task
    )
    results = run.run().results()
    infeasible = [r for r in results if r.status == "infeasible"]
    assert infeasible and all(not r.feasible for r in infeasible)
    for result in infeasible:  # the reason names the metric, its value, the limit and the unit
        value = result.value("params")  # in full, as the tables write counts (was "1.919e+04 > 19190 count")
        assert result.reason == f"over budget: params {value:,.0f} > {smallest:,.0f} parameters"
    over = [t for t in run.study.trials if t.user_attrs["status"] == "infeasible"]
    assert len(over) == len(infeasible) and all(t.constraints["params"] > 0 for t in over)
    # constraints as constraints: the study holds no objective value for them, not even a placeholder,
    # so no sampler learns from one (TPE ranks them by violation, GP and NSGA-II leave them out)
    assert all(t.state == optuna.trial.TrialState.PRUNED and t.values is None for t in over)
    assert all(r.values is None for r in infeasible)
    ok = {nw.ArchSpec.from_dict(r.spec).id for r in results if r.status == "ok"}
    assert set(evaluated) == ok  # only networks within the budget were evaluated
    # not trained: no accuracy anywhere a user looks (results, plot data), whatever the study is told
    assert all(r.value("accuracy") is None for r in infeasible)
    table = TrialTable(run.config.objectives, run.config.directions)
    table.extend(results)
    rows = [table.rows_by_number[r.number] for r in infeasible]
    assert all(math.isnan(table.columns["accuracy"][i]) for i in rows)
    assert all(table.columns["unscored_at"][i] == UNSCORED_AT for i in rows)


def test_budget_splits_feasible_and_infeasible(storage, tiny_task):
    space = nw.spaces.get("chain", **TINY)
    sizes = sorted(
        {
            sum(p.numel() for p in space.build(s, (1, 8, 8), 2).parameters())
            for s in nw.spaces.enumerate_specs(space)
        }
    )
    limit = sizes[len(sizes) // 2]
    run = nw.search(config(storage, budget={"params": limit}, n_trials=12), evaluate=score, data=tiny_task)
    run.run()
    for r in run.results():
        assert r.feasible == (r.value("params") <= limit)
        assert r.status == ("ok" if r.feasible else "infeasible")
    front = run.pareto()
    assert front and all(r.feasible and r.status == "ok" for r in front)


def test_failing_trials_are_recorded_and_the_search_goes_on(storage, tiny_task):
    def flaky(spec, model):
        if spec.choices["stage1.depth"] == 2:
            raise RuntimeError("out of luck")
        return {"accuracy": math.nan} if spec.choices["stage1.block0.op"] == "conv" else score(spec, model)

    run = nw.search(config(storage, n_trials=12, seed=1), evaluate=flaky, data=tiny_task)
    run.run()
    results = run.results()
    assert len(results) == 12
    failed = [r for r in results if r.status == "failed"]
    assert failed and {r.reason.split(":")[0] for r in failed} <= {"RuntimeError", "ConfigError"}
    assert any("out of luck" in r.reason for r in failed)
    assert any(r.status == "ok" for r in results)


def test_stop_then_resume_completes_without_loss_or_duplicates(storage, tiny_task):
    first = nw.search(config(storage, n_trials=8), evaluate=score, data=tiny_task)
    finished = threading.Event()

    def stop_after_three(event):
        if isinstance(event, ev.TrialFinished) and event.number == 2:
            first.stop()
        if isinstance(event, ev.RunFinished):
            finished.set()

    first.subscribe(stop_after_three)
    first.start()
    assert first.wait(timeout=120) and finished.is_set()
    assert first.trials_done() == 3  # stopped at the trial boundary

    second = nw.search(config(storage, n_trials=8), evaluate=score, data=tiny_task)
    reasons = []
    second.subscribe(lambda e: reasons.append(e.trials_before) if isinstance(e, ev.RunStarted) else None)
    second.run()
    numbers = [r.number for r in second.results()]
    assert reasons == [3] and numbers == list(range(8))
    assert all(r.status == "ok" for r in second.results())


def test_start_returns_at_once_and_the_caller_stays_free(storage, tiny_task):
    run = nw.search(config(storage, n_trials=4), data=tiny_task)
    run.start()
    assert run.running  # the caller got control back while trials run
    with pytest.raises(nw.NasWorkbenchError, match="already running"):
        run.start()
    assert run.wait(timeout=120)
    assert run.trials_done() == 4


def test_same_seed_gives_same_architectures(tmp_path, tiny_task):
    archs = []
    for index in range(2):
        run = nw.search(
            config(f"sqlite:///{tmp_path / f'{index}.db'}", seed=7), evaluate=score, data=tiny_task
        )
        archs.append([r.arch for r in run.run().results()])
    assert archs[0] == archs[1]


def test_initial_architectures_are_tried_first(storage, tiny_task):
    space = nw.spaces.get("chain", **TINY)
    seeds = [space.format(space.random(s)) for s in (11, 12)]
    run = nw.search(config(storage, initial_architectures=seeds, n_trials=3), evaluate=score, data=tiny_task)
    results = run.run().results()
    assert [r.arch for r in results[:2]] == seeds


def test_resuming_with_other_objectives_is_refused(storage, tiny_task):
    nw.search(config(storage, n_trials=1), evaluate=score, data=tiny_task).run()
    with pytest.raises(ConfigError, match="study_name"):
        nw.search(config(storage, objectives=["accuracy", "flops"]), data=tiny_task)


def test_data_of_one_class_is_refused_before_a_study_is_created(storage):
    # the refusal came after optuna.create_study: an empty study was left in the storage, listed by the
    # side panel as "stopped, 0 trials" (and a later search under its name resumed a study of no record)
    x, y = np.random.default_rng(0).random((100, 5), dtype=np.float32), np.array(["a"] * 100)
    with pytest.raises(ConfigError, match="at least two classes"):
        nw.search(config(storage), evaluate=score, data=(x, y))
    assert optuna.study.get_all_study_names(storage) == []


def test_evaluate_without_accuracy_fails_the_trial_clearly(storage, tiny_task):
    run = nw.search(config(storage, n_trials=1), evaluate=lambda spec, model: {"score": 1.0}, data=tiny_task)
    (result,) = run.run().results()
    assert result.status == "failed" and "'accuracy'" in result.reason


@pytest.mark.parametrize(
    "n_trials, processes",  # the space holds exactly 20; plans with room to spare, which workers never fill
    [
        pytest.param(20, None, id="in-process-20"),
        pytest.param(25, None, id="in-process-25"),
        pytest.param(60, 2, id="local-workers-2"),
        pytest.param(
            60, 0, id="external-worker", marks=pytest.mark.slow
        ),  # the worker path of local-workers-2
    ],
)
def test_grid_tries_every_architecture_once_then_completes(
    storage, tiny_task, n_trials, processes, workers, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # local workers' logs go to ./runs
    changes = {} if processes is None else {"timeout": 120}
    events: list[ev.Event] = []
    grid = config(storage, strategy="grid", n_trials=n_trials, **changes)
    data = tiny_task if processes is None else None  # worker processes rebuild digits by themselves
    run = nw.search(grid, evaluate=testing_workers.score, data=data)  # importable by worker processes
    run.subscribe(events.append)
    external = workers(storage, "t") if processes == 0 else None  # "a cluster job" on the same study
    results = run.run(workers=processes).results()  # the sampler's Study.stop() ends the search
    assert nw.spaces.get("chain", **TINY).size() == 20
    assert len({r.arch for r in results}) == 20  # every architecture of the space
    if processes is None:
        assert len(results) == 20  # in one process, every architecture exactly once
    else:  # processes sampling at one moment may pick one architecture twice, as Optuna's n_jobs may (5 of
        # 25 trials once, with two workers and trials of 0.06 s): far fewer than 60 all the same
        assert len(results) < n_trials  # the grid ended the search, not the plan's size
    assert all(r.status == "ok" for r in results)
    (finished,) = [e for e in events if isinstance(e, ev.RunFinished)]
    assert finished.reason == "completed" and finished.error is None
    assert stopped_itself(run.storage, "t")  # recorded in the study, for every process watching it
    if external is not None:
        assert external.wait(60) == 0  # the worker saw the grid done and exited by itself
    if processes:
        assert run.worker_logs == [Path("runs") / f"t-worker{i}.log" for i in range(processes)]
        assert all(path.read_text() for path in run.worker_logs)  # the paths the processes wrote to


def test_fixed_choices_raise_no_experimental_warning(storage, tiny_task):
    with warnings.catch_warnings():  # Optuna flags PartialFixedSampler experimental; users need not hear it
        warnings.simplefilter("error", optuna.exceptions.ExperimentalWarning)
        fixed = config(storage, fixed_choices={"stage1.depth": 1}, n_trials=2)
        results = nw.search(fixed, evaluate=score, data=tiny_task).run().results()
    assert [r.spec["choices"]["stage1.depth"] for r in results] == [1, 1]


def test_fixed_choices_are_kept_by_the_strategy_that_judges_the_budget(storage, tiny_task):
    """The strategy is given the space with the fixed choices (`spaces.with_fixed`): the candidates it
    judges within a parameter budget are the architectures the trials run. Given the whole space, TPE's
    candidates had a cheap op on the fixed edge, the trials ran the fixed conv, and all 12 went over."""
    fixed = {"node3.from0": "nor_conv_3x3"}  # the cell's largest op on its longest edge: 7,766-20,086 params
    cfg = config(storage, space="nb201", space_options={"num_cells": 1, "stem_channels": 4}, strategy="tpe",
                 objectives=["accuracy"], budget={"params": 9000}, fixed_choices=fixed, n_trials=12,
                 profile_metrics=["params"], seed=0)  # fmt: skip
    conv3 = lambda spec, model: {"accuracy": sum(op == "nor_conv_3x3" for op in spec.choices.values()) / 6}  # noqa: E731
    results = nw.search(cfg, evaluate=conv3, data=tiny_task).run().results()
    assert all(r.spec["choices"]["node3.from0"] == "nor_conv_3x3" for r in results)
    assert [r.status for r in results] == ["ok"] * 12


@pytest.mark.slow  # 16 s; the calibration and re-timing at a search start have a 5 s test in test_drift
def test_a_proxy_search_starts_with_a_calibrated_table_and_fresh_drift(tmp_path, tiny_task, monkeypatch):
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("nas_workbench.profiling.drift.ROUNDS_AGREE", math.inf)  # a busy machine's rounds
    storage = f"sqlite:///{tmp_path / 's.db'}"
    cfg = config(storage, objectives=["accuracy", "latency_ms"], profile_metrics=["latency_ms"],
                 profiling_method="proxy", n_trials=1, threads=1)  # fmt: skip
    [trial] = nw.search(cfg, data=tiny_task).run().results()
    table = nw.profiling.LookupTable.for_device("cpu", 1)
    name = table.correction_name("chain", (1, *tiny_task.input_shape))
    assert name in table.corrections and table.drift[name].ratios == []  # calibrated at the start
    assert trial.metrics["latency_ms"]["detail"]["calibrated"] is True
    nw.search(
        cfg.replace(study_name="again"), data=tiny_task
    ).run()  # the next search re-times the drift references
    drift = nw.profiling.LookupTable.for_device("cpu", 1).drift[name]
    assert len(drift.ratios) == REFERENCE_NETWORKS
