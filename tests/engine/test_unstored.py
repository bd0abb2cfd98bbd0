"""A finished evaluation that could not be stored outlives its process: the retry of its trial takes it
instead of evaluating again."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

import nas_workbench as nw
from nas_workbench.engine.scheduler import claim
from nas_workbench.engine.unstored import Unstored, UnstoredResults
from nas_workbench.testing.workers import score
from tests.engine.conftest import cheap_config


def test_kept_results_are_written_whole_taken_by_trial_number_and_forgotten(tmp_path):
    kept = UnstoredResults("a/b\nc", tmp_path)  # any study name makes a folder name
    result = Unstored("abc", [0.5, 10.0], {"status": "ok"}, {"params": -1.0}, "host:1")
    assert not kept.holds_any()  # no folder yet
    kept.keep(3, result)
    assert kept.holds_any()
    assert kept.take([1, 2]) is None
    assert kept.take([2, 3]) == (3, result)
    assert [p.name for p in kept.folder.iterdir()] == ["3.json"]  # no partial file left
    kept.forget(3)
    assert kept.take([3]) is None and not kept.holds_any()


def test_the_retry_of_a_trial_cut_off_after_its_evaluation_takes_the_kept_result(storage):
    config = cheap_config(storage, "unstored", n_trials=2, heartbeat_interval=0.5, repeats=True)
    first = nw.search(config, evaluate=score)
    # A process claims a trial, samples and evaluates it, keeps the result, and is cut off before telling
    # the study: its trial stays running, its heartbeat stops.
    trial, _ = claim(first.study, first.storage, config.n_trials)
    spec = first.space.sample(trial)
    evaluated = Unstored(spec.id, [0.75, 123.0], {"status": "ok", "metrics": {}}, {}, "elsewhere:1")
    UnstoredResults("unstored").keep(trial.number, evaluated)

    calls = []
    resumed = nw.search(config, evaluate=lambda s, m: calls.append(s.id) or score(s, m)).run()
    study = optuna.load_study(study_name="unstored", storage=storage)
    (retry,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == trial.number]
    assert retry.state == TrialState.COMPLETE and retry.values == [0.75, 123.0]
    assert retry.user_attrs["evaluated_by"] == "elsewhere:1" and retry.params == trial.params
    assert len(calls) == 1 and resumed.trials_done() == 2  # only the other trial was evaluated
    assert UnstoredResults("unstored").take([trial.number, retry.number]) is None  # forgotten once stored
