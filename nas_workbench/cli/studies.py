"""The commands that read stored studies: ``show`` and ``export``. They never create a storage or a study:
a mistyped SQLite path is an error, not a new empty database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nas_workbench.cli._arguments import check_study_options, check_writable, search_data
from nas_workbench.cli._output import format_pareto_table
from nas_workbench.config import SearchConfig, default_storage
from nas_workbench.engine.records import pareto_front, trial_results
from nas_workbench.engine.result_display import text_table
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError, NasWorkbenchError

__all__ = [
    "cmd_export",
    "cmd_show",
    "find_study",
    "load_study",
    "recorded_data",
    "stored_settings",
    "study_table",
]


def load_study(name: str, storage: str | None) -> Any:
    """Open a stored study without creating anything, or say which studies the storage does hold."""
    import optuna

    from nas_workbench.engine import open_storage

    check_study_options(storage, name)
    url = storage if storage is not None else default_storage()
    opened = open_storage(url, create=False)
    try:
        return optuna.load_study(study_name=name, storage=opened)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
        raise NasWorkbenchError(f"no study {name!r} in {url}; studies there: {names or 'none'}") from None


def find_study(name: str | None, storage: str | None) -> Any:
    """The stored study ``name`` as `load_study` opens it, or None when there is no such study or storage
    (nothing is created): what a command resuming a study by name starts from."""
    if name is None:
        return None
    try:
        return load_study(name, storage)
    except NasWorkbenchError:
        return None


def stored_settings(study: Any, storage: str | None) -> SearchConfig | None:
    """The settings ``study`` was searched with (space, strategy, budget, objectives, fidelity, seed, the
    trials planned), reaching it at ``storage``: what ``run --study NAME`` continues with when no config file
    is given, not the defaults, which would drop its budget. None for no study (``study`` None) or one made
    by other code."""
    if study is None:
        return None
    url = storage if storage is not None else default_storage()
    try:
        return record_of(study).search_config(url, study.study_name)
    except NasWorkbenchError:
        return None


def recorded_data(study: Any) -> Any:
    """The data file ``study`` searched on, read again from the path (and label column) its record keeps:
    what a resume, a worker or an export given no data of its own means. None when it searched on the
    digits or on data from Python, or the file is no longer there; the engine's identity check then names
    the data it wants, as it does when the file has changed since."""
    identity = None if study is None else record_of(study).data
    source = identity.source if identity is not None else None
    if not source or not Path(source["path"]).is_file():
        return None
    print(f"Study {study.study_name!r} searched on {source['path']}: reading it again", file=sys.stderr)
    return search_data(source["path"], source.get("label"))


def _study_name(args: argparse.Namespace) -> str | None:
    """The study named as the command's argument or by ``--study`` (the same name if both)."""
    if args.study is not None and args.study_option is not None and args.study != args.study_option:
        allowed = f"the study the argument names ({args.study!r}), or none"
        raise ConfigError("--study", args.study_option, allowed)
    return args.study if args.study is not None else args.study_option


def study_table(storage: str | None) -> str:
    """The studies a storage holds, one line each: name, space, strategy, finished trials of those
    planned, and when it started; what ``show`` prints without a study's name."""
    import optuna

    from nas_workbench.engine import open_storage

    check_study_options(storage, "-")
    url = storage if storage is not None else default_storage()
    opened = open_storage(url, create=False)
    summaries = sorted(optuna.get_all_study_summaries(opened), key=lambda s: s.datetime_start or 0)
    if not summaries:
        return f"No studies in {url}"
    rows: list[tuple[str, ...]] = [("study", "space", "strategy", "trials", "started")]
    for summary in summaries:
        record = record_of(optuna.load_study(study_name=summary.study_name, storage=opened))
        planned = f" of {record.n_trials}" if record.n_trials else ""
        started = summary.datetime_start.strftime("%Y-%m-%d %H:%M") if summary.datetime_start else "-"
        row = (summary.study_name, record.space, record.strategy, f"{summary.n_trials}{planned}", started)
        rows.append(tuple(str(value or "-") for value in row))
    return "\n".join(
        [f"Studies in {url} (`nas-workbench show STUDY` for one):", *text_table(rows[0], rows[1:])]
    )


def cmd_export(args: argparse.Namespace) -> int:
    """``nas-workbench export STUDY -o FILE``: one trial as a spec, weights, TorchScript, ONNX or notebook."""
    from nas_workbench.engine.study_space import import_space
    from nas_workbench.export.formats import WEIGHT_FORMATS
    from nas_workbench.export.trials import describe_export, export_trial

    if args.train and args.format not in WEIGHT_FORMATS:
        raise ConfigError(
            "--train",
            f"--format {args.format}",
            f"a format that carries weights ({', '.join(WEIGHT_FORMATS)}): the {args.format} file holds none",
        )
    check_writable("--output", args.output)
    name = _study_name(args)
    if name is None:
        raise ConfigError("study", None, f"the name of a stored study; {study_table(args.storage)}")
    study = load_study(name, args.storage)
    import_space(record_of(study))  # a user-defined space, from where the study says it lives
    data = search_data(args.data, args.label)  # the study's own; its recorded identity is checked
    if args.data is None:
        data = recorded_data(study)
    print(f"Wrote {export_trial(study, args.trial, args.format, args.output, train=args.train, task=data)}")
    described = describe_export(study, args.format)  # what its model takes: a table's rows as they are
    if described is not None:
        print(described)
    if args.format in WEIGHT_FORMATS and not args.train:  # a study keeps architectures, not weights
        print("Its weights are freshly initialised (a study keeps no weights); --train trains them first")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``nas-workbench show STUDY``: the Pareto table (or JSON) of a stored study, optionally a report;
    without a study, the studies the storage holds (`study_table`)."""
    check_writable("--report", args.report)
    name = _study_name(args)
    if name is None:
        print(study_table(args.storage))
        return 0
    study = load_study(name, args.storage)
    record = record_of(study)
    objectives, directions = list(record.objectives), list(record.directions)
    results = trial_results(study)
    if args.json:
        front = pareto_front(results, directions)
        meta = record.to_dict()
        print(json.dumps({"study": name, "meta": meta, "pareto": [r.to_dict() for r in front]}, indent=2))
    else:
        print(format_pareto_table(results, objectives, directions, record.budget, record))
    if args.report:
        from nas_workbench.viz import write_report

        print(f"Report: {write_report(study, args.report)}")
    return 0
