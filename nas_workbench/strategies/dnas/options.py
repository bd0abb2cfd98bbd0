"""The options of the "dnas" strategy (``SearchConfig.strategy_options``), their defaults and checks.

One dataclass is the single source: its fields' metadata are the registry's option docs
(``nas-workbench strategies``), and `DnasOptions.from_config` checks a config's options and resolves what
depends on the rest of the config (the penalty follows the budget and the objectives by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from nas_workbench._registry import unknown_name_message
from nas_workbench.exceptions import ConfigError
from nas_workbench.strategies._base import Option, check_float, check_int

if TYPE_CHECKING:
    from nas_workbench.config import SearchConfig

__all__ = [
    "COST_METRICS",
    "MAX_REPEATS",
    "OPTIONS",
    "RETRAIN_BUDGET",
    "RETRAIN_TOP",
    "DnasOptions",
    "budget_target",
]

#: Metrics whose cost adds up over a network's modules (peak memory: its resident part), so a supernet can
#: take their expectation (`nas_workbench.strategies.dnas.cost`).
COST_METRICS = ("latency_ms", "flops", "macs", "params", "peak_memory_mb")


#: Default of `DnasOptions.retrain_top` (chosen by measurement: benchmarks/dnas/README.md).
RETRAIN_TOP = 4
#: Default of `DnasOptions.retrain_budget`: off. Measured on digits (benchmarks/dnas/README.md, 2026-12-05):
#: at 3x the search's time the repeats changed no search's result against TPE (nb201, seeds 0-2: one
#: repeat each, +16-20% wall time), and on the chain space, whose trainings are cheap beside its search, 3x
#: allowed all 7 repeats and took the run past a third of TPE's time.
RETRAIN_BUDGET = 0.0
#: Repeats at most: the best architecture is trained at most this many more times (8 trainings of it in
#: all, as many as benchmarks/dnas/retrain_seeds.py takes to show one architecture's spread; the best of
#: more adds little). Without a cap a cheap architecture after a long search would be trained dozens of
#: times.
MAX_REPEATS = 7


def _option(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class DnasOptions:
    """Settings of a differentiable search (see each field's ``doc`` metadata, or `OPTIONS`).

    The number of search epochs is not an option: as for every strategy, ``n_trials`` is what the study
    holds when the search ends, one trial per epoch and one per retrained architecture, so a search
    runs ``n_trials - retrain_top`` epochs (``n_trials`` epochs without retraining; at least one). A
    ``retrain_top`` over half of ``n_trials`` is refused (`trial_count.check_retrain_top`); the default is
    capped at half, and the plan says so.
    """

    warmup_epochs: int = _option(
        1,
        "first epochs train only the network weights, architecture weights wait (at most all epochs but "
        "one): untrained convolutions lose to parameter-free ops, DARTS' collapse",
    )
    arch_learning_rate: float = _option(
        0.5,
        "Adam learning rate of the architecture logits (a search of a few epochs on a small data set "
        "takes a few hundred steps: DARTS' 3e-4 would leave the weights uniform)",
    )
    arch_weight_decay: float = _option(1e-3, "weight decay of the architecture logits")
    beta_regularisation: float = _option(
        0.0,
        "β-DARTS' Beta-Decay weight: λ_β · mean log Σ exp(α) over decisions joins the architecture loss, "
        "rising linearly from 0 over the search (0: off)",
    )
    shrink_to: int = _option(
        2,
        "progressive shrinking: the least likely choice of every decision is dropped at evenly spaced "
        "epochs until this many are left in the last quarter of the search, never a decision's last "
        "learnable one (0: off)",
    )
    softmax_temperature: float = _option(
        0.25,
        "temperature of the architecture softmax in the last epoch, annealed geometrically from 1 after "
        "the warm-up: the weights separate and the supernet computes nearly the network it derives, "
        "DARTS' discretisation gap (1: off)",
    )
    weight_learning_rate: float | None = _option(
        None, "AdamW learning rate of the supernet's weights (None: fidelity.learning_rate)"
    )
    arch_split: float = _option(
        0.5,
        "fraction of the training split that updates the architecture logits; the rest trains the "
        "weights (the two splits of the bilevel problem)",
    )
    gumbel: bool = _option(
        False, "mix ops with Gumbel-softmax samples (FBNet, SNAS) instead of the plain softmax (DARTS)"
    )
    sampled_paths: bool = _option(
        False,
        "GDAS: every step trains one network sampled from the weights (hard Gumbel-softmax, "
        "straight-through) instead of the whole supernet, so an epoch costs about one network's epoch; "
        "implies gumbel",
    )
    temperature: float = _option(5.0, "Gumbel-softmax temperature of the first epoch")
    final_temperature: float = _option(
        0.5, "Gumbel-softmax temperature of the last epoch (annealed geometrically)"
    )
    penalty: tuple[str, ...] | None = _option(
        None,
        "metrics whose expected value under the architecture weights is penalised or held to a target, "
        f"from {list(COST_METRICS)} (None: those of the budget, else the hardware objectives among them)",
    )
    penalty_weight: float = _option(
        1.0, "weight of a penalised metric without a target: weight·E/E₀ (E₀: its value at the start)"
    )
    targets: Mapping[str, float] | None = _option(
        None,
        "a target per penalised metric, e.g. {'latency_ms': 2.0}, that the derived architecture's "
        "measured cost lands on (dual ascent adapts the trade-off, no weight to tune; None: the budget's "
        "limits, each divided by 1 + tolerance, so that a landing within the tolerance is within the budget)",
    )
    target_rate: float = _option(
        2.0, "dual-ascent step of a target's multiplier per epoch and unit of relative error"
    )
    tolerance: float = _option(
        0.05, "relative distance to a target that the final architecture's measured cost may have"
    )
    retrain: bool = _option(
        True, "retrain the final architecture standalone at the configured fidelity, logged as a full trial"
    )
    finetune_epochs: int = _option(
        0,
        "0: each final architecture is retrained from scratch at the configured fidelity; k > 0: it starts "
        "from the supernet's weights (its path cut out) and trains k epochs",
    )
    retrain_top: int = _option(
        RETRAIN_TOP,
        "how many of the most likely architectures under the final weights (within the tolerance of every "
        "target) are retrained, each a full trial, the best on validation being the search's result (as "
        "DARTS and PC-DARTS report the best of several retrainings); at most half of n_trials (a larger "
        "value is refused; the default is capped at half)",
    )

    retrain_budget: float = _option(
        RETRAIN_BUDGET,
        "wall time of the retraining stage as a multiple of the search's own: after the retrain_top "
        "trainings, the best on validation is trained again with new seeds, each a full trial, while the "
        "next is expected to end within it; the best single training is the result, as a black-box "
        "search's best trial is (0: no repeats)",
    )

    retrain_distinct: bool = _option(
        False,
        "spend retrain_budget on the next likeliest architectures, one training each, instead of the best "
        "one again: the result is then the best of more distinct architectures' trainings, as a black-box "
        "search's is",
    )

    def __post_init__(self) -> None:
        if isinstance(self.penalty, list):  # from YAML or JSON
            object.__setattr__(self, "penalty", tuple(self.penalty))

    @classmethod
    def from_config(cls, config: SearchConfig) -> DnasOptions:
        """Check ``config.strategy_options`` and resolve the penalty and its targets from the config."""
        options = dict(config.strategy_options)
        for key, value in options.items():
            if key not in OPTIONS:
                raise ConfigError(
                    f"strategy_options.{key}",
                    value,
                    unknown_name_message("option", key, [*OPTIONS], "of strategy 'dnas'"),
                )
        self = cls(**options)
        self._check()
        return self._resolve(config)

    def _check(self) -> None:
        check_int("warmup_epochs", self.warmup_epochs, 0)
        check_float("arch_learning_rate", self.arch_learning_rate, 0.0, 10.0)
        check_float("arch_weight_decay", self.arch_weight_decay, 0.0, 1.0)
        check_float("beta_regularisation", self.beta_regularisation, 0.0, 1e3)
        check_int("shrink_to", self.shrink_to, 0)
        check_float("softmax_temperature", self.softmax_temperature, 1e-3, 1.0)
        check_float("target_rate", self.target_rate, 0.0, 1e3)
        check_float("tolerance", self.tolerance, 1e-4, 1.0)
        check_int("retrain_top", self.retrain_top, 1)
        check_float("retrain_budget", self.retrain_budget, 0.0, 1e3)
        check_int("finetune_epochs", self.finetune_epochs, 0)
        if self.weight_learning_rate is not None:
            check_float("weight_learning_rate", self.weight_learning_rate, 1e-12, 10.0)
        check_float("arch_split", self.arch_split, 0.05, 0.95)
        for key in ("gumbel", "sampled_paths", "retrain", "retrain_distinct"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"strategy_options.{key}", getattr(self, key), "true or false")
        check_float("temperature", self.temperature, 1e-3, 1e3)
        check_float("final_temperature", self.final_temperature, 1e-3, 1e3)
        check_float("penalty_weight", self.penalty_weight, 0.0, 1e6)
        if self.penalty is not None and (
            not isinstance(self.penalty, tuple) or not all(m in COST_METRICS for m in self.penalty)
        ):
            raise ConfigError(
                "strategy_options.penalty", self.penalty, f"None or a list from {list(COST_METRICS)}"
            )
        if self.targets is not None:
            if not isinstance(self.targets, Mapping):
                raise ConfigError("strategy_options.targets", self.targets, "a mapping of metric to target")
            for metric, target in self.targets.items():
                if metric not in COST_METRICS:
                    raise ConfigError(
                        "strategy_options.targets",
                        metric,
                        unknown_name_message("penalty metric", metric, [*COST_METRICS]),
                    )
                check_float(f"targets.{metric}", target, 1e-12, float("inf"))
            if self.penalty is not None:
                _check_targets(self.targets, self.penalty)

    def _resolve(self, config: SearchConfig) -> DnasOptions:
        penalty = self.penalty
        if penalty is None:
            penalty = tuple(m for m in config.budget if m in COST_METRICS) or tuple(
                m for m in config.objectives if m in COST_METRICS
            )
        targets = (
            dict(self.targets)
            if self.targets is not None
            else {
                m: budget_target(float(limit), self.tolerance)
                for m, limit in config.budget.items()
                if m in penalty
            }
        )
        _check_targets(targets, penalty)
        return replace(self, penalty=penalty, targets=targets)


def budget_target(limit: float, tolerance: float) -> float:
    """The target a budget's ``limit`` sets: the landing takes an architecture whose measured cost is
    within ``tolerance`` of its target, and a budget is a ceiling (a trial over it is infeasible, never
    trained), so the target sits at ``limit / (1 + tolerance)``, the top of its window at the limit."""
    return limit / (1 + tolerance)


def _check_targets(targets: Mapping[str, float], penalty: tuple[str, ...]) -> None:
    for metric in targets:
        if metric not in penalty:
            raise ConfigError(
                "strategy_options.targets", metric, f"targets of penalised metrics only: {list(penalty)}"
            )


#: The registry's view of the options: default and doc of each.
OPTIONS: dict[str, Option] = {f.name: Option(f.default, f.metadata["doc"]) for f in fields(DnasOptions)}
