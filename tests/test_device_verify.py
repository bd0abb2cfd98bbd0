"""A search's finalists measured on its target device: the rule, the refit, the trials judged again, and
the command line."""

from __future__ import annotations

import csv
import re

import pytest

import nas_workbench as nw
from nas_workbench.cli import main
from nas_workbench.engine.device_verdicts import verify
from nas_workbench.engine.records import pareto_front, trial_results
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.device_verify import Finalist, order_finalists, refit_device
from nas_workbench.testing.tinyphone import (
    LIMIT,
    TINY,
    accuracy,
    copy_search,
    device_ms,
    search_on_tinyphone,
    tinyphone_config,
)


@pytest.fixture(scope="module")
def _searched_once(tmp_path_factory, tiny_task):
    """A search of 6 architectures of the tiny space (4 of them 8 ms: the best within budget) on a profile
    fitted from 8 others, once for the module: its storage file and profile cache, which each test copies."""
    folder = tmp_path_factory.mktemp("searched")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAS_WORKBENCH_CACHE", str(folder / "cache"))
        search_on_tinyphone(folder, tiny_task)
    return folder


@pytest.fixture(autouse=True)
def _own_profiles(tmp_path, monkeypatch):
    """Each test sees only the device profiles it saves."""
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def searched(_searched_once, tmp_path, storage, tiny_task):
    """The module's finished search, a copy of its own (its storage at ``storage``, its profile saved
    here): its best trials within budget are only predicted."""
    copy_search(_searched_once, tmp_path)
    return nw.search(tinyphone_config(storage), evaluate=accuracy, data=tiny_task)


def test_the_finalists_are_the_best_k_listed_least_sure_first():
    ranked = [
        Finalist(n, f"a{n}", n, ms, 10.0, p) for n, ms, p in [(1, 9.9, 0.6), (2, 5.0, 0.9), (3, 9.0, 0.6)]
    ]
    chosen = order_finalists([*ranked, Finalist(4, "a4", 4, 9.99, 10.0, 0.1)], 3)
    assert [f.number for f in chosen] == [1, 3, 2]  # the 4th is not among the best 3, however unsure
    assert order_finalists(ranked, 10) == [ranked[0], ranked[2], ranked[1]]
    with pytest.raises(ConfigError, match=r"k: 0 .*at least 1"):
        order_finalists(ranked, 0)


def test_finalists_of_a_search_are_its_best_predicted_trials_within_budget(searched):
    measured = {a for a, _ in nw.profiling.load_device("tinyphone").measurements}
    chosen = searched.finalists(3)
    assert len(chosen) == 3 and sorted(f.rank for f in chosen) == [1, 2, 3]
    assert [f.p_within for f in chosen] == sorted(f.p_within for f in chosen)
    by_number = {r.number: r for r in searched.results()}
    best = max(
        (r for r in searched.results() if r.status == "ok" and r.arch not in measured),
        key=lambda r: r.values[0],
    )
    assert best.number in {f.number for f in chosen}
    for f in chosen:
        result = by_number[f.number]
        assert result.status == "ok" and result.feasible and f.arch not in measured
        assert f.predicted_ms == pytest.approx(8.0, rel=0.05) and f.limit_ms == LIMIT
        assert f.summary == result.summary


def test_a_cell_shows_the_finalists_as_a_table_in_the_order_to_measure_them(searched):
    chosen = searched.finalists(3)
    table = chosen._repr_html_()
    assert table.count("<tr>") == 4 and ">sure within</th>" in table
    lines = str(chosen).splitlines()
    assert lines[0].split() == [
        "measure",
        "trial",
        "rank",
        "predicted",
        "ms",
        "limit",
        "ms",
        "sure",
        "within",
        "network",
    ]
    for order, (line, f) in enumerate(zip(lines[2:], chosen, strict=True), start=1):
        assert line.split()[:3] == [str(order), str(f.number), f"#{f.rank}"] and f"{f.p_within:.0%}" in line
        assert f.summary and f.summary in line
    assert repr(chosen) == repr(list(chosen))  # a list still, for code
    first_two = chosen[:2]  # the rows to measure first show as a table too
    assert type(first_two) is type(chosen) and first_two._repr_html_().count("<tr>") == 3
    assert first_two[0] is chosen[0]
    assert "No finalists" in str(type(chosen)()) and "No finalists" in type(chosen)()._repr_html_()


def test_verify_refits_the_profile_and_judges_the_trials_again(searched, tiny_task):
    space = searched.space
    proposed = searched.finalists(2)
    top = min(proposed, key=lambda f: f.rank)  # the search's choice
    others = [f for f in proposed if f is not top]
    done = searched.verify([top.arch, *[f.arch for f in others]], [9.0, *[8.0 for _ in others]])
    assert done.measured_trials == 2 and done.changed >= 1 and "from 10 measurements" in str(done)
    profile = nw.profiling.load_device("tinyphone")
    assert len(profile.measurements) == 10 and (top.arch, 9.0) in profile.measurements
    results = {r.number: r for r in searched.results()}
    chosen = results[top.number]
    assert chosen.status == "ok" and not chosen.feasible  # trained, and measured over budget
    assert (
        chosen.metrics["latency_ms"]["method"] == "measured" and chosen.metrics["latency_ms"]["value"] == 9.0
    )
    assert chosen.reason == "judged again: measured over budget on tinyphone (9 ms > 8.5 ms)"
    assert top.number not in {r.number for r in searched.pareto()}
    assert "OVER (measured)" in str(searched.results())
    header = str(searched.results()).splitlines()[0]  # said "latency ms (measured)" over predictions too
    assert "latency ms (measured on tinyphone; predicted for tinyphone from 10 measurements)" in header or (
        "latency ms (predicted for tinyphone from 10 measurements; measured on tinyphone)" in header
    )
    predicted = [r for r in results.values() if r.metrics["latency_ms"]["method"] == "predicted"]
    assert predicted and all(
        r.metrics["latency_ms"]["source"] == "predicted for tinyphone from 10 measurements" for r in predicted
    )
    assert record_of(searched.study).verified["measurements"] == 10
    best = pareto_front(trial_results(searched.study), ["maximize"])[0]  # what show and export read
    assert best.feasible and best.number != top.number
    with pytest.raises(ConfigError, match=r"archs\[0\].*was not fitted with yet \(it was, at 9 ms\)"):
        verify(searched.study, [space.format(space.parse(top.arch))], [9.1])

    resumed = nw.search(  # a resumed search judges its new trials by the refitted profile
        searched.config.replace(n_trials=7),
        evaluate=accuracy,
        data=tiny_task,
    )
    resumed.run()
    after = {r.number: r for r in resumed.results()}
    sources = {"predicted for tinyphone from 10 measurements", "measured on tinyphone"}
    assert after[6].metrics["latency_ms"]["source"] in sources  # a repeat too: it reads its arch's verdict
    for r in after.values():  # the measured choice, and any repeat of it, stays over budget
        assert (r.arch == top.arch) == (r.metrics["latency_ms"]["value"] == 9.0 and not r.feasible)


def test_the_refit_keeps_the_profiles_settings_and_refuses_what_it_has():
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 6, seed=0)
    profile = nw.profiling.fit_device(
        "p", space, archs, [device_ms(space.parse(a)) for a in archs], input_shape=(1, 8, 8), save=False
    )
    more = nw.profiling.propose(space, 8, seed=0)
    new = [a for a in more if a not in archs][:2]
    refitted = refit_device(profile, new, [device_ms(space.parse(a)) for a in new], save=False)
    assert len(refitted.measurements) == 8 and refitted.input_shape == (1, 8, 8)
    assert refitted.source == "predicted for p from 8 measurements"
    with pytest.raises(ConfigError, match=r"archs\[0\]: 'nonsense'.*an architecture of 'chain'"):
        refit_device(profile, ["nonsense"], [1.0], save=False)
    with pytest.raises(ConfigError, match=r"latency_ms\[6\]: -1.0.*a positive number"):
        refit_device(profile, new[:1], [-1.0], save=False)


def test_fitting_a_profile_anew_over_one_a_verification_refitted_warns_what_it_drops(recwarn):
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 6, seed=0)
    latency = [device_ms(space.parse(a)) for a in archs]
    profile = nw.profiling.fit_device("p", space, archs, latency, input_shape=(1, 8, 8))
    new = [a for a in nw.profiling.propose(space, 8, seed=0) if a not in archs][:2]
    refit_device(profile, new, [device_ms(space.parse(a)) for a in new])  # saved: 8 measurements
    assert not [w for w in recwarn if "drops them" in str(w.message)]  # a refit keeps every measurement
    with pytest.warns(
        UserWarning, match=r"'p': the saved profile held 2 measurements these 6 leave out.*saved over it"
    ) as seen:
        nw.profiling.fit_device("p", space, archs, latency, input_shape=(1, 8, 8))  # the notebook run again
    assert seen[0].filename == __file__  # it points at the call that drops them
    assert "load_device('p') if 'p' in nw.profiling.list_devices()" in str(seen[0].message)
    assert "from the command line, the rows of the CSV given to `device verify`" in str(seen[0].message)
    assert len(nw.profiling.load_device("p").measurements) == 6  # saved as asked, not refused


def test_a_study_without_a_target_device_has_nothing_to_verify(storage, tiny_task):
    config = nw.SearchConfig(
        space="chain", space_options=TINY, strategy="random", objectives=["accuracy"], n_trials=1,
        storage=storage, study_name="here", profile_metrics=["params"],
    )  # fmt: skip
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": 0.5}, data=tiny_task)
    run.run()
    with pytest.raises(ConfigError, match=r"target_device: None.*a study searched on a device profile"):
        run.finalists(3)
    with pytest.raises(ConfigError, match="target_device: None"):
        verify(run.study, ["x"], [1.0])


def test_device_finalists_and_verify_round_trip_on_the_command_line(searched, storage, tmp_path, capsys):
    out = tmp_path / "finalists.csv"
    args = ["--study", "phone", "--storage", storage]
    assert main(["device", "finalists", *args, "-k", "3", "-o", str(out)]) == 0
    said = capsys.readouterr().err
    assert "device verify --study phone" in said and "sure within" in said.splitlines()[0]
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["arch", "latency_ms"] and len(rows) == 3
    space = searched.space
    filled = [[r["arch"], "9.0"] for r in rows[:2]] + [[rows[2]["arch"], ""]]  # the third left unmeasured
    with out.open("w", newline="") as handle:
        csv.writer(handle).writerows([["arch", "latency_ms"], *filled])
    assert main(["device", "verify", *args, str(out)]) == 0
    said = capsys.readouterr().out
    assert "refitted (predicted for tinyphone from 10 measurements" in said
    changed = re.search(r"(\d+) (trials?) changed verdict", said)
    assert changed and (changed[2] == "trial") == (changed[1] == "1")  # "1 trial", "2 trials"
    assert main(["show", "phone", "--storage", storage]) == 0
    shown = capsys.readouterr().out
    assert "(measured)" not in shown.splitlines()[3]  # the front: within budget only
    # why trials left the front: the verdicts, as the widget says them (`show` said nothing of them)
    assert re.search(r"^Verified on tinyphone \(limit 8.5 ms\): .*measured over", shown, re.MULTILINE)
    over = [
        r for r in searched.results() if r.metrics["latency_ms"]["method"] == "measured" and r.status == "ok"
    ]
    assert {r.arch for r in over} >= {space.format(space.parse(a)) for a, _ in filled[:2]}

    bad = tmp_path / "bad.csv"
    bad.write_text("arch,latency_ms\nnot-an-arch,3\n")
    assert main(["device", "verify", *args, str(bad)]) == 2
    assert "bad.csv line 2 arch: 'not-an-arch'" in capsys.readouterr().err
    with bad.open("w", newline="") as handle:
        csv.writer(handle).writerows([["arch", "latency_ms"], [rows[2]["arch"], "fast"]])
    assert main(["device", "verify", *args, str(bad)]) == 2
    assert "bad.csv line 2 latency_ms: 'fast'" in capsys.readouterr().err
