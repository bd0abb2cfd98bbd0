"""The torch-free core: importing it loads neither torch nor the widgets, and importing starts nothing.

Each check runs in a fresh interpreter, since this test process has long imported torch.
"""

from __future__ import annotations

import json

import pytest

from nas_workbench.testing.workers import TINY_CHAIN
from nas_workbench.ui._devices import _may_have_accelerator
from tests.conftest import run_python

#: Each child is limited by its CPU time (`run_python`); on a loaded machine a test of several takes minutes.
pytestmark = pytest.mark.timeout(900)

HEAVY = ("torch", "optuna", "ipywidgets", "jupyter_bokeh", "bokeh", "jupyter_server")


def _loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> dict[str, bool]:
    """Which of ``modules`` are in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = f"import json, sys\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    return json.loads(run_python("-c", probe).stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import nas_workbench.config, nas_workbench.spec",
        "import nas_workbench.metrics, nas_workbench.exceptions, nas_workbench.engine.events",
        "from nas_workbench.profiling import METRICS, Measurement, Profile, caveats",
        "import nas_workbench; nas_workbench.SearchConfig(space='chain', n_trials=2).to_dict()",
    ],
)
def test_the_core_imports_neither_torch_nor_optuna_nor_the_widgets(code):
    loaded = _loaded_after(code)
    assert not any(loaded.values()), f"{code!r} imported {[m for m, yes in loaded.items() if yes]}"


def test_spaces_and_strategies_import_torch_only_to_build_a_network():
    """Asking, checking, describing and sampling architectures and making the samplers that search them
    need no torch (a first workbench does all of it); building a network does, and imports it then. (The
    grid refuses these spaces, too large; "rl" builds its controller, a torch module, with its sampler.)"""
    use = (
        "from nas_workbench import spaces, strategies\n"
        "for name in spaces.list():\n"
        "    space = spaces.get(name)\n"
        "    spec = space.validate(space.mutate(space.random(0), __import__('random').Random(0)))\n"
        "    space.describe(spec), space.summary(spec), space.size()\n"
        "    for strategy in set(strategies.list()) - {'grid', 'rl', 'dnas' * (name == 'multi_branch')}:\n"
        "        strategies.make_sampler(strategy, seed=0, space=space)\n"
        "strategies.advise(spaces.get('nb201'), ['accuracy', 'latency_ms'], n_trials=100)\n"
    )
    assert not _loaded_after("import nas_workbench.spaces, nas_workbench.strategies", ("torch",))["torch"]
    assert not _loaded_after(use, ("torch",))["torch"]
    built = _loaded_after(use + "spaces.get('chain').build(spaces.get('chain').random(0), (1, 8, 8), 10)")
    assert built["torch"]  # else this test could not tell that the uses above were run


@pytest.mark.skipif(_may_have_accelerator(), reason="a GPU driver is loaded: torch is asked for its devices")
def test_a_first_workbench_plots_trials_without_torch():
    """A kernel's first workbench, and the trials it plots, need torch only to list the GPUs: where no
    driver could offer one, it opens without torch (about half of what it cost)."""
    loaded = _loaded_after(
        "import asyncio\n"
        "import nas_workbench as nw\n"
        "from nas_workbench.engine import events as ev\n"
        "from nas_workbench.engine.records import TrialResult\n"
        "def metric(value, unit):\n"
        "    return {'value': value, 'unit': unit, 'method': 'measured', 'source': 'test', 'detail': None}\n"
        "async def first_workbench():\n"
        "    workbench = nw.Workbench(nw.SearchConfig(objectives=['accuracy', 'latency_ms'], n_trials=2))\n"
        "    metrics = {'accuracy': metric(0.9, 'fraction'), 'latency_ms': metric(1.5, 'ms')}\n"
        "    event = ev.TrialFinished('t', number=0, status='ok', values=[0.9, 1.5], metrics=metrics,\n"
        "        spec={}, arch='a', summary='a', reason=None, duration_s=1.0, worker='t:1')\n"
        "    workbench.plots.add([TrialResult.from_event(event)])\n"
        "    assert workbench.plots.points == 1\n"
        "asyncio.run(first_workbench())",
        ("torch", "ipywidgets"),
    )
    assert loaded["ipywidgets"]  # else this test could not tell that a workbench was made
    assert not loaded["torch"]


def test_the_cli_builds_its_help_without_torch():
    loaded = _loaded_after(
        "import contextlib, io\n"
        "from nas_workbench.cli._parser import build_parser\n"
        "for command in ('demo', 'run', 'show', 'calibrate', 'profile', 'spaces'):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        build_parser().parse_args([command, '--help'])"
    )
    assert not loaded["torch"] and not loaded["optuna"]


def test_stored_study_readers_need_no_torch():
    loaded = _loaded_after(
        "import nas_workbench.engine.study_record, nas_workbench._compat\n"
        "from nas_workbench.engine import open_storage, trial_results, record_of"
    )
    assert loaded["optuna"]  # else this test could not tell the two apart
    assert not loaded["torch"]


def test_a_workbench_and_a_search_start_without_scipy():
    """scipy takes about a second of CPU to import and serves the proxy strategy's statistics only: the
    modules a first workbench and a search's set-up import leave it until those statistics are needed."""
    loaded = _loaded_after(
        "import nas_workbench.ui.workbench, nas_workbench.engine.runner\n"
        "import nas_workbench.strategies.proxy_guided, nas_workbench.viz._proxy_state",
        ("scipy", "torch"),
    )
    assert loaded["torch"]  # else this test could not tell the modules were imported
    assert not loaded["scipy"]


def test_the_digits_load_without_scikit_learn():
    """scikit-learn's datasets import scipy and much else (over a second of CPU before a first trial): the
    digits are read from their file instead."""
    loaded = _loaded_after(
        "from nas_workbench.task import load_task\nassert load_task('digits').num_classes == 10",
        ("sklearn", "scipy", "torch"),
    )
    assert loaded["torch"]  # else this test could not tell that the task was made
    assert not loaded["sklearn"] and not loaded["scipy"]


@pytest.mark.slow
def test_the_clis_first_trial_comes_before_scikit_learn_scipy_and_bokeh_are_imported(tmp_path):
    """What a search's first trial does not need is not imported before it: scikit-learn's datasets and
    scipy with them (over a second of CPU: the digits are read from their file) and Bokeh (the command's
    report, written when the search ends)."""
    config = {"space": "chain", "space_options": TINY_CHAIN, "strategy": "random", "threads": 1,
              "objectives": ["accuracy", "latency_ms"], "budget": {"latency_ms": 1000.0},
              "fidelity": {"epochs": 1, "subset": 0.2}, "n_trials": 2}  # fmt: skip
    (tmp_path / "search.yaml").write_text(json.dumps(config))
    watched = ("sklearn", "scipy", "bokeh", "torch")
    probe = (
        "import json, sys\n"
        "from nas_workbench.cli import main\n"
        "from nas_workbench.engine.runner import SearchRun\n"
        "emit = SearchRun._emit\n"
        "def first_trial(run, event):\n"
        "    if event.kind == 'trial_finished':\n"
        f"        print(json.dumps({{m: m in sys.modules for m in {watched!r}}}))\n"
        "        run.stop()\n"
        "    emit(run, event)\n"
        "SearchRun._emit = first_trial\n"
        "sys.exit(main(['run', 'search.yaml', '--report', 'report.html']))"
    )
    done = run_python("-c", probe, cpu_s=150, cwd=tmp_path)
    loaded = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert loaded["torch"]  # else this test could not tell that a trial ran
    assert not loaded["sklearn"] and not loaded["scipy"] and not loaded["bokeh"]
    assert (tmp_path / "report.html").exists()  # Bokeh came after the first trial: the report


def test_the_kernel_widgets_do_not_import_the_server_extension():
    loaded = _loaded_after("import nas_workbench.ui._bokehjs")
    assert loaded["bokeh"] and not loaded["jupyter_server"]


def test_a_name_the_package_lacks_is_an_attribute_error():
    import nas_workbench.profiling

    with pytest.raises(AttributeError, match=r"nas_workbench\.profiling.*no_such_name"):
        nas_workbench.profiling.no_such_name  # noqa: B018


@pytest.mark.parametrize(
    "package",
    [
        "nas_workbench",
        "nas_workbench.engine",
        "nas_workbench.export",
        "nas_workbench.profiling",
        "nas_workbench.strategies.dnas",
    ],
)
def test_no_lazy_name_is_shadowed_by_a_submodule_of_that_name(package):
    """Importing ``package.x`` sets the attribute ``x`` to the module, so a lazily exported function ``x``
    defined in a module of the same name would read as that module once anything imported it."""
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not set(module._EXPORTS) & submodules


def test_a_lazy_function_stays_a_function_after_its_module_is_imported():
    loaded = run_python(
        "-c",
        "import nas_workbench.profiling.calibration, nas_workbench as nw\n"
        "print(callable(nw.profiling.calibrate))",
    )
    assert loaded.stdout.strip() == "True"
