"""Verifying a search's choice on the target device: which finalists to measure, and the profile refitted
with what the device measured.

A search on a ``target_device`` judges its budget by a profile fitted from a few measurements, and at the
budget's edge a search favours the cells the profile under-predicts: on NAS-Bench-201 with a profile from
10 measurements, the choice was measured over the budget on 2-5 of 10 seeds on the Pixel 3 and the
Raspberry Pi 4 (README, "With the latency a fitted profile predicts"). No margin on the prediction fixed
that (`device_budget`); measuring the finalists does: a measured finalist's verdict is known, and the
profile refitted with ``N + k`` measurements predicts the rest better near the limit, where the
finalists are.

The rule (`order_finalists`): the ``k`` best trials by the objective that are judged within budget and
whose latency is only predicted. Why the best: the search's choice is the best trial within budget, and
when the device measures it over, the choice falls to the next one; measuring the best ``k`` makes the
choice a measured one unless all ``k`` are over. They are listed least sure first (the lowest share of
the profile's leave-one-out ratios that keep them within the limit, then the nearest the limit), so a
user who measures only the first few measures those whose verdict is most in doubt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.profiling.targets import DeviceProfile, fit_device

__all__ = ["Finalist", "order_finalists", "refit_device"]


@dataclass(frozen=True)
class Finalist:
    """A trial to measure on the device.

    Attributes:
        number: The trial's number.
        arch: Its architecture in the space's notation.
        rank: 1 for the study's current choice, 2 for the next, ... (by the objective).
        predicted_ms: The latency the profile predicts; ``limit_ms`` the budget's limit.
        p_within: How sure the profile is that it is within the limit (`device_budget.within_probability`).
        summary: The network in one line (the results table's), for reading; ``arch`` is what to measure.
    """

    number: int
    arch: str
    rank: int
    predicted_ms: float
    limit_ms: float
    p_within: float
    summary: str = ""


def order_finalists(ranked: Sequence[Finalist], k: int) -> list[Finalist]:
    """The ``k`` best of ``ranked`` (trials judged within budget, latency only predicted, best first),
    least sure first (see the module docstring for why)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError("k", k, "a whole number of finalists to measure, at least 1")
    best = list(ranked[:k])
    return sorted(best, key=lambda f: (f.p_within, -f.predicted_ms / f.limit_ms, f.rank))


def refit_device(
    profile: DeviceProfile, archs: Sequence[str], latency_ms: Sequence[float], *, save: bool = True
) -> DeviceProfile:
    """``profile`` fitted again from its measurements and the newly measured ``archs`` (the space's
    notation) with their ``latency_ms``, with the same settings (input, classes, prior, reference table);
    saved under the same name by default, so a search resumed on the device uses it.

    Raises:
        ConfigError: An architecture the profile was already fitted with (naming it and its latency), or
            anything `fit_device` refuses (not of the space, not a positive latency, given twice).
    """
    space = profile.search_space()
    measured = {space.parse(arch).id: ms for arch, ms in profile.measurements}
    given: dict[str, int] = {}
    for index, arch in enumerate(archs):
        try:
            spec = space.parse(arch)
        except NasWorkbenchError as error:
            allowed = f"an architecture of {space.name!r} ({error})"
            raise ConfigError(f"archs[{index}]", arch, allowed) from None
        if spec.id in given:
            raise ConfigError(
                f"archs[{index}]", arch, f"each architecture once (also archs[{given[spec.id]}])"
            )
        given[spec.id] = index
        if spec.id in measured:
            raise ConfigError(
                f"archs[{index}]",
                arch,
                f"an architecture {profile.name!r} was not fitted with yet "
                f"(it was, at {measured[spec.id]:g} ms)",
            )
    return fit_device(
        profile.name,
        space,
        [arch for arch, _ in profile.measurements] + list(archs),
        [ms for _, ms in profile.measurements] + [float(ms) for ms in latency_ms],
        input_shape=profile.input_shape,
        num_classes=profile.num_classes,
        prior=profile.prior is not None,
        reference=profile.reference_table(),
        local_prior=profile.local or False,
        save=save,
    )
