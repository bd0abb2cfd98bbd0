"""The commands that search: ``demo``, ``run`` and ``worker``."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from nas_workbench.cli._arguments import (
    check_study_options,
    check_writable,
    read_run_config,
    search_data,
    with_options,
)
from nas_workbench.cli._output import JsonlLog, Progress, budget_lines, format_pareto_table
from nas_workbench.cli.studies import find_study, recorded_data, stored_settings
from nas_workbench.config import DEFAULT_RUNS_DIR, Fidelity, SearchConfig
from nas_workbench.engine import events as ev
from nas_workbench.engine.records import TrialResult, outcome_counts, pareto_front
from nas_workbench.engine.study_record import record_of
from nas_workbench.strategies.dnas.trial_count import outcome_text, run_plan_text

__all__ = ["DEMO_CONFIG", "cmd_demo", "cmd_run", "cmd_worker"]

#: The demo: an accuracy-vs-latency search on digits under a latency budget relative to this machine, sized
#: for 2 CPU cores. Networks of this space take 0.1-0.5 ms per digit on a quiet 2-core EPYC VM and several
#: times that on a busy or slow one, so no fixed limit suits every machine: "p60" is the 60th percentile of
#: the latency of a sample of the space measured here when the demo starts. It rules out the slowest 40% of
#: the networks, so the search has to trade accuracy for speed, while enough of the space stays open to
#: reach 97% within the demo's time (at "p50" the best candidates sit at the limit and may miss it).
DEMO_CONFIG = SearchConfig(
    space="chain",
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


def _run_search(
    config: SearchConfig,
    report: Path | None,
    deadline: float | None = None,
    data: Any = None,
    workers: int | None = None,
    resolve_again: bool = False,
    verbose: bool = False,
) -> tuple[int, Any]:
    """Run the search ``config`` describes on ``data`` (digits when None) with a progress bar, its trials in
    this process or in ``workers`` local worker processes; the exit status and the `SearchRun`.

    ``deadline`` (a `time.monotonic` time): end the search by then, counting the set-up (loading the data,
    resolving and checking the budget) against it, so that a command ends on time on a slow machine too.
    ``resolve_again``: forget the relative limits kept from earlier searches first (`forget_resolutions`).
    ``verbose``: print the advisor's full reasoning for ``strategy="auto"`` (else one clause naming
    ``nas-workbench advise``, which prints it).
    """
    from nas_workbench.engine import SearchRun
    from nas_workbench.engine.narration import narrated
    from nas_workbench.engine.preflight import opening_text
    from nas_workbench.engine.resolution_cache import forget_resolutions

    if resolve_again:
        forget_resolutions()
    opening = opening_text(config)  # the waits before the first trial, said as they begin
    with narrated(lambda step: print(f"{opening}: {step}...", file=sys.stderr)):
        run = SearchRun(config, data=data)
    if deadline is not None:
        left = max(_MIN_SEARCH_S, deadline - time.monotonic())
        run.config = run.config.replace(timeout=min(left, config.timeout or left))
    runs_dir = Path(DEFAULT_RUNS_DIR)
    strategy = run.config.strategy
    advice = run.strategy_advice
    picked = "" if advice is None else " (auto: the advisor's pick; `nas-workbench advise` says why)"
    print(f"Search space {config.space!r}: {run.space.size():,} architectures; strategy {strategy!r}"
          f"{'' if verbose else picked}; {config.n_trials} trial{'s' * (config.n_trials != 1)}",
          file=sys.stderr)  # fmt: skip
    for line in budget_lines(run.config, run.resolved_budget, verbose):
        print(line, file=sys.stderr)
    if advice is not None and verbose:  # the advice with its evidence: a paragraph
        print(f"Strategy 'auto' resolved to {advice}", file=sys.stderr)
    print(f"Study {run.study_name!r} in {run.storage_url}", file=sys.stderr)
    plan = run_plan_text(run.config, run.trials_done())  # how a "dnas" search counts its trials
    if plan is not None:
        print(plan, file=sys.stderr)
    maximize = config.directions[0] == "maximize"
    run.subscribe(Progress(config.n_trials, config.objectives[0], maximize, earlier=run.results()))
    run.subscribe(JsonlLog(runs_dir / f"{run.study_name}.events.jsonl"))
    try:
        run.run(workers)
    except KeyboardInterrupt:
        print(f"\nStopped. Resume with the same command (study {run.study_name!r}).", file=sys.stderr)
        return 130, run
    results = run.results()
    if plan is not None:
        print(f"dnas ran {outcome_text(outcome_counts(results), config.n_trials)}.", file=sys.stderr)
    table = format_pareto_table(
        results, config.objectives, config.directions, run.config.budget, record_of(run.study)
    )
    print(table)
    from nas_workbench.viz import write_report  # Bokeh: after the search, not before its first trial

    path = write_report(run.study, report or runs_dir / f"{run.study_name}.html")
    print(f"Report: {path}")
    return 0, run


def cmd_demo(args: argparse.Namespace) -> int:
    """``nas-workbench demo``: the quick-start search, ending in a verdict on its goal."""
    config = with_options(DEMO_CONFIG.replace(**_overrides(args)), args.trials, args.budget)
    check_writable("--report", args.report)
    if args.fresh:
        _delete_study(config.resolved_storage(), config.resolved_study_name())
    deadline = args.started + DEMO_TIME_S
    status, run = _run_search(
        config, args.report, deadline, resolve_again=args.resolve_again, verbose=args.verbose
    )
    if status == 0:
        status = _demo_verdict(run.results(), run)
    return status


def _demo_verdict(results: list[TrialResult], run: Any) -> int:
    """Say plainly whether the demo met its goal: >= 97% test accuracy within the latency budget; when no
    architecture fitted, say why and what to change. Returns the exit status (1: nothing fitted).

    The architecture judged is the one the search would hand over: the most accurate on the validation
    split among the feasible Pareto front (ties go to the faster one); its test accuracy is only reported.
    """
    config = run.config
    limit = config.budget["latency_ms"]
    resolved = run.resolved_budget.get("latency_ms")
    shown = resolved.label() if resolved is not None else f"{limit:.4g} ms"
    front = pareto_front(results, config.directions)
    if not front:
        measured = [value for r in results if (value := r.value("latency_ms")) is not None]
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


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The storage and study given as options; an option given is used even when empty (and then refused
    by the config's checks), never silently dropped."""
    given = {"storage": args.storage, "study_name": args.study}
    return {name: value for name, value in given.items() if value is not None}


def cmd_run(args: argparse.Namespace) -> int:
    """``nas-workbench run [CONFIG] [--data FILE]``: the search a config file describes, or the defaults',
    on the data ``--data`` or the file's ``dataset:`` names (resuming its study).

    A search on a data file with no study name of its own is named after the file too (``wine-chain-auto-
    seed0``), so that other data does not land in the same study by default; a study is resumed only on
    its own data either way (the engine compares the data's content hash). ``run --study NAME`` with no
    config file continues a stored study with its own settings and data file, the options given
    overriding them.
    """
    config, from_file = read_run_config(args.config)
    check_writable("--report", args.report)
    stored = find_study(args.study, args.storage) if args.config is None else None
    settings = stored_settings(stored, args.storage)
    if settings is not None:
        print(f"Continuing study {args.study!r} with its stored settings (options given override them)",
              file=sys.stderr)  # fmt: skip
        config = settings
    overrides = _overrides(args)
    config = with_options(
        config.replace(**overrides) if overrides else config,
        args.trials,
        args.budget,
        args.space,
        args.strategy,
        args.target_device,
    )
    data = search_data(args.data, args.label, from_file)
    if args.data is None and from_file is None:  # resuming a study by name: the data it searched on
        data = recorded_data(stored)
    if data is not None and config.study_name is None:
        config = config.replace(study_name=f"{_data_name(data, args.data)}-{config.resolved_study_name()}")
    return _run_search(
        config, args.report, data=data, workers=args.workers, resolve_again=args.resolve_again,
        verbose=args.verbose,
    )[0]  # fmt: skip


def _data_name(data: Any, option: str | None) -> str:
    """What a study on data other than digits is named after: a data file's name without its suffix
    (``wine`` of ``data/wine.csv``), a saved task's (``.pt``), or the function of ``module:function``."""
    text = str(getattr(data, "path", None) or option)  # a data file knows its path
    return (
        Path(text).stem
        if hasattr(data, "path") or text.endswith((".pt", ".pth"))
        else text.rpartition(":")[2]
    )


def cmd_worker(args: argparse.Namespace) -> int:
    """``nas-workbench worker``: run trials of a shared study until it holds its ``n_trials``."""
    import signal

    from nas_workbench.engine.storage_urls import masked_url
    from nas_workbench.engine.workers import load_callable, run_worker

    check_study_options(args.storage, args.study)
    evaluate = load_callable(args.evaluate, "--evaluate") if args.evaluate is not None else None
    config, from_file = read_run_config(args.config) if args.config is not None else (None, None)
    dataset = search_data(args.data, args.label, from_file)
    if args.data is None and from_file is None:
        dataset = recorded_data(find_study(args.study, args.storage))
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
    ran = f"{len(mine)} trial{'s' * (len(mine) != 1)}"
    print(f"worker {run.worker}: ran {ran}; the study has {run.trials_done()}/{run.config.n_trials} done",
          file=sys.stderr)  # fmt: skip
    return 0
