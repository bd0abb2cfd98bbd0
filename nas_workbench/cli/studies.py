"""The commands that read stored studies: ``show`` and ``export``. They never create a storage or a study:
a mistyped SQLite path is an error, not a new empty database."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nas_workbench.cli._arguments import check_study_options, check_writable, search_data
from nas_workbench.cli._output import format_pareto_table
from nas_workbench.config import default_storage
from nas_workbench.engine.records import pareto_front, trial_results
from nas_workbench.engine.study_record import record_of
from nas_workbench.exceptions import ConfigError, NasWorkbenchError

__all__ = ["cmd_export", "cmd_show", "load_study"]


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
    study = load_study(args.study, args.storage)
    import_space(record_of(study))  # a user-defined space, from where the study says it lives
    data = search_data(args.data, args.label)  # the study's own; its recorded identity is checked
    print(f"Wrote {export_trial(study, args.trial, args.format, args.output, train=args.train, task=data)}")
    described = describe_export(study, args.format)  # what its model takes: a table's rows as they are
    if described is not None:
        print(described)
    if args.format in WEIGHT_FORMATS and not args.train:  # a study keeps architectures, not weights
        print("Its weights are freshly initialised (a study keeps no weights); --train trains them first")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``nas-workbench show STUDY``: the Pareto table (or JSON) of a stored study, optionally a report."""
    check_writable("--report", args.report)
    study = load_study(args.study, args.storage)
    record = record_of(study)
    objectives, directions = list(record.objectives), list(record.directions)
    results = trial_results(study)
    if args.json:
        front = pareto_front(results, directions)
        meta = record.to_dict()
        print(
            json.dumps({"study": args.study, "meta": meta, "pareto": [r.to_dict() for r in front]}, indent=2)
        )
    else:
        print(format_pareto_table(results, objectives, directions, record.budget))
    if args.report:
        from nas_workbench.viz import write_report

        print(f"Report: {write_report(study, args.report)}")
    return 0
