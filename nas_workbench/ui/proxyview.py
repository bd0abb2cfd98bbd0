"""A proxy-guided search's own figures in the workbench (`nas_workbench.viz.proxy`), kept up to date as
its trials finish.

What the sampler recorded on each trial is read from the study (`ProxyHistory.update`); the new rows are
streamed into the figures' two sources, one ``stream()`` each, and the pool's paragraph is replaced. The
document is rendered again only when an estimator appears that the figures do not draw yet: re-rendering
a whole document per batch keeps BokehJS busy enough, on a loaded machine, that the study's other plots
lag behind their data. Methods here must run on the kernel's thread (see `Coalescer`).
"""

from __future__ import annotations

import optuna
from bokeh.models import ColumnDataSource
from bokeh.models.widgets.markups import Div

from nas_workbench.ui._bokeh import PlotModel
from nas_workbench.viz import ProxyHistory, proxy_layout
from nas_workbench.viz.proxy import pool_note

__all__ = ["ProxyView"]


class ProxyView:
    """The figures of ``history`` in one ``BokehModel`` (`widget`).

    Args:
        history: The search's history (maybe empty); `update` adds to it.
        objective: The objective's axis label.
    """

    def __init__(self, history: ProxyHistory, objective: str) -> None:
        self.history = history
        self.objective = objective
        self.widget = PlotModel(self._build())

    def _build(self) -> object:
        layout = proxy_layout(self.history, self.objective)
        self._trials: ColumnDataSource = layout.select_one({"name": "nas_proxy_trials"})
        self._correlations: ColumnDataSource = layout.select_one({"name": "nas_proxy_correlations"})
        self._pool: Div = layout.select_one({"name": "nas_proxy_pool"})
        self._drawn = tuple(self.history.estimators)
        self.layout = layout
        return layout

    def update(self, study: optuna.Study) -> bool:
        """Read the trials of ``study`` that finished since the last call and show them; whether any."""
        if not self.history.update(study):
            return False
        if tuple(self.history.estimators) != self._drawn:  # new columns: the figures change
            self.widget.update_from_model(self._build())
            return True
        for source, columns in (
            (self._trials, self.history.trials),
            (self._correlations, self.history.spearman),
        ):
            sent = len(source.data["number"])
            if len(columns["number"]) > sent:
                source.stream({name: values[sent:] for name, values in columns.items()})
        self._pool.text = pool_note(self.history)
        return True

    def refresh(self) -> None:
        """Re-render the widget from the current data, so a saved notebook shows every row."""
        self.widget.update_from_model(self.layout)
