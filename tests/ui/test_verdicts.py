"""The widget shows a verification of its study's finalists on the target device as it happens: from a
notebook cell of the same kernel at once, from another process at the watcher's next read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import optuna
import pytest

import nas_workbench as nw
from nas_workbench.engine.device_verdicts import finalists, verify
from nas_workbench.engine.verified_view import announce
from nas_workbench.testing.tinyphone import accuracy, copy_search, search_on_tinyphone, tinyphone_config
from nas_workbench.ui._watch import StudyWatcher


@pytest.fixture(scope="module")
def _searched_once(tmp_path_factory, tiny_task) -> Path:
    """A finished 6-trial search on the device "tinyphone", once for the module (each test copies it)."""
    folder = tmp_path_factory.mktemp("searched")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAS_WORKBENCH_CACHE", str(folder / "cache"))
        search_on_tinyphone(folder, tiny_task)
    return folder


@pytest.fixture
def searched(_searched_once, tmp_path, monkeypatch) -> nw.SearchConfig:
    """The module's search, a copy of its own: its storage and profile here."""
    copy_search(_searched_once, tmp_path)
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tinyphone_config(f"sqlite:///{tmp_path / 'study.db'}")


def test_verify_in_a_cell_redraws_the_open_widget_with_the_devices_verdicts(searched, tiny_task, wait_for):
    async def main():
        workbench = nw.Workbench.load("phone", storage=searched.storage)
        await wait_for(lambda: workbench.plots.points == 6)
        assert workbench.watcher is None  # a finished study: nothing to read again, unless verified
        run = nw.search(searched, evaluate=accuracy, data=tiny_task)  # the user's handle, another cell
        finalists = sorted(run.finalists(2), key=lambda f: f.rank)
        choice, runner_up = finalists[0].number, finalists[1].number
        assert choice in workbench.plots.front.data["number"]
        run.verify([f.arch for f in finalists], [9.0, 8.0])  # the choice is over the 8.5 ms budget there
        await wait_for(lambda: "Verified on tinyphone" in workbench.message.value)
        said = workbench.message.value
        workbench.message.value = ""
        workbench.close()  # a closed widget follows no more verifications
        announce(run.study)
        await asyncio.sleep(0.3)
        assert workbench.message.value == ""
        workbench.message.value = said
        return workbench, choice, runner_up

    workbench, choice, runner_up = asyncio.run(main())
    data = workbench.plots.trials.data
    row = {number: index for index, number in enumerate(data["number"])}
    assert data["legend"][row[choice]] == "trained, judged over budget"
    assert data["latency_ms_label"][row[choice]] == "9 ms (measured, measured on tinyphone)"
    assert data["latency_ms_label"][row[runner_up]] == "8 ms (measured, measured on tinyphone)"
    others = [data["latency_ms_label"][i] for n, i in row.items() if n not in (choice, runner_up)]
    assert others and all("(predicted, predicted for tinyphone from 10 measurements" in o for o in others)
    assert choice not in workbench.plots.front.data["number"]  # measured over: off the front
    assert runner_up in workbench.plots.front.data["number"]
    message = workbench.message.value
    assert f"trial {runner_up} measured within budget" in message
    assert f"trial {choice} (9 ms) measured over" in message
    assert "predicted for tinyphone from 10 measurements" in message
    assert sorted(data["number"]) == list(range(6))  # redrawn, not added again


def test_the_watcher_notices_a_verification_made_elsewhere_once(searched):
    study = optuna.load_study(study_name="phone", storage=searched.storage)
    noticed: list[int] = []
    delivered: list[list] = []
    watcher = StudyWatcher(study, [], delivered.append, on_verified=lambda: noticed.append(1))
    watcher.step()
    assert noticed == [] and len(delivered[0]) == 6
    elsewhere = optuna.load_study(study_name="phone", storage=searched.storage)  # "another process"
    verify(elsewhere, [finalists(elsewhere, 1)[0].arch], [9.0])
    watcher.step()
    assert noticed == [1]
    watcher.step()
    assert noticed == [1]  # the same verification: said once


def test_a_widget_opening_a_verified_study_says_what_the_device_measured(searched, tiny_task, wait_for):
    """After a kernel restart the plots drew the verdicts (a purple diamond), but nothing said why: the
    sentence came only with a verification made while the widget was open (seen in Chromium)."""
    run = nw.search(searched, evaluate=accuracy, data=tiny_task)
    chosen = sorted(run.finalists(2), key=lambda f: f.rank)
    run.verify([f.arch for f in chosen], [9.0, 8.0])

    async def main():
        loaded = nw.Workbench.load("phone", storage=searched.storage)
        rerun = nw.Workbench(searched)  # the notebook run again: its config names the study
        for workbench in (loaded, rerun):
            await wait_for(lambda w=workbench: w.plots.points == 6)
        return loaded.message.value, rerun.message.value

    for said in asyncio.run(main()):
        assert "Verified on tinyphone (limit 8.5 ms)" in said
        assert f"trial {chosen[0].number} (9 ms) measured over" in said
        assert f"trial {chosen[1].number} measured within budget" in said
