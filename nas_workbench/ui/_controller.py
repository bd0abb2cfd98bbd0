"""The workbench's background work: reading a stored study, exporting, finding a study a config names.

Each job runs in a daemon thread and reports only by posting ``(session, item)`` to the workbench's
`Coalescer` (items of `nas_workbench.ui._model`), so no widget is touched off the kernel's loop and a
slow storage or a training export never blocks a cell.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from sqlalchemy.engine import make_url

from nas_workbench import strategies
from nas_workbench._compat import storage_of, study_id
from nas_workbench.config import SearchConfig
from nas_workbench.engine._bulk_read import dead_trials
from nas_workbench.engine.narration import narrated
from nas_workbench.engine.records import TrialResult, outcome_counts, trial_results
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.study_record import StudyRecord, read_record, record_of, stopped_itself
from nas_workbench.engine.study_space import import_space
from nas_workbench.engine.verified_view import verified_sentence
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.strategies.dnas.trial_count import outcome_text
from nas_workbench.ui._model import Exported, Failure, Loaded, Loading, Opened, Opening
from nas_workbench.viz import DnasHistory, ProxyHistory, TrialTable

if TYPE_CHECKING:
    from nas_workbench.engine.runner import SearchRun

__all__ = [
    "Post",
    "complete_hint",
    "existing_study",
    "export_in_background",
    "may_hold_studies",
    "open_in_background",
    "open_stored",
    "read_in_background",
    "resume_hint",
]

logger = logging.getLogger("nas_workbench")

#: Hands ``(session, item)`` to the kernel's loop, from any thread.
Post = Callable[[tuple[int, Any]], None]


def _background(name: str, work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


def read_in_background(
    study: optuna.Study | None,
    config: SearchConfig,
    post: Post,
    session: int,
    then: Callable[[], None] | None = None,
) -> threading.Thread:
    """Read a study's trials in a thread, posting its progress (`Loading`), then `Loaded` (or `Failure`).

    Args:
        study: The study to show; None: the one ``config`` names, if its storage holds it with trials
            (nothing is posted otherwise; see `existing_study`).
        config: Its settings (objectives and directions of the table, the target number of trials).
        post: The workbench's poster.
        session: The session the items belong to.
        then: Run on the loop once the study is shown (a resumed run starts).
    """
    name = study.study_name if study is not None else config.resolved_study_name()

    def read() -> None:
        try:
            found = study if study is not None else existing_study(config)
            if found is None:
                return
            post((session, Loading(2, f"Reading the trials of {name!r} from the storage…")))
            results = trial_results(found)
            post((session, Loading(3, f"Preparing the plots of {len(results):,} trials…")))
            table = TrialTable(config.objectives, config.directions)
            table.extend(results)
            dead = dead_trials(storage_of(found), study_id(found), record_of(found))  # a restarted kernel's
            running = any(r.status in ("running", "waiting") and r.number not in dead for r in results)
            strategy = strategies.resolved_strategy(config)
            dnas = DnasHistory.from_study(found) if strategy == "dnas" else None
            proxy = ProxyHistory.from_study(found) if strategy == "proxy_guided" else None
            complete = stopped_itself(storage_of(found), found.study_name)
            verified = verified_sentence(read_record(found), results)
            post((session, Loaded(found, table, config, running, then, dnas, proxy, complete, verified)))
        except Exception as error:  # a broken storage: say what, in the workbench
            logger.debug("loading study %s failed", name, exc_info=True)
            post((session, Failure(f"Could not read study {name!r}: {type(error).__name__}: {error}")))

    return _background(f"nas-load-{name}", read)


def open_in_background(
    open_run: Callable[[], SearchRun],
    then: Callable[[SearchRun], None],
    post: Post,
    session: int,
    opening: str,
) -> threading.Thread:
    """Open a run in a thread (``open_run``: `nas_workbench.search`, which reads the data, opens the
    study and resolves a relative limit by profiling networks: seconds to a minute), so the kernel stays
    free meanwhile; post each step the opening says (`nas_workbench.engine.narration`) as an `Opening`
    line after ``opening`` ("Opening study 'x'"), then `Opened` with ``then`` bound to the run, or with
    the error that stopped it."""

    def work() -> None:
        try:
            with narrated(lambda step: post((session, Opening(f"{opening}: {step}")))):
                run = open_run()
        except Exception as error:  # the workbench shows it as Start would have
            logger.debug("opening a run failed", exc_info=True)
            post((session, Opened(error=error)))
            return
        post((session, Opened(then=lambda: then(run))))

    return _background("nas-open", work)


def export_in_background(
    study: optuna.Study,
    number: int,
    fmt: str,
    path: Path,
    task: Any,
    train: bool,
    post: Post,
    session: int,
) -> threading.Thread:
    """Write one export (`nas_workbench.export.export_trial`) in a thread (training may take a while);
    post `Exported` with where it wrote and what its model takes (`describe_export`), or why it failed."""

    def work() -> None:
        from nas_workbench.export.trials import describe_export, export_trial  # loaded at the first export

        try:
            written = export_trial(study, number, fmt, path, task=task, train=train)
            described = describe_export(study, fmt)
            outcome = Exported(f"Wrote {written}" + ("" if described is None else f". {described}"), False)
        except Exception as error:  # shown next to the buttons, whatever it is
            logger.debug("export failed", exc_info=True)
            outcome = Exported(f"Export failed: {type(error).__name__}: {error}", True)
        post((session, outcome))

    return _background("nas-export", work)


def may_hold_studies(url: str) -> bool:
    """Whether storage ``url`` may hold a study: False for a SQLite file that does not exist (opening it
    would create it)."""
    parsed = make_url(url)
    return parsed.get_backend_name() != "sqlite" or Path(parsed.database or "").expanduser().is_file()


def existing_study(config: SearchConfig) -> optuna.Study | None:
    """The study ``config`` names, if its storage already holds it with trials; never creates a storage
    (see `may_hold_studies`)."""
    url = config.resolved_storage()
    if not may_hold_studies(url):
        return None
    try:
        study = optuna.load_study(study_name=config.resolved_study_name(), storage=open_storage(url))
    except KeyError:
        return None
    return study if study.get_trials(deepcopy=False) else None


def open_stored(study_name: str, url: str) -> tuple[optuna.Study | None, SearchConfig | None, str | None]:
    """Study ``study_name`` of storage ``url`` and the config it was created with, or a sentence saying
    why it cannot be shown; never creates a storage (see `may_hold_studies`)."""
    missing = (
        f"There is no study {study_name!r} in {url}: check the study name and storage (Run tab), "
        "or press Start to create it."
    )
    if not may_hold_studies(url):
        return None, None, missing
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(url))
        record = record_of(study)
        import_space(record)  # a user-defined space, from where the study says it lives
        return study, record.search_config(url, study_name), None
    except KeyError:
        return None, None, missing
    except NasWorkbenchError as error:
        return None, None, str(error)


def complete_hint(study_name: str, config: SearchConfig, results: Sequence[TrialResult]) -> str:
    """What the workbench says of a stored study its strategy ended with fewer trials than planned: it is
    complete (Resume has nothing to continue), and for a "dnas" search what its trials were."""
    held = f"Study {study_name!r} is complete"
    strategy, n_trials = strategies.resolved_strategy(config), config.n_trials
    if strategy == "dnas":
        return f"{held}: {outcome_text(outcome_counts(results), n_trials)}."
    return (
        f"{held}: its {strategy} search ended itself after {len(results)} of the {n_trials} trials planned."
    )


def resume_hint(record: StudyRecord, study_name: str, done: int, total: int, data_given: bool) -> str:
    """What the workbench says of a stored study it shows, not finished: Resume continues it, or, when it
    was searched on data of the user's own and the workbench has none, which data Resume needs (Resume on
    the wrong data is refused by the run, naming both)."""
    held = f"Study {study_name!r} holds {done} of {total} trials"
    if record.own_data is None or data_given:
        return f"{held}: Resume continues it."
    return (
        f"{held}, searched on data of your own: {record.own_data}. Resume needs that data: "
        "nw.Workbench(config, data=task), or choose it in the dataset field (Data & training tab)."
    )
