"""The selected architecture: its layer table or cell graph, its profile, and its export controls.

Shown when the user taps a point of a plot. The drawing comes from `nas_workbench.viz.arch`; exporting
is the workbench's job (it knows the study and the data), reached through ``on_export``. The user picks
a format, then Export; "train first" applies to the formats that carry weights, and is unticked and
disabled, with a note saying why, while a spec or a notebook is picked (they hold none).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import ipywidgets as W
from bokeh.models import ColumnDataSource

from nas_workbench import spaces
from nas_workbench.engine.records import TrialResult
from nas_workbench.exceptions import NasWorkbenchError
from nas_workbench.export.formats import FORMATS, WEIGHT_FORMATS
from nas_workbench.spec import ArchSpec
from nas_workbench.ui._bokeh import PlotModel
from nas_workbench.viz.arch import (
    cell_graph_data,
    cell_graph_figure,
    is_cell_graph,
    layer_table_html,
    profile_table_html,
)

__all__ = ["EXPORT_LABELS", "ArchPanel"]

#: Export buttons: format → label.
EXPORT_LABELS = {
    "spec": "JSON spec",
    "state_dict": "State dict",
    "torchscript": "TorchScript",
    "onnx": "ONNX",
    "notebook": "Report notebook",
}

#: The format picked when the panel opens: a model a user can run, trained first.
DEFAULT_FORMAT = "onnx"

#: Called as ``on_export(format, trial, train, folder)``.
ExportCallback = Callable[[str, TrialResult, bool, str], None]


class ArchPanel:
    """The selected trial's architecture, profile and exports.

    Args:
        on_export: Runs an export the user asked for.
        folder: Where exports go by default.
    """

    def __init__(self, on_export: ExportCallback, folder: str = "runs/exports") -> None:
        assert set(EXPORT_LABELS) == set(FORMATS)
        self.on_export = on_export
        self.result: TrialResult | None = None
        self.title = W.HTML()
        self.layers = W.HTML(layout=W.Layout(flex="0 0 auto"))  # as wide as its table, never cut off
        self.profile = W.HTML(layout=W.Layout(margin="0 0 0 16px"))
        self.folder = W.Text(
            value=folder, description="export to", layout=W.Layout(width="340px", flex="0 0 auto")
        )
        self.format = W.ToggleButtons(
            options=[(label, fmt) for fmt, label in EXPORT_LABELS.items()],
            value=DEFAULT_FORMAT,
            style={"button_width": "auto"},
        )
        self.train = W.Checkbox(
            value=True,
            description="train first (the study's fidelity)",
            indent=False,
            tooltip="without it, weights are saved freshly initialised",
            layout=W.Layout(width="auto"),
        )
        self.train_note = W.HTML(layout=W.Layout(margin="0 0 0 8px"))
        self.export_button = W.Button(
            button_style="primary", icon="download", layout=W.Layout(width="auto", margin="0 0 0 8px")
        )
        self.export_button.on_click(lambda _: self._export())
        self._train_wanted = self.train.value  # the user's choice, kept while a spec or notebook is picked
        self.format.observe(self._format_picked, names="value")
        self._format_picked({"old": None, "new": self.format.value})
        self.message = W.HTML()
        self._nodes = ColumnDataSource(data={"x": [], "y": [], "label": []})
        self._edges: ColumnDataSource | None = None
        self.graph: PlotModel | None = None
        self.drawing = W.Box()
        self.widget = W.VBox(
            [
                self.title,
                W.HBox(  # the profile goes under the layers when both do not fit side by side
                    [self.drawing, self.profile],
                    layout=W.Layout(align_items="flex-start", flex_flow="row wrap"),
                ),
                self.format,  # what, how, where, then go
                W.HBox([self.train, self.train_note], layout=W.Layout(align_items="center")),
                W.HBox([self.folder, self.export_button], layout=W.Layout(align_items="center")),
                self.message,
            ],
            layout=W.Layout(display="none", border="1px solid #ddd", padding="6px", margin="6px 0"),
        )

    def show(self, result: TrialResult | None) -> None:
        """Show ``result`` (None hides the panel)."""
        self.result = result
        self.message.value = ""
        if result is None:
            self.widget.layout.display = "none"
            return
        self.widget.layout.display = ""
        why = f" — {html.escape(result.reason)}" if result.reason else ""
        self.title.value = (
            f"<b>Trial {result.number}</b> ({html.escape(result.status)}{why})<br>"
            f"<code>{html.escape(result.summary or result.arch)}</code>"
        )
        self.profile.value = profile_table_html(result.metrics)
        self._draw(result)

    def _draw(self, result: TrialResult) -> None:
        try:
            spec = ArchSpec.from_dict(result.spec)
            rows = spaces.get(spec.space, **spec.options).describe(spec)
        except (NasWorkbenchError, KeyError, TypeError) as error:  # a spec of a space not registered here
            self.layers.value = f"<i>No description of this architecture: {html.escape(str(error))}</i>"
            self.drawing.children = [self.layers]
            return
        if is_cell_graph(rows):
            nodes, edges = cell_graph_data(rows)
            if self.graph is None:
                self._edges = ColumnDataSource(data=edges)
                self._nodes.data = nodes
                self.graph = PlotModel(cell_graph_figure(self._nodes, self._edges, title="Cell (repeated)"))
            else:
                assert self._edges is not None
                self._nodes.data, self._edges.data = nodes, edges
            self.drawing.children = [self.graph]
        else:
            self.layers.value = layer_table_html(rows)
            self.drawing.children = [self.layers]

    def show_message(self, text: str, error: bool = False) -> None:
        """A line under the buttons: an export's result."""
        color = "#b00020" if error else "#1b5e20"
        self.message.value = f'<span style="color:{color}">{html.escape(text)}</span>'

    def _format_picked(self, change: dict) -> None:
        """Name the format on the Export button; untick and disable "train first", saying why, for a
        format without weights, and give the user's choice back for one with weights."""
        fmt = change["new"]
        self.export_button.description = f"Export {EXPORT_LABELS[fmt]}"
        if fmt in WEIGHT_FORMATS:
            if self.train.disabled:
                self.train.disabled, self.train.value = False, self._train_wanted
            self.train_note.value = ""
            return
        if not self.train.disabled:
            self._train_wanted = self.train.value
            self.train.value, self.train.disabled = False, True
        label = html.escape(EXPORT_LABELS[fmt])
        self.train_note.value = (
            f'<span style="color:#666">{label} files hold no weights: nothing to train</span>'
        )

    def set_busy(self, busy: bool) -> None:
        """Disable the Export button while an export runs."""
        self.export_button.disabled = busy

    def begin_export(self, study_name: str, fmt: str, number: int, train: bool, folder: str) -> Path:
        """Where trial ``number`` of ``study_name`` goes as ``fmt`` in ``folder``; the buttons wait for it
        (`set_busy`) and the line under them says it is under way."""
        stem = "report" if fmt == "notebook" else f"trial{number}"
        path = Path(folder) / f"{study_name}-{stem}{FORMATS[fmt]}"
        self.set_busy(True)
        training = " (training first)" if train and fmt in WEIGHT_FORMATS else ""
        self.show_message(f"Exporting {fmt} to {path}…{training}")
        return path

    def _export(self) -> None:
        """Export the shown trial in the picked format; "train first" counts for formats with weights."""
        if self.result is not None:
            fmt = self.format.value
            train = self.train.value and fmt in WEIGHT_FORMATS
            self.on_export(fmt, self.result, train, self.folder.value.strip() or ".")
