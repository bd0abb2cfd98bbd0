"""A latency budget on this machine: each candidate's lookup-table latency, told to the strategies.

With a ``target_device`` the strategies are told the latency a trial is judged by before proposing it
(`budget.CandidateCosts`). With a latency budget on this machine, a trial's latency is measured, so before
this the strategies learnt it from the trials' constraints alone: a user's 8-trial chain search with a
measured ``p40`` budget spent 6 of its 8 trials over budget. This machine's lookup table
(`nas_workbench.profiling.lut`) predicts a network's latency from a shape-only trace, without timing it;
`LutLatency` gives that prediction, named ``predicted_latency_ms`` (`strategies.predicted_costs`): a
feature of the feasibility model and a prior before its fit, never an exact limit, since the measured
latency differs from it by the correction's error and the machine's load of the moment.

It is told only when the table's correction for the space and input (`LookupTable.correction`) is
trustworthy (`untrusted`): fitted on measured networks, predicting held-out ones (leave-one-out) with a
Spearman of at least `TRUSTED_SPEARMAN` and `TRUSTED_WITHIN_10PCT` of them within ±10%. Why those: the
strategies' prior before any trial takes the constraint within ``PRIOR_SPREAD`` (±10%) of the prediction, so
most predictions must lie there; and a rank correlation under 0.9 (the first calibrations on a busy
machine gave 0.57-0.87, `correction`) orders candidates near the limit little better than their decisions
do, which the feasibility model learns anyway. This machine's calibrations pass it by far (nb201 95%,
rho 0.985; chain 98%, rho 0.987: README, #13). Otherwise the search is as before, and the log says why
(``nas-workbench run -v``).

No table is calibrated for it: a search whose table has no correction says the command that fits one
(`nas-workbench calibrate`), as a calibration costs about half a minute that a short search (the demo)
would take from its trials.

Peak memory: the workbench has no predictor of a network's measured peak whose quality is stored (the
analytic estimate, `memory.estimate_peak_memory`, and the supernet's cost model are not fitted against
measurements here), so a peak-memory budget on this machine is learnt from the trials as before.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING

from nas_workbench.profiling.cache import cache_dir
from nas_workbench.strategies.predicted_costs import predicted_name

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from nas_workbench.config import SearchConfig
    from nas_workbench.engine.preflight import Networks
    from nas_workbench.profiling.correction import Correction
    from nas_workbench.profiling.lut import LookupTable
    from nas_workbench.profiling.targets import DeviceProfile
    from nas_workbench.spaces import SearchSpace
    from nas_workbench.spec import ArchSpec

__all__ = ["TRUSTED_SPEARMAN", "TRUSTED_WITHIN_10PCT", "LutLatency", "local_predictions", "untrusted"]

logger = logging.getLogger("nas_workbench")

#: Least leave-one-out Spearman of a correction whose predictions are told to the strategies.
TRUSTED_SPEARMAN = 0.9
#: Least leave-one-out share of held-out networks predicted within ±10% (the strategies' prior spread,
#: `strategies.predicted_costs.PRIOR_SPREAD`).
TRUSTED_WITHIN_10PCT = 0.8


def untrusted(name: str, correction: Correction) -> str | None:
    """Why the table's correction ``name`` is not trusted to predict a budget's latency, or None."""
    if name == "none":
        return "the lookup table has no fitted correction for these networks"
    rho, within = correction.quality.get("loo_spearman"), correction.quality.get("loo_within_10pct")
    if rho is None or within is None:
        return f"the lookup table's correction {name} has no stored out-of-sample quality"
    if not (rho >= TRUSTED_SPEARMAN and within >= TRUSTED_WITHIN_10PCT):  # NaN: not trusted
        return (
            f"the lookup table's correction {name} predicts held-out networks with Spearman {rho:.2f} and "
            f"{100 * within:.0f}% within ±10% (trusted from {TRUSTED_SPEARMAN} and "
            f"{100 * TRUSTED_WITHIN_10PCT:.0f}%)"
        )
    return None


def local_predictions(
    config: SearchConfig, space: SearchSpace, networks: Callable[[], Networks], target: DeviceProfile | None
) -> dict[str, Callable[[ArchSpec], float]]:
    """The predicted costs the strategies are told for ``config``'s budget (``config``: its limits
    resolved): ``{"predicted_latency_ms": LutLatency}`` for a latency budget on this machine whose lookup
    table is trusted (`untrusted`), else nothing; the log says which, and why (``nas-workbench run -v``):
    a decision, not a step of the opening that the user waits for, so it is not narrated."""
    if target is not None or "latency_ms" not in config.budget:
        return {}
    from nas_workbench.profiling.lut import LookupTable, calibrate_hint  # torch, as the networks need

    built = networks()
    table = LookupTable.for_device(built.device, built.threads)
    batched = (built.batch_size, *built.input_shape)
    name, correction = table.correction(batched, space.name)
    reason = untrusted(name, correction)
    if reason is not None:
        hint = f"; `{calibrate_hint(table, batched, space.name)}` fits one" if name == "none" else ""
        said = (
            f"not telling the strategies a predicted latency: {reason}{hint}; they learn it from the trials"
        )
        logger.info("latency budget: %s", said)
        return {}
    quality = correction.quality
    said = (
        f"telling the strategies each candidate's latency predicted by this machine's lookup table "
        f"({name}: leave-one-out Spearman {quality['loo_spearman']:.2f}, "
        f"{100 * quality['loo_within_10pct']:.0f}% within ±10%)"
    )
    logger.info("latency budget: %s", said)
    return {predicted_name("latency_ms"): LutLatency(table, space, built)}


class LutLatency:
    """A candidate's latency as ``table`` predicts it for the search's networks (`LookupTable.predict`,
    at the correction and drift factor the table holds when asked).

    A prediction traces the network (a build and a shape-only forward pass) and times any operator the
    table lacks; the trace's sums (table, compute-bound) and operator count are cached in the profiling
    cache (``costs/<space>-lut.json``) per architecture, networks and table fingerprint, so a second search
    traces nothing and follows a recalibration. ``traced`` and ``trace_s`` count what this one traced.
    """

    def __init__(self, table: LookupTable, space: SearchSpace, networks: Networks) -> None:
        from nas_workbench.estimation.proxy_cache import ProxyCache

        self.table, self.space, self.networks = table, space, networks
        self.cache = ProxyCache(cache_dir() / "costs" / f"{space.name}-lut.json")
        fingerprint = hashlib.sha1(table.device.key.encode()).hexdigest()[:12]
        shape = "x".join(map(str, networks.input_shape))
        self._data = (
            f"{shape}:{networks.num_classes}:width{networks.width_multiplier:g}:"
            f"batch{networks.batch_size}:{fingerprint}"
        )
        self.traced, self.trace_s, self._saved = 0, 0.0, time.monotonic()

    def sums(self, spec: ArchSpec) -> Mapping[str, float]:
        """The network's table sum, compute-bound sum and operator count (traced once, then cached)."""
        keys = {part: self.cache.key(part, spec, self._data, 0) for part in ("table_ms", "compute_ms", "ops")}
        if keys["ops"] not in self.cache.scores:
            self._trace(spec, keys)
        return {part: self.cache.scores[key] for part, key in keys.items()}

    def _trace(self, spec: ArchSpec, keys: Mapping[str, str]) -> None:
        from nas_workbench.profiling._trace import trace

        start = time.perf_counter()
        built = self.networks
        model = self.space.build(
            spec, built.input_shape, built.num_classes, width_multiplier=built.width_multiplier
        )
        result = trace(model, built.input_shape, built.batch_size)
        if self.table.fill(result.ops):
            self.table.save()
        self.cache.scores[keys["table_ms"]] = self.table.table_ms(result.ops)
        self.cache.scores[keys["compute_ms"]] = self.table.compute_ms(result.ops)
        self.cache.scores[keys["ops"]] = float(len(result.ops))
        self.traced += 1
        self.trace_s += time.perf_counter() - start
        if time.monotonic() - self._saved > 5.0:  # a long search keeps its traces if it is killed
            self.save()

    def __call__(self, spec: ArchSpec) -> float:
        sums = self.sums(spec)
        batched = (self.networks.batch_size, *self.networks.input_shape)
        name, correction = self.table.correction(batched, self.space.name)
        value, _ = correction.predict(
            sums["table_ms"], int(sums["ops"]), sums["compute_ms"], self.table.drift.get(name)
        )
        return value

    def save(self) -> None:
        """Write the traces' sums made so far to the cache file."""
        self.cache.save()
        self._saved = time.monotonic()
