"""The torch-free core: importing it loads neither torch nor the widgets, and importing starts nothing.

Each check runs in a fresh interpreter, since this test process has long imported torch.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "optuna", "ipywidgets", "jupyter_bokeh", "bokeh", "jupyter_server")


def _loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> dict[str, bool]:
    """Which of ``modules`` are in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = f"import json, sys\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


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


def test_the_kernel_widgets_do_not_import_the_server_extension():
    loaded = _loaded_after("import nas_workbench.ui._bokehjs")
    assert loaded["bokeh"] and not loaded["jupyter_server"]


def test_a_name_the_package_lacks_is_an_attribute_error():
    import nas_workbench.profiling

    with pytest.raises(AttributeError, match=r"nas_workbench\.profiling.*no_such_name"):
        nas_workbench.profiling.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", ["nas_workbench", "nas_workbench.engine", "nas_workbench.profiling"])
def test_no_lazy_name_is_shadowed_by_a_submodule_of_that_name(package):
    """Importing ``package.x`` sets the attribute ``x`` to the module, so a lazily exported function ``x``
    defined in a module of the same name would read as that module once anything imported it."""
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not set(module._EXPORTS) & submodules


def test_a_lazy_function_stays_a_function_after_its_module_is_imported():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import nas_workbench.profiling.calibration, nas_workbench as nw\n"
            "print(callable(nw.profiling.calibrate))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert loaded.stdout.strip() == "True"
