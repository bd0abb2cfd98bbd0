"""The Run tab's workers choice: it reads as `SearchRun.start(workers=...)` takes it, Start and Resume pass
it on, and the trials of local worker processes or of workers started elsewhere stream into the plots."""

from __future__ import annotations

import asyncio
import html
import os
import re
import socket
import threading
from pathlib import Path

import pytest

import nas_workbench as nw
from nas_workbench.engine.runner import SearchRun
from nas_workbench.engine.workers import run_worker
from nas_workbench.testing.workers import score, sleepy
from nas_workbench.ui.form import ConfigForm

HERE = f"{socket.gethostname()}:{os.getpid()}"  # how trials run in this process name their worker


def text(widget) -> str:
    return html.unescape(widget.value)


@pytest.fixture
def start_calls(monkeypatch) -> list[int | None]:
    """The ``workers`` of every `SearchRun.start` call; each call goes on to the real start."""
    calls: list[int | None] = []
    real = SearchRun.start

    def start(self: SearchRun, workers: int | None = None) -> SearchRun:
        calls.append(workers)
        return real(self, workers=workers)

    monkeypatch.setattr(SearchRun, "start", start)
    return calls


def test_the_choice_reads_as_start_takes_it_and_explains_itself():
    form = ConfigForm(nw.SearchConfig(storage="sqlite:///runs/nas.db", study_name="s"))
    choice = form.workers
    assert choice.read() is None and "in this kernel" in text(choice.note)
    assert choice.count.box.layout.display == "none"  # the number shows for local processes only

    choice.mode.value = "local"  # as a user clicks
    choice.count.widget.value = 4
    assert choice.read() == 4 and choice.count.box.layout.display == ""
    assert "4 <code>nas-workbench worker</code> processes" in choice.note.value
    assert "PostgreSQL" in text(choice.note)  # several processes on a SQLite file: say what scales further
    assert all("PostgreSQL" in tip for tip in choice.mode.tooltips[1:])

    choice.mode.value = "external"
    assert choice.read() == 0
    assert "nas-workbench worker --storage sqlite:///runs/nas.db --study s" in text(choice.note)

    for workers, mode in [(None, "here"), (0, "external"), (3, "local")]:
        choice.write(workers)
        assert choice.mode.value == mode and choice.read() == workers

    dnas = nw.SearchConfig(space="nb201", strategy="dnas")
    assert choice.for_run(dnas) is None  # one supernet, trained in this kernel whatever the choice
    assert choice.for_run(nw.SearchConfig()) == 3


def test_the_worker_command_to_copy_is_quoted_for_the_shell():
    form = ConfigForm(nw.SearchConfig(storage="sqlite:///runs/my runs/nas.db", study_name="my study"))
    form.workers.mode.value = "external"
    command = "nas-workbench worker --storage 'sqlite:///runs/my runs/nas.db' --study 'my study'"
    assert command in text(form.workers.note)


def test_a_bad_number_of_workers_is_shown_under_it_and_nothing_starts(make_config, start_calls):
    async def main():
        workbench = nw.Workbench(make_config(), workers=2)
        form = workbench.form
        assert form.workers.mode.value == "local" and form.workers.count.widget.value == 2
        form.tabs.selected_index = 0
        form.workers.count.widget.value = 0
        error = form.workers.count.error
        assert "workers: 0 is not allowed" in text(error) and error.layout.display == ""
        assert form.tabs.selected_index == len(form.tabs.children) - 1  # the Run tab
        workbench.start_button.click()
        assert workbench.run is None and start_calls == []
        form.workers.count.widget.value = 2
        assert error.layout.display == "none"

    asyncio.run(main())
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(nw.ConfigError, match="workers"):
            nw.Workbench(nw.SearchConfig(), workers=bad)


def test_an_evaluate_the_workers_cannot_import_is_refused_before_the_study_exists(make_config, start_calls):
    def in_the_notebook(spec, model):
        return {"accuracy": 0.5}

    async def main():
        workbench = nw.Workbench(make_config(), evaluate=in_the_notebook, workers=2)
        workbench.start_button.click()
        return workbench

    workbench = asyncio.run(main())
    assert "import by name" in text(workbench.form.message) and "in_the_notebook" in text(
        workbench.form.message
    )
    assert workbench.run is None and start_calls == [] and not workbench.start_button.disabled


def test_start_here_then_resume_following_a_worker_started_elsewhere(make_config, wait_for, start_calls):
    async def main():
        # An evaluate importable by name: Resume with workers passes it on to them.
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=score)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        assert start_calls == [None]  # in this process, as before

        form = workbench.form
        form.fields["n_trials"].widget.value = 5
        form.workers.mode.value = "external"
        workbench.resume_button.click()
        await wait_for(lambda: len(start_calls) == 2)  # opened in a thread, then started
        assert start_calls == [None, 0]
        await wait_for(lambda: "Following workers started elsewhere" in workbench.status.value)
        config = form.read()
        elsewhere = threading.Thread(  # "a cluster job": a worker that knows only the storage and the study
            target=run_worker,
            args=(config.storage, config.study_name),
            kwargs={"evaluate": score},
        )
        elsewhere.start()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        elsewhere.join()
        return workbench

    workbench = asyncio.run(main())
    assert sorted(workbench.plots.trials.data["number"]) == list(range(5))
    assert "5 / 5 trials" in workbench.progress_label.value
    assert "3 trials finished by 1 worker started elsewhere" in text(workbench.message)


@pytest.mark.timeout(900)  # the waits below fail it when it stops making progress
def test_two_local_workers_search_and_every_trial_reaches_the_plots(
    make_config, wait_for, start_calls, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the workers' logs and the task file go to ./runs
    evaluations = tmp_path / "evaluations.log"
    monkeypatch.setenv("NAS_WORKBENCH_EVAL_LOG", str(evaluations))  # each evaluation, in any process
    n_trials = 8
    statuses: list[str] = []

    async def main():
        workbench = nw.Workbench(make_config(n_trials=n_trials), evaluate=sleepy)
        workbench.status.observe(lambda change: statuses.append(text(workbench.status)), names="value")
        form = workbench.form
        form.tabs.selected_index = len(form.tabs.children) - 1  # the Run tab, as a user would
        form.workers.mode.value = "local"
        form.workers.count.widget.value = 2
        workbench.start_button.click()
        assert workbench.searching and form.workers.mode.disabled
        await wait_for(lambda: start_calls == [2])  # opened in a thread, then started
        # 120 s without news fails it: two worker processes starting beside others' work took 216 s in all
        await wait_for(
            lambda: not workbench.searching and "complete" in workbench.message.value,
            120,
            progress=lambda: (len(statuses), workbench.plots.points),
        )
        return workbench

    workbench = asyncio.run(main())
    assert sorted(workbench.plots.trials.data["number"]) == list(range(n_trials))
    assert (
        workbench.plots.points == n_trials
        and f"{n_trials} / {n_trials} trials" in workbench.progress_label.value
    )
    workers = {result.worker for result in workbench.plots.table.results}
    assert HERE not in workers and 1 <= len(workers) <= 2  # run by the worker processes, not the kernel
    evaluated = [line.split()[1] for line in evaluations.read_text().splitlines()]
    distinct = {result.arch for result in workbench.plots.table.results}
    # each architecture evaluated once: a repeat proposed by the sampler reuses the stored result
    assert len(evaluated) == len(set(evaluated)) == len(distinct) <= n_trials
    logs = [Path("runs") / f"ui-worker{index}.log" for index in range(2)]
    assert all("ran" in log.read_text() for log in logs)  # two processes ran and exited normally
    assert workbench.run.worker_logs == logs  # the status shows the paths the run's own processes used
    assert any("2 local worker processes run the trials (logs: runs/ui-worker0.log" in s for s in statuses)
    # While they search, the line counts the processes that have finished trials so far; the last trial's
    # count may come with the run's end (a process started late on a loaded machine may run only that one)
    so_far = [
        re.search(r"(\d+) trials finished by (\d+) of the 2 local worker processes so far", s)
        for s in statuses
    ]
    counts = [(int(m[1]), int(m[2])) for m in so_far if m]
    assert counts and all(1 <= trials <= n_trials and 1 <= by <= len(workers) for trials, by in counts)
    assert counts == sorted(counts)  # the counts only grow
    assert f"{n_trials} trials finished by {len(workers)} of the 2 local worker processes" in text(
        workbench.message
    )
    assert not workbench.form.workers.mode.disabled  # the settings thaw when the search ends


def test_stop_right_after_start_with_local_workers_is_a_stop_not_an_error(
    make_config, wait_for, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    async def main():
        workbench = nw.Workbench(make_config(n_trials=8), evaluate=sleepy, workers=2)
        workbench.start_button.click()
        await wait_for(lambda: workbench.run is not None)  # opened (in a thread) and started
        workbench.stop_button.click()  # the workers are still starting: SIGTERM ends them before any trial
        await wait_for(lambda: not workbench.searching and workbench.message.value, 120)
        return workbench

    workbench = asyncio.run(main())
    message = text(workbench.message)
    assert "Stopped after 0 of 8 trials: Resume continues" in message, message
    assert "No trials finished by the 2 local worker processes." in message
    assert "failed" not in message and "error" not in message
