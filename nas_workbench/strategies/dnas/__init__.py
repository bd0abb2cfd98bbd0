"""Differentiable architecture search ("dnas"): a supernet, architecture weights, a hardware-aware loss.

DARTS (Liu et al., ICLR 2019) made search continuous: every decision becomes a softmax over its choices,
mixing all candidate ops in one supernet, and the architecture logits descend the validation loss while
the network weights descend the training loss (first-order alternating updates). FBNet and ProxylessNAS
added hardware: the expected latency under the architecture weights, read from a per-device lookup table,
is differentiable, so a penalty or a latency target steers the search. Here:

- supernets for the cell spaces (`CellSupernet`: a mixed op on every edge) and the chain space
  (`ChainSupernet`: per block op, kernel, expansion and width, per stage depth), softmax or Gumbel-softmax;
- `cost_model`: expected latency (lookup table), FLOPs, MACs or parameters as a function of the weights;
- `HardwarePenalty`: a weighted cost, or a cost target held by dual ascent on its multiplier (no λ to
  tune), the final architecture landed within 5% of the target by measurement (`landing`);
- remedies against DARTS' collapse to parameter-free ops (`arch_step`): a warm-up epoch, progressive
  shrinking of every decision's choices, a collapse guard in the cell supernet's derivation, and β-DARTS'
  regularisation as an option;
- the search loop (`search.SupernetProducer`), the strategy's own trial producer, which `nas_workbench.search`
  runs when ``strategy="dnas"``: every epoch logs the derived architecture as a trial of the study
  (profiled, its accuracy a weight-sharing estimate), and the ``retrain_top`` most likely architectures
  under the final weights are retrained standalone and logged as full trials (the best on validation is
  the result); ``sampled_paths`` trains one sampled network per step (GDAS) instead of the whole supernet.

Spaces whose decisions change the network's structure (the multi-branch space) have no such relaxation;
`build_supernet` says so and names the strategies that fit.

Importing this package registers the strategy without importing torch: the supernets, cost models and
penalty (the modules that need torch) are imported when first named or built.

>>> supernet = build_supernet(nw.spaces.get("nb201", num_cells=1), input_shape=(1, 8, 8), num_classes=10)
>>> supernet.derive()                      # the argmax architecture, a valid ArchSpec of the space
"""

from __future__ import annotations

import pkgutil
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from nas_workbench._lazy import lazy_attributes
from nas_workbench.exceptions import ConfigError
from nas_workbench.spaces import SearchSpace
from nas_workbench.spaces.cell import CellSpace
from nas_workbench.spaces.chain import ChainSpace
from nas_workbench.strategies._base import SamplerContext, Strategy, register
from nas_workbench.strategies.dnas.options import COST_METRICS, OPTIONS, DnasOptions
from nas_workbench.strategies.dnas.sampler import SupernetSampler
from nas_workbench.strategies.dnas.trial_count import check_retrain_top

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.12

    from nas_workbench.strategies.dnas.cell import CellSupernet
    from nas_workbench.strategies.dnas.chain import ChainSupernet
    from nas_workbench.strategies.dnas.cost import CostModel, cost_model
    from nas_workbench.strategies.dnas.penalty import HardwarePenalty
    from nas_workbench.strategies.dnas.supernet import Decision, MixedOp, Supernet, SupernetOptions

__all__ = [
    "COST_METRICS",
    "CellSupernet",
    "ChainSupernet",
    "CostModel",
    "Decision",
    "DnasOptions",
    "HardwarePenalty",
    "MixedOp",
    "Supernet",
    "SupernetOptions",
    "SupernetSampler",
    "build_supernet",
    "cost_model",
    "register_supernet",
    "supernet_class",
]

#: Public name → the module that defines it (it needs torch), imported on first use.
_EXPORTS = {
    "CellSupernet": f"{__name__}.cell",
    "ChainSupernet": f"{__name__}.chain",
    "CostModel": f"{__name__}.cost",
    "cost_model": f"{__name__}.cost",
    "HardwarePenalty": f"{__name__}.penalty",
    **dict.fromkeys(("Decision", "MixedOp", "Supernet", "SupernetOptions"), f"{__name__}.supernet"),
}

__getattr__ = lazy_attributes(__name__, _EXPORTS)

#: What relaxes a space: a subclass of `Supernet`, built as `build_supernet` builds it.
SupernetFactory: TypeAlias = "type[Supernet]"

#: Each space class's supernet: the class, or where it is ("module:name", imported when first needed).
_SUPERNETS: dict[type[SearchSpace], SupernetFactory | str] = {
    CellSpace: f"{__name__}.cell:CellSupernet",
    ChainSpace: f"{__name__}.chain:ChainSupernet",
}


def register_supernet(space_class: type[SearchSpace], supernet_class: SupernetFactory) -> None:
    """Make ``supernet_class`` the relaxation of ``space_class`` (and its subclasses) for "dnas"."""
    _SUPERNETS[space_class] = supernet_class


def supernet_class(space: SearchSpace) -> SupernetFactory:
    """The supernet class that relaxes ``space``, or a `ConfigError` saying why there is none."""
    relaxed = _relaxed_class(space)
    if relaxed is not None:
        found = _SUPERNETS[relaxed]
        if isinstance(found, str):
            found = _SUPERNETS[relaxed] = pkgutil.resolve_name(found)
        return found
    from nas_workbench import spaces, strategies

    relaxable = [name for name in spaces.list() if spaces.get(name).relaxable]
    sampling = [name for name in strategies.list() if not strategies.get(name).relaxation]
    why = (
        "it is relaxable but no supernet is registered for it (strategies.dnas.register_supernet)"
        if space.relaxable
        else "its decisions change the network's structure (how many modules a block has and how their "
        "outputs are joined) instead of choosing among modules of one shape, so no supernet can mix them"
    )
    raise ConfigError(
        "strategy",
        "dnas",
        f"the {space.name!r} space has no continuous relaxation: {why}. Strategies that fit it sample "
        f"architectures: {', '.join(sampling)} ('dnas' fits the {', '.join(relaxable)} spaces)",
    )


def build_supernet(
    space: SearchSpace, input_shape: Sequence[int], num_classes: int, **options: Unpack[SupernetOptions]
) -> Supernet:
    """The supernet of ``space`` for inputs of ``input_shape`` (C, H, W) and ``num_classes``: the one
    registered for the space's class (`register_supernet`), given ``options`` as `Supernet` takes them
    (``fixed`` decisions, a ``width_multiplier``)."""
    return supernet_class(space)(space, input_shape, num_classes, **options)


def _sampler(context: SamplerContext, **options: Any) -> SupernetSampler:
    DnasOptions(**options)._check()
    if context.space is not None and _relaxed_class(context.space) is None:
        supernet_class(context.space)  # raises, saying why
    return SupernetSampler()


def _relaxed_class(space: SearchSpace) -> type[SearchSpace] | None:
    """The class of ``space`` (its own or a base) that a supernet is registered for, if any; it imports no
    supernet, so that checking a config imports no torch."""
    if not space.relaxable:
        return None
    return next((cls for cls in type(space).__mro__ if cls in _SUPERNETS), None)


register(
    Strategy(
        "dnas",
        _sampler,
        "differentiable search (DARTS; FBNet-style hardware loss): one supernet holds every choice, "
        "architecture weights and network weights descend alternately on separate splits, with warm-up and "
        "progressive shrinking against collapse; the expected latency or FLOPs under the weights is "
        "penalised or held to a target by dual ascent, and the final architecture lands within 5% of the "
        "target, measured; a whole search costs a few trainings. Needs a space with a continuous "
        "relaxation (cell, nb201, chain); each epoch's derived architecture is logged as a trial "
        "(weight-sharing accuracy), the few most likely final ones retrained.",
        OPTIONS,
        multi_objective=True,
        relaxation=True,
        producer="nas_workbench.strategies.dnas.search:SupernetProducer",
        check_config=check_retrain_top,
    )
)
