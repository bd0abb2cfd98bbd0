"""Export an architecture: JSON spec, PyTorch weights, TorchScript, ONNX, or its study's report notebook.

Every file carries the `ArchSpec` it was built from, so a model can always be rebuilt and traced back to
its study. The search keeps no weights (models are rebuilt from specs), so weight-carrying exports take
a ``model``: the trained network, or by default the network freshly initialised from the search's seed;
`train_model` trains one at a given fidelity first.

>>> from nas_workbench import export
>>> path = export.export_trial(study, 12, "onnx", "runs/exports/best.onnx", train=True)

The functions work from Python and are what the workbench's buttons and ``nas-workbench export`` call:
`models` writes a network's files, `trials` picks a stored study's trial and its data, `notebook` writes
the report.
"""

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
from nas_workbench.export.trials import FORMATS, export_trial

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
    "train_model",
]
