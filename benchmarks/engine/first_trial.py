"""Time from Start to the first finished trial: where a search's first seconds go, cold and warm.

What a user waits for after ``nas-workbench run`` (or the widget's Start) before the first point reaches the
plot: the imports, the data, the storage and study, a relative limit resolved on this machine, the budget
checked against the space, the sampler made, the machine prepared, and the first trial sampled, built,
profiled and trained. Each of these is timed by wrapping the function that does it (its own seconds: a
phase nested in another, such as the data loaded while the budget is resolved, is counted once, in the
innermost), in a fresh process that runs the CLI's ``run`` command (``cold``: from before the process
started), then a second search of the same settings under another study name in the same process
(``warm``: a kernel's second Start), each stopped after its first trial.

Each repeat is a new process on a new profiling cache (a first-time user's: no reference history, no
cached counts) unless ``--cache`` names one; the study goes to a new SQLite file either way. cProfile's
view of the same start: ``--cprofile out.prof`` (one process, its figures inflated by the profiler).

    python benchmarks/engine/first_trial.py [--budget latency_ms=p60] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for _report
import _report

#: The phases, in the order a search meets them: (label, module, attribute path) of the function timed.
#: A build is a trial's only where a trial calls it (the budget's resolution builds networks too).
PHASES = (
    ("data: load digits", "nas_workbench.engine.runner", "load_task"),
    ("storage: open", "nas_workbench.engine.runner", "open_storage"),
    ("budget: resolve relative limits", "nas_workbench.engine.opening", "resolve_limits"),
    ("budget: check the space", "nas_workbench.engine.preflight", "Networks.check"),
    ("sampler: make", "nas_workbench.strategies", "make_sampler"),
    ("study: create", "optuna", "create_study"),
    ("study: write record", "nas_workbench.engine.opening", "write_record"),
    ("machine: prepare", "nas_workbench.engine.runner", "prepare_machine"),
    ("trial 1: sample, record, tell", "nas_workbench.engine.pipeline", "TrialPipeline.run_trial"),
    ("trial 1: build", "nas_workbench.spaces._base", "SearchSpace.build"),
    ("trial 1: profile", "nas_workbench.engine.pipeline", "TrialPipeline.profile"),
    ("trial 1: train", "nas_workbench.engine.scorers", "TrainingScorer.score"),
)
BUILD, TRIAL = "trial 1: build", "trial 1: sample, record, tell"


class Clock:
    """Own seconds per phase: a phase's time minus the phases nested in it."""

    def __init__(self) -> None:
        self.own: dict[str, float] = {}
        self._stack: list[list[Any]] = []  # [label, started, nested seconds]

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if label == BUILD and (not self._stack or self._stack[-1][0] != TRIAL):
                return fn(*args, **kwargs)  # a network the budget's resolution or check builds
            self._stack.append([label, time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, started, nested = self._stack.pop()
                took = time.perf_counter() - started
                self.own[name] = self.own.get(name, 0.0) + took - nested
                if self._stack:
                    self._stack[-1][2] += took

        return timed


def _install(clock: Clock) -> None:
    """Wrap each phase's function where its caller looks it up (a name imported into a module is the
    module's own attribute; a method is the class's)."""
    for label, module_name, path in PHASES:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, name, clock.wrap(label, getattr(owner, name)))
    import optuna

    import nas_workbench.engine.opening as opening

    opening.optuna = optuna  # the module object: `optuna.create_study` is looked up on it (already wrapped)


def _search(clock: Clock, argv: list[str], started: float) -> dict[str, Any]:
    """Run the CLI with ``argv``, stopped after its first trial; its phases and when its events came."""
    from nas_workbench.cli import main
    from nas_workbench.engine.runner import SearchRun

    clock.own.clear()
    stamps: dict[str, float] = {}
    emit = SearchRun._emit

    def stamped(run: SearchRun, event: Any) -> None:
        stamps.setdefault(event.kind, time.time() - started)
        emit(run, event)
        if event.kind == "trial_finished":
            run.stop()

    SearchRun._emit = stamped  # type: ignore[method-assign]
    try:
        status = main(argv)
    finally:
        SearchRun._emit = emit  # type: ignore[method-assign]
    if status:
        raise SystemExit(f"nas-workbench {' '.join(argv)} exited with {status}")
    return {"phases": dict(clock.own), "events": stamps, "total_s": time.time() - started}


def child(args: Any) -> None:
    """One process: the cold search, then the warm one; JSON on the last line of stdout."""
    imported = time.time()
    clock = Clock()
    import nas_workbench.cli  # what `nas-workbench` imports before it parses its arguments
    import nas_workbench.engine.runner  # noqa: F401  (what `run` imports first: torch, optuna, the spaces)

    imports_s = time.time() - imported
    _install(clock)
    folder = Path(args.folder)
    common = ["--storage", f"sqlite:///{folder / 'first.db'}", "--budget", args.budget,
              "--report", str(folder / "report.html")]  # fmt: skip
    config = folder / "config.yaml"
    config.write_text(f"space: {args.space}\nstrategy: {args.strategy}\nn_trials: {args.trials}\n")
    cold = _search(clock, ["run", str(config), "--study", "cold", *common], args.started)
    start = {"interpreter start": imported - args.started, "imports (cli, engine)": imports_s}
    cold["phases"] = {**start, **cold["phases"]}
    warm_started = time.time()
    warm = _search(clock, ["run", str(config), "--study", "warm", *common], warm_started)
    print(json.dumps({"cold": cold, "warm": warm}))


def one_process(args: Any, folder: Path) -> dict[str, Any]:
    """A fresh interpreter timing its cold and warm searches (cold from before it was started)."""
    env = dict(os.environ)
    if args.cache is None:
        env["NAS_WORKBENCH_CACHE"] = str(folder / "cache")
    started = time.time()
    command = [sys.executable, __file__, "--child", "--folder", str(folder), "--started", repr(started),
               "--budget", args.budget, "--space", args.space, "--strategy", args.strategy,
               "--trials", str(args.trials)]  # fmt: skip
    if args.cprofile:
        command[1:1] = ["-m", "cProfile", "-o", str(args.cprofile)]
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the timed process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _table(runs: list[dict[str, Any]], which: str) -> dict[str, Any]:
    """Median per phase over the repeats, and the first trial's end."""
    labels = ["interpreter start", "imports (cli, engine)", *(p[0] for p in PHASES)]
    phases = {}
    for label in labels:
        values = [run[which]["phases"].get(label, 0.0) for run in runs]
        phases[label] = statistics.median(values)
    first = [run[which]["events"]["trial_finished"] for run in runs]
    phases["other (outside these phases)"] = statistics.median(first) - sum(phases.values())
    started = [run[which]["events"].get("run_started", float("nan")) for run in runs]
    return {
        "phases_s": phases,
        "run_started_s": statistics.median(started),
        "first_trial_s": statistics.median(first),
        "first_trial_each_s": first,
    }


def main() -> None:
    parser = _report.parser(__doc__)
    parser.add_argument("--budget", default="latency_ms=p60", help="the run's --budget (default: the demo's)")
    parser.add_argument("--space", default="chain")
    parser.add_argument("--strategy", default="tpe")
    parser.add_argument("--trials", type=int, default=30, help="the study's n_trials (each run stops at 1)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", help="a profiling cache to keep across repeats (default: a new one each)")
    parser.add_argument("--cprofile", type=Path, help="one repeat under cProfile, its stats written here")
    parser.add_argument("--child", action="store_true", help=argparse_hidden())
    parser.add_argument("--folder", help=argparse_hidden())
    parser.add_argument("--started", type=float, help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.cache is not None:
        os.environ["NAS_WORKBENCH_CACHE"] = args.cache
    load = [os.getloadavg()[0]]
    runs = []
    for _ in range(1 if args.cprofile else args.repeats):
        with tempfile.TemporaryDirectory(prefix="first-trial-") as folder:
            runs.append(one_process(args, Path(folder)))
        load.append(os.getloadavg()[0])
    figures = {which: _table(runs, which) for which in ("cold", "warm")}
    print(f"median of {len(runs)} processes; budget {args.budget}, {args.space}, {args.strategy}")
    print(f"{'phase (own seconds)':40}{'cold':>9}{'warm':>9}")
    for label in figures["cold"]["phases_s"]:
        cold, warm = figures["cold"]["phases_s"][label], figures["warm"]["phases_s"][label]
        print(f"{label:40}{cold:>9.2f}{warm:>9.2f}")
    for key, name in (("run_started_s", "search started (run_started)"), ("first_trial_s", "first trial")):
        print(f"{name:40}{figures['cold'][key]:>9.2f}{figures['warm'][key]:>9.2f}")
    print(f"load average (1 min) at each start and the end: {', '.join(f'{x:.1f}' for x in load)}")
    _report.write_json(args.json, {**figures, "load": load, "argv": sys.argv[1:]})


def argparse_hidden() -> str:
    """argparse's marker for an option left out of ``--help``."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
