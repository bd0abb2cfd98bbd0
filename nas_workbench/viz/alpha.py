"""Figures of a differentiable search: the architecture weights per epoch (a heat map of α per decision and
choice) beside the derived architecture's accuracy and cost per epoch (its measured cost, the expected cost
under the weights and the target: latency, or the metric the search holds to a target). Pure Bokeh, like
`figures`.

`DnasHistory` turns a "dnas" run into columns, from live events (`ArchitectureWeights`, then the
`TrialFinished` of the trial that logs the epoch's architecture) or from a stored study (the trials'
``dnas`` and ``arch_weights`` attributes). The heat map holds every epoch's rows and shows one epoch at a
time through a `GroupFilter` that its slider moves, so a saved report keeps every epoch without a server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna
from bokeh.layouts import column
from bokeh.models import (
    BasicTicker,
    CDSView,
    ColumnDataSource,
    CustomJS,
    FactorRange,
    GroupFilter,
    HoverTool,
    LinearAxis,
    Range1d,
)
from bokeh.models.annotations import Legend
from bokeh.models.widgets import Slider
from bokeh.plotting import figure
from bokeh.transform import linear_cmap

from nas_workbench.engine.events import ArchitectureWeights, TrialFinished
from nas_workbench.engine.records import TrialResult, trial_results
from nas_workbench.metrics import METRICS
from nas_workbench.trial_attrs import dnas_info, dnas_weights, stored_label

__all__ = ["DnasHistory", "alpha_heatmap", "dnas_layout", "epoch_figure", "history_layout"]

_ALPHA_COLUMNS = ("epoch", "decision", "choice", "slot", "probability", "label")
_EPOCH_COLUMNS = (
    "epoch",
    "number",
    "arch",
    "accuracy",
    "cost",
    "expected_cost",
    "target_cost",
    "separation",
)


class DnasHistory:
    """The columns of the α heat map (one row per epoch, decision and choice) and of the epoch figure
    (one row per epoch: the derived architecture's weight-sharing accuracy, its measured cost, the
    expected cost under the weights, the target and how separated the weights are).

    The cost is of `metric`: the first metric the search holds to a target, else latency."""

    def __init__(self) -> None:
        self.alpha: dict[str, list[Any]] = {name: [] for name in _ALPHA_COLUMNS}
        self.epochs: dict[str, list[Any]] = {name: [] for name in _EPOCH_COLUMNS}
        self.decisions: list[str] = []
        self.slots: list[str] = []
        self.targets: dict[str, float] = {}
        self._pending: dict[int, dict[str, Any]] = {}

    # -- filling ---------------------------------------------------------------------------------------
    def add_weights(
        self,
        epoch: int,
        number: int,
        arch: str,
        weights: Mapping[str, Mapping[str, float]],
        expected: Mapping[str, float],
        targets: Mapping[str, float] | None = None,
        measured: Mapping[str, float] | None = None,
        separation: float = math.nan,
    ) -> dict[str, list[Any]]:
        """Record one epoch's weights and costs (``measured``: the derived architecture's, when the search
        measured it); return the heat-map rows added (the shape ``stream()`` takes)."""
        added: dict[str, list[Any]] = {name: [] for name in _ALPHA_COLUMNS}
        shared = (
            len({tuple(choices) for choices in weights.values()}) == 1
        )  # a cell space: same ops everywhere
        for decision, choices in weights.items():
            if decision not in self.decisions:
                self.decisions.append(decision)
            for index, (choice, p) in enumerate(choices.items()):
                slot = choice if shared else f"choice {index + 1}"
                if slot not in self.slots:
                    self.slots.append(slot)
                label = f"{p:.2f}" if shared else f"{choice}\n{p:.2f}"  # shared: the column names the choice
                row = (str(epoch), decision, choice, slot, float(p), label)
                for name, value in zip(_ALPHA_COLUMNS, row, strict=True):
                    added[name].append(value)
                    self.alpha[name].append(value)
        self.targets.update(targets or {})
        self._pending[number] = {
            "epoch": epoch, "arch": arch, "expected": dict(expected), "targets": dict(targets or {}),
            "measured": dict(measured or {}), "separation": separation,
        }  # fmt: skip
        return added

    def add_result(self, result: TrialResult) -> dict[str, list[Any]] | None:
        """Record the trial that logged an epoch's architecture; return its epoch row (None for others)."""
        pending = self._pending.pop(result.number, None)
        if pending is None:
            return None
        row = {
            "epoch": pending["epoch"],
            "number": result.number,
            "arch": pending["arch"],
            "accuracy": _value(result, "accuracy"),
            "cost": pending["measured"].get(self.metric, _value(result, self.metric)),
            "expected_cost": pending["expected"].get(self.metric, math.nan),
            "target_cost": pending["targets"].get(self.metric, math.nan),
            "separation": pending["separation"],
        }
        for name, value in row.items():
            self.epochs[name].append(value)
        return {name: [value] for name, value in row.items()}

    def on_event(self, event: Any) -> tuple[dict[str, list[Any]] | None, dict[str, list[Any]] | None]:
        """Feed a live event; returns (heat-map rows, epoch row) to stream, each None when nothing changed."""
        if isinstance(event, ArchitectureWeights):
            return self.add_weights(
                event.epoch, event.number, event.arch, event.weights, event.expected, event.targets,
                event.measured, event.separation,
            ), None  # fmt: skip
        if isinstance(event, TrialFinished):
            return None, self.add_result(TrialResult.from_event(event))
        return None, None

    @classmethod
    def from_study(cls, study: optuna.Study) -> DnasHistory:
        """The history of a stored "dnas" study (empty for other studies)."""
        history = cls()
        for trial in study.get_trials(deepcopy=False):
            weights = dnas_weights(trial)
            if weights is not None:
                info = dnas_info(trial)
                history.add_weights(
                    info["epoch"],
                    trial.number,
                    stored_label(trial, summary=False),
                    weights,
                    info.get("expected", {}),
                    info.get("targets", {}),
                    info.get("measured", {}),
                    info.get("separation", math.nan),
                )
        for result in trial_results(study):
            history.add_result(result)
        return history

    @property
    def metric(self) -> str:
        """The metric of the cost columns: the first one held to a target, else latency."""
        return next(iter(self.targets), "latency_ms")

    @property
    def last_epoch(self) -> int:
        return max((int(e) for e in self.alpha["epoch"]), default=0)


def _value(result: TrialResult, metric: str) -> float:
    value = result.value(metric)
    return math.nan if value is None else value


def alpha_heatmap(source: ColumnDataSource, history: DnasHistory) -> tuple[figure, Slider]:
    """The heat map of the architecture weights of one epoch, and the slider that picks the epoch.

    Args:
        source: Heat-map rows (`DnasHistory.alpha`), all epochs; more may be streamed in.
        history: Gives the decisions (rows, first at the top) and choice slots (columns).
    """
    epoch = history.last_epoch
    view = CDSView(filter=GroupFilter(column_name="epoch", group=str(epoch)))
    fig = figure(
        title=f"Architecture weights, epoch {epoch}",
        x_range=FactorRange(factors=list(history.slots)),
        y_range=FactorRange(factors=list(reversed(history.decisions))),
        height=max(220, 34 * len(history.decisions) + 90),  # a row holds a two-line label
        sizing_mode="stretch_width",
        tools="hover,save",
        tooltips=[("decision", "@decision"), ("choice", "@choice"), ("weight", "@probability{0.000}")],
        toolbar_location=None,  # hover works without; the workbench shows one toolbar, its plots'
        name="nas_alpha_heatmap",
    )
    cells = fig.rect(
        x="slot", y="decision", width=0.96, height=0.92, source=source, view=view, line_color=None,
        fill_color=linear_cmap("probability", "Viridis256", 0.0, 1.0), name="nas_alpha_cells",
    )  # fmt: skip
    fig.add_layout(cells.construct_color_bar(title="weight", width=10), "right")
    fig.text(
        x="slot", y="decision", text="label", source=source, view=view, text_align="center",
        text_baseline="middle", text_font_size="8pt", text_color="white",
    )  # fmt: skip
    fig.xaxis.major_label_orientation = 0.6
    fig.grid.visible = False
    slider = Slider(
        start=1, end=max(epoch, 2), value=max(epoch, 1), step=1, title="Epoch", name="nas_alpha_epoch"
    )
    slider.js_on_change(
        "value",
        CustomJS(
            args={"view": view, "source": source, "fig": fig},
            code="view.filter.group = String(cb_obj.value); fig.title.text = 'Architecture weights, epoch ' "
            "+ cb_obj.value; source.change.emit();",
        ),
    )
    return fig, slider


def epoch_figure(source: ColumnDataSource, metric: str = "latency_ms") -> figure:
    """The derived architecture per epoch: weight-sharing accuracy (left axis), its measured cost, the
    expected cost under the weights and the target (right axis), of ``metric``.

    Args:
        source: Epoch rows (`DnasHistory.epochs`).
        metric: The cost's metric (`DnasHistory.metric`), which labels the axis.
    """
    fig = figure(
        title="Derived architecture per epoch",
        x_axis_label="Epoch",
        y_axis_label="Validation accuracy (weight sharing)",
        y_range=Range1d(start=0, end=1),
        height=300,
        sizing_mode="stretch_width",
        tools="pan,box_zoom,reset,save",
        toolbar_location=None,  # the workbench shows one toolbar, its plots'
        name="nas_dnas_epochs",
    )
    fig.xaxis.ticker = BasicTicker(min_interval=1)  # whole epochs: three were ticked 1, 1.5, 2, 2.5, 3
    accuracy = fig.line("epoch", "accuracy", source=source, line_width=2, legend_label="accuracy")
    fig.scatter("epoch", "accuracy", source=source, size=7)
    # the cost series that hold a value (a search without a cost target or measurement draws none of them:
    # no empty legend entries); the figure is rebuilt as epochs arrive, so a later value adds its series
    series = {"cost": ("measured", "solid"), "expected_cost": ("expected (weights)", "dotted"),
              "target_cost": ("target", "dashed")}  # fmt: skip
    drawn = {name: [v for v in source.data.get(name, []) if v == v] for name in series}
    drawn = {name: values for name, values in drawn.items() if values}
    if drawn:
        top = max(v for values in drawn.values() for v in values) * 1.2 or 1e-3
        label = METRICS[metric].label if metric in METRICS else metric
        fig.extra_y_ranges = {"cost": Range1d(start=0, end=top)}
        fig.add_layout(LinearAxis(y_range_name="cost", axis_label=label), "right")
    for name in drawn:
        legend, dash = series[name]
        fig.line(
            "epoch", name, source=source, y_range_name="cost", color="#d62728", line_width=2,
            line_dash=dash, legend_label=legend,
        )  # fmt: skip
    fig.add_tools(
        HoverTool(
            renderers=[accuracy],
            tooltips=[("epoch", "@epoch"), ("architecture", "@arch"), ("separated", "@separation{0%}")],
        )
    )
    # beside the plot: inside, at the bottom left, it hid the first epochs, whose accuracy is near chance
    # (tutorial 04's rendered copy)
    key: Legend = fig.legend[0]
    fig.center = [item for item in fig.center if item is not key]
    fig.add_layout(key, "right")
    key.click_policy = "hide"
    return fig


def dnas_layout(study: optuna.Study) -> Any | None:
    """The heat map with its slider beside the epoch figure for a stored "dnas" study; None for others."""
    history = DnasHistory.from_study(study)
    return history_layout(history) if history.decisions else None


def history_layout(history: DnasHistory) -> Any:
    """The heat map with its slider beside the epoch figure, for the epochs ``history`` holds so far."""
    heatmap, slider = alpha_heatmap(ColumnDataSource(history.alpha, name="nas_alpha"), history)
    epochs = epoch_figure(ColumnDataSource(history.epochs, name="nas_dnas_epochs"), history.metric)
    return column(slider, heatmap, epochs, sizing_mode="stretch_width")
