"""The export formats and the file suffix each is written with by default, apart from the exporters (they
need torch), so that the widget's export buttons are made without loading them."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FORMATS"]

#: The formats of `export_trial`, with the file suffix each is written with by default.
FORMATS: Mapping[str, str] = {
    "spec": ".json",
    "state_dict": ".pt",
    "torchscript": ".torchscript.pt",
    "onnx": ".onnx",
    "notebook": ".ipynb",
}
