"""The workbench driven from Python, as a user drives it: fields set, buttons pressed, plots watched.

Each test runs in an asyncio loop, like a kernel: the search thread's events reach the widgets through
that loop, so the tests await the loop while the search runs.
"""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
import threading
import time
from pathlib import Path

import optuna
import pytest
from bokeh.document import Document

import nas_workbench as nw
from nas_workbench.engine import events as ev
from nas_workbench.engine.narration import narrate
from nas_workbench.engine.study_record import read_record
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.ui._bokehjs import LOAD_MIME_TYPE
from tests.conftest import tiny_dnas_config


def saved_points(workbench: nw.Workbench) -> int:
    """Rows of the trials source in the widget's synced state (what a saved notebook shows)."""
    (doc_json,) = workbench.plots.widget.render_bundle["docs_json"].values()
    document = Document.from_json(doc_json)
    return len(document.select_one({"name": "nas_trials"}).data["number"])


def test_start_streams_trials_into_the_plots(make_config, score, wait_for):
    def paced(spec, model):
        time.sleep(0.4)  # longer than the plots' coalescing interval, so trials arrive in several batches
        return score(spec, model)

    async def main():
        workbench = nw.Workbench(make_config(n_trials=1), evaluate=paced)
        workbench.form.fields["n_trials"].widget.value = 5  # set in the form, as a user would
        lengths: list[int] = []
        workbench.start_button.click()  # the run opens in a thread: the loop is free at once
        assert workbench.searching and workbench.start_button.disabled
        assert workbench.form.fields["n_trials"].widget.disabled  # settings frozen while it runs
        await wait_for(lambda: workbench.run is not None)  # opened: fresh plots; trials come later
        workbench.plots.trials.on_change(
            "data", lambda attr, old, new: lengths.append(workbench.plots.points)
        )
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return workbench, lengths

    workbench, lengths = asyncio.run(main())
    assert workbench.plots.points == 5 and lengths[-1] == 5
    assert lengths == sorted(lengths) and len(set(lengths)) > 1  # streamed as trials finished, not at the end
    assert len(workbench.plots.front.data["number"]) >= 1
    assert workbench.progress.value == 5 and "5 / 5 trials" in workbench.progress_label.value
    assert "best validation accuracy" in workbench.progress_label.value
    assert not workbench.start_button.disabled and workbench.stop_button.disabled
    assert saved_points(workbench) == 5  # refreshed at the end: the saved notebook shows the final plot


def test_start_is_enabled_as_the_search_ends_before_the_final_plots_are_sent(make_config, score, wait_for):
    """Sending the final plots again for the saved notebook (`PlotPanel.refresh`) takes seconds in a busy
    kernel; Start waited for it, disabled under "Search complete" (2.8 s in JupyterLab in Chromium)."""

    async def main():
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=score)
        states: list[tuple[bool, int]] = []  # Start's state, and the points the saved plots held then
        watch = lambda change: states.append((change["new"], saved_points(workbench)))  # noqa: E731
        workbench.start_button.observe(watch, names="disabled")
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return workbench, states

    workbench, states = asyncio.run(main())
    assert states[-1] == (False, 0)  # enabled while the saved plots still held none of the trials...
    assert saved_points(workbench) == 2  # ...which they hold once sent again


def test_auto_says_what_it_runs_and_the_study_stores_it(make_config, score, wait_for):
    """The default strategy, "auto": Start resolves it, says to what (and why) while the search runs and
    when it ends, and the study records both the setting as given and the strategy it ran."""

    async def main():
        workbench = nw.Workbench(make_config(strategy="auto", study_name="ui-auto"), evaluate=score)
        assert workbench.form.fields["strategy"].widget.value == "auto"
        workbench.start_button.click()
        await wait_for(lambda: workbench.run is not None)  # opened (in a thread): it says what auto runs
        running = workbench.message.value
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return workbench, running

    workbench, running = asyncio.run(main())
    resolved = workbench.run.config.strategy
    assert resolved != "auto" and resolved in nw.strategies.list()
    assert f"Strategy auto runs {resolved} because " in html.unescape(running), running
    assert f"Strategy auto ran {resolved}." in workbench.message.value
    record = read_record(workbench.run.study)
    assert record is not None and record.strategy == resolved and record.config["strategy"] == "auto"


def test_stop_ends_within_one_trial_and_resume_completes(make_config, score, wait_for):
    def slow(spec, model):
        time.sleep(0.2)
        return score(spec, model)

    async def main():
        workbench = nw.Workbench(make_config(n_trials=6), evaluate=slow)
        workbench.start_button.click()
        await wait_for(lambda: workbench.plots.points >= 1)
        workbench.stop_button.click()
        at_stop = workbench.run.trials_done()  # after the click: under load a trial may end in between
        assert workbench.stop_button.disabled and "Stopping" in workbench.status.value
        await wait_for(lambda: not workbench.searching and "Stopped after" in workbench.message.value)
        stopped = workbench.run.trials_done()
        assert at_stop <= stopped <= at_stop + 1 < 6  # the trial in progress finishes, no more
        assert workbench.plots.points == stopped

        workbench.resume_button.click()
        await wait_for(lambda: "complete" in workbench.message.value and not workbench.searching)
        return workbench

    workbench = asyncio.run(main())
    numbers = workbench.plots.trials.data["number"]
    assert sorted(numbers) == list(range(6))  # resumed without losing or repeating a trial


def test_invalid_input_shows_a_message_under_its_field(make_config):
    async def main():
        workbench = nw.Workbench(make_config())
        form = workbench.form
        form.fields["fixed_choices"].widget.value = "{not json"
        error = form.fields["fixed_choices"].error
        assert "fixed_choices" in error.value and error.layout.display == ""
        assert form.tabs.selected_index == 0  # the tab holding the field is opened
        workbench.start_button.click()
        assert workbench.run is None and not workbench.searching  # nothing started

        form.fields["fixed_choices"].widget.value = ""
        assert error.layout.display == "none"
        form.fields["objectives"].widget.value = []
        assert "objectives" in form.fields["objectives"].error.value and form.tabs.selected_index == 2
        form.fields["objectives"].widget.value = ["Validation accuracy", "Parameters"]

        form.space_options.fields["widths"].widget.value = "8, 16"  # one stage, two widths
        assert "space_options.widths" in form.space_options.fields["widths"].error.value
        workbench.start_button.click()
        assert workbench.run is None
        return workbench

    asyncio.run(main())


def test_an_existing_study_is_not_started_afresh(make_config, score, wait_for):
    async def main():
        nw.search(make_config(n_trials=2), evaluate=score).run()
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=score)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching)  # opened in a thread, then refused
        assert "already holds 2 trials" in workbench.message.value and "Resume" in workbench.message.value
        assert workbench.status.value == ""  # not "Opening study…" beside the error (seen in JupyterLab)
        assert not workbench.searching
        # the stored trials are shown: a notebook run again after a kernel restart, Start in a cell, had
        # cancelled their reading and left the plots "waiting for the first trial" (seen in JupyterLab)
        await wait_for(lambda: workbench.plots.points == 2)
        workbench.resume_button.click()  # complete already: says so and shows the stored trials
        await wait_for(lambda: "already has 2 of 2 trials" in workbench.message.value)
        await wait_for(lambda: workbench.plots.points == 2)

    asyncio.run(main())


def test_bad_data_from_the_notebook_is_a_field_error_and_the_status_line_clears(make_config, score, wait_for):
    """Start with arrays whose labels are no classes (a regression target): the error names the data
    under its field, and the status line does not go on saying "Opening study…" (seen in JupyterLab)."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(40, 5))
    namespace = {"prices": (x, x[:, 0] * 1.5)}

    async def main():
        workbench = nw.Workbench(make_config(n_trials=1), evaluate=score, namespace=namespace)
        workbench.form.datasets.widget.value = "prices"
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching)  # the data is read as the run opens, in a thread
        assert workbench.run is None and not workbench.start_button.disabled
        assert "dataset.y: '40 labels of dtype float64'" in html.unescape(workbench.form.message.value)
        assert "fractional numbers" in workbench.form.message.value
        assert workbench.status.value == ""

    asyncio.run(main())


def test_the_status_line_says_what_start_waits_for(make_config, monkeypatch, wait_for):
    """Start opens the study in a thread, a relative limit resolved by profiling networks (tens of
    seconds) or reused from the profiling cache (at once): the status line says each step as the opening
    takes it, not a guess made before ("resolving ... 32 networks" while it reused, seen in JupyterLab)."""
    from nas_workbench.engine import runner

    seen, shown = [], threading.Event()

    def opening(config, **_):
        seen.append(workbench.status.value)
        narrate("reusing the budget latency_ms p30 = 0.42 ms (p30 on this CPU), resolved here at 2026-12-05")
        shown.wait(30)
        raise NasWorkbenchError("stopped here by the test")

    monkeypatch.setattr(runner, "search", opening)

    async def main():
        workbench.start_button.click()
        await wait_for(lambda: "reusing" in workbench.status.value)
        seen.append(workbench.status.value)
        shown.set()
        await wait_for(lambda: not workbench.searching)

    workbench = nw.Workbench(make_config(budget={"latency_ms": "p30"}))
    asyncio.run(main())
    assert seen == [
        "<i>Opening study &#x27;ui&#x27;…</i>",  # before the opening knows whether it resolves or reuses
        "<i>Opening study &#x27;ui&#x27;: reusing the budget latency_ms p30 = 0.42 ms (p30 on this CPU), "
        "resolved here at 2026-12-05…</i>",
    ]
    assert "stopped here by the test" in workbench.message.value and workbench.status.value == ""


def test_the_kernel_stays_free_while_start_opens_its_run_and_stop_cancels_it(make_config, score, monkeypatch):
    """Opening a run may take tens of seconds (a relative limit resolved by profiling networks): it runs
    in a thread, so the kernel's loop (other cells, the Stop button) is free meanwhile; Stop then cancels
    the start, and the run opened after it is never started."""
    from nas_workbench.engine import runner

    opened, release = threading.Event(), threading.Event()
    search, cancelled = runner.search, []

    def slow_opening(config, **options):
        cancelled.append(options["cancelled"])  # what the opening asks between networks it profiles
        opened.set()
        release.wait(10)
        return search(config, **options)

    monkeypatch.setattr(runner, "search", slow_opening)

    async def main():
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=score)
        workbench.start_button.click()
        assert workbench.searching and workbench.start_button.disabled and not workbench.stop_button.disabled
        await asyncio.to_thread(opened.wait, 10)  # the loop awaits while the run is being opened
        assert not cancelled[0]()
        workbench.stop_button.click()
        assert "Stopped before the search started" in workbench.message.value and not workbench.searching
        assert cancelled[0]()  # the opening's profiling ends at its next network
        release.set()
        await asyncio.sleep(1.0)  # the opened run reaches the loop, and is dropped
        return workbench

    workbench = asyncio.run(main())
    assert workbench.run is None and not workbench.start_button.disabled and workbench.plots.points == 0


def test_a_run_still_opening_when_the_widget_closes_is_never_started(make_config, score, monkeypatch):
    from nas_workbench.engine import runner

    release, search = threading.Event(), runner.search
    monkeypatch.setattr(
        runner, "search", lambda config, **options: release.wait(10) and search(config, **options)
    )

    async def main():
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=score)
        workbench.start_button.click()
        workbench.close()
        release.set()
        await asyncio.sleep(1.0)  # the opened run reaches the loop, and is dropped
        return workbench

    assert asyncio.run(main()).run is None


def test_a_study_on_own_data_is_shown_asks_for_its_data_and_resumes_only_on_it(
    make_config, score, wait_for, tiny_task
):
    # issue 14.4 / 15.2: reopened without its data, a study searched on the user's own data shows its
    # trials and names the data it needs (never "digits" in its place); Resume on other data is refused
    nw.search(make_config(n_trials=2), evaluate=score, data=tiny_task).run()

    async def main():
        workbench = nw.Workbench(make_config(n_trials=4), evaluate=score)  # no data= after a restart
        await wait_for(lambda: workbench.plots.points == 2)
        message = html.unescape(workbench.message.value)
        assert "holds 2 of 4 trials, searched on data of your own: 'tiny' (1x8x8, 2 classes" in message
        assert "sha256 " in message and "data=task" in message
        workbench.resume_button.click()  # on digits: refused, naming both identities
        await wait_for(lambda: not workbench.searching)
        refused = html.unescape(workbench.form.message.value)
        assert "'digits'" in refused and "'tiny'" in refused and not workbench.searching
        assert len(nw.search(make_config(n_trials=2), data=tiny_task).study.get_trials()) == 2

        again = nw.Workbench.load("ui", storage=make_config().storage, evaluate=score, data=tiny_task)
        await wait_for(lambda: again.plots.points == 2)
        assert "data of your own" not in again.message.value  # given: nothing to ask
        again.form.fields["n_trials"].widget.value = 4
        again.resume_button.click()
        await wait_for(lambda: "complete" in again.message.value and not again.searching)
        return again

    workbench = asyncio.run(main())
    assert sorted(workbench.plots.trials.data["number"]) == list(range(4))


def test_a_stored_study_its_strategy_ended_short_is_shown_complete(make_config, score, wait_for):
    """A finished "dnas" search may hold fewer trials than planned (the landing retrained fewer): its
    study is marked as ended by its strategy, and reopening it says it is complete, not "Resume continues
    it" (a random search marked so stands in for it here: the mark is what the workbench reads)."""
    from nas_workbench._compat import storage_of
    from nas_workbench.engine.study_record import mark_stopped_itself

    run = nw.search(make_config(n_trials=3), evaluate=score).run()
    mark_stopped_itself(storage_of(run.study), run.study_name)

    async def main():
        workbench = nw.Workbench(make_config(n_trials=5), evaluate=score)
        await wait_for(lambda: workbench.plots.points == 3)
        return workbench

    message = asyncio.run(main()).message.value
    assert "is complete: its random search ended itself after 3 of the 5 trials" in message, message
    assert "Resume" not in message


def test_a_workbench_on_a_stored_study_shows_its_trials_at_once_and_offers_resume(
    make_config, score, wait_for
):
    # the notebook re-run after a kernel restart (issue 14.3): the storage holds 3 of 5 trials
    nw.search(make_config(n_trials=3), evaluate=score).run()

    async def main():
        workbench = nw.Workbench(make_config(n_trials=5), evaluate=score)
        await wait_for(lambda: workbench.plots.points == 3)  # no button pressed
        assert "holds 3 of 5 trials: Resume continues it" in workbench.message.value
        assert "3 / 5 trials" in workbench.progress_label.value
        workbench.resume_button.click()
        await wait_for(lambda: "complete" in workbench.message.value and not workbench.searching)
        return workbench

    workbench = asyncio.run(main())
    assert sorted(workbench.plots.trials.data["number"]) == list(range(5))


def test_a_workbench_on_a_new_study_creates_no_storage(make_config, storage):
    async def main():
        return nw.Workbench(make_config())

    workbench = asyncio.run(main())
    assert workbench.plots.points == 0 and not workbench.message.value
    assert not Path(storage.removeprefix("sqlite:///")).exists()  # nothing written before Start


def test_a_search_error_is_a_message_not_a_traceback(make_config, wait_for):
    def broken(spec, model):
        raise RuntimeError("evaluation exploded")

    async def main():
        workbench = nw.Workbench(make_config(n_trials=2), evaluate=broken)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and workbench.plots.points == 2)
        return workbench

    workbench = asyncio.run(main())
    assert set(workbench.plots.trials.data["status"]) == {"failed"}
    assert "evaluation exploded" in workbench.plots.trials.data["reason"][0]


def test_load_shows_a_stored_study_and_follows_it_while_another_process_runs_it(make_config, score, wait_for):
    config = make_config(n_trials=6, strategy="tpe")
    first = nw.search(config, evaluate=score)
    first.subscribe(lambda e: first.stop() if isinstance(e, ev.TrialFinished) and e.number == 2 else None)
    first.run()  # 3 of 6 trials: an unfinished study

    async def main():
        workbench = nw.Workbench.load("ui", storage=config.storage)
        assert workbench.form.fields["strategy"].widget.value == "tpe"
        assert workbench.form.fields["objectives"].read() == ["accuracy", "params"]
        await wait_for(lambda: workbench.plots.points == 3)
        assert workbench.watcher is not None and workbench.watcher.watching  # 3 of 6: not complete
        workbench.watcher.min_interval = workbench.watcher.interval = 0.2
        other = threading.Thread(target=lambda: nw.search(config, evaluate=score).run())  # "another process"
        other.start()
        await wait_for(lambda: workbench.plots.points == 6)
        other.join()
        await wait_for(lambda: not workbench.watcher.watching)  # complete: it stops reading
        return workbench

    workbench = asyncio.run(main())
    assert sorted(workbench.plots.trials.data["number"]) == list(range(6))
    assert "6 / 6 trials" in workbench.progress_label.value


def test_load_of_a_missing_study_says_so(storage):
    async def main():
        return nw.Workbench.load("nowhere", storage=storage)

    workbench = asyncio.run(main())
    assert "no study 'nowhere'" in html.unescape(workbench.message.value)
    assert workbench.form.fields["study_name"].widget.value == "nowhere"


def test_load_from_a_missing_sqlite_file_creates_none(tmp_path):
    """A storage that does not exist is said to hold no study, and not created (before: an empty
    ``runs/nas_workbench.db`` beside a report notebook opened from another folder)."""
    url = f"sqlite:///{tmp_path / 'runs' / 'nowhere.db'}"

    async def main():
        return nw.Workbench.load("nowhere", storage=url)

    workbench = asyncio.run(main())
    assert "no study 'nowhere'" in html.unescape(workbench.message.value)
    assert not (tmp_path / "runs").exists()


def test_selecting_a_point_shows_the_architecture_and_exports_it(make_config, score, wait_for, tmp_path):
    async def main():
        workbench = nw.Workbench(make_config(n_trials=3), evaluate=score)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and workbench.plots.points == 3)
        workbench.plots.trials.selected.indices = [1]  # what a tap in the browser syncs back
        number = workbench.plots.trials.data["number"][1]
        assert f"Trial {number}" in workbench.arch.title.value
        assert workbench.arch.widget.layout.display == ""
        assert "<th>block</th>" in workbench.arch.layers.value  # a chain space: a layer table
        assert "Parameters" in workbench.arch.profile.value and "counted" in workbench.arch.profile.value
        workbench.arch.folder.value = str(tmp_path)
        workbench.arch.format.value = "spec"
        workbench.arch.export_button.click()
        await wait_for(
            lambda: "Wrote" in workbench.arch.message.value or "failed" in workbench.arch.message.value
        )
        return workbench, number

    workbench, number = asyncio.run(main())
    (written,) = tmp_path.glob("*.json")
    spec = nw.ArchSpec.from_json(written.read_text())
    assert spec.to_dict() == workbench.plots.table.result(number).spec


def test_a_cell_space_shows_its_cell_graph(storage, tiny_task, score, wait_for):
    config = nw.SearchConfig(
        space="nb201",
        space_options={"num_cells": 1, "stem_channels": 4},
        strategy="random",
        objectives=["accuracy", "params"],
        n_trials=2,
        storage=storage,
        study_name="cell",
        profile_metrics=["params", "flops", "macs"],
    )

    async def main():
        workbench = nw.Workbench(config, evaluate=score, data=tiny_task)
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and workbench.plots.points == 2)
        workbench.plots.trials.selected.indices = [0]
        return workbench

    workbench = asyncio.run(main())
    assert workbench.arch.drawing.children == (workbench.arch.graph,)
    edges = workbench.arch.graph._model.select_one({"name": "nas_cell_edges"}).data
    assert len(edges["op"]) == 6  # NAS-Bench-201: 6 edges between 4 nodes


def test_display_loads_bokehjs_then_shows_the_widget(make_config):
    async def main():
        return nw.Workbench(make_config())

    workbench = asyncio.run(main())
    published = []
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.display_pub.publish = lambda data, metadata=None, **kwargs: published.append(data)
    try:
        shell.display_formatter.format(workbench)  # what IPython calls for a cell's last value
        from IPython.display import display

        display(workbench)
    finally:
        InteractiveShell.clear_instance()
    assert LOAD_MIME_TYPE in published[0]
    widget_view = published[1]["application/vnd.jupyter.widget-view+json"]
    assert widget_view["model_id"] == workbench.model_id
    assert len(json.dumps(published[0])) < 4_000  # the notebook keeps a loader, not BokehJS


def test_importing_the_package_does_not_import_the_widgets():
    import subprocess
    import sys

    code = "import sys, nas_workbench; print('ipywidgets' in sys.modules, 'jupyter_bokeh' in sys.modules)"
    assert subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split() == [
        "False",
        "False",
    ]


def test_events_are_applied_on_the_loops_thread(make_config, score, wait_for):
    """The search thread's events are applied on the loop's thread, coalesced."""
    seen_threads: set[int] = set()

    async def main():
        workbench = nw.Workbench(make_config(n_trials=5), evaluate=score)
        apply = workbench._apply
        batches: list[int] = []

        def spy(batch):
            seen_threads.add(threading.get_ident())
            batches.append(sum(isinstance(item, ev.TrialFinished) for _, item in batch))
            apply(batch)

        workbench._coalescer = None
        workbench._apply = spy
        workbench.start_button.click()
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return batches

    batches = asyncio.run(main())
    assert seen_threads == {threading.get_ident()}  # only the loop's (here, the main) thread
    assert sum(batches) == 5


# 27 s in CI (a DNAS search); the panel's placement at Start is checked fast in tests/ui/test_plots.py
@pytest.mark.slow
def test_a_differentiable_search_shows_its_architecture_weights(
    storage, tiny_task, wait_for, monkeypatch, tmp_path
):
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))
    config = tiny_dnas_config(storage, study_name="dnas")

    async def main():
        workbench = nw.Workbench(config, data=tiny_task)
        workbench.start_button.click()
        # the histories are placed once the run has opened (the opening runs in the background), before
        # its first epoch
        await wait_for(lambda: workbench.plots.dnas_widget is not None)
        placed.extend(workbench.plots.box.children)
        await wait_for(lambda: not workbench.searching and "complete" in workbench.message.value)
        return workbench

    placed: list[object] = []
    workbench = asyncio.run(main())
    plots = workbench.plots
    assert plots.dnas_widget is not None and plots.box.children == (plots.widget, plots.dnas_widget)
    assert list(plots.box.children) == placed  # the same widgets as at Start: none placed mid-run
    alpha = plots.dnas_widget._model.select_one({"name": "nas_alpha"}).data
    assert set(alpha["epoch"]) == {"1", "2"}  # both search epochs arrived live


def test_a_missing_extra_is_named(monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "nas_workbench.ui" or m.startswith("nas_workbench.ui.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jupyter_bokeh", None)  # as if it were not installed
    monkeypatch.delattr(nw, "Workbench", raising=False)  # the package caches names once imported
    try:
        nw.Workbench  # noqa: B018
    except nw.MissingDependencyError as error:
        assert "jupyter_bokeh" in str(error) and "nas-workbench[notebook]" in str(error)
    else:
        raise AssertionError("no MissingDependencyError")


def test_load_after_a_kernel_restart_mid_trial_offers_resume_not_following(
    make_config, score, wait_for, storage
):
    # A kernel restarted mid-search leaves its trial RUNNING with a silent heartbeat: the workbench
    # reopened on it took the trial for a live one (another process running the study) and offered no Resume.
    first = nw.search(make_config(n_trials=5), evaluate=score)
    first.subscribe(lambda e: first.stop() if isinstance(e, ev.TrialFinished) and e.number == 1 else None)
    first.run()  # 2 of 5 trials
    study = optuna.load_study(study_name="ui", storage=storage)
    trial_id = study.ask()._trial_id  # the restarted kernel's trial
    with sqlite3.connect(storage.removeprefix("sqlite:///")) as db:
        db.execute(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES (?, datetime('now', '-600 seconds'))",
            (trial_id,),
        )

    async def main():
        workbench = nw.Workbench.load("ui", storage=storage, evaluate=score)
        await wait_for(lambda: "holds 2 of 5 trials: Resume continues it" in workbench.message.value)
        workbench.resume_button.click()
        await wait_for(lambda: "complete" in workbench.message.value and not workbench.searching)
        return workbench

    workbench = asyncio.run(main())
    assert "5 / 5 trials" in workbench.progress_label.value
