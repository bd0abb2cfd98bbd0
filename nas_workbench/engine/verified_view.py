"""What a verification on the target device changed, for the views that follow a study live, and the
news that one happened.

`device_verdicts.verify` stores its verdicts in the study's record (`StudyRecord.verified`); every reader
of results applies them (`records.trial_results`). The side panel and the widget show trials they read
before, so they must notice a verification and say what the device measured:

- `verification_key`: what identifies a study's verification state (its device and the number of
  measurements its profile was refitted with: each verification adds at least one), so a view that
  keeps trials can tell, from the record alone, that it must read them again;
- `verified_summary`: the trials measured on the device, within or over the budget, beside the label of
  the others (``"predicted for pixel3 from 15 measurements"``), as plain data (the panel's JSON);
- `verified_text`: the same in one sentence, for the widget; `verified_sentence`: that sentence from the
  record and the trials, "" before a verification (the widget's, the command line's Pareto table);
- `listen` / `announce`: a verification in this process (``run.verify(...)`` in a notebook cell) tells
  the views of this process at once, without waiting for their next read of the storage.

This module needs neither torch nor widgets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import optuna

from nas_workbench import _compat
from nas_workbench.engine.records import TrialResult
from nas_workbench.engine.study_record import StudyRecord

__all__ = [
    "announce",
    "listen",
    "measured_on_device",
    "same_study",
    "verification_key",
    "verified_sentence",
    "verified_summary",
    "verified_text",
]

logger = logging.getLogger("nas_workbench")

_METRIC = "latency_ms"

#: Called with the study a verification in this process judged again.
Listener = Callable[[optuna.Study], None]

_listeners: list[Listener] = []
_guard = threading.Lock()


def verification_key(record: StudyRecord | None) -> tuple[str, int] | None:
    """``(device, measurements)`` of the study's latest verification, None before any."""
    verified = {} if record is None else record.verified
    if not verified.get("archs"):
        return None
    return str(verified["device"]), int(verified["measurements"])


def verified_summary(record: StudyRecord | None, results: Iterable[TrialResult]) -> dict[str, Any] | None:
    """The trials of ``results`` (as `records.trial_results` judged them) whose latency was measured on the
    target device, each with its verdict, and how the others are labelled; None before a verification.
    Only the measured ones are read: ``results`` may be just those (the side panel's tally keeps them).

    Keys: ``device``, ``measurements``, ``limit_ms``, ``predicted`` (the label of the latencies the
    refitted profile predicts: ``"predicted for pixel3 from 15 measurements"``), ``measured`` (rows of
    ``number``, ``arch``, ``summary``, ``status``, ``latency_ms``, ``within``, ``verdict``, by trial
    number), ``within`` and ``over`` (how many of them).
    """
    key = verification_key(record)
    if record is None or key is None:
        return None
    ordered = sorted(results, key=lambda r: r.number)
    measured = [row for result in ordered if (row := _measured_row(result)) is not None]
    within = sum(row["within"] for row in measured)
    return {
        "device": key[0],
        "measurements": key[1],
        "limit_ms": float(record.verified["limit_ms"]),
        "predicted": f"predicted for {key[0]} from {key[1]} measurements",  # the profile's own label
        "measured": measured,
        "within": within,
        "over": len(measured) - within,
    }


def _measured_row(result: TrialResult) -> dict[str, Any] | None:
    """The summary's row of ``result`` when a verification measured its latency on the device."""
    latency = result.metrics.get(_METRIC)
    if not measured_on_device(latency):
        return None
    assert latency is not None  # measured on the device
    budget = latency["detail"]["budget"]
    return {
        "number": result.number,
        "arch": result.arch,
        "summary": result.summary,
        "status": result.status,
        "latency_ms": float(latency["value"]),
        "within": bool(budget["within"]),
        "verdict": budget["verdict"],
    }


def measured_on_device(latency: Mapping[str, Any] | None) -> bool:
    """Whether ``latency`` (a `Measurement` dict) is a verification's measurement on the target device."""
    if not latency:
        return False
    return latency["method"] == "measured" and "budget" in latency.get("detail", {})


def verified_text(summary: Mapping[str, Any]) -> str:
    """``"Verified on pixel3 (limit 8.5 ms): trials 3, 5 measured within budget, trial 4 measured over
    (9 ms); the others' latency is predicted for pixel3 from 15 measurements."``"""
    device, rows = summary["device"], summary["measured"]
    within = [str(r["number"]) for r in rows if r["within"]]
    over = [f"{r['number']} ({r['latency_ms']:.4g} ms)" for r in rows if not r["within"]]
    parts = [
        f"{_trials(within)} measured within budget" if within else "",
        f"{_trials(over)} measured over" if over else "",
    ]
    said = ", ".join(p for p in parts if p) or f"no trial of the study measured on {device}"
    limit, others = summary["limit_ms"], summary["predicted"]
    return f"Verified on {device} (limit {limit:.4g} ms): {said}; the others' latency is {others}."


def verified_sentence(record: StudyRecord | None, results: Iterable[TrialResult]) -> str:
    """`verified_text` of ``record``'s verification of ``results`` (as `records.trial_results` judged
    them); "" before a verification."""
    summary = verified_summary(record, results)
    return "" if summary is None else verified_text(summary)


def _trials(numbers: list[str]) -> str:
    return f"trial{'s' * (len(numbers) != 1)} {', '.join(numbers)}"


def listen(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` after each verification in this process (from the thread that verified);
    returns the function that stops it."""
    with _guard:
        _listeners.append(listener)

    def stop() -> None:
        with _guard:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def announce(study: optuna.Study) -> None:
    """Tell this process's listeners that ``study`` was judged again. A listener that fails is logged and
    skipped: the verification is stored, and a view that cannot show it must not undo the user's call."""
    with _guard:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(study)
        except Exception:
            logger.warning("a view could not show the verification of %s", study.study_name, exc_info=True)


def same_study(a: optuna.Study, b: optuna.Study) -> bool:
    """Whether ``a`` and ``b`` are the same stored study (its name, in the same database)."""
    if a.study_name != b.study_name:
        return False
    url_a = getattr(_compat.uncached_storage(a), "url", None)
    url_b = getattr(_compat.uncached_storage(b), "url", None)
    return url_a is None or url_b is None or url_a == url_b
