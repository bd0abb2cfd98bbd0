"""The export formats and the file suffix each is written with by default, apart from the exporters (they
need torch), so that the widget's export buttons are made without loading them."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FORMATS", "WEIGHT_FORMATS"]

#: The formats of `export_trial`, with the file suffix each is written with by default.
FORMATS: Mapping[str, str] = {
    "spec": ".json",
    "state_dict": ".pt",
    "torchscript": ".torchscript.pt",
    "onnx": ".onnx",
    "notebook": ".ipynb",
}
#: The formats that carry weights: freshly initialised unless trained on export (a study keeps none).
WEIGHT_FORMATS = ("state_dict", "torchscript", "onnx")
