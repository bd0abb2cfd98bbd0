"""Every use of another library's private API, in one place, each guarded by the versions it was checked on.

Optuna, torch and jupyter_bokeh lack a public way to do a few things the workbench needs: run Optuna's trial
loop ourselves (its stop flag, "inside the optimize loop" marker and per-trial read shared by its samplers),
read its storage in bulk (its ORM table definitions, a study's id, the storage under its trial cache, the
stale-trial query), sort points by non-domination as its NSGA-II does, see every ATen operator a network
calls on shape-only tensors (torch's dispatch modes, fake tensors and argument trees), read allocation
events from torch's profiler, and filter the messages jupyter_bokeh applies from the browser and send a
batch of the kernel's changes as one patch; scikit-learn's digits are read from the file its `load_digits`
reads, without importing `sklearn.datasets` (and scipy with it: over a second before a search's first
trial). Each helper here names the private API it touches and checks,
the first time, that the installed library is in `CHECKED`, the range its tests ran on; outside it the
helper raises `CompatibilityError` saying which library, which version and what to install, instead of
misbehaving silently on a renamed attribute. Nothing else in the package touches those names, but
`_compat_gp` (Optuna's GP sampler's internals, apart for size).

Importing this module imports none of the three libraries.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
from collections.abc import Callable, Container, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from packaging.version import Version

from nas_workbench.exceptions import CompatibilityError

if TYPE_CHECKING:
    import numpy as np
    import optuna
    from optuna.storages import BaseStorage
    from optuna.study._frozen import FrozenStudy as FrozenStudy  # what get_all_studies lists; not exported
    from optuna.trial import FrozenTrial

#: Distribution name → the versions ``[lowest, first unsupported)`` whose private API this module was
#: checked on. Tested here with Optuna 5.1, torch 2.13 and jupyter_bokeh 4.1; the lower bounds are the
#: package's own requirements (pyproject.toml), the upper ones the next release not yet checked.
CHECKED: Mapping[str, tuple[str, str]] = {
    "optuna": ("5.0", "6"),
    "torch": ("2.2", "2.14"),
    "jupyter_bokeh": ("4.0", "5"),
}


def check_version(library: str, installed: str, checked: tuple[str, str]) -> None:
    """Raise `CompatibilityError` unless ``installed`` lies in ``checked`` (``[lowest, first unsupported)``).

    Args:
        library: The distribution's name, for the message.
        installed: Its installed version.
        checked: The range whose private API was checked.
    """
    low, high = checked
    if not Version(low) <= Version(installed) < Version(high):
        raise CompatibilityError(
            f"nas-workbench uses private parts of {library} that were checked on {library}>={low},<{high}, "
            f"but {library} {installed} is installed: install '{library}>={low},<{high}'"
        )


@functools.cache
def require(library: str) -> None:
    """Check once that the installed ``library`` is in its `CHECKED` range (see `check_version`)."""
    check_version(library, importlib.metadata.version(library), CHECKED[library])


# -- scikit-learn ---------------------------------------------------------------------------------------
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as `sklearn.datasets.load_digits` gives them: images (1797, 8, 8) and labels.

    Read from the file it reads (``sklearn/datasets/data/digits.csv.gz``: 64 pixels and the label per row),
    found without importing scikit-learn; where that file is not (another layout), `load_digits` itself.
    """
    import gzip
    import importlib.util
    from pathlib import Path

    import numpy as np

    found = importlib.util.find_spec("sklearn")
    folders = found.submodule_search_locations if found is not None else None
    path = Path(next(iter(folders or [""]))) / "datasets" / "data" / "digits.csv.gz"
    if not folders or not path.is_file():
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return bunch.images, bunch.target
    with gzip.open(path, "rt", encoding="utf-8") as rows:
        data = np.loadtxt(rows, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


# -- Optuna --------------------------------------------------------------------------------------------
#: Private storage methods that Optuna's trial cache (`_CachedStorage`) and heartbeat check call on an RDB
#: storage, besides the public ones of `BaseStorage`: a storage that retries calls wraps these too.
RDB_PRIVATE_CALLS = frozenset(
    {"_create_new_trial", "_get_best_trial_id", "_get_stale_trial_ids", "_get_trials", "_set_trial_param"}
)


def study_id(study: Any) -> int:
    """The storage id of an `optuna.Study` or `FrozenStudy` (``_study_id``: Optuna has no public accessor)."""
    require("optuna")
    return int(study._study_id)


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage id of a trial, running or finished (``_trial_id``: Optuna has no public accessor)."""
    require("optuna")
    return int(trial._trial_id)


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage a study reads and writes through (``Study._storage``, the trial cache for RDB)."""
    require("optuna")
    return study._storage


def uncached_storage(study: optuna.Study) -> BaseStorage:
    """The storage under Optuna's trial cache (``_CachedStorage._backend``), or the study's storage."""
    storage = storage_of(study)
    return getattr(storage, "_backend", storage)


def rdb_models() -> ModuleType:
    """Optuna's ORM table definitions (``optuna.storages._rdb.models``), for reading its tables in bulk."""
    require("optuna")
    from optuna.storages._rdb import models

    return models


def clear_stop(study: optuna.Study) -> None:
    """Forget an earlier ``Study.stop()``, as `Study.optimize` does when it starts (``_stop_flag``)."""
    require("optuna")
    study._stop_flag = False


def stop_requested(study: optuna.Study) -> bool:
    """Whether a sampler or callback called ``Study.stop()`` since `clear_stop` (``_stop_flag``)."""
    require("optuna")
    return bool(study._stop_flag)


@contextlib.contextmanager
def inside_optimize_loop(study: optuna.Study) -> Iterator[None]:
    """Within the block, the study counts as inside its optimize loop, the only place Optuna lets a sampler
    or callback call ``Study.stop()`` (``_thread_local.in_optimize_loop``, set by `Study.optimize`)."""
    require("optuna")
    study._thread_local.in_optimize_loop = True
    try:
        yield
    finally:
        study._thread_local.in_optimize_loop = False


def study_over_view(study: optuna.Study, view: Any) -> optuna.Study:
    """``study`` read through ``view``, a duck-typed stand-in for its storage that delegates what it does
    not change (as the pruner's view of accuracy curves): Optuna's `Study` reads its storage only through
    the `BaseStorage` methods, which the view answers, though it is no `BaseStorage`."""
    require("optuna")
    import optuna

    return optuna.Study(study.study_name, storage=cast("BaseStorage", view), sampler=study.sampler)


def start_waiting_trial(study: optuna.Study, storage: BaseStorage, trial_id: int) -> optuna.Trial | None:
    """Claim the WAITING trial ``trial_id`` of ``study`` for this process, as `Study.ask` does after popping
    it from the queue (the state change is atomic in an RDB storage, then ``Trial(study, trial_id)``, whose
    constructor Optuna advises users not to call). None when another process claimed or finished it first."""
    require("optuna")
    import optuna

    try:
        if storage.set_trial_state_values(trial_id, optuna.trial.TrialState.RUNNING):
            study._thread_local.cached_all_trials = None  # `Study.ask` drops its samplers' read here too
            return optuna.trial.Trial(study, trial_id)
    except optuna.exceptions.UpdateFinishedTrialError:
        pass  # another process claimed and finished it meanwhile
    return None


def sampling_trials(
    study: optuna.Study, states: Container[optuna.trial.TrialState] | None = None
) -> list[FrozenTrial]:
    """The study's trials in ``states`` as Optuna's own samplers read them while a trial is sampled: the
    study is read once per trial and the read shared by every such call until the trial is told
    (``Study._get_trials(use_cache=True)``, the cache `Study.ask`, `start_waiting_trial` and `Study.tell`
    drop). Only for a sampler's methods: elsewhere the cache may hold an earlier trial's read."""
    require("optuna")
    return study._get_trials(deepcopy=False, states=states, use_cache=True)


class _StudyWithout:
    """A study as a sampler reads it, without the trials ``drop`` picks (`study_without`)."""

    def __init__(self, study: optuna.Study, drop: Callable[[FrozenTrial], bool]) -> None:
        self._study = study
        self._drop = drop

    def __getattr__(self, name: str) -> Any:  # directions, study_name, the storage: the study's own
        return getattr(self._study, name)

    def _get_trials(self, *args: Any, **kwargs: Any) -> list[FrozenTrial]:
        return [t for t in self._study._get_trials(*args, **kwargs) if not self._drop(t)]

    def get_trials(self, *args: Any, **kwargs: Any) -> list[FrozenTrial]:
        return [t for t in self._study.get_trials(*args, **kwargs) if not self._drop(t)]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


def study_without(study: optuna.Study, drop: Callable[[FrozenTrial], bool]) -> optuna.Study:
    """``study`` for a sampler to read without the trials ``drop`` picks: Optuna's samplers read a study's
    history through ``Study._get_trials`` (and `Study.get_trials`), which the view filters; everything
    else is the study's own. Only for handing to a sampler's ``sample_relative`` / ``sample_independent``."""
    require("optuna")
    return cast("optuna.Study", _StudyWithout(study, drop))


def nondomination_ranks(loss_values: np.ndarray, first_only: bool = False) -> np.ndarray:
    """The non-domination rank of each row of ``loss_values`` (smaller is better in every column): 0 for
    the Pareto front, 1 for the front of the rest, and so on; equal rows share a rank. Optuna's fast
    non-dominated sort, as its NSGA-II sampler uses it (``optuna.study._multi_objective``).

    Args:
        first_only: Only tell the Pareto front (rank 0) from the rest (a rank above 0), which is faster.
    """
    require("optuna")
    from optuna.study._multi_objective import _fast_non_domination_rank

    return _fast_non_domination_rank(loss_values, n_below=1 if first_only else None)


# -- torch ---------------------------------------------------------------------------------------------
def operator_recorder(seen: Callable[[Any, Any, Any, Any], None]) -> contextlib.AbstractContextManager[Any]:
    """A mode under which ``seen(op, args, kwargs, out)`` is called with every operator torch dispatches,
    after it ran (a ``torch.utils._python_dispatch.TorchDispatchMode``: torch has no public way to see the
    ATen operators a network calls)."""
    require("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            seen(func, args, kwargs, out)
            return out

    return _Recorder()


def mutates(op: Any) -> bool:
    """Whether an ATen operator writes into an argument (``OpOverload._schema.is_mutable``)."""
    require("torch")
    return bool(op._schema.is_mutable)


def fake_tensor_mode() -> Any:
    """A mode in which new tensors carry shapes and dtypes but no data, real tensors allowed as inputs; its
    ``from_tensor`` makes a fake copy (``torch._subclasses.fake_tensor.FakeTensorMode``)."""
    require("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(allow_non_fake_inputs=True)


@functools.cache
def _pytree() -> ModuleType:
    require("torch")
    import torch.utils._pytree as pytree

    return pytree


def tree_leaves(value: Any) -> list[Any]:
    """The leaves of nested tuples, lists and dicts, as torch flattens an operator's arguments
    (``torch.utils._pytree``)."""
    return list(_pytree().tree_flatten(value)[0])


def tree_map(fn: Callable[[Any], Any], value: Any) -> Any:
    """``value`` with ``fn`` applied to each of its leaves (`tree_leaves`), its nesting kept."""
    return _pytree().tree_map(fn, value)


def profiler_running() -> bool:
    """Whether a torch profiler session is running on this thread (``torch.autograd._profiler_enabled``;
    starting a second one would raise)."""
    require("torch")
    import torch

    return bool(torch.autograd._profiler_enabled())


def cpu_allocations(prof: Any) -> list[tuple[int, int, int]]:
    """``(start time ns, bytes allocated, total allocated after)`` of every CPU allocation a finished
    ``torch.profiler.profile(profile_memory=True)`` session saw, in no particular order (Kineto's
    ``experimental_event_tree`` and ``torch._C._profiler._EventType``)."""
    require("torch")
    from torch._C._profiler import _EventType

    events = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            fields = node.extra_fields
            events.append((node.start_time_ns, fields.alloc_size, fields.total_allocated))
    return events


def nvml_device_index(device: Any) -> int:
    """NVML's number of a CUDA ``device``, honouring ``CUDA_VISIBLE_DEVICES`` as torch's own power readings
    do (``torch.cuda._get_nvml_device_index``)."""
    require("torch")
    import torch

    return int(torch.cuda._get_nvml_device_index(device))


# -- jupyter_bokeh -------------------------------------------------------------------------------------
def bokeh_model_dropping(drop: Callable[[Mapping[str, Any]], bool]) -> type:
    """A subclass of ``jupyter_bokeh.BokehModel`` that ignores the browser messages for which
    ``drop(content)`` is true (it overrides ``BokehModel._sync_model``, the handler of every message), and
    that sends the document changes made inside its ``batched()`` as one patch: jupyter_bokeh's
    ``_document_patched``, which it overrides, sends each change as a patch of its own (three messages and
    two per binary buffer), so a batch of rows that also moves the axes took eight patches. Its
    ``_model_to_traits`` (the document rendered whole) skips one walk of every model (see there)."""
    require("jupyter_bokeh")
    from bokeh.document import Document
    from bokeh.embed.elements import div_for_render_item
    from bokeh.embed.util import RenderItem
    from bokeh.protocol import Protocol
    from bokeh.util.serialization import make_globally_unique_css_safe_id, make_globally_unique_id
    from jupyter_bokeh import BokehModel

    class _DroppingBokehModel(BokehModel):
        _held: list[Any] | None = None

        @classmethod
        def _model_to_traits(cls, model: Any) -> dict[str, Any]:
            """The render bundle jupyter_bokeh 4.1 makes, without the walk of every model that
            ``standalone_docs_json_and_render_items`` makes to look for Python callbacks, whose warning
            jupyter_bokeh suppresses (a twelfth of building a workbench's plots)."""
            if model.document is None:
                Document().add_root(model)
            docid = make_globally_unique_id()
            item = RenderItem(docid, roots={model: make_globally_unique_css_safe_id()})
            return {
                "docs_json": {docid: model.document.to_json(deferred=False)},
                "render_items": [item.to_json()],
                "div": div_for_render_item(item),
            }

        def _sync_model(self, model: Any, content: dict[str, Any], buffers: list[Any]) -> None:
            if not drop(content):
                super()._sync_model(model, content, buffers)

        @contextlib.contextmanager
        def batched(self) -> Iterator[None]:
            """Hold the document's changes made in this block and send them as one patch at its end."""
            self._held = []
            try:
                yield
            finally:
                held, self._held = self._held, None
                if held:
                    self._send_patch(held)

        def _document_patched(self, event: Any) -> None:
            if event.setter is self:  # the browser's own change, as jupyter_bokeh skips it
                return
            if self._held is not None:
                self._held.append(event)
            else:
                self._send_patch([event])

        def _send_patch(self, events: list[Any]) -> None:
            """Send ``events`` as one PATCH-DOC, in the messages jupyter_bokeh 4's view reads."""
            message = Protocol().create("PATCH-DOC", events)
            for part in (message.header_json, message.metadata_json, message.content_json):
                self.send({"msg": "patch", "payload": part})
            for buffer in message.buffers:
                self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
                self.send({"msg": "patch"}, [buffer.to_bytes()])

    return _DroppingBokehModel
