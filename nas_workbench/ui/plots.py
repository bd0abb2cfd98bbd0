"""The live plots: the study's figures (built by `nas_workbench.viz`) in one jupyter_bokeh ``BokehModel``.

All figures share one trials source and one Pareto-front source in one Bokeh document, so selecting a
point in one plot selects it in all. Rows arrive in batches (`add`); each batch is one
``ColumnDataSource.stream()`` call, the front is replaced only when it changed, and the batch's changes
(rows, front, fitted axes) reach the browser as one patch. Methods here must run on the kernel's thread
(see `Coalescer`).

Streamed rows are patches: the widget's saved state still holds the document as first rendered, so
`refresh` re-renders it from the current data (at the end of a run), and a saved notebook shows the
final plots.

A gradient-based ("dnas") search also gets the heat map of its architecture weights, one epoch at a
time, in a second ``BokehModel`` (`nas_workbench.viz.alpha`), placed empty at the start and redrawn after
each epoch; a proxy-guided
one its pool, its prior against the trained trials and its trust in each estimator
(`nas_workbench.ui.proxyview`), read from the study's trials as they finish and streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as W
import optuna
from bokeh.layouts import gridplot
from bokeh.models import ColumnDataSource, HoverTool, SaveTool, Tool, Toolbar, ToolProxy

from nas_workbench.config import SearchConfig
from nas_workbench.engine.budget import metrics_to_profile
from nas_workbench.engine.events import Event
from nas_workbench.engine.records import TrialResult
from nas_workbench.ui._bokeh import PlotModel
from nas_workbench.ui._show import StaticImage
from nas_workbench.ui.proxyview import ProxyView
from nas_workbench.viz import DnasHistory, ProxyHistory, TrialTable, make_sources, study_figures
from nas_workbench.viz._state import budget_notes
from nas_workbench.viz.alpha import history_layout
from nas_workbench.viz.figures import fit_tradeoff_axes, metric_axis_label, show_band_labels
from nas_workbench.viz.waiting import show_drawn

__all__ = ["PlotPanel", "recorded_metrics"]


class PlotPanel:
    """The figures of one study, and the table of trials behind them.

    Args:
        on_select: Called with the selected trial when the user taps a point (None: selection cleared).
    """

    def __init__(self, on_select: Callable[[TrialResult | None], None] | None = None) -> None:
        self.on_select = on_select
        self.table = TrialTable(["accuracy"], ["maximize"])
        self.widget: PlotModel | None = None
        self.trials: ColumnDataSource
        self.front: ColumnDataSource
        self.dnas: DnasHistory | None = None
        self.dnas_widget: PlotModel | None = None
        self.proxy: ProxyView | None = None
        #: What the workbench places: the study's figures, then the strategy's own (`show_histories`).
        self.box = W.VBox()
        #: A PNG of the figures beside the widget, for readers of the saved notebook (see `ui._show`).
        self.image = StaticImage()
        self._front_numbers: list[int] = []
        self._figures: list[Any] = []
        self._budget: dict[str, Any] = {}
        self._shown: tuple[Mapping[str, Any], Sequence[str], Mapping[str, str] | None] = ({}, [], None)
        #: Limits edited in the form since the study shown was searched (`follow_budget`).
        self._edited: dict[str, float] = {}

    def reset(
        self,
        table: TrialTable,
        budget: Mapping[str, float | str],
        recorded: Sequence[str],
        budget_notes: Mapping[str, str] | None = None,
    ) -> None:
        """Show ``table`` (a new search, or a study loaded from storage) in new figures, sent whole: one
        message, which is also the widget's saved state. Limits edited before are forgotten."""
        self._draw(table, budget, recorded, budget_notes, {})
        if table.results:  # a study opened with trials: its image shows them
            self.image.update(self.layout)

    def redraw(self, table: TrialTable) -> None:
        """`reset` to ``table``, the same study's trials judged again (a verification on the target
        device), with the budget, metrics, notes and edited limits shown now."""
        self.table = table
        self._rebuild()

    def reset_for(self, config: SearchConfig, resolved: Mapping[str, str] | None = None) -> None:
        """`reset` to a search of ``config`` before its first trial; ``resolved``: the notes of its relative
        limits resolved on this device ("p30 on this CPU"), which the budget lines say with a target
        device's "predicted for pixel3" (`viz._state.budget_notes`)."""
        notes = budget_notes(resolved or {}, config.budget, config.target_device)
        table = TrialTable(config.objectives, config.directions)
        self.reset(table, config.budget, recorded_metrics(config), notes)

    def _draw(
        self,
        table: TrialTable,
        budget: Mapping[str, float | str],
        recorded: Sequence[str],
        budget_notes: Mapping[str, str] | None,
        edited: Mapping[str, float],
    ) -> None:
        self._shown, self._edited = (budget, recorded, budget_notes), dict(edited)
        self.table = table
        self.trials, self.front = make_sources(table)
        self._front_numbers = list(self.front.data["number"])
        figures = study_figures(
            self.trials, self.front, table.objectives, budget, recorded, budget_notes, self._edited
        )
        children: list[Any] = list(figures)
        self._figures = children
        self._budget = dict(budget)
        self.layout = gridplot(children, ncols=2, sizing_mode="stretch_width", merge_tools=False)
        self.layout.toolbar = one_toolbar(children)
        self.trials.selected.on_change("indices", self._selected)
        if self.widget is None:
            self.widget = PlotModel(self.layout)
        else:
            self.widget.update_from_model(self.layout)
        self._place()

    def _rebuild(self) -> None:
        """Build the figures again for the same table (an axis turns logarithmic)."""
        self._draw(self.table, *self._shown, self._edited)
        self.image.update(self.layout)

    def follow_budget(self, budget: Mapping[str, float | str]) -> None:
        """Show ``budget``, just edited in the form. Before the study shown has a trial, its plots are the
        coming search's: their budget lines follow the edit at once (a limit ticked gets its plot). Once
        it has trials, they were judged against the search's own limits, whose lines stay; an edited limit
        is drawn beside them as one (`nas_workbench.viz.budget_line` says why). A relative limit ("p30")
        has no value before a search resolves it, so it draws nothing yet."""
        limits = {m: v for m, v in budget.items() if isinstance(v, int | float)}
        shown, recorded, notes = self._shown
        if not self.table.results:
            self._draw(self.table, dict(budget), list(dict.fromkeys([*recorded, *budget])), None, {})
            return
        edited = {m: v for m, v in limits.items() if shown.get(m) != v}
        if edited != self._edited:
            self._draw(self.table, shown, recorded, notes, edited)

    def new_histories(self, strategy: str, direction: str) -> None:
        """Empty figures of a new search's strategy: a "dnas" search's architecture weights, or a
        "proxy_guided" search's pool, prior and trust (``direction``: its objective's); none for others."""
        self.show_histories(
            DnasHistory() if strategy == "dnas" else None,
            ProxyHistory(direction == "maximize") if strategy == "proxy_guided" else None,
        )

    def show_histories(self, dnas: DnasHistory | None, proxy: ProxyHistory | None) -> None:
        """Show a "dnas" search's ``dnas`` history and a proxy-guided search's ``proxy`` history, both
        placed at once, empty or not: the widgets placed stay the same while the search runs, since
        placing a new one mid-run re-renders the others from their saved state, without the rows streamed
        since (in Chromium the study's plots then stalled); None hides them."""
        self.dnas = dnas
        objective = metric_axis_label(self.table.objectives[0]) if self.table.objectives else "objective"
        self.proxy = None if proxy is None else ProxyView(proxy, objective)
        self._draw_dnas()

    def add_dnas(self, events: Sequence[Event]) -> None:
        """Feed a "dnas" search's events (weights, finished trials); redraw once if an epoch was added."""
        if self.dnas is None:
            return
        changed = False
        for event in events:
            weights, epoch = self.dnas.on_event(event)
            changed = changed or weights is not None or epoch is not None
        if changed:
            self._draw_dnas()

    def add_proxy(self, study: optuna.Study | None) -> None:
        """Read a proxy-guided search's newly finished trials (and what its sampler recorded on them) from
        ``study``; redraw once if there were some."""
        if self.proxy is not None and study is not None:
            self.proxy.update(study)

    def _draw_dnas(self) -> None:
        """Draw the "dnas" history into its widget, the same widget for the whole search (re-rendering
        only its own document, once per epoch)."""
        layout = history_layout(self.dnas) if self.dnas is not None else None
        self.dnas_widget = _redrawn(self.dnas_widget, layout)
        self._place()

    def _place(self) -> None:
        proxy = None if self.proxy is None else self.proxy.widget
        self.box.children = [w for w in (self.widget, self.dnas_widget, proxy) if w is not None]

    def add(self, results: Sequence[TrialResult], study: optuna.Study | None = None) -> None:
        """Append finished trials: one ``stream`` for all of them, a new front only when it changed; for a
        proxy-guided search, what its sampler recorded on them too (read from ``study``). A trial the
        table holds already (read into a table `redraw` showed since it was posted) is not added again."""
        new = [result for result in results if result.number not in self.table.rows_by_number]
        rows = [self.table.row(result) for result in new]
        if rows:
            assert self.widget is not None  # `reset` made it with the sources
            with self.widget.batched():  # the rows, the front and the fitted axes: one patch
                self.trials.stream({name: [row[name][0] for row in rows] for name in rows[0]})
                self._replace_front(self.table.front())
                rescale = fit_tradeoff_axes(self._figures, self.trials, self._budget, self._edited)
                show_band_labels(self._figures, self.trials)
                show_drawn(self._figures, self.trials)
            if rescale:  # the data now spans decades: new figures, sent whole
                self._rebuild()
        self.add_proxy(study)  # after the study's own rows (before them, Chromium drew the last batch late)

    def _replace_front(self, front: dict[str, list[Any]]) -> None:
        if front["number"] != self._front_numbers:
            self._front_numbers = list(front["number"])
            self.front.data = front

    def refresh(self) -> None:
        """Re-render the widget from the current data, so the notebook's saved widget state (and the
        static image beside it) holds it."""
        if self.widget is not None:
            self.widget.update_from_model(self.layout)
            self.image.update(self.layout)
        if self.proxy is not None:
            self.proxy.refresh()

    @property
    def points(self) -> int:
        """Rows in the trials source (what the browser draws)."""
        return len(self.trials.data["number"]) if self.widget is not None else 0

    def _selected(self, attr: str, old: list[int], new: list[int]) -> None:
        """Pass the last selected trial to ``on_select`` (None when nothing is selected). Indices past the
        source's rows are ignored: a tap in the browser can race a stream and select rows the kernel does
        not hold yet (an IndexError from a driver script)."""
        if self.on_select is None:
            return
        numbers = self.trials.data["number"]
        rows = [index for index in new if 0 <= index < len(numbers)]
        self.on_select(self.table.result(int(numbers[rows[-1]])) if rows else None)


def recorded_metrics(config: SearchConfig) -> list[str]:
    """The hardware metrics every trial of a search of ``config`` records (the plots' candidates)."""
    return metrics_to_profile(config.objectives, config.budget, config.profile_metrics)


def one_toolbar(figures: Sequence[Any]) -> Toolbar:
    """One toolbar for every figure of the grid, without Bokeh's logo: a proxy per kind of tool (one per
    tooltip for hover tools) and one save tool for the whole grid, as ``gridplot(merge_tools=True)`` makes
    it. That one compares every property of every tool to group them (30 ms, a tenth of a workbench's
    plots); the figures here differ in their hover tools' tooltips only."""
    groups: dict[tuple[type, str], list[Tool]] = {}
    for fig in figures:
        fig.toolbar_location = None
        for tool in fig.toolbar.tools:
            tooltips = str(tool.tooltips) if isinstance(tool, HoverTool) else ""
            groups.setdefault((type(tool), tooltips), []).append(tool)
    tools: list[Tool | ToolProxy] = [
        SaveTool() if kind is SaveTool else ToolProxy(tools=group) for (kind, _), group in groups.items()
    ]
    return Toolbar(tools=tools, logo=None)


def _redrawn(widget: PlotModel | None, layout: Any | None) -> PlotModel | None:
    """``widget`` showing ``layout`` (a new one when there was none); None when there is nothing to show."""
    if layout is None:
        return None
    if widget is None:
        return PlotModel(layout)
    widget.update_from_model(layout)
    return widget
