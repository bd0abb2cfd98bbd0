"""A search's finalists measured on its target device, and its trials judged again with what was measured.

A search on a ``target_device`` judges its latency budget by the device's profile, fitted from a few
measurements; at the budget's edge the choice can be one the device measures over it
(`nas_workbench.profiling.device_verify` says how often and why). After the search, or in a pause:

1. `finalists` proposes the trials to measure (the rule: `device_verify.order_finalists`);
2. the user measures them on the device and gives the latencies back to `verify`, which refits the
   profile with them (saved under the same name: a resumed search uses it) and judges every trial again:
   a measured architecture (a finalist, or one the profile was fitted from) by its measurement, the rest
   by the refitted profile at the study's ``budget_confidence``;
3. the verdicts are stored in the study's record (`StudyRecord.verified`: a finished Optuna trial cannot
   change), and `records.trial_results` applies them, so the results table, the Pareto front, the
   chosen architecture and the export read the new verdicts; the side panel and the widget notice them
   (`verified_view`).

>>> run.finalists(5)                         # or `nas-workbench device finalists --study S -k 5 -o f.csv`
>>> run.verify(archs, latency_ms)            # or `nas-workbench device verify --study S f.csv`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from nas_workbench import _compat
from nas_workbench.engine._bulk_read import read_trials
from nas_workbench.engine.budget import device_judged
from nas_workbench.engine.records import TrialResult, trial_results
from nas_workbench.engine.result_display import TableList, html_table, text_table
from nas_workbench.engine.study_record import record_of, write_record
from nas_workbench.engine.verified_view import announce
from nas_workbench.exceptions import ConfigError
from nas_workbench.metrics import METRICS, Measurement
from nas_workbench.profiling.device_budget import measured_verdict
from nas_workbench.profiling.device_verify import Finalist, order_finalists, refit_device
from nas_workbench.profiling.targets import DeviceProfile, load_device

__all__ = ["Finalist", "Finalists", "Verification", "device_budget", "finalists", "verify"]

_METRIC = "latency_ms"


@dataclass(frozen=True)
class Verification:
    """What `verify` did: the refitted ``profile`` (its quality: ``profile.quality``), how many
    architectures tried were judged again, how many trials changed verdict, and how many of the trials
    were of an architecture measured on the device."""

    profile: DeviceProfile
    judged: int
    changed: int
    measured_trials: int

    def __str__(self) -> str:
        q = self.profile.quality
        spearman = "-" if q["spearman"] is None else f"{q['spearman']:.3f}"
        return (
            f"device profile {self.profile.name!r} refitted ({self.profile.source}; leave-one-out "
            f"Spearman {spearman}, within ±10% {100 * q['within_10pct']:.0f}%, median error "
            f"{100 * q['median_rel_error']:.1f}%); {self.judged} architectures judged again, "
            f"{self.changed} trial{'s' * (self.changed != 1)} changed verdict, "
            f"{self.measured_trials} measured on the device"
        )


def device_budget(study: optuna.Study) -> tuple[DeviceProfile, float, float]:
    """The study's device profile, latency limit and budget confidence; a `ConfigError` for a study
    without a target device or without a latency budget (nothing to verify)."""
    record = record_of(study)
    device = record.config.get("target_device")
    if not device:
        raise ConfigError(
            "target_device",
            None,
            f"a study searched on a device profile (study {study.study_name!r} has none: its latency was "
            "measured or estimated on this machine, so there is nothing to verify)",
        )
    if _METRIC not in record.budget:
        raise ConfigError(
            "budget",
            dict(record.budget),
            f"a latency budget ({_METRIC}) on {device!r}: study {study.study_name!r} has none, so no "
            "verdict depends on the profile",
        )
    confidence = float(record.config.get("budget_confidence") or 0.0)
    return load_device(str(device)), float(record.budget[_METRIC]), confidence


def _ranked(results: Sequence[TrialResult], directions: Sequence[str]) -> list[TrialResult]:
    """The trained trials within budget, best first: by non-domination rank (for one objective, by its
    value), then by the first objective; one trial per architecture (its best)."""
    candidates = [r for r in results if r.status == "ok" and r.feasible and r.values is not None]
    if not candidates:
        return []
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    points = np.array([r.values for r in candidates], dtype=float) * signs  # larger is better
    ranks = _compat.nondomination_ranks(-points)
    order = sorted(range(len(candidates)), key=lambda i: (ranks[i], -points[i, 0], candidates[i].number))
    seen: set[str] = set()
    ranked = []
    for index in order:
        if candidates[index].arch not in seen:
            seen.add(candidates[index].arch)
            ranked.append(candidates[index])
    return ranked


class Finalists(TableList[Finalist]):
    """The finalists to measure, least sure first (`device_verify.order_finalists`), which a notebook
    cell shows as a table and ``print`` as text rather than as the reprs of their items (a chain space's
    architectures are long JSON); `repr` stays the list's, a slice is `Finalists` too."""

    HEADER = ("measure", "trial", "rank", "predicted ms", "limit ms", "sure within", "network")
    NONE = "No finalists: no trained trial within budget has a latency that is only predicted."

    def rows(self) -> list[list[str]]:
        """One row of `HEADER`'s cells per finalist, in the order to measure them."""
        return [
            [
                str(order),
                str(f.number),
                f"#{f.rank}",
                f"{f.predicted_ms:.4g}",
                f"{f.limit_ms:.4g}",
                f"{f.p_within:.0%}",
                f.summary or f.arch,
            ]
            for order, f in enumerate(self, start=1)
        ]

    def _repr_html_(self) -> str:
        return html_table(self.HEADER, self.rows()) if self else f"<p>{self.NONE}</p>"

    def __str__(self) -> str:
        return "\n".join(text_table(self.HEADER, self.rows())) if self else self.NONE


def finalists(study: optuna.Study, k: int = 5) -> Finalists:
    """The ``k`` trials of ``study`` to measure on its target device before choosing, least sure first:
    the best trials judged within budget whose latency is only predicted (`device_verify.order_finalists`
    says the rule and why). Fewer when fewer such trials exist.

    Raises:
        ConfigError: The study has no target device or no latency budget, or ``k`` is not a whole
            number of at least 1.
    """
    profile, limit, _ = device_budget(study)
    measured = {arch for arch, _ in profile.measurements}
    ranked = [
        r
        for r in _ranked(trial_results(study), record_of(study).directions)
        if r.arch not in measured and r.metrics[_METRIC]["method"] == "predicted"
    ]
    return Finalists(
        order_finalists(
            [
                Finalist(
                    number=r.number,
                    arch=r.arch,
                    rank=rank,
                    predicted_ms=float(r.metrics[_METRIC]["value"]),
                    limit_ms=limit,
                    p_within=float(r.metrics[_METRIC]["detail"].get("budget", {}).get("p_within", 0.0)),
                    summary=r.summary,
                )
                for rank, r in enumerate(ranked, start=1)
            ],
            k,
        )
    )


def verify(study: optuna.Study, archs: Sequence[str], latency_ms: Sequence[float]) -> Verification:
    """Add the latencies ``latency_ms`` of ``archs`` (the space's notation) measured on the study's target
    device to its profile (refitted and saved under its name), and judge every trial of ``study`` again:
    stored in its record, read by `records.trial_results`.

    Raises:
        ConfigError: The study has no target device or latency budget; an architecture is not of the
            space or was measured already; a latency is not a positive number (each naming the value).
    """
    profile, limit, confidence = device_budget(study)
    if len(archs) != len(latency_ms):
        raise ConfigError(
            "latency_ms", len(latency_ms), f"one latency per architecture ({len(archs)} architectures)"
        )
    if not archs:
        raise ConfigError("archs", [], "at least one architecture measured on the device")
    refitted = refit_device(profile, archs, latency_ms)
    space = refitted.search_space()
    measured = {space.parse(arch).id: ms for arch, ms in refitted.measurements}
    before = trial_results(study)
    verdicts: dict[str, Any] = {}
    measured_trials = 0
    for trial in read_trials(study, (TrialState.COMPLETE, TrialState.PRUNED)):
        result = TrialResult.from_frozen(trial)
        if result.status not in ("ok", "infeasible") or _METRIC not in result.metrics or not result.arch:
            continue
        spec = space.parse(result.arch)
        if spec.id in measured:
            measured_trials += 1
            latency = _measured(measured[spec.id], limit, refitted.name)
        else:
            judged, _ = device_judged(
                spec, {_METRIC: refitted.predict(spec)}, {_METRIC: limit}, refitted, confidence
            )
            latency = judged[_METRIC]
        within = bool(latency.detail["budget"]["within"])
        others = all(value <= 0 for name, value in trial.constraints.items() if name != _METRIC)
        verdicts[result.arch] = {"latency_ms": latency.to_dict(), "feasible": within and others}
    record = record_of(study)
    stored = {"device": refitted.name, "measurements": len(refitted.measurements), "limit_ms": limit}
    write_record(study, record.with_changes(verified={**stored, "archs": verdicts}))
    announce(study)  # the widgets of this kernel show the verdicts now, not at their next read
    changed = sum(r.feasible != verdicts[r.arch]["feasible"] for r in before if r.arch in verdicts)
    return Verification(refitted, len(verdicts), changed, measured_trials)


def _measured(value: float, limit: float, device: str) -> Measurement:
    """A latency measured on ``device``, with its verdict against ``limit``."""
    detail: Mapping[str, Any] = {"device": device, "budget": measured_verdict(value, limit, device)}
    return Measurement(value, METRICS[_METRIC].unit, "measured", f"measured on {device}", dict(detail))
