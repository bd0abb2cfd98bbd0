"""Real Optuna studies in temporary SQLite files, written the way the engine writes them, and a Jupyter
server (pytest-jupyter) with the extension enabled and a runs folder in its root."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, ...) and its async-test hooks, for this folder only:
# as a global plugin its autouse fixtures would run (and change the environment) for every test.
from pytest_jupyter.jupyter_server import *  # noqa: F403

from nas_workbench import spaces
from nas_workbench.engine.study_record import record_of, write_record
from nas_workbench.profiling import Measurement
from nas_workbench.profiling.device_budget import measured_verdict

OBJECTIVES = [
    {"metric": "accuracy", "direction": "maximize"},
    {"metric": "latency_ms", "direction": "minimize"},
]
BUDGET = {"latency_ms": 2.0}


#: One trial to write: ("ok" | "infeasible" | "pruned", accuracy, latency_ms), or ("failed",) or
#: ("running",), which have no figures.
Trial = tuple[str, float, float] | tuple[str]


def _metrics(accuracy: float, latency_ms: float) -> dict[str, Any]:
    metrics = {
        "params": Measurement(12345, "count", "counted", "torch"),
        "latency_ms": Measurement(latency_ms, "ms", "measured", "torch.utils.benchmark"),
        "accuracy": Measurement(accuracy, "fraction", "measured", "trainer (validation split)"),
    }
    return {name: m.to_dict() for name, m in metrics.items()}


def _write_study(url: str, name: str, trials: Sequence[Trial], n_trials: int) -> None:
    """Create study ``name`` in ``url`` with ``trials``, recorded as the engine records them."""
    study = optuna.create_study(storage=url, study_name=name, directions=[o["direction"] for o in OBJECTIVES])
    study.set_user_attr(
        "nas_workbench",
        {
            "version": "0.1.0",
            "config": {"space": "chain", "strategy": "tpe", "n_trials": n_trials},
            "objectives": OBJECTIVES,
            "budget": BUDGET,
            "n_trials": n_trials,
            "space": "chain",
            "strategy": "tpe",
        },
    )
    _add_trials(study, trials)


def _add_trials(study: optuna.Study, trials: Sequence[Trial]) -> None:
    """Run ``trials`` in ``study`` one after the other, recorded as the engine records them."""
    search_space = spaces.get("chain")
    for status, *figures in trials:
        trial = study.ask()
        spec = search_space.random(trial.number)
        trial.set_user_attr("spec", spec.to_dict())
        trial.set_user_attr("arch", search_space.format(spec))
        trial.set_user_attr("summary", search_space.summary(spec))
        trial.set_user_attr("worker", "test:1")
        trial.set_user_attr("device", {"kind": "cpu", "name": "test CPU"})
        if status == "running":
            continue
        trial.set_user_attr("status", status)
        if status == "failed":
            trial.set_user_attr("reason", "RuntimeError: out of memory")
            study.tell(trial, state=TrialState.FAIL)
            continue
        accuracy, latency_ms = figures
        trial.set_user_attr("metrics", _metrics(accuracy, latency_ms))
        trial.set_constraint("latency_ms", (latency_ms - BUDGET["latency_ms"]) / BUDGET["latency_ms"])
        if status == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, [accuracy, latency_ms])


def _verify_in_record(
    url: str, name: str, measured: dict[int, float], predicted: dict[int, float], measurements: int
) -> None:
    """Judge trials of study ``name`` again as `device_verdicts.verify` stores it on the device "phone"
    (``measured``: trial number -> latency measured there; ``predicted``: by the refitted profile)."""
    study = optuna.load_study(study_name=name, storage=url)
    limit = BUDGET["latency_ms"]
    archs = {t.number: t.user_attrs["arch"] for t in study.get_trials()}
    verdicts: dict[str, Any] = {}
    for number, ms in measured.items():
        budget = measured_verdict(ms, limit, "phone")
        latency = Measurement(ms, "ms", "measured", "measured on phone", {"budget": budget})
        verdicts[archs[number]] = {"latency_ms": latency.to_dict(), "feasible": budget["within"]}
    for number, ms in predicted.items():
        within = ms <= limit
        said = f"predicted {'within' if within else 'over'} budget (the prediction alone)"
        budget = {"limit_ms": limit, "within": within, "p_within": 0.9 if within else 0.1, "verdict": said}
        source = f"predicted for phone from {measurements} measurements"
        latency = Measurement(ms, "ms", "predicted", source, {"budget": budget})
        verdicts[archs[number]] = {"latency_ms": latency.to_dict(), "feasible": within}
    record = record_of(study)
    verified = {"device": "phone", "measurements": measurements, "limit_ms": limit, "archs": verdicts}
    write_record(study, record.with_changes(verified=verified))


@pytest.fixture
def verify_in_record() -> Callable[[str, str, dict[int, float], dict[int, float], int], None]:
    """``verify_in_record(url, name, measured, predicted, measurements)``: a verification on "phone" as
    `device_verdicts.verify` stores it (without fitting a profile)."""
    return _verify_in_record


@pytest.fixture
def write_study() -> Callable[[str, str, Sequence[Trial], int], None]:
    """``write_study(url, name, trials, n_trials)`` creates a study as the engine records one."""
    return _write_study


@pytest.fixture
def add_trials() -> Callable[[optuna.Study, Sequence[Trial]], None]:
    """``add_trials(study, trials)`` runs more trials in a study, recorded as the engine records them."""
    return _add_trials


@pytest.fixture(scope="session")
def alpha_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storage with a finished study "alpha": its front is (0.9, 1.8) and (0.8, 1.0); (0.7, 1.5) is
    dominated; the infeasible (0.95, 2.5) is off the front however accurate. Written once, copied per test."""
    path = tmp_path_factory.mktemp("alpha") / "nas_workbench.db"
    trials = [
        ("ok", 0.9, 1.8),
        ("ok", 0.8, 1.0),
        ("ok", 0.7, 1.5),
        ("infeasible", 0.95, 2.5),
        ("pruned", 0.3, 1.2),
    ]
    _write_study(f"sqlite:///{path}", "alpha", trials, n_trials=5)
    return path


@pytest.fixture
def runs_db(jp_root_dir: Path, alpha_db: Path) -> str:
    """The default storage of searches started in the server root (runs/nas_workbench.db), with "alpha"."""
    (jp_root_dir / "runs").mkdir()
    shutil.copyfile(alpha_db, jp_root_dir / "runs" / "nas_workbench.db")
    return f"sqlite:///{jp_root_dir / 'runs' / 'nas_workbench.db'}"


@pytest.fixture
def extra_storages() -> list[str]:
    """Storage URLs configured besides the runs folder (tests override this)."""
    return []


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Other `NasWorkbenchServer` settings (tests override this)."""
    return {}


@pytest.fixture
def jp_server_config(
    runs_db: str, extra_storages: list[str], server_settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nas_workbench.server": True}},
        "NasWorkbenchServer": {"storages": extra_storages, **server_settings},
    }
