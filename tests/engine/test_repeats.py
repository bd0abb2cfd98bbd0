"""No architecture trained twice in a study: distinct sampler streams per worker and per resume, and a
repeated proposal answered from the stored result. Real SQLite studies, real worker processes; every
evaluation in any process is logged (`nas_workbench.testing.workers`)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine import repeats
from nas_workbench.engine.repeats import RepeatIndex
from nas_workbench.engine.streams import HISTORY_ENV, WORKER_INDEX_ENV, sampler_seed, stream_position
from nas_workbench.testing.workers import TINY_CHAIN, score, sleepy
from tests.engine.conftest import cheap_config


def evaluated(eval_log) -> Counter[str]:
    """How many times each architecture was evaluated, by any process."""
    return Counter(line.split()[1] for line in eval_log())


def test_streams_differ_per_worker_and_history_and_repeat_for_the_same_ones():
    assert sampler_seed(7) == 7  # a new single-process search draws what it always drew
    seeds = {sampler_seed(7, worker, history) for worker in range(4) for history in (0, 10, 20)}
    assert len(seeds) == 12 and all(0 <= s < 2**32 for s in seeds)
    assert sampler_seed(7, 1, 10) == sampler_seed(7, 1, 10) != sampler_seed(8, 1, 10)


def test_a_worker_takes_its_position_from_its_launcher(monkeypatch):
    assert stream_position(5) == (0, 5)
    monkeypatch.setenv(WORKER_INDEX_ENV, "3")
    monkeypatch.setenv(HISTORY_ENV, "12")
    assert stream_position(5) == (3, 12)  # however many trials this worker saw when it started


def test_a_resumed_search_trains_no_architecture_again(storage, eval_log):
    """Stop after 4 trials, then resume to 10 with a sampler rebuilt from the same config (as after a
    kernel restart): the resumed trials are new architectures, each evaluated once."""
    first = cheap_config(storage, "resume", space_options={}, n_trials=4)  # millions of architectures
    nw.search(first, evaluate=score).run()
    resumed = nw.search(cheap_config(storage, "resume", space_options={}, n_trials=10), evaluate=score)
    results = resumed.run().results()
    assert len(results) == 10 and all(r.status == "ok" for r in results)
    counts = evaluated(eval_log)
    assert sum(counts.values()) == 10 and set(counts.values()) == {1}
    assert len({r.arch for r in results}) == 10


def test_a_repeated_architecture_reuses_the_stored_result(storage, eval_log):
    space = nw.spaces.get("chain", **TINY_CHAIN)
    assert space.size() == 4
    results = nw.search(cheap_config(storage, "small", n_trials=12), evaluate=score).run().results()
    counts = evaluated(eval_log)
    assert set(counts.values()) == {1}  # each architecture evaluated once
    repeats = repeat_of(storage, "small")
    originals = {r.number: r for r in results if r.number not in repeats}
    assert len(originals) == len(counts) and len(results) == 12
    for result in results:
        if result.number in repeats:
            original = originals[repeats[result.number]]
            assert result.values == original.values and result.metrics == original.metrics
            assert result.arch == original.arch and result.status == original.status


def test_a_repeated_architecture_over_budget_is_over_budget_again(storage, eval_log):
    """A repeat of an untrained, over-budget trial is recorded over budget again: pruned with the original's
    constraints and reason, no value told, nothing evaluated."""
    space = nw.spaces.get("chain", **TINY_CHAIN)
    sizes = sorted(sum(p.numel() for p in space.build(s, (1, 8, 8), 10).parameters()) for s in
                   nw.spaces.enumerate_specs(space))  # fmt: skip
    config = cheap_config(storage, "over", n_trials=12, budget={"params": sizes[1]})
    results = nw.search(config, evaluate=score).run().results()
    repeats = repeat_of(storage, "over")
    trials = {t.number: t for t in optuna.load_study(study_name="over", storage=storage).trials}
    over = [r for r in results if r.status == "infeasible"]
    assert any(r.number in repeats for r in over), "no over-budget architecture was repeated"
    for result in over:
        trial = trials[result.number]
        assert trial.state == optuna.trial.TrialState.PRUNED and trial.values is None
        assert trial.constraints["params"] > 0 and result.reason.startswith("over budget: params")
        if result.number in repeats:
            assert trial.constraints == trials[repeats[result.number]].constraints
    assert sum(evaluated(eval_log).values()) == len({r.arch for r in results if r.status == "ok"})


def test_repeats_are_trained_when_asked_for(storage, eval_log):
    results = (
        nw.search(cheap_config(storage, "noise", n_trials=8, repeats=True), evaluate=score).run().results()
    )
    assert len(results) == 8 and sum(evaluated(eval_log).values()) == 8


@pytest.mark.slow  # 14 s; the repeat rule between workers is checked by the next test
def test_two_workers_draw_different_architectures(storage, eval_log, monkeypatch, tmp_path):
    """Seeded alike, both workers' random samplers would propose the same sequence."""
    monkeypatch.chdir(tmp_path)  # the workers' logs go to ./runs
    config = cheap_config(storage, "pair", space_options={}, n_trials=8, timeout=300)
    run = nw.search(config, evaluate=score)
    results = run.run(workers=2).results()
    assert len(results) == 8 and all(r.status == "ok" for r in results)
    assert len({r.worker for r in results}) == 2, "both workers took trials"
    counts = evaluated(eval_log)
    assert sum(counts.values()) == 8 and set(counts.values()) == {1}
    assert repeat_of(storage, "pair") == {}


def repeat_of(storage: str, study: str) -> dict[int, int]:
    """Repeated trials: number -> the number of the trial whose result they reused."""
    trials = optuna.load_study(study_name=study, storage=storage).trials
    return {t.number: t.user_attrs["repeat_of"] for t in trials if "repeat_of" in t.user_attrs}


@pytest.fixture(autouse=True)
def _no_inherited_stream(monkeypatch):
    """This process is not a worker, whatever the environment it was started from."""
    monkeypatch.delenv(WORKER_INDEX_ENV, raising=False)
    monkeypatch.delenv(HISTORY_ENV, raising=False)


def test_two_workers_drawing_one_architecture_at_once_train_it_once(storage, eval_log, monkeypatch, tmp_path):
    """A space of 4 and trials of 0.3 s: the workers often hold the same architecture at the same time."""
    monkeypatch.chdir(tmp_path)
    config = cheap_config(storage, "crowded", n_trials=12, timeout=300)
    results = nw.search(config, evaluate=sleepy).run(workers=2).results()
    assert len(results) == 12 and all(r.status == "ok" for r in results)
    counts = evaluated(eval_log)
    assert set(counts.values()) == {1} and len(counts) == len({r.arch for r in results})
    assert len(repeat_of(storage, "crowded")) == 12 - len(counts)


def test_a_later_twin_waits_for_an_earlier_trial_still_choosing_its_architecture(storage):
    """The race behind two workers training one architecture: trial 0 is running but has not recorded its
    architecture yet when trial 1, which drew the same one, looks. Trial 1 waits, then reuses trial 0's."""
    study = optuna.create_study(study_name="race", storage=storage, direction="maximize")
    spec = next(iter(nw.spaces.enumerate_specs(nw.spaces.get("chain", **TINY_CHAIN))))
    earlier, later = study.ask(), study.ask()
    later.set_user_attr("spec", spec.to_dict())

    def finish_earlier() -> None:
        time.sleep(0.5)  # still sampling when the later trial looks
        earlier.set_user_attr("spec", spec.to_dict())
        time.sleep(0.5)  # then training
        earlier.set_user_attr("status", "ok")
        study.tell(earlier, 0.75)

    thread = threading.Thread(target=finish_earlier)
    thread.start()
    try:
        assert RepeatIndex().reuse(later, spec) == [0.75]
    finally:
        thread.join()
    stored = study.trials[1].user_attrs
    assert stored["repeat_of"] == 0 and stored["status"] == "ok"


def test_a_running_trial_that_never_records_an_architecture_is_not_waited_for_forever(storage, monkeypatch):
    monkeypatch.setattr(repeats, "SAMPLING_GRACE_S", 0.3)
    study = optuna.create_study(study_name="other", storage=storage, direction="maximize")
    spec = next(iter(nw.spaces.enumerate_specs(nw.spaces.get("chain", **TINY_CHAIN))))
    study.ask()  # a trial of another kind: running, no architecture, ever
    later = study.ask()
    later.set_user_attr("spec", spec.to_dict())
    assert RepeatIndex().reuse(later, spec) is None  # a new architecture, after the grace
