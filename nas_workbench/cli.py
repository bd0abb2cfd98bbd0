"""The ``nas-workbench`` command line: run searches from config files, profile, inspect studies.

Every command turns bad input into a one-line error naming the field (exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nas_workbench.cli_calibrate import add_calibrate_arguments, calibrate_command
from nas_workbench.config import DEFAULT_RUNS_DIR, Fidelity, SearchConfig, default_storage
from nas_workbench.engine import events as ev
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.metrics import caveats
from nas_workbench.relative_budget import budget_value

if TYPE_CHECKING:  # the stored-study readers import Optuna: only the commands that read studies load them
    from nas_workbench.engine.records import TrialResult

__all__ = ["DEMO_CONFIG", "main"]

logger = logging.getLogger("nas_workbench")

#: The demo: an accuracy-vs-latency search on digits under a latency budget relative to this machine, sized
#: for 2 CPU cores. Networks of this space take 0.1-0.5 ms per digit on a quiet 2-core EPYC VM and several
#: times that on a busy or slow one, so no fixed limit suits every machine: "p60" is the 60th percentile of
#: the latency of a sample of the space measured here when the demo starts. It rules out the slowest 40% of
#: the networks, so the search has to trade accuracy for speed, while enough of the space stays open to
#: reach 97% within the demo's time (at "p50" the best candidates sit at the limit and may miss it).
DEMO_CONFIG = SearchConfig(
    space="chain",
    threads=1,  # tiny networks: a second thread costs more in hand-offs than it gains
    strategy="tpe",
    objectives=["accuracy", "latency_ms"],
    budget={"latency_ms": "p60"},
    fidelity=Fidelity(epochs=8),
    n_trials=30,
    timeout=150,
    study_name="demo",
)

#: The demo's time from the start of the command to its verdict: the search gets what the set-up leaves.
DEMO_TIME_S = 140.0

#: The least time a search is given, however long its set-up took.
_MIN_SEARCH_S = 30.0

_STARTED = time.monotonic()  # when the command started (this module is imported first)


# -- output helpers ------------------------------------------------------------------------------------
def _fmt(result: TrialResult, metric: str, digits: int = 4) -> str:
    value = result.value(metric)
    if value is None:
        return "-"
    if metric in ("params", "flops", "macs"):
        return f"{value / 1e3:.1f}k" if value < 1e6 else f"{value / 1e6:.2f}M"
    marks = caveats(result.metrics.get(metric, {}).get("detail"))  # "unstable", "uncalibrated"
    return f"{value:.{digits}g}" + "".join(f" ({mark})" for mark in marks)


def format_pareto_table(results: list[TrialResult], objectives: list[str], directions: list[str],
                        budget: dict[str, float]) -> str:  # fmt: skip
    """The Pareto front as a text table: accuracy against measured hardware figures, budget marks."""
    from nas_workbench.engine.records import pareto_front

    front = pareto_front(results, directions)
    method = next((r.metrics["latency_ms"]["method"] for r in front if "latency_ms" in r.metrics), "")
    columns = [
        ("trial", lambda r: str(r.number)),
        ("budget", lambda r: "ok" if r.feasible else "OVER"),
        ("val acc", lambda r: _fmt(r, "accuracy")),
        ("test acc", lambda r: _fmt(r, "test_accuracy")),
        (f"latency ms ({method})" if method else "latency ms", lambda r: _fmt(r, "latency_ms")),
        ("peak MB", lambda r: _fmt(r, "peak_memory_mb")),
        ("params", lambda r: _fmt(r, "params")),
        ("FLOPs", lambda r: _fmt(r, "flops")),
        ("architecture", lambda r: r.summary or r.arch),
    ]
    rows = [[get(r) for _, get in columns] for r in front]
    widths = [
        max(len(name), *(len(row[i]) for row in rows)) if rows else len(name)
        for i, (name, _) in enumerate(columns)
    ]
    lines = ["  ".join(name.ljust(w) for (name, _), w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "infeasible", "pruned", "failed")}
    limits = ", ".join(f"{k} <= {v:g}" for k, v in budget.items()) or "none"
    lines.append(
        f"{len(front)} on the Pareto front of {len(results)} trials ({counts['ok']} trained, "
        f"{counts['infeasible']} over budget and not trained, {counts['pruned']} pruned, "
        f"{counts['failed']} failed); budget: {limits}"
    )
    return "\n".join(lines)


class _Progress:
    """A tqdm progress bar fed by engine events: trials done, best feasible score so far, ETA."""

    def __init__(self, total: int, objective: str, maximize: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="trial", dynamic_ncols=True, file=sys.stderr)
        self.objective, self.maximize = objective, maximize
        self.best: float | None = None
        self.counts = {"ok": 0, "infeasible": 0, "pruned": 0, "failed": 0}

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.bar.update(event.trials_before)
        elif isinstance(event, ev.TrialFinished):
            self.counts[event.status] = self.counts.get(event.status, 0) + 1
            score = event.metrics.get(self.objective, {}).get("value")
            if event.status == "ok" and score is not None:
                better = max if self.maximize else min
                self.best = score if self.best is None else better(self.best, score)
            best = "-" if self.best is None else f"{self.best:.4f}"
            self.bar.set_postfix_str(f"best {self.objective} {best}, over budget {self.counts['infeasible']}")
            self.bar.update(1)
        elif isinstance(event, ev.RunFinished):
            self.bar.close()


class _JsonlLog:
    """Appends every event as one JSON line (the search's log)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a", encoding="utf-8")

    def __call__(self, event: ev.Event) -> None:
        self.file.write(json.dumps(event.to_dict(), default=str) + "\n")
        self.file.flush()
        if isinstance(event, ev.RunFinished):
            self.file.close()


# -- commands ------------------------------------------------------------------------------------------
def _run_search(config: SearchConfig, report: Path | None, deadline: float | None = None) -> tuple[int, Any]:
    """Run the search ``config`` describes with a progress bar; the exit status and the `SearchRun`.

    ``deadline`` (a `time.monotonic` time): end the search by then, counting the set-up (loading the data,
    resolving and checking the budget) against it, so that a command ends on time on a slow machine too.
    """
    from nas_workbench.engine import SearchRun
    from nas_workbench.viz import write_report

    relative = {m: v for m, v in config.budget.items() if isinstance(v, str)}
    if relative:
        print(f"Resolving the budget {relative} on this machine (a resumed study keeps its stored limit)...",
              file=sys.stderr)  # fmt: skip
    run = SearchRun(config)
    if deadline is not None:
        left = max(_MIN_SEARCH_S, deadline - time.monotonic())
        run.config = run.config.replace(timeout=min(left, config.timeout or left))
    runs_dir = Path(DEFAULT_RUNS_DIR)
    for metric, resolved in run.resolved_budget.items():
        print(f"Budget {metric} {resolved.spec!r} = {resolved.label()}: {resolved.detail}", file=sys.stderr)
    limits = run.config.budget
    print(f"Search space {config.space!r}: {run.space.size():,} architectures; strategy {config.strategy!r}; "
          f"{config.n_trials} trials; budget {limits or 'none'}", file=sys.stderr)  # fmt: skip
    print(f"Study {run.study_name!r} in {run.storage_url}", file=sys.stderr)
    run.subscribe(_Progress(config.n_trials, config.objectives[0], config.directions[0] == "maximize"))
    run.subscribe(_JsonlLog(runs_dir / f"{run.study_name}.events.jsonl"))
    try:
        run.run()
    except KeyboardInterrupt:
        print(f"\nStopped. Resume with the same command (study {run.study_name!r}).", file=sys.stderr)
        return 130, run
    results = run.results()
    print(format_pareto_table(results, config.objectives, config.directions, limits))
    path = write_report(run.study, report or runs_dir / f"{run.study_name}.html")
    print(f"Report: {path}")
    return 0, run


def cmd_demo(args: argparse.Namespace) -> int:
    budget = DEMO_CONFIG.budget if args.budget is None else {"latency_ms": budget_value(args.budget)}
    config = DEMO_CONFIG.replace(
        n_trials=args.trials or DEMO_CONFIG.n_trials,
        storage=args.storage,
        study_name=args.study or DEMO_CONFIG.study_name,
        budget=budget,
    )
    if args.fresh:
        _delete_study(config.resolved_storage(), config.resolved_study_name())
    status, run = _run_search(config, args.report, deadline=_STARTED + DEMO_TIME_S)
    if status == 0:
        status = _demo_verdict(run.results(), run)
    return status


def _demo_verdict(results: list[TrialResult], run: Any) -> int:
    """Say plainly whether the demo met its goal: >= 97% test accuracy within the latency budget; when no
    architecture fitted, say why and what to change. Returns the exit status (1: nothing fitted).

    The architecture judged is the one the search would hand over: the most accurate on the validation
    split among the feasible Pareto front (ties go to the faster one); its test accuracy is only reported.
    """
    from nas_workbench.engine.records import pareto_front

    config = run.config
    limit = config.budget["latency_ms"]
    resolved = run.resolved_budget.get("latency_ms")
    shown = resolved.label() if resolved is not None else f"{limit:.4g} ms"
    front = pareto_front(results, config.directions)
    if not front:
        measured = [r.value("latency_ms") for r in results if r.value("latency_ms") is not None]
        fastest = f"; the fastest measured {min(measured):.3g} ms" if measured else ""
        over = sum(r.status == "infeasible" for r in results)
        print(f"No architecture met the budget of {shown}: {over} of {len(results)} trials were over it"
              f"{fastest}. This machine may be slower or busier than when the budget was set: rerun with a "
              f"looser budget, e.g. `nas-workbench demo --fresh --budget p70` (70th percentile of the space "
              f"here) or `--budget 2x fastest`, or a number of milliseconds.")  # fmt: skip
        return 1
    best = front[0]
    test = best.value("test_accuracy") or 0.0
    verdict = "meets" if test >= 0.97 else "misses"
    print(f"Chosen within budget: trial {best.number}, validation {best.value('accuracy'):.4f}, "
          f"test {test:.4f}, latency {best.value('latency_ms'):.3f} ms <= {shown}: "
          f"{verdict} the 97% test-accuracy goal.")  # fmt: skip
    return 0


def _delete_study(storage: str, study_name: str) -> None:
    import optuna

    from nas_workbench.engine import open_storage

    with contextlib.suppress(KeyError):  # nothing to delete
        optuna.delete_study(study_name=study_name, storage=open_storage(storage))


def cmd_run(args: argparse.Namespace) -> int:
    config = SearchConfig.from_file(args.config)
    overrides = {
        k: v
        for k, v in {"storage": args.storage, "study_name": args.study, "n_trials": args.trials}.items()
        if v
    }
    return _run_search(config.replace(**overrides) if overrides else config, args.report)[0]


def cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from nas_workbench.engine.storage import masked_url
    from nas_workbench.engine.workers import load_callable, load_dataset, run_worker

    evaluate = load_callable(args.evaluate, "--evaluate") if args.evaluate else None
    dataset = load_dataset(args.dataset) if args.dataset else None
    config = SearchConfig.from_file(args.config) if args.config else None
    mine: list[int] = []

    def started(run: Any) -> None:
        signal.signal(signal.SIGTERM, lambda *_: run.stop())  # a scheduler's stop: finish the trial first
        print(f"worker {run.worker}: study {run.study_name!r} in {masked_url(run.storage_url)}, "
              f"{run.trials_done()}/{run.config.n_trials} trials done", file=sys.stderr)  # fmt: skip

    def log(event: ev.Event) -> None:
        if isinstance(event, ev.TrialFinished):
            mine.append(event.number)
            why = f" ({event.reason})" if event.reason and event.status != "ok" else ""
            print(f"trial {event.number}: {event.status} in {event.duration_s:.1f} s{why}", file=sys.stderr)

    try:
        run = run_worker(args.storage, args.study, config=config, evaluate=evaluate, dataset=dataset,
                         subscribe=log, started=started)  # fmt: skip
    except KeyboardInterrupt:
        print("\nInterrupted; the trial in progress is recorded as failed.", file=sys.stderr)
        return 130
    print(f"worker {run.worker}: ran {len(mine)} trials; the study has {run.trials_done()}/"
          f"{run.config.n_trials} done", file=sys.stderr)  # fmt: skip
    return 0


def _load_study(name: str, storage: str | None) -> Any:
    """Open a stored study, or say which studies the storage does hold."""
    import optuna

    from nas_workbench.engine import open_storage

    url = storage or default_storage()
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))]
        raise NasWorkbenchError(f"no study {name!r} in {url}; studies there: {names or 'none'}") from None


def cmd_export(args: argparse.Namespace) -> int:
    from nas_workbench.export import export_trial

    study = _load_study(args.study, args.storage)
    print(f"Wrote {export_trial(study, args.trial, args.format, args.output, train=args.train)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from nas_workbench.engine.records import pareto_front, study_meta, trial_results

    study = _load_study(args.study, args.storage)
    meta = study_meta(study)
    objectives = [o["metric"] for o in meta.get("objectives", [])] or ["accuracy"]
    directions = [o["direction"] for o in meta.get("objectives", [])] or ["maximize"]
    results = trial_results(study)
    if args.json:
        front = pareto_front(results, directions)
        print(
            json.dumps({"study": args.study, "meta": meta, "pareto": [r.to_dict() for r in front]}, indent=2)
        )
    else:
        print(format_pareto_table(results, objectives, directions, meta.get("budget", {})))
    if args.report:
        from nas_workbench.viz import write_report

        print(f"Report: {write_report(study, args.report)}")
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from nas_workbench import strategies

    print("\n\n".join(strategies.describe(name) for name in strategies.list()))
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    from nas_workbench import spaces
    from nas_workbench.strategies.advisor import advise

    config = SearchConfig.from_file(args.config)
    space = spaces.get(config.space, **config.space_options)
    print(advise(space, config.objectives, config.budget, config.n_trials, config.timeout))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from nas_workbench import spaces
    from nas_workbench.cli_calibrate import progress_bars
    from nas_workbench.profiling import profile

    space = spaces.get(args.space)
    spec = space.parse(args.arch) if args.arch else space.random(args.seed)
    shape = _parse_shape(args.input_shape)
    model = space.build(spec, shape, args.num_classes)
    result = profile(model, shape, device=args.device, method=args.method, batch_size=args.batch_size,
                     threads=args.threads, space=args.space,
                     calibration_progress=progress_bars())  # fmt: skip  # a first prediction calibrates
    payload = {"space": args.space, "arch": space.format(spec), **result.to_dict()}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(f"{args.space}: {space.format(spec)}")
        for name, measurement in result.measurements.items():
            print(f"  {name:<16} {measurement}")
    return 0


def cmd_device(args: argparse.Namespace) -> int:
    """``nas-workbench device propose|fit|show|list``: latency profiles of devices the workbench cannot
    run on (`nas_workbench.profiling.targets`)."""
    from nas_workbench import spaces
    from nas_workbench.profiling import targets

    if args.action == "list":
        for name in targets.list_devices():
            device = targets.load_device(name)
            print(f"{name}: {device.space}, {len(device.measurements)} measurements")
        return 0
    if args.action == "show":
        device = targets.load_device(args.name)
        if args.json:
            print(json.dumps(device.to_dict(), indent=2))
            return 0
        q = device.quality
        spearman = "-" if q["spearman"] is None else f"{q['spearman']:.3f}"
        lines = [
            f"{device.name}: latency of {device.space!r} networks at input {list(device.input_shape)}, "
            f"{device.source}",
            f"  cross-validated (leave-one-out): Spearman {spearman}, within ±10% "
            f"{100 * q['within_10pct']:.0f}%, median error {100 * q['median_rel_error']:.1f}%",
            f"  80% of the measurements lie within x{q['ratio_p10']:.2f} to x{q['ratio_p90']:.2f} "
            "of their prediction",
        ]
        print("\n".join(lines))
        return 0
    space = spaces.get(args.space)
    if args.action == "propose":
        archs = targets.propose(space, args.n, args.seed)
        if args.output:
            targets.write_proposal(args.output, archs)
            print(f"wrote {len(archs)} architectures to {args.output}: measure each on the device and fill "
                  f"in latency_ms, then `nas-workbench device fit NAME --space {args.space} {args.output}`",
                  file=sys.stderr)  # fmt: skip
        else:
            print("\n".join(archs))
        return 0
    archs, latency = targets.read_measurements(args.csv, space)
    device = targets.fit_device(args.name, space, archs, latency, input_shape=_parse_shape(args.input_shape),
                                num_classes=args.num_classes, prior=not args.no_prior)  # fmt: skip
    print(f"saved device profile {device.name!r} ({device.source}); "
          f"`nas-workbench device show {device.name}` for its quality")  # fmt: skip
    return 0


def _parse_shape(text: str) -> tuple[int, ...]:
    from nas_workbench.exceptions import ConfigError

    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            "--input-shape", text, "comma-separated positive integers such as 3,32,32"
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError("--input-shape", text, "three positive integers C,H,W such as 3,32,32")
    return shape


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nas-workbench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help, description=help)
        command.set_defaults(func=func)
        return command

    def add_search_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--storage", help="Optuna storage URL (default: SQLite in runs/)")
        command.add_argument("--study", help="study name (reuse it to resume)")
        command.add_argument("--trials", type=int, help="number of trials")
        command.add_argument("--report", type=Path, help="where to write the HTML report")

    demo = add(
        "demo", cmd_demo, "a hardware-budgeted search on the digits data (about 2-3 minutes on 2 cores)"
    )
    add_search_options(demo)
    demo.add_argument("--fresh", action="store_true", help="delete an earlier demo study first")
    demo.add_argument(
        "--budget",
        help="latency budget: milliseconds (0.4), or relative to this machine: a percentile of the space's "
        "latency here (p60, the default) or a factor of the fastest network (1.5x fastest)",
    )
    run = add("run", cmd_run, "run the search a YAML or JSON config file describes (resumes its study)")
    run.add_argument("config", type=Path)
    add_search_options(run)
    worker = add("worker", cmd_worker, "run trials of a shared study (start any number, on any machines)")
    worker.add_argument(
        "--storage", required=True, help="the study's storage URL, e.g. postgresql://user@host/db"
    )
    worker.add_argument("--study", required=True, help="the study's name")
    worker.add_argument(
        "--config", type=Path, help="create the study from this config file if it does not exist"
    )
    worker.add_argument("--evaluate", help="module:function evaluating each network instead of training it")
    worker.add_argument(
        "--dataset", help="module:function returning the data, or a .pt file with a saved Task"
    )
    show = add("show", cmd_show, "print a stored study's Pareto table")
    show.add_argument("study")
    show.add_argument("--storage", help="Optuna storage URL (default: SQLite in runs/)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--report", type=Path, help="also write an HTML report here")
    export = add(
        "export", cmd_export, "export a trial: JSON spec, weights, TorchScript, ONNX or report notebook"
    )
    export.add_argument("study")
    export.add_argument("--storage", help="Optuna storage URL (default: SQLite in runs/)")
    export.add_argument("--trial", type=int, help="trial number (default: the best feasible trial)")
    export.add_argument("--format", default="spec", help="spec, state_dict, torchscript, onnx or notebook")
    export.add_argument("--output", "-o", type=Path, required=True, help="the file to write")
    export.add_argument("--train", action="store_true", help="train at the study's fidelity before saving")
    add("strategies", cmd_strategies, "list the search strategies and their options")
    advise = add("advise", cmd_advise, "recommend a strategy for the search a config file describes")
    advise.add_argument("config", type=Path)
    prof = add(
        "profile", cmd_profile, "profile one architecture: params, FLOPs, MACs, latency, memory, energy"
    )
    prof.add_argument("--space", default="nb201")
    prof.add_argument("--arch", help="the architecture in the space's notation (default: a random one)")
    prof.add_argument("--seed", type=int, default=0, help="seed of the random architecture")
    prof.add_argument("--input-shape", default="3,32,32")
    prof.add_argument("--num-classes", type=int, default=10)
    prof.add_argument("--method", choices=["measured", "proxy"], default="measured")
    prof.add_argument("--device", default="cpu")
    prof.add_argument("--batch-size", type=int, default=1)
    prof.add_argument("--threads", type=int)
    prof.add_argument("--json", action="store_true", help="print JSON")
    device = add("device", cmd_device, "latency profiles of devices the workbench cannot run on")
    actions = device.add_subparsers(dest="action", required=True)
    propose = actions.add_parser("propose", help="architectures to measure on the device (a CSV to fill in)")
    propose.add_argument("--space", default="nb201")
    propose.add_argument("-n", type=int, default=10, help="how many (10 is a good start)")
    propose.add_argument("--seed", type=int, default=0)
    propose.add_argument("-o", "--output", type=Path, help="write a CSV with columns arch,latency_ms")
    fit = actions.add_parser("fit", help="fit a device profile from a CSV of measured latencies")
    fit.add_argument("name", help="the device's name, as target_device names it")
    fit.add_argument("csv", type=Path, help="columns arch (the space's notation), latency_ms")
    fit.add_argument("--space", default="nb201")
    fit.add_argument("--input-shape", default="3,32,32", help="the input the latencies were measured at")
    fit.add_argument("--num-classes", type=int, default=10)
    fit.add_argument("--no-prior", action="store_true", help="fit on choice counts only, without FLOPs")
    show = actions.add_parser("show", help="a device profile's cross-validated quality")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print the profile as JSON")
    actions.add_parser("list", help="the saved device profiles")
    add_calibrate_arguments(add("calibrate", calibrate_command, "build this device's latency lookup table"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nas-workbench`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    import optuna

    # The progress bar says what Optuna's per-trial INFO lines would, without burying it.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    try:
        result: Any = args.func(args)
    except NasWorkbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
