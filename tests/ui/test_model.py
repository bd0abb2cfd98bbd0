"""The workbench's model: events and messages reduced into what to draw, without widgets or a kernel."""

from __future__ import annotations

from nas_workbench.config import SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult, budget_missed
from nas_workbench.ui._model import Exported, Failure, Loaded, Loading, Message, WorkbenchModel
from nas_workbench.viz import TrialTable


def _finished(number: int, accuracy: float, worker: str = "host:1") -> ev.TrialFinished:
    metrics = {"accuracy": {"value": accuracy, "unit": "fraction", "method": "measured", "source": "trainer"}}
    return ev.TrialFinished(
        "s", number, "ok", [accuracy], metrics, {}, f"a{number}", f"arch {number}", None, 1.0, worker
    )


def _started(n_trials: int, at: float) -> ev.RunStarted:
    return ev.RunStarted("s", "sqlite:///x.db", n_trials, 0, ["accuracy"], ["maximize"], {}, {}, time=at)


def test_a_run_reduces_to_trials_status_progress_and_an_outcome():
    model = WorkbenchModel()
    session = model.next_session()
    changes = model.reduce(
        [
            (session, _started(4, at=100.0)),
            (session, ev.TrialStarted("s", 0, {}, "a0", "conv 3x3")),
            (session, ev.TrialReported("s", 0, 1, 0.5)),
            (session, _finished(0, 0.8)),
            (session, ev.TrialStarted("s", 1, {}, "a1", "dwsep <5>")),
        ]
    )
    assert [r.number for r in changes.results] == [0]
    assert changes.status == "Trial 1: <code>dwsep &lt;5&gt;</code>"  # the latest, escaped
    table = TrialTable(["accuracy"], ["maximize"])
    table.extend(changes.results)
    progress = model.progress(table, running=True, now=110.0)
    assert (progress.value, progress.max, progress.style) == (1, 4, "")
    assert progress.text.startswith("1 / 4 trials · about 30 s left")  # 10 s for one trial, three to go
    assert "best validation accuracy 0.8" in progress.text

    done = model.reduce([(session, ev.RunFinished("s", "stopped", 1, 12.0))])
    assert done.finished is not None and done.status == ""
    assert done.message == Message("Stopped after 1 of 4 trials: Resume continues the study.")
    failed = model.finish_message(ev.RunFinished("s", "error", 1, 1.0, error="boom"))
    assert failed.error and "boom" in failed.text
    model.auto = "tpe"  # the strategy "auto" resolved to: said when the run ends
    completed = model.finish_message(ev.RunFinished("s", "completed", 4, 8.0))
    assert completed.text.endswith("Strategy auto ran tpe.")
    model.auto, model.describe_trials = None, lambda: "3 search epochs and 1 retrained architecture"
    dnas = model.finish_message(ev.RunFinished("s", "completed", 4, 8.0))  # what a dnas run's trials were
    assert dnas.text == "Search complete: 4 trials in 8 s (3 search epochs and 1 retrained architecture)."
    model.describe_trials = None
    one = model.finish_message(ev.RunFinished("s", "completed", 1, 2.0))
    assert one.text == "Search complete: 1 trial in 2 s."  # not "1 trials"


def _result(number: int, status: str, **values: float) -> TrialResult:
    metrics = {name: {"value": value, "method": "measured"} for name, value in values.items()}
    return TrialResult(
        number=number, status=status, spec={}, arch="", summary="", metrics=metrics, values=None,
        feasible=status == "ok", reason=None, duration_s=1.0, datetime_complete=None, intermediate={},
        worker=None,
    )  # fmt: skip


def test_a_run_whose_every_trial_was_over_budget_says_so_and_what_to_change():
    over = _result(0, "infeasible", latency_ms=0.0268)
    trained = _result(1, "ok", accuracy=0.9, latency_ms=0.02)
    model = WorkbenchModel()
    model.budget_missed = lambda: budget_missed([over, over], {"latency_ms": 0.0213})
    done = model.finish_message(ev.RunFinished("s", "completed", 2, 5.0))
    assert done.warning and done.text.startswith("Search complete: 2 trials in 5 s. No architecture met")
    assert "2 of 2 trials were over it (latency_ms at least 0.0268 against 0.0213)" in done.text
    assert "Loosen the budget" in done.text
    model.budget_missed = lambda: budget_missed([over, trained], {"latency_ms": 0.0213})
    done = model.finish_message(ev.RunFinished("s", "completed", 2, 5.0))
    assert done.text == "Search complete: 2 trials in 5 s." and not done.warning
    assert budget_missed([over], {}) is None  # no budget: nothing to miss


def test_items_of_an_earlier_session_are_dropped_but_exports_always_report():
    model = WorkbenchModel()
    old = model.next_session()
    new = model.next_session()
    changes = model.reduce(
        [
            (old, _finished(0, 0.5)),
            (old, Exported("Wrote x.onnx", False)),
            (new, _finished(1, 0.6)),
            (new, ev.TrialProfiled("s", 1, {}, [])),  # nothing to draw
        ]
    )
    assert [r.number for r in changes.results] == [1]
    assert changes.exported == [Exported("Wrote x.onnx", False)]


def test_loading_then_loaded_then_a_failure():
    model = WorkbenchModel()
    session = model.next_session()
    table = TrialTable(["accuracy"], ["maximize"])
    loaded = Loaded(None, table, SearchConfig(n_trials=12), False, None, None)  # type: ignore[arg-type]
    changes = model.reduce([(session, Loading(2, "Reading <trials>")), (session, loaded)])
    assert changes.loaded is loaded and changes.loading is None  # no stale "Reading" line over the study
    assert model.total == 12 and changes.status == ""
    step = model.reduce([(session, Loading(3, "Preparing the plots"))])
    assert step.loading == Loading(3, "Preparing the plots") and step.status == "<i>Preparing the plots</i>"
    broken = model.reduce([(session, Failure("Could not read study 'x'"))])
    assert broken.failed and broken.message == Message("Could not read study 'x'", error=True)


def test_a_warning_of_the_run_is_shown_beside_what_its_start_said_and_again_at_its_end():
    """The input-shape warning of a target device (raised in the search thread) reaches the widget as a
    `RunWarning` event: shown in amber with the opening text, and kept in the final message."""
    model = WorkbenchModel()
    session = model.next_session()
    model.opening = "Strategy auto runs proxy_guided: why."
    text = "target_device 'bigphone' predicts latency at input [3, 32, 32], where it was measured; ..."
    warning = ev.RunWarning("s", text, "UserWarning")
    changes = model.reduce([(session, _started(2, at=1.0)), (session, warning)])
    assert changes.message == Message(f"Strategy auto runs proxy_guided: why. Warning: {text}", warning=True)
    done = model.finish_message(ev.RunFinished("s", "completed", 2, 3.0))
    assert done == Message(f"Search complete: 2 trials in 3 s. Warning: {text}", warning=True)


def test_a_supernet_estimate_is_not_shown_as_a_trained_best():
    """A dnas search's epochs record the supernet's estimate of the derived architecture's accuracy: the
    progress line says so when that is the best yet (in JupyterLab a chain search under a latency budget
    showed "best validation accuracy 0.06389 (trial 0)" for its first epoch's estimate)."""
    estimate = _finished(0, 0.064)
    estimate.metrics["accuracy"] = {
        **estimate.metrics["accuracy"],
        "method": "estimated",
        "source": "supernet",
    }
    table = TrialTable(["accuracy"], ["maximize"])
    table.extend(WorkbenchModel().reduce([(0, estimate)]).results)
    model = WorkbenchModel()
    assert (
        "best validation accuracy 0.064 (trial 0, the supernet's estimate)"
        in model.progress(table, True, 1.0).text
    )
    table.extend(model.reduce([(0, _finished(1, 0.9))]).results)
    assert model.progress(table, running=True, now=2.0).text.endswith(
        "best validation accuracy 0.9 (trial 1)"
    )


def test_a_followed_study_stops_saying_it_is_followed_once_complete():
    """The status line kept "Following this study ..." after the study's last trial (h3)."""
    from nas_workbench.ui._controls import RunControls
    from nas_workbench.ui._model import Progress
    from nas_workbench.ui._status import FOLLOWING

    controls = RunControls(lambda: None, lambda: None, lambda: None)
    controls.status.value = f"<i>{FOLLOWING}</i>"
    controls.show_progress(Progress(39, 40, "", "39 / 40 trials"))
    assert FOLLOWING in controls.status.value  # still running elsewhere
    controls.show_progress(Progress(40, 40, "success", "40 / 40 trials"))
    assert controls.status.value == ""
    controls.status.value = "<i>Opening study 'x'…</i>"  # another status is left alone
    controls.show_progress(Progress(40, 40, "success", "40 / 40 trials"))
    assert controls.status.value == "<i>Opening study 'x'…</i>"
