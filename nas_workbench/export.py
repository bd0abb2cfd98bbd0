"""Export an architecture: JSON spec, PyTorch weights, TorchScript, ONNX, or its study's report notebook.

Every file carries the `ArchSpec` it was built from, so a model can always be rebuilt and traced back to
its study. The search keeps no weights (models are rebuilt from specs), so weight-carrying exports take
a ``model``: the trained network, or by default the network freshly initialised from the search's seed;
`train_model` trains one at a given fidelity first.

>>> from nas_workbench import export
>>> path = export.export_trial(study, 12, "onnx", "runs/exports/best.onnx", train=True)

The functions work from Python and are what the workbench's buttons and ``nas-workbench export`` call.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import torch
from torch import nn

from nas_workbench import _compat, spaces
from nas_workbench.config import Fidelity, SearchConfig
from nas_workbench.engine.records import TrialResult, pareto_front, trial_results
from nas_workbench.engine.storage import PASSWORD_NOTE, url_without_password
from nas_workbench.engine.study_record import DataIdentity, StudyRecord, record_of
from nas_workbench.exceptions import ConfigError, MissingDependencyError, NasWorkbenchError
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task, load_task

__all__ = [
    "FORMATS",
    "build_model",
    "export_onnx",
    "export_report_notebook",
    "export_spec",
    "export_state_dict",
    "export_torchscript",
    "export_trial",
    "load_state_dict",
    "train_model",
]

#: The formats of `export_trial`, with the file suffix each is written with by default.
FORMATS: Mapping[str, str] = {
    "spec": ".json",
    "state_dict": ".pt",
    "torchscript": ".torchscript.pt",
    "onnx": ".onnx",
    "notebook": ".ipynb",
}

#: Tag of the state-dict file layout, checked when it is read back.
STATE_DICT_FORMAT = "nas_workbench.state_dict/1"

SpecLike = ArchSpec | Mapping[str, Any]


def _spec(spec: SpecLike) -> ArchSpec:
    return spec if isinstance(spec, ArchSpec) else ArchSpec.from_dict(spec)


def _target(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def build_model(spec: SpecLike, input_shape: Sequence[int], num_classes: int, seed: int = 0) -> nn.Module:
    """The network of ``spec``, initialised from ``seed``, in eval mode."""
    spec = _spec(spec)
    torch.manual_seed(seed)
    space = spaces.get(spec.space, **spec.options)
    return space.build(space.validate(spec), tuple(input_shape), num_classes).eval()


def train_model(
    spec: SpecLike, task: Task, fidelity: Fidelity | None = None, seed: int = 0, device: str = "cpu"
) -> nn.Module:
    """Build ``spec`` for ``task`` and train it at ``fidelity`` (default `Fidelity()`); eval mode, CPU."""
    from nas_workbench.estimation.trainer import train

    model = build_model(spec, task.input_shape, task.num_classes, seed)
    train(model, task, fidelity or Fidelity(), seed=seed, device=device)
    return model.cpu().eval()


def export_spec(spec: SpecLike, path: str | os.PathLike[str]) -> Path:
    """Write ``spec`` as JSON (`ArchSpec.from_json` reads it back)."""
    path = _target(path)
    path.write_text(_spec(spec).to_json() + "\n")
    return path


def _model(
    spec: ArchSpec, input_shape: Sequence[int], num_classes: int, model: nn.Module | None
) -> nn.Module:
    return build_model(spec, input_shape, num_classes) if model is None else model.cpu().eval()


def export_state_dict(
    spec: SpecLike,
    path: str | os.PathLike[str],
    input_shape: Sequence[int],
    num_classes: int,
    model: nn.Module | None = None,
) -> Path:
    """Save the weights of ``model`` (default: ``spec`` freshly initialised) with the spec to rebuild it.

    The file is a `torch.save` dict ``{"format", "spec", "input_shape", "num_classes", "trained",
    "state_dict"}``, readable with ``torch.load(path, weights_only=True)``; `load_state_dict` rebuilds
    the network from it.
    """
    spec = _spec(spec)
    path = _target(path)
    weights = _model(spec, input_shape, num_classes, model).state_dict()
    torch.save(
        {
            "format": STATE_DICT_FORMAT,
            "spec": spec.to_dict(),
            "input_shape": list(input_shape),
            "num_classes": num_classes,
            "trained": model is not None,
            "state_dict": weights,
        },
        path,
    )
    return path


def load_state_dict(path: str | os.PathLike[str]) -> tuple[ArchSpec, nn.Module]:
    """Rebuild the network saved by `export_state_dict`: its spec and the network with its weights."""
    data = torch.load(path, weights_only=True)
    if not isinstance(data, dict) or data.get("format") != STATE_DICT_FORMAT:
        raise NasWorkbenchError(f"{path} is not a state dict written by nas_workbench.export_state_dict")
    spec = ArchSpec.from_dict(data["spec"])
    model = build_model(spec, data["input_shape"], data["num_classes"])
    model.load_state_dict(data["state_dict"])
    return spec, model


def export_torchscript(
    spec: SpecLike,
    path: str | os.PathLike[str],
    input_shape: Sequence[int],
    num_classes: int,
    model: nn.Module | None = None,
) -> Path:
    """Save a traced TorchScript module (``torch.jit.load``), the spec in its extra file ``spec.json``."""
    spec = _spec(spec)
    path = _target(path)
    network = _model(spec, input_shape, num_classes, model)
    traced = torch.jit.trace(network, torch.zeros(1, *input_shape))
    torch.jit.save(traced, str(path), _extra_files={"spec.json": spec.to_json()})
    return path


def _not_torchvision_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("torchvision is not installed")


def _silence_known_exporter_notices() -> None:
    """Filter the notices torch's exporters give on every export that say nothing about ours, once, as
    this module is imported. Installed for good rather than around each export: exports run on the
    workbench's worker thread, and ``warnings.catch_warnings`` swaps process-wide state that other
    threads see. Each filter matches one message of torch's only.

    - TorchScript is deprecated since torch 2.9 ("torch.jit.* is deprecated"); this export exists for
      its users.
    - The ONNX exporter's op registry logs "torchvision is not installed. Skipping torchvision::<op>" for
      each of four torchvision ops when torchvision is absent (it is no dependency: the networks use none
      of them); a filter on that one logger drops exactly these records, its other warnings still show.
    - ``ExportedProgram.run_decompositions`` deep-copies pytree specs, which re-creates ``LeafSpec``s and
      so trips torch's own FutureWarning "`isinstance(treespec, LeafSpec)` is deprecated" (torch
      internals, not a call of ours).
    """
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", message=r".*torch\.jit\..* is deprecated", category=category)
    warnings.filterwarnings(
        "ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning
    )
    logging.getLogger("torch.onnx._internal.exporter._registration").addFilter(_not_torchvision_notice)


_silence_known_exporter_notices()


def export_onnx(
    spec: SpecLike,
    path: str | os.PathLike[str],
    input_shape: Sequence[int],
    num_classes: int,
    model: nn.Module | None = None,
) -> Path:
    """Save an ONNX model (input ``input``, output ``logits``, any batch size), the spec in its metadata
    under ``nas_workbench.spec``. Needs the ``export`` extra (onnx, onnxscript)."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(
            "ONNX export needs onnx and onnxscript: pip install 'nas-workbench[export]'"
        ) from None
    spec = _spec(spec)
    path = _target(path)
    network = _model(spec, input_shape, num_classes, model)
    program = torch.onnx.export(  # the torch.export-based exporter, torch's default and recommended one
        network,
        (torch.zeros(2, *input_shape),),
        input_names=["input"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        verbose=False,
    )
    assert program is not None
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {"nas_workbench.spec": spec.to_json()})
    onnx.save(proto, str(path))
    return path


# -- a study's trial -------------------------------------------------------------------------------------
def _study_task(study: optuna.Study, data: Any) -> tuple[Task, SearchConfig | None]:
    """The data ``study`` searched on: ``data`` when it is that data (its recorded identity), else the
    digits the study names; data from Python must be passed."""
    record = record_of(study)
    seed = int(record.config.get("seed", 0))
    task = None if data is None else load_task(data, seed=seed)  # split as the search split it
    if task is None:
        if record.own_data is not None:
            raise ConfigError(
                "task",
                None,
                f"the Task the study searched on (its data came from Python: {record.own_data}); pass task=",
            )
        task = load_task("digits", seed=seed)
    if record.data is not None:
        record.data.check_same(DataIdentity.of(task), study.study_name)
    return task, _stored_config(record, study)


def _stored_config(record: StudyRecord, study: optuna.Study) -> SearchConfig | None:
    try:
        return record.search_config(storage="sqlite://", study_name=study.study_name)
    except NasWorkbenchError:  # written by another version: use the defaults
        return None


def _trial(study: optuna.Study, number: int | None) -> TrialResult:
    """Trial ``number`` of ``study``, or its best (the first of the Pareto front) when None."""
    results = trial_results(study)
    if number is None:
        directions = list(record_of(study).directions)
        front = pareto_front(results, directions)
        if not front:
            raise NasWorkbenchError(f"study {study.study_name!r} has no feasible, completed trial to export")
        return front[0]
    for result in results:
        if result.number == number:
            if not result.spec:
                raise NasWorkbenchError(
                    f"trial {number} of {study.study_name!r} has no architecture recorded"
                )
            return result
    raise ConfigError(
        "trial", number, f"a trial number of study {study.study_name!r} (0 to {len(results) - 1})"
    )


def export_trial(
    study: optuna.Study,
    trial: int | None,
    fmt: str,
    path: str | os.PathLike[str],
    task: Any = None,
    train: bool = False,
) -> Path:
    """Export the architecture of one trial of ``study`` in format ``fmt``.

    Args:
        study: The study (`optuna.load_study`, or a `SearchRun`'s ``study``).
        trial: Its trial number; None exports the best feasible trial (first of the Pareto front).
        fmt: One of `FORMATS`: "spec", "state_dict", "torchscript", "onnx" or "notebook" (the study's
            report notebook, see `export_report_notebook`).
        path: The file to write.
        task: The data the study searched on, as `nas_workbench.search` takes it (a `Task`, arrays
            ``(x, y)`` split with the study's seed, ...); needed for weights when it was not digits.
        train: Train the network at the study's fidelity before saving weights (else it is saved as
            freshly initialised from the study's seed).

    Returns:
        The path written.
    """
    if fmt not in FORMATS:
        from nas_workbench._registry import unknown_name_message

        raise ConfigError("format", fmt, unknown_name_message("export format", fmt, list(FORMATS)))
    if fmt == "notebook":
        return export_report_notebook(study, path, trial=trial)
    result = _trial(study, trial)
    spec = ArchSpec.from_dict(result.spec)
    if fmt == "spec":
        return export_spec(spec, path)
    data, config = _study_task(study, task)
    seed = config.seed if config is not None else 0
    model = None
    if train:
        model = train_model(spec, data, config.fidelity if config is not None else None, seed=seed)
    writer = {"state_dict": export_state_dict, "torchscript": export_torchscript, "onnx": export_onnx}[fmt]
    return writer(spec, path, data.input_shape, data.num_classes, model=model)


# -- the report notebook ---------------------------------------------------------------------------------
def _markdown_table(front: Sequence[TrialResult], objectives: Sequence[str]) -> str:
    from nas_workbench.viz import metric_axis_label, metric_label

    metrics = list(dict.fromkeys([*objectives, "accuracy", "test_accuracy", "params", "latency_ms"]))
    metrics = [m for m in metrics if any(m in r.metrics for r in front)]
    head = "| Trial | Architecture | " + " | ".join(metric_axis_label(m) for m in metrics) + " |"
    rule = "|" + "---|" * (len(metrics) + 2)
    rows = [
        f"| {r.number} | `{r.summary or r.arch}` | "
        + " | ".join(metric_label(dict(r.metrics[m])) if m in r.metrics else "n/a" for m in metrics)
        + " |"
        for r in front
    ]
    return "\n".join([head, rule, *rows])


def export_report_notebook(
    study: optuna.Study,
    path: str | os.PathLike[str],
    trial: int | None = None,
    storage: str | None = None,
) -> Path:
    """Write a report notebook of ``study`` (nbformat): its settings, plots, Pareto table and code
    that rebuilds the chosen architecture.

    The plots and the rebuild are code cells (run the notebook to see the live plots); the settings
    and the Pareto table, with every figure's unit and method, are Markdown and read anywhere.

    Args:
        study: The study.
        path: The ``.ipynb`` file to write.
        trial: The architecture to rebuild (default: the best feasible trial).
        storage: The storage URL the notebook opens the study from (default: the study's own).
    """
    try:
        import nbformat
        from nbformat import v4
    except ImportError:
        raise MissingDependencyError(
            "the report notebook needs nbformat: pip install 'nas-workbench[export]'"
        ) from None
    import yaml

    record = record_of(study)
    objectives, directions = list(record.objectives), list(record.directions)
    results = trial_results(study)
    front = pareto_front(results, directions)
    chosen = _trial(study, trial)
    url = url_without_password(storage or _storage_url(study))  # no password leaves the process
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "infeasible", "pruned", "failed")}
    config = record.config
    cells = [
        v4.new_markdown_cell(
            f"# NAS report: `{study.study_name}`\n\n"
            f"Space **{record.space or '?'}**, strategy **{record.strategy or '?'}**, objectives "
            + ", ".join(f"{m} ({d})" for m, d in zip(objectives, directions, strict=True))
            + f", budget {dict(record.budget) or 'none'}.\n\n"
            f"{len(results)} trials: {counts['ok']} trained, {counts['infeasible']} over budget "
            "(not trained), "
            f"{counts['pruned']} stopped early, {counts['failed']} failed."
        ),
        v4.new_markdown_cell(
            "## Configuration\n\n```yaml\n" + yaml.safe_dump(config, sort_keys=False) + "```"
        ),
        v4.new_markdown_cell(
            "## Plots\n\nRun the next cell: the study's plots, with a table of the chosen point."
            + ("" if url.startswith("sqlite") else f" {PASSWORD_NOTE}")
        ),
        v4.new_code_cell(
            "import nas_workbench as nw\n\n"
            f"nw.Workbench.load({json.dumps(study.study_name)}, storage={json.dumps(url)})"
        ),
        v4.new_markdown_cell(
            "## Pareto front\n\nFeasible trials no other feasible trial beats on every objective; each "
            "figure with its unit and how it was obtained (method, source).\n\n"
            + (_markdown_table(front, objectives) if front else "_No feasible completed trial._")
        ),
        v4.new_markdown_cell(
            f"## Rebuild trial {chosen.number}\n\n`{chosen.summary or chosen.arch}`\n\n"
            "The network is rebuilt from its spec; train it with `nas_workbench.export.train_model`, "
            "or export it with `nas_workbench.export`."
        ),
        v4.new_code_cell(_rebuild_code(ArchSpec.from_dict(chosen.spec), record)),
    ]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.validate(notebook)
    path = _target(path)
    nbformat.write(notebook, str(path))
    return path


def _storage_url(study: optuna.Study) -> str:
    storage = _compat.uncached_storage(study)  # Optuna wraps RDB storages in a cache
    url = getattr(storage, "url", None)
    if not isinstance(url, str):
        raise ConfigError(
            "storage", type(storage).__name__, "an RDB storage URL to write in the notebook (storage=)"
        )
    return url


def _rebuild_code(spec: ArchSpec, record: StudyRecord) -> str:
    """Code that rebuilds ``spec`` for the study's data and trains it at the study's fidelity."""
    config = record.config
    if record.own_data is None:
        data = f'task = nw.load_task("digits", seed={int(config.get("seed", 0))})\n'
    else:
        data = f"task = ...  # the data the study searched on ({record.own_data}): nw.make_task(x, y)\n"
    fidelity = config.get("fidelity") or {}
    return (
        "import nas_workbench as nw\n"
        "from nas_workbench.export import build_model, train_model\n\n"
        f"spec = nw.ArchSpec.from_json({json.dumps(spec.to_json())})\n"
        + data
        + "model = build_model(spec, task.input_shape, task.num_classes)  # freshly initialised\n"
        f"# model = train_model(spec, task, nw.Fidelity(**{fidelity!r}))  # trained as in the search\n"
        "model"
    )
