"""`nas_workbench._compat`: each use of a private API works on the installed libraries, and a library outside
the checked versions is refused with a message that names it, its version and what to install."""

from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy as np
import optuna
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from nas_workbench import _compat
from nas_workbench.engine.storage import open_storage
from nas_workbench.exceptions import CompatibilityError


@pytest.mark.parametrize("library", sorted(_compat.CHECKED))
def test_the_installed_libraries_are_in_their_checked_ranges(library):
    _compat.require(library)  # raises otherwise: the CI environment must be one the helpers were checked on


@pytest.mark.parametrize(
    ("installed", "ok"),
    [("5.0.0", True), ("5.1.0", True), ("5.9.3", True), ("4.9.0", False), ("6.0.0", False), ("6.1", False)],
)
def test_a_version_outside_the_range_is_refused_with_what_to_install(installed, ok):
    if ok:
        _compat.check_version("optuna", installed, ("5.0", "6"))
        return
    with pytest.raises(CompatibilityError) as error:
        _compat.check_version("optuna", installed, ("5.0", "6"))
    message = str(error.value)
    assert f"optuna {installed} is installed" in message and "install 'optuna>=5.0,<6'" in message


def test_a_local_build_tag_counts_as_its_release():
    _compat.check_version("torch", "2.13.0+cpu", ("2.2", "2.14"))
    with pytest.raises(CompatibilityError, match=r"torch 2\.14\.0\+cu126 is installed"):
        _compat.check_version("torch", "2.14.0+cu126", ("2.2", "2.14"))


def test_require_reads_the_installed_version(monkeypatch):
    installed = importlib.metadata.version("optuna")
    monkeypatch.setitem(_compat.CHECKED, "optuna", ("0.1", "0.2"))
    _compat.require.cache_clear()
    try:
        with pytest.raises(CompatibilityError, match=f"optuna {installed} is installed"):
            _compat.require("optuna")
    finally:
        _compat.require.cache_clear()


def test_the_optuna_helpers_read_a_real_sqlite_study(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(study_name="s", storage=storage, directions=["minimize", "minimize"])
    trial = study.ask()
    study.tell(trial, [1.0, 2.0])
    assert _compat.uncached_storage(study) is storage  # under Optuna's trial cache
    assert _compat.study_id(study) == storage.get_study_id_from_name("s")
    assert _compat.trial_id(trial) == study.trials[0]._trial_id
    assert "trials" in {table.name for table in _compat.rdb_models().BaseModel.metadata.sorted_tables}
    assert set(dir(storage)) >= _compat.RDB_PRIVATE_CALLS


def test_stop_and_the_optimize_loop_marker_are_the_ones_study_stop_uses(tmp_path):
    study = optuna.create_study()
    with pytest.raises(RuntimeError):  # outside the loop, Optuna refuses to stop
        study.stop()
    _compat.clear_stop(study)
    with _compat.inside_optimize_loop(study):
        assert not _compat.stop_requested(study)
        study.stop()
    assert _compat.stop_requested(study)


def test_nondomination_ranks_are_front_by_front():
    loss = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0], [2.0, 2.0], [5.0, 5.0]])
    assert _compat.nondomination_ranks(loss).tolist() == [0, 0, 1, 0, 0, 2]
    first = _compat.nondomination_ranks(loss, first_only=True)
    assert (first == 0).tolist() == [True, True, False, True, True, False]


def test_cpu_allocations_are_read_from_the_profiler():
    _compat.require("torch")
    assert not _compat.profiler_running()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        assert _compat.profiler_running()
        torch.ones(1000)
    sizes = [size for _, size, _ in _compat.cpu_allocations(prof)]
    assert 4000 in sizes  # 1000 float32


def test_the_operator_recorder_sees_aten_operators_on_fake_tensors():
    seen: list[tuple[str, bool, list[tuple[int, ...]]]] = []

    def record(op, args, kwargs, out):
        shapes = [tuple(t.shape) for t in _compat.tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        seen.append((str(op), _compat.mutates(op), shapes))

    fake = _compat.fake_tensor_mode()
    with fake, _compat.operator_recorder(record):
        x = fake.from_tensor(torch.zeros(2, 3))
        y = torch.mm(x, x.t())
        y.add_(1.0)
    assert y.shape == (2, 2)
    assert ("aten.mm.default", False, [(2, 3), (3, 2)]) in seen
    assert ("aten.add_.Tensor", True, [(2, 2)]) in seen or ("aten.add_.Scalar", True, [(2, 2)]) in seen
    doubled = _compat.tree_map(lambda v: v * 2, {"a": (1, [2]), "b": 3})
    assert doubled == {"a": (2, [4]), "b": 6}


def test_the_bokeh_model_drops_only_what_it_is_told():
    from bokeh.plotting import figure

    seen: list[str] = []
    cls = _compat.bokeh_model_dropping(lambda content: seen.append(content.get("kind")) or True)
    model = cls(figure())
    model._sync_model(model, {"event": "jsevent", "kind": "ColumnsStreamed"}, [])  # what a message calls
    assert seen == ["ColumnsStreamed"]


def test_the_bokeh_models_render_bundle_is_jupyter_bokehs_ids_aside():
    """The override that skips jupyter_bokeh's walk for Python callbacks renders the same document, roots
    and placeholder element; only the random document and element ids differ."""
    from bokeh.plotting import figure
    from jupyter_bokeh import BokehModel

    plot = figure(title="bundle")
    plot.line([1, 2, 3], [3, 1, 2], legend_label="a line")

    def without_ids(bundle: dict) -> tuple:
        (item,) = bundle["render_items"]
        (doc,) = bundle["docs_json"].values()
        (element,) = item["roots"].values()
        assert list(bundle["docs_json"]) == [item["docid"]] and element in bundle["div"]
        return doc, item["root_ids"], bundle["div"].replace(element, "ELEMENT")

    ours = _compat.bokeh_model_dropping(lambda content: False)._model_to_traits(plot)
    assert without_ids(ours) == without_ids(BokehModel._model_to_traits(plot))


def test_a_waiting_trial_is_claimed_once(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    study.enqueue_trial({})
    waiting = study.trials[0]
    trial = _compat.start_waiting_trial(study, storage, waiting._trial_id)
    assert trial is not None and trial.number == waiting.number
    assert study.trials[0].state == optuna.trial.TrialState.RUNNING
    assert _compat.start_waiting_trial(study, storage, waiting._trial_id) is None  # another process's now
    study.tell(trial, 1.0)
    assert _compat.start_waiting_trial(study, storage, waiting._trial_id) is None  # finished meanwhile


def test_a_sampler_read_is_shared_within_a_trial_and_renewed_with_the_next(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(study_name="s", storage=storage)
    other = optuna.load_study(study_name="s", storage=storage)  # another process's view of the study
    study.enqueue_trial({})
    trial = _compat.start_waiting_trial(study, storage, study.trials[0]._trial_id)
    assert trial is not None
    read = _compat.sampling_trials(study)
    other.enqueue_trial({})
    assert _compat.sampling_trials(study) is read and len(read) == 1  # one read for the whole trial
    assert len(study.get_trials(deepcopy=False)) == 2  # a plain read sees the other process's trial
    assert _compat.sampling_trials(study, (optuna.trial.TrialState.WAITING,)) == []
    study.tell(trial, 1.0)
    waiting = study.get_trials(deepcopy=False)[1]
    _compat.sampling_trials(study)  # outside a trial: filled, then dropped when the next is claimed
    other.enqueue_trial({})
    assert _compat.start_waiting_trial(study, storage, waiting._trial_id) is not None
    assert len(_compat.sampling_trials(study)) == 3


def test_a_study_without_some_trials_hides_them_from_every_read() -> None:
    study = optuna.create_study()
    for value in (1.0, -1.0, 2.0):
        study.add_trial(optuna.trial.create_trial(value=value))
    view = _compat.study_without(study, lambda t: t.value is not None and t.value < 0)
    assert [t.value for t in view._get_trials(deepcopy=False)] == [1.0, 2.0]
    assert [t.value for t in view.get_trials()] == [1.0, 2.0] == [t.value for t in view.trials]
    assert view.study_name == study.study_name and view.directions == study.directions
    assert len(study.trials) == 3  # the study itself keeps them


@pytest.mark.parametrize("file_found", [True, False])
def test_the_digits_are_scikit_learns_as_load_digits_gives_them(file_found, monkeypatch):
    """Read from scikit-learn's file, or, where its layout has no such file, by `load_digits` itself."""
    from sklearn.datasets import load_digits

    if not file_found:
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    images, labels = _compat.digits()
    expected = load_digits()
    assert images.dtype == expected.images.dtype and labels.dtype == expected.target.dtype
    assert np.array_equal(images, expected.images) and np.array_equal(labels, expected.target)
