"""Warm-starting a search from an earlier study through ``SearchConfig.warm_start``, end to end: the new
study tries the earlier one's best architectures first, and a bad warm start is refused before any study is
created, naming the field, the value and what is allowed."""

from __future__ import annotations

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.cli import main
from nas_workbench.exceptions import ConfigError
from nas_workbench.testing.workers import TINY_CHAIN, score

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures: depth 1-2, conv or dwsep, two widths


def config(storage: str, **changes) -> nw.SearchConfig:
    """Scored by parameter count (no training): more parameters, higher accuracy."""
    settings = {
        "space": "chain",
        "space_options": TINY,
        "strategy": "random",
        "objectives": ["accuracy"],
        "n_trials": 8,
        "storage": storage,
        "study_name": "first",
        "profile_metrics": ["params"],
        **changes,
    }
    return nw.SearchConfig(**settings)


def ranked(results: list[nw.engine.TrialResult]) -> list[str]:
    """Distinct architectures of ``results``, best accuracy first (ties: earliest trial first)."""
    best = sorted(results, key=lambda r: (-r.values[0], r.number))
    return list(dict.fromkeys(r.arch for r in best))


def test_a_warm_started_search_evaluates_the_earlier_studys_best_architectures_first(tmp_path, tiny_task):
    first_storage = f"sqlite:///{tmp_path / 'first.db'}"
    first = nw.search(config(first_storage, seed=3), evaluate=score, data=tiny_task).run()
    best = ranked(first.results())[:3]
    assert len(best) == 3

    warm = {"study_name": "first", "storage": first_storage, "top_k": 3}
    second_storage = f"sqlite:///{tmp_path / 'second.db'}"
    run = nw.search(
        config(second_storage, study_name="second", seed=4, n_trials=5, warm_start=warm),
        evaluate=score,
        data=tiny_task,
    )
    results = run.run().results()
    assert [r.arch for r in results[:3]] == best
    assert run.trials_done() == 5  # the warm start's trials count towards n_trials; the sampler adds two
    assert [r.status for r in results] == ["ok"] * 5

    resumed = nw.search(
        config(second_storage, study_name="second", seed=4, n_trials=6, warm_start=warm),
        evaluate=score,
        data=tiny_task,
    )
    assert [r.arch for r in resumed.run().results()[:5]] == [r.arch for r in results]  # applied once


def test_warm_start_comes_after_initial_architectures_and_defaults_to_the_same_storage(storage, tiny_task):
    first = nw.search(config(storage, seed=3), evaluate=score, data=tiny_task).run()
    best = ranked(first.results())
    given = best[-1]  # the worst of the first study, named explicitly
    run = nw.search(
        config(
            storage,
            study_name="second",
            n_trials=3,
            initial_architectures=[given],
            warm_start={"study_name": "first", "top_k": 2},
        ),
        evaluate=score,
        data=tiny_task,
    )
    assert [r.arch for r in run.run().results()] == [given, *best[:2]]


def test_a_multi_objective_study_gives_its_pareto_front_first(storage, tiny_task):
    objectives = ["accuracy", "params"]
    first = nw.search(
        config(storage, objectives=objectives, n_trials=12), evaluate=score, data=tiny_task
    ).run()
    front = {r.values for r in first.pareto()}  # (accuracy, params): distinct points, best accuracy first
    warm = {"study_name": "first", "top_k": len(front)}
    run = nw.search(
        config(
            storage,
            objectives=objectives,
            study_name="second",
            n_trials=len(front),
            warm_start=warm,
        ),
        evaluate=score,
        data=tiny_task,
    )
    assert {r.values for r in run.run().results()} == front  # evaluated again: the same points


def test_an_unknown_study_is_refused_with_the_studies_available(storage, tiny_task):
    nw.search(config(storage, n_trials=1), evaluate=score, data=tiny_task).run()
    with pytest.raises(ConfigError) as info:
        nw.search(config(storage, study_name="second", warm_start={"study_name": "frist"}), data=tiny_task)
    assert info.value.field == "warm_start.study_name" and info.value.value == "frist"
    assert "Available: first." in str(info.value) and "Did you mean 'first'?" in str(info.value)
    assert "Unknown study 'frist' in sqlite:///" in str(info.value)  # the name, then where it was looked for
    assert optuna.get_all_study_names(storage) == ["first"]  # refused before the new study was created


def test_a_missing_storage_or_a_study_without_usable_trials_is_refused(tmp_path, storage, tiny_task):
    missing = f"sqlite:///{tmp_path / 'nope.db'}"
    with pytest.raises(ConfigError) as info:
        nw.search(config(storage, warm_start={"study_name": "first", "storage": missing}), data=tiny_task)
    assert info.value.field == "warm_start.storage" and "no such file" in str(info.value)
    assert not (tmp_path / "nope.db").exists()

    nw.search(config(storage, n_trials=2), evaluate=score, data=tiny_task).run()
    with pytest.raises(ConfigError) as info:  # another space: none of the first study's architectures fits
        nw.search(
            config(
                storage,
                space="nb201",
                space_options={},
                study_name="second",
                warm_start={"study_name": "first"},
            ),
            data=tiny_task,
        )
    assert info.value.field == "warm_start.study_name" and "2 complete trials of the 'chain' space" in str(
        info.value
    )


def test_the_cli_reads_warm_start_from_a_config_file_and_reports_a_bad_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search.yaml").write_text(
        "space: chain\nstrategy: random\nobjectives: [accuracy]\nn_trials: 1\n"
        "storage: sqlite:///runs.db\nwarm_start: {study_name: earlier, top_k: 2}\n"
    )
    assert nw.SearchConfig.from_file(tmp_path / "search.yaml").warm_start == {
        "study_name": "earlier",
        "top_k": 2,
    }
    assert main(["run", "search.yaml"]) == 2
    err = capsys.readouterr().err
    assert "warm_start.study_name: 'earlier' is not allowed" in err and "which holds none" in err
    assert "Traceback" not in err
