"""Export one trial of a stored study in any of the `FORMATS`, rebuilt for the data it searched on, every
file naming the class of each output as the study recorded them, and the weight-carrying ones taking raw
inputs (standardised inside with the statistics the study recorded): a table's rows as they are, (N, D).
`describe_export` says so in a line for the command line and the widget."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import optuna

from nas_workbench.config import SearchConfig
from nas_workbench.engine.study_record import DataIdentity, StudyRecord, record_of
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.export.formats import FORMATS
from nas_workbench.export.inputs import input_summary
from nas_workbench.export.models import (
    export_onnx,
    export_spec,
    export_state_dict,
    export_torchscript,
    train_model,
)
from nas_workbench.export.notebook import export_report_notebook
from nas_workbench.export.selection import chosen_trial
from nas_workbench.spec import ArchSpec
from nas_workbench.task import Task, load_task

__all__ = ["FORMATS", "describe_export", "export_trial"]


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
                f"the data the study searched on, {record.own_data}: pass it (task= in Python; "
                "--data FILE on the command line)",
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
    result = chosen_trial(study, trial)
    spec = ArchSpec.from_dict(result.spec)
    recorded = record_of(study).data
    if fmt == "spec":  # what the study recorded of its data, if anything: the data itself is not needed
        known = (
            ()
            if recorded is None
            else (recorded.shape, recorded.classes, recorded.class_names, recorded.standardization)
        )
        return export_spec(spec, path, *known)
    data, config = _study_task(study, task)
    names = recorded.class_names if recorded is not None and recorded.class_names else data.class_names
    scaling = recorded.standardization if recorded is not None else None
    seed = config.seed if config is not None else 0
    model = None
    if train:
        model = train_model(spec, data, config.fidelity if config is not None else None, seed=seed)
    writer = {"state_dict": export_state_dict, "torchscript": export_torchscript, "onnx": export_onnx}[fmt]
    return writer(
        spec,
        path,
        data.input_shape,
        data.num_classes,
        model=model,
        class_names=names,
        standardization=scaling or data.standardization,
    )


def describe_export(study: optuna.Study, fmt: str) -> str | None:
    """What the model of an export of ``study`` in format ``fmt`` takes and what its outputs are, in one
    line (`nas_workbench.export.inputs.input_summary`), as the study recorded its data; None when the
    study records none (a study of an earlier version)."""
    recorded = record_of(study).data
    if recorded is None:
        return None
    return input_summary(fmt, recorded.shape, recorded.standardization, recorded.class_names)
