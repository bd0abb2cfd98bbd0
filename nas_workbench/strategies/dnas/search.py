"""The differentiable search loop: the "dnas" strategy's trial producer, which `SearchRun` runs instead of
sampling trials (`nas_workbench.engine.producers`).

One supernet trains by alternating first-order updates (DARTS): a step of the architecture logits on a
batch of the architecture split (cross-entropy plus the hardware term, `arch_step.ArchStep`), then a step
of the network weights on a batch of the weight split (cross-entropy alone). The two splits divide the
task's training split, so the validation split stays what every trial's accuracy is measured on. The
first epoch only warms the weights up, and progressive shrinking drops choices at evenly spaced epochs
(`arch_step`: the remedies against DARTS' collapse). A cost target (``targets``, or the budget) is held by
dual ascent (`penalty`), checked against the cheapest and dearest architectures before the search starts,
and the final architecture is landed within its tolerance by measurement (`landing`).

After each epoch the derived architecture becomes a trial of the run's study: enqueued, claimed through
the engine's scheduler (heartbeats, the plan of ``n_trials``), run through the engine's trial pipeline
like any trial, and scored by the supernet (`WeightSharingScorer`): the standalone network with the
supernet's weights, batch-norm statistics re-estimated for that path, labelled as a weight-sharing
estimate. The trial keeps the architecture weights (``arch_weights``)
and the epoch's figures (``dnas``), and an `ArchitectureWeights` event carries them to the plots. The final
architecture is then enqueued once more and trained standalone by the engine's own trial, at the
configured fidelity: a full trial; with ``retrain_top`` > 1, the next most likely architectures too (the
best of them on validation is the search's result), and the best of them again with new seeds within
``retrain_budget`` times the search's time (`retraining`). So a study of ``n_trials`` holds ``n_trials -
retrain_top`` search epochs, the retrained architectures and the repeats.

A search is not resumed mid-way (the supernet is not stored): a study that already holds a retrained
"dnas" architecture is complete; otherwise a new run searches afresh for the trials left.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from optuna.trial import TrialState
from torch import nn

from nas_workbench.engine import events as ev
from nas_workbench.engine.pipeline import Scorer
from nas_workbench.engine.producers import RunContext
from nas_workbench.engine.scheduler import Objective, plan
from nas_workbench.engine.scorers import TrainingScorer
from nas_workbench.engine.study_record import mark_stopped_itself
from nas_workbench.estimation.trainer import prepare_inputs
from nas_workbench.profiling import LookupTable
from nas_workbench.spec import ArchSpec
from nas_workbench.strategies.dnas import build_supernet
from nas_workbench.strategies.dnas.arch_step import ArchStep, frozen, shrink_epochs
from nas_workbench.strategies.dnas.cost import cost_model
from nas_workbench.strategies.dnas.landing import check_target, land, predicted_costs
from nas_workbench.strategies.dnas.options import MAX_REPEATS, DnasOptions
from nas_workbench.strategies.dnas.penalty import HardwarePenalty
from nas_workbench.strategies.dnas.retraining import Retraining
from nas_workbench.strategies.dnas.supernet import Supernet
from nas_workbench.strategies.dnas.trial_count import trial_plan
from nas_workbench.strategies.dnas.weight_sharing import FineTuneScorer, WeightSharingScorer
from nas_workbench.trial_attrs import DNAS_ATTR, WEIGHTS_ATTR, dnas_info

__all__ = ["SupernetProducer"]

logger = logging.getLogger("nas_workbench")

#: Gradient-norm clip of the network weights (DARTS uses 5).
GRAD_CLIP = 5.0


class SupernetProducer:
    """Produces a "dnas" study's trials: the architectures a supernet derives epoch by epoch, then the
    final one retrained (`nas_workbench.engine.producers.TrialProducer`)."""

    def produce(self, run: RunContext) -> bool:
        """Run the differentiable search of ``run``; True when it is complete, False when stopped or out
        of time."""
        run.prepare_here()
        complete = _DnasSearch(run).search()
        if complete:  # fewer trials than planned may be complete (see `trial_count`): say so to viewers
            mark_stopped_itself(run.storage, run.study_name)
        return complete


@dataclass
class _Data:
    """The weight split, the architecture split (both of the training split) and the validation split."""

    x_weights: torch.Tensor
    y_weights: torch.Tensor
    x_arch: torch.Tensor
    y_arch: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor


class _DnasSearch:
    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.config = run.config
        self.options = DnasOptions.from_config(run.config)
        self.device = torch.device(run.config.device)
        self.deadline = None if run.config.timeout is None else time.monotonic() + run.config.timeout
        self.pipeline = run.pipeline()
        self.input_shape = self.pipeline.networks.input_shape
        self.num_classes = self.pipeline.networks.num_classes

    # -- the run ---------------------------------------------------------------------------------------
    def search(self) -> bool:
        run, config, options = self.run, self.config, self.options
        search_started = time.perf_counter()  # the search's wall time sizes the retraining's budget
        # architectures to try first, and those left to retrain by a stopped search: trained
        self._run_waiting(self.pipeline.objective(run.scorer()))
        if self._retrained_before():
            return True
        trials_left = config.n_trials - run.trials_done()
        if trials_left <= 0:
            return True
        epochs, retrains = trial_plan(trials_left, options)

        torch.manual_seed(config.seed)
        supernet = build_supernet(
            run.space,
            self.input_shape,
            self.num_classes,
            fixed=config.fixed_choices,
            width_multiplier=config.fidelity.width_multiplier,
        ).to(self.device)
        supernet.hard_samples = options.sampled_paths
        penalty = self._penalty(supernet)
        data = self._splits()
        steps_per_epoch = math.ceil(len(data.y_weights) / config.fidelity.batch_size)
        weight_step, arch_optimizer = self._optimizers(supernet, epochs * steps_per_epoch)
        generator = torch.Generator().manual_seed(config.seed)
        logger.info("dnas: %d epochs, supernet of %d decisions", epochs, len(supernet.decisions))
        warmup = min(options.warmup_epochs, epochs - 1)  # at least one epoch searches
        shrinks = shrink_epochs(supernet, options.shrink_to, warmup, epochs)
        gumbel = options.gumbel or options.sampled_paths  # sampled paths are hard Gumbel samples
        for epoch in range(1, epochs + 1):
            started = time.perf_counter(), time.process_time()
            temperature = self._temperature(epoch, epochs) if gumbel else None
            searching = epoch > warmup
            supernet.temperature = options.softmax_temperature ** (
                max(epoch - warmup, 0) / max(epochs - warmup, 1)
            )
            beta = options.beta_regularisation * (epoch - warmup) / max(epochs - warmup, 1)
            losses = self._epoch(
                supernet,
                ArchStep(arch_optimizer, penalty, beta, 1 / steps_per_epoch) if searching else None,
                data,
                weight_step,
                temperature,
                generator,
            )
            if losses is None:
                return False
            dropped = supernet.shrink(options.shrink_to) if epoch in shrinks else 0
            spec = supernet.derive()
            # the supernet's epoch, without the trial that logs it: wall and CPU seconds (of this process)
            seconds = {
                "seconds": time.perf_counter() - started[0],
                "cpu_seconds": time.process_time() - started[1],
            }
            figures = {**losses, "temperature": temperature, "dropped": dropped, **seconds}
            self._log_search_trial(supernet, penalty, spec, epoch, figures, data)
        if not options.retrain:
            return True
        if self._must_end():
            return False
        distinct = options.retrain_distinct and options.retrain_budget > 0  # candidates for the budget too
        count = retrains + (MAX_REPEATS if distinct else 0)
        landings = land(supernet, penalty, self._measure, options.tolerance, config.seed, count)
        for landing in landings:
            logger.info("dnas: to retrain %s, %s", run.space.format(landing.spec), landing.to_dict())
        info = {"phase": "retrain", "epoch": epochs, "expected": _expected(penalty, supernet),
                "targets": dict(penalty.targets)}  # fmt: skip
        Retraining(
            run, self._retraining(supernet), self._run_scored, options.retrain_budget,
            time.perf_counter() - search_started, self._must_end, self.deadline,
        ).retrain([
            (landing.spec, {**info, "landing": landing.to_dict() if penalty.targets else None})
            for landing in landings
        ], retrains)  # fmt: skip
        return not run.stop.is_set()

    def _must_end(self) -> bool:
        """Whether the run was stopped or ran out of time."""
        return self.run.stop.is_set() or (self.deadline is not None and time.monotonic() > self.deadline)

    # -- set-up ----------------------------------------------------------------------------------------
    def _penalty(self, supernet: Supernet) -> HardwarePenalty:
        options, config = self.options, self.config
        metrics, targets = options.penalty or (), options.targets or {}  # resolved: never None here
        table = LookupTable.for_device(config.device, config.threads) if "latency_ms" in metrics else None
        models = {
            metric: cost_model(
                supernet,
                metric,
                config.latency_batch_size,
                table,
                device=config.device,
                threads=config.threads,
            )
            for metric in metrics
        }
        penalty = HardwarePenalty(
            models, options.penalty_weight, targets, supernet.probabilities(), options.target_rate
        )
        explicit = "targets" in config.strategy_options  # else the budget's limits
        for metric in list(penalty.targets):
            field = f"strategy_options.targets.{metric}" if explicit else f"budget.{metric}"
            check_target(supernet, penalty, metric, self._measure, options.tolerance, field, explicit)
        return penalty

    def _measure(self, spec: ArchSpec) -> dict[str, float]:
        """The penalised metrics of ``spec``, measured as a trial's are (`TrialPipeline.measure`)."""
        measured = self.pipeline.measure(spec, list(self.options.penalty or ()))
        return {metric: m.value for metric, m in measured.items()}

    def _optimizers(
        self, supernet: Supernet, steps: int
    ) -> tuple[
        tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler], torch.optim.Optimizer | None
    ]:
        """AdamW with a cosine schedule over ``steps`` for the weights (as the trainer's), Adam for the
        architecture logits (DARTS: betas 0.5, 0.999); None when every decision is fixed."""
        fidelity, options = self.config.fidelity, self.options
        weights = torch.optim.AdamW(
            supernet.weight_parameters(),
            lr=options.weight_learning_rate or fidelity.learning_rate,
            weight_decay=fidelity.weight_decay,
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weights, T_max=steps)
        logits = supernet.arch_parameters()
        arch = (
            torch.optim.Adam(
                logits,
                lr=options.arch_learning_rate,
                betas=(0.5, 0.999),
                weight_decay=options.arch_weight_decay,
            )
            if logits
            else None
        )
        return (weights, schedule), arch

    def _splits(self) -> _Data:
        task, fidelity = self.run.task(), self.config.fidelity
        generator = torch.Generator().manual_seed(self.config.seed)
        x, y = task.x_train, task.y_train
        if fidelity.subset < 1.0:
            keep = torch.randperm(len(y), generator=generator)[: max(2, round(fidelity.subset * len(y)))]
            x, y = x[keep], y[keep]
        x = prepare_inputs(x, fidelity)
        order = torch.randperm(len(y), generator=generator)
        n_arch = min(len(y) - 1, max(1, round(self.options.arch_split * len(y))))
        arch, weights = order[:n_arch], order[n_arch:]
        return _Data(
            x[weights].to(self.device),
            y[weights].to(self.device),
            x[arch].to(self.device),
            y[arch].to(self.device),
            prepare_inputs(task.x_valid, fidelity),
            task.y_valid,
        )

    def _temperature(self, epoch: int, epochs: int) -> float:
        """The Gumbel-softmax temperature, geometric from `temperature` down to `final_temperature`."""
        start, end = self.options.temperature, self.options.final_temperature
        return start * (end / start) ** ((epoch - 1) / max(epochs - 1, 1))

    # -- one epoch -------------------------------------------------------------------------------------
    def _epoch(
        self,
        supernet: Supernet,
        arch_step: ArchStep | None,
        data: _Data,
        weight_step: tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler],
        temperature: float | None,
        generator: torch.Generator,
    ) -> dict[str, float] | None:
        """One pass over the weight split, each weight step after an architecture step (none while warming
        up); the mean losses, or None when the run was stopped or timed out."""
        batch_size = self.config.fidelity.batch_size
        weight_optimizer, schedule = weight_step
        order_w = torch.randperm(len(data.y_weights), generator=generator).to(self.device)
        order_a = torch.randperm(len(data.y_arch), generator=generator).to(self.device)
        gumbel, tau = temperature is not None, temperature or 1.0
        weight_parameters = supernet.weight_parameters()
        supernet.train()
        totals = {"train_loss": 0.0, "arch_loss": 0.0, "penalty": 0.0}
        steps = 0
        for step, start in enumerate(range(0, len(order_w), batch_size)):
            if self._must_end():
                return None
            if arch_step is not None:
                batch = order_a[(step * batch_size) % len(order_a) :][:batch_size]
                with frozen(weight_parameters):  # no gradients for the weights
                    loss, hardware = arch_step(supernet, data.x_arch[batch], data.y_arch[batch], gumbel, tau)
                totals["arch_loss"] += loss
                totals["penalty"] += hardware
            batch = order_w[start : start + batch_size]
            with torch.no_grad():
                weights = supernet.mixing_weights(gumbel, tau)
            loss_w = F.cross_entropy(supernet(data.x_weights[batch], weights), data.y_weights[batch])
            if not torch.isfinite(loss_w):
                raise FloatingPointError(f"the supernet's training loss became {loss_w.item()}")
            weight_optimizer.zero_grad(set_to_none=True)
            loss_w.backward()
            nn.utils.clip_grad_norm_(weight_parameters, GRAD_CLIP)
            weight_optimizer.step()
            schedule.step()
            totals["train_loss"] += loss_w.item()
            steps += 1
        return {key: value / max(steps, 1) for key, value in totals.items()}

    # -- trials ----------------------------------------------------------------------------------------
    def _log_search_trial(
        self,
        supernet: Supernet,
        penalty: HardwarePenalty,
        spec: ArchSpec,
        epoch: int,
        figures: dict[str, Any],
        data: _Data,
    ) -> None:
        """Log ``spec`` as a trial of the study: run like any trial, but scored by the supernet."""
        costs = self._costs(supernet, penalty, spec)
        table = supernet.table()
        attrs = {DNAS_ATTR: {"phase": "search", "epoch": epoch, **costs, **figures}, WEIGHTS_ATTR: table}
        run = self.run
        run.study.enqueue_trial(dict(spec.choices), user_attrs=attrs)
        waiting = run.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        run.emit(
            ev.ArchitectureWeights(
                run.study_name, epoch=epoch, number=waiting[-1].number, arch=run.space.format(spec),
                weights=table, expected=costs["expected"], targets=costs["targets"],
                derived=costs["derived"], measured=costs["measured"], separation=costs["separation"],
            )
        )  # fmt: skip
        self._run_waiting(
            self.pipeline.objective(
                WeightSharingScorer(
                    run, supernet, spec, epoch, data.x_weights, (data.x_valid, data.y_valid),
                    costs["expected"],
                ),
                reuse=False,
            )
        )  # fmt: skip

    def _costs(self, supernet: Supernet, penalty: HardwarePenalty, spec: ArchSpec) -> dict[str, Any]:
        """What the epoch plot draws: each penalised metric's target, its expected value under the
        weights, the derived architecture's predicted and measured cost; the multipliers, how separated
        the weights are and whether the collapse guard repaired the argmax."""
        predicted = predicted_costs(supernet, penalty, spec)
        measured: dict[str, float] = {}
        if penalty.targets:  # measured like a trial's, to correct the cost model towards the device
            measured = {m: self._measure(spec)[m] for m in penalty.targets}
            for metric, value in measured.items():
                penalty.observe(metric, predicted[metric] / penalty.correction(metric), value)
        return {
            "expected": _expected(penalty, supernet),
            "targets": dict(penalty.targets),
            "derived": predicted,
            "measured": measured,
            "multipliers": dict(penalty.multipliers),
            "separation": supernet.separation(),
            "guarded": spec != supernet.derive(guard=False),
        }

    def _retraining(self, supernet: Supernet) -> Scorer:
        """The run's own scorer, or fine-tuning from the supernet's weights (``finetune_epochs``)."""
        run, epochs = self.run, self.options.finetune_epochs
        if not epochs or run.evaluate is not None:  # the user's evaluate() trains nothing
            return run.scorer()
        config = replace(run.config, fidelity=replace(run.config.fidelity, epochs=epochs))
        return FineTuneScorer(TrainingScorer(config, run.task(), run.emit, run.study_name), supernet)

    def _run_scored(self, scorer: Scorer) -> None:
        """Run the study's waiting trials scored by ``scorer`` (each architecture trained, none reused)."""
        self._run_waiting(self.pipeline.objective(scorer, reuse=False))

    def _run_waiting(self, objective: Objective) -> None:
        """Run the study's waiting trials through the engine's scheduler (heartbeats, failures, events)."""
        trials = self.run.study.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            # the plan ends with the waiting trials: nothing is added
            self.run.run_trials(objective, len(plan(trials, len(trials))))

    def _retrained_before(self) -> bool:
        return any(
            dnas_info(t).get("phase") == "retrain"
            for t in self.run.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        )


def _expected(penalty: HardwarePenalty, supernet: Supernet) -> dict[str, float]:
    with torch.no_grad():
        return {metric: float(value) for metric, value in penalty.expected(supernet.probabilities()).items()}
