"""Export an architecture: JSON spec, PyTorch weights, TorchScript, ONNX, or its study's report notebook.

Every file carries the `ArchSpec` it was built from, so a model can always be rebuilt and traced back to
its study. The search keeps no weights (models are rebuilt from specs), so weight-carrying exports take
a ``model``: the trained network, or by default the network freshly initialised from the search's seed;
`train_model` trains one at a given fidelity first.

>>> from nas_workbench import export
>>> path = export.export_trial(study, 12, "onnx", "runs/exports/best.onnx", train=True)

The functions work from Python and are what the workbench's buttons and ``nas-workbench export`` call:
`models` writes a network's files, `trials` picks a stored study's trial and its data, `notebook` writes
the report; `inputs` says what an exported model takes (a table's rows as they are, (N, D), or images)
and `raw_inputs` makes a network take them (`taking_raw_inputs`). They are imported on first use
(importing this package loads no torch); `formats` names the formats without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nas_workbench._lazy import lazy_attributes

if TYPE_CHECKING:
    from nas_workbench.export.formats import FORMATS
    from nas_workbench.export.models import (
        build_model,
        export_onnx,
        export_spec,
        export_state_dict,
        export_torchscript,
        load_state_dict,
        train_model,
    )
    from nas_workbench.export.notebook import export_report_notebook
    from nas_workbench.export.raw_inputs import taking_raw_inputs
    from nas_workbench.export.trials import export_trial

__all__ = [
    "FORMATS",
    "build_model",
    "export_onnx",
    "export_report_notebook",
    "export_spec",
    "export_state_dict",
    "export_torchscript",
    "export_trial",
    "load_state_dict",
    "taking_raw_inputs",
    "train_model",
]

#: Public name → the module that defines it: `models`, but for the four named apart.
_EXPORTS = {
    **dict.fromkeys(__all__, "nas_workbench.export.models"),
    "FORMATS": "nas_workbench.export.formats",
    "export_report_notebook": "nas_workbench.export.notebook",
    "export_trial": "nas_workbench.export.trials",
    "taking_raw_inputs": "nas_workbench.export.raw_inputs",
}

__getattr__ = lazy_attributes(__name__, _EXPORTS)
