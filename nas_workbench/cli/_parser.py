"""The ``nas-workbench`` argument parser: every command, every option with a help text.

Commands are named as ``"module:function"`` of this package and imported only when run, so that ``--help``
and a mistyped command answer without importing torch. An unknown command gets a "did you mean".
"""

from __future__ import annotations

import argparse
import difflib
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

from nas_workbench.cli._arguments import integer_at_least
from nas_workbench.engine.callables import DATA_OPTION

__all__ = ["build_parser"]

DESCRIPTION = (
    "Hardware-budgeted neural architecture search: run searches from config files, profile architectures, "
    "inspect and export stored studies. Bad input ends in one line naming the setting (exit status 2)."
)
_STORAGE_HELP = "Optuna storage URL (default: sqlite:///runs/nas_workbench.db in this folder)"
_non_negative = integer_at_least(0)
_batch = integer_at_least(1, 65_536)  # as the config's latency_batch_size
_classes = integer_at_least(1, 1_000_000)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose "invalid choice" error suggests the closest command."""

    def error(self, message: str) -> NoReturn:
        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            close = difflib.get_close_matches(wrong[1], re.findall(r"'([^']*)'", wrong[2]), n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        super().error(message)


def _version() -> str:
    try:
        return version("nas-workbench")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _add_run_config(command: argparse.ArgumentParser) -> None:
    """A search's settings as ``run`` and ``advise`` take them: a config file, ``--space``, ``--trials``,
    ``--budget``, ``--target-device`` and the data options."""
    command.add_argument(
        "config", type=Path, nargs="?", help="the config file: SearchConfig's fields as YAML or JSON, and "
        "dataset: {path: FILE, label: COLUMN} (default: every field's default)",
    )  # fmt: skip
    command.add_argument(
        "--space", help="the search space: a name (see `spaces`) or 'module:Class' of your own (default: the "
        "config file's, else chain)",
    )  # fmt: skip
    _add_trials_option(command)
    _add_budget_option(command, "the config file's")
    command.add_argument(
        "--target-device", metavar="NAME", help="judge latency budgets and objectives by this saved device "
        "profile's predictions (see `device list`; default: the config file's, else this machine)",
    )  # fmt: skip
    _add_data_options(
        command, "the config file's dataset:, else the data file a resumed --study searched on, else digits"
    )


def _add_trials_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--trials", type=integer_at_least(1, 10_000_000), help="trials the study should hold at the end"
    )


def _add_search_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(  # also after the command; SUPPRESS keeps `nas-workbench -v run`'s when absent
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="log progress details, and print the advisor's full reasoning for strategy auto",
    )  # fmt: skip
    command.add_argument("--storage", help=_STORAGE_HELP)
    command.add_argument("--study", help="study name (run again with the same name to resume)")
    command.add_argument(
        "--report", type=Path, help="where to write the HTML report (default: runs/STUDY.html)"
    )


def _add_data_options(command: argparse.ArgumentParser, default: str, *also: str) -> None:
    """The data options, the same for every command that takes data (``run``, ``advise``, ``worker``,
    ``export``); ``also``: other spellings of ``--data`` kept for earlier command lines."""
    command.add_argument(
        "--data",
        *also,
        dest="data",
        help=f"your data: {DATA_OPTION}; a .csv file has a header row, numeric features and a label column, "
        f"separated by commas, semicolons or tabs; a .npz file arrays x and y (default: {default})",
    )
    command.add_argument("--label", help="the CSV's label column (default: its last column)")


def _add_budget_option(command: argparse.ArgumentParser, default: str) -> None:
    command.add_argument(
        "--budget",
        action="append",
        metavar="[METRIC=]LIMIT",
        help="a hardware limit, repeatable: latency_ms=p40, params=100000, or a latency limit alone in "
        "milliseconds (0.4) or relative: a percentile of the space's latency (p40) or a factor of the "
        "fastest network (1.5x fastest), on this machine, or with --target-device on that device's "
        f"predicted latencies (default: {default})",
    )
    command.add_argument(
        "--resolve-again",
        action="store_true",
        help="resolve a relative limit on this machine anew, not reuse the one an earlier search of the same "
        "space, input and threads resolved here (kept in the profiling cache)",
    )


def _add_search_commands(add: _Adder) -> None:
    demo = add(
        "demo",
        "nas_workbench.cli.search:cmd_demo",
        "a hardware-budgeted search on the digits data (2-3 minutes on 2 cores)",
    )
    _add_search_options(demo)
    _add_trials_option(demo)
    demo.add_argument("--fresh", action="store_true", help="delete an earlier demo study first")
    _add_budget_option(demo, "latency_ms=p60")
    run = add(
        "run",
        "nas_workbench.cli.search:cmd_run",
        "run a search: a YAML or JSON config file's, or the defaults' on --data (resumes its study)",
    )
    _add_run_config(run)
    _add_search_options(run)
    run.add_argument(
        "--strategy", help="the search strategy (see `strategies`; default: the config file's, else auto)"
    )
    run.add_argument(
        "--workers", type=integer_at_least(1, 1024), help="run the trials in N worker processes on this "
        "machine (default: in this process)",
    )  # fmt: skip
    worker = add(
        "worker",
        "nas_workbench.cli.search:cmd_worker",
        "run trials of a shared study (start any number, on any machines)",
    )
    worker.add_argument(
        "--storage", required=True, help="the study's storage URL, e.g. postgresql://user@host/db"
    )
    worker.add_argument("--study", required=True, help="the study's name")
    worker.add_argument(
        "--config", type=Path, help="create the study from this config file if it does not exist"
    )
    worker.add_argument(
        "--evaluate",
        help="module:function evaluating each network instead of training it (importable from here)",
    )
    default = "the --config file's dataset:, else the data file the study searched on, else digits"
    _add_data_options(worker, default, "--dataset")  # its name before the commands shared one


def _add_verification_action(actions: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A ``device`` action on a search's study (``finalists``, ``verify``): its ``--study`` and
    ``--storage``."""
    action: argparse.ArgumentParser = actions.add_parser(name, help=help)
    action.add_argument("--study", required=True, help="the study searched on the device's profile")
    action.add_argument("--storage", help=_STORAGE_HELP)
    return action


def _add_model_options(command: argparse.ArgumentParser, from_profile: bool) -> None:
    """``--models`` (a model file per architecture, to run on the device), its ``--format``, and the
    ``--input-shape`` / ``--num-classes`` of the networks: by default 3,32,32 and 10, or with
    ``from_profile`` the device profile's (left None here)."""
    command.add_argument(
        "--models",
        type=Path,
        metavar="FOLDER",
        help="also write each architecture as a model file to run on the device (the CSV names each file)",
    )
    command.add_argument(
        "--format",
        choices=["onnx", "torchscript"],
        default="onnx",
        help="the model files' format (default: onnx)",
    )
    shape, classes = (None, None) if from_profile else ("3,32,32", 10)
    which = ("the profile's", "the profile's") if from_profile else (shape, classes)
    command.add_argument("--input-shape", default=shape, help=f"the models' input (default: {which[0]})")
    command.add_argument(
        "--num-classes", type=_classes, default=classes, help=f"classifier outputs (default: {which[1]})"
    )


def _add_study_command(add: _Adder, name: str, help: str) -> argparse.ArgumentParser:
    """A command reading one stored study: its name (as an argument, or ``--study`` as ``run`` takes it)
    and storage."""
    command = add(name, f"nas_workbench.cli.studies:cmd_{name}", help)
    command.add_argument("study", nargs="?", help="the study's name (without it, `show` lists the studies)")
    command.add_argument("--study", dest="study_option", metavar="STUDY", help="the same, as `run` takes it")
    command.add_argument("--storage", help=_STORAGE_HELP)
    return command


def _add_study_commands(add: _Adder) -> None:
    show = _add_study_command(add, "show", "print a stored study's Pareto table (never creates a storage)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--report", type=Path, help="also write an HTML report here")
    export = _add_study_command(
        add, "export", "export a trial: JSON spec, weights, TorchScript, ONNX or notebook"
    )
    export.add_argument("--trial", type=_non_negative, help="trial number (default: the best feasible trial)")
    export.add_argument(
        "--format",
        default="spec",
        choices=["spec", "state_dict", "torchscript", "onnx", "notebook"],
        help="what to write (default: spec)",
    )
    export.add_argument("--output", "-o", type=Path, required=True, help="the file to write")
    export.add_argument("--train", action="store_true", help="train at the study's fidelity before saving")
    _add_data_options(export, "the data file the study searched on, where it still is; else digits")


def _add_catalog_commands(add: _Adder) -> None:
    add("spaces", "nas_workbench.cli.catalog:cmd_spaces", "list the search spaces and their sizes")
    add(
        "strategies",
        "nas_workbench.cli.catalog:cmd_strategies",
        "list the search strategies and their options",
    )
    _add_run_config(
        add(
            "advise",
            "nas_workbench.cli.catalog:cmd_advise",
            "recommend a strategy for the search `run` would run with the same arguments (its data is "
            "read and checked as run reads it)",
        )
    )


def _add_hardware_commands(add: _Adder) -> None:
    prof = add(
        "profile",
        "nas_workbench.cli.hardware:cmd_profile",
        "profile one architecture: params, FLOPs, MACs, latency, memory",
    )
    prof.add_argument("--space", default="nb201", help="the search space (default: nb201; see `spaces`)")
    prof.add_argument("--arch", help="the architecture in the space's notation (default: a random one)")
    prof.add_argument(
        "--seed", type=_non_negative, default=0, help="seed of the random architecture (default: 0)"
    )
    prof.add_argument("--input-shape", default="3,32,32", help="C,H,W of one input (default: 3,32,32)")
    prof.add_argument("--num-classes", type=_classes, default=10, help="classifier outputs (default: 10)")
    prof.add_argument(
        "--method",
        choices=["measured", "proxy"],
        default="measured",
        help="measured: time it on the device; proxy: predict it from the lookup table (default: measured)",
    )
    prof.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    prof.add_argument(
        "--batch-size", type=_batch, default=1, help="batch size of the measurement (default: 1)"
    )
    prof.add_argument(
        "--threads",
        type=integer_at_least(1, 1024),
        default=1,
        help="torch CPU threads (default: 1, as a search)",
    )
    prof.add_argument("--json", action="store_true", help="print JSON")
    device = add(
        "device",
        "nas_workbench.cli.hardware:cmd_device",
        "latency profiles of devices the workbench cannot run on",
    )
    actions = device.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    propose = actions.add_parser("propose", help="architectures to measure on the device (a CSV to fill in)")
    propose.add_argument("--space", default="nb201", help="the search space (default: nb201)")
    propose.add_argument(
        "-n", type=integer_at_least(1, 10_000), default=10, help="how many (default: 10, a good start)"
    )
    propose.add_argument("--seed", type=_non_negative, default=0, help="seed of the proposal (default: 0)")
    propose.add_argument("-o", "--output", type=Path, help="write a CSV with columns arch,latency_ms")
    propose.add_argument(
        "--reference", type=Path, help="other devices' latencies (CSV: arch, *_ms columns): propose from them"
    )
    _add_model_options(propose, from_profile=False)
    finalists = _add_verification_action(
        actions,
        "finalists",
        "a search's best trials whose latency is only predicted, to measure on its target device before "
        "choosing (a CSV to fill in, as propose writes)",
    )
    finalists.add_argument(
        "-k", type=integer_at_least(1, 10_000), default=5, help="how many finalists (default: 5)"
    )
    finalists.add_argument("-o", "--output", type=Path, help="write a CSV with columns arch,latency_ms")
    _add_model_options(finalists, from_profile=True)
    verify = _add_verification_action(
        actions,
        "verify",
        "add the finalists' measured latencies to the device profile (refitted) and judge the study's "
        "trials again",
    )
    verify.add_argument("csv", type=Path, help="columns arch, latency_ms (rows left empty are skipped)")
    fit = actions.add_parser("fit", help="fit a device profile from a CSV of measured latencies")
    fit.add_argument("name", help="the device's name, as target_device names it")
    fit.add_argument("csv", type=Path, help="columns arch (the space's notation), latency_ms")
    fit.add_argument("--space", default="nb201", help="the search space (default: nb201)")
    fit.add_argument("--input-shape", default="3,32,32", help="the input the latencies were measured at")
    fit.add_argument("--num-classes", type=_classes, default=10, help="classifier outputs (default: 10)")
    fit.add_argument("--no-prior", action="store_true", help="fit on choice counts only, without FLOPs")
    fit.add_argument(
        "--local-prior",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="this machine's lookup-table latency as one more prior (a board like this machine: chain-like "
        "spaces), calibrating the table first if needed (default: --no-local-prior)",
    )
    fit.add_argument(
        "--reference",
        type=Path,
        help="other devices' latencies of the space's architectures as a prior (CSV: arch, *_ms columns)",
    )
    show = actions.add_parser("show", help="a device profile's cross-validated quality")
    show.add_argument("name", help="the device profile's name")
    show.add_argument("--json", action="store_true", help="print the profile as JSON")
    actions.add_parser("list", help="the saved device profiles")
    from nas_workbench.cli.calibrate import add_calibrate_arguments

    add_calibrate_arguments(
        add(
            "calibrate",
            "nas_workbench.cli.calibrate:calibrate_command",
            "build this device's latency lookup table",
        )
    )


class _Adder:
    """Adds a command to the parser's subcommands, naming the function that runs it."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:
        self.sub = sub

    def __call__(self, name: str, function: str, help: str) -> argparse.ArgumentParser:
        command = self.sub.add_parser(name, help=help, description=help)
        command.set_defaults(function=function)
        return command


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each parsed command carries ``function``, the ``"module:name"`` to run."""
    parser = _Parser(prog="nas-workbench", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    add = _Adder(sub)
    _add_search_commands(add)
    _add_study_commands(add)
    _add_catalog_commands(add)
    _add_hardware_commands(add)
    return parser
