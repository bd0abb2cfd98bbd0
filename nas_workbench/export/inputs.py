"""What an exported model takes: a table's rows as the user has them, (N, D), or images, (N, C, H, W).

A search's network takes examples of its ``input_shape`` (C, H, W), standardised with the training
split's statistics (`nas_workbench.standardization`). `nas_workbench.make_task` makes each row of a table
of D features (a CSV's rows, arrays of shape (N, D)) a (1, 1, D) input; a user calls a model on rows,
not on that shape. So a network built for (1, 1, D) inputs is exported taking rows, (N, D), and any
other taking (N, C, H, W): the state dict's rebuilt network, TorchScript, ONNX and the report notebook's
``predict`` reshape and standardise inside (`nas_workbench.export.raw_inputs`). Every export says what
its model takes (`model_input`), and so do the command line and the widget (`input_summary`). Torch-free:
a study's record is all it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nas_workbench.standardization import Standardization

__all__ = [
    "example_shape",
    "feature_count",
    "input_summary",
    "input_text",
    "inside_text",
    "model_input",
    "model_input_shape",
]

#: What the exports that hold a model are, for the texts that name them.
MODEL_FILES = "the state_dict (load_state_dict), torchscript and onnx exports"


def feature_count(input_shape: Sequence[int]) -> int | None:
    """D when a network built for ``input_shape`` takes rows of D features (``(1, 1, D)``, the shape
    `make_task` gives each row of a table), else None (images)."""
    shape = tuple(int(n) for n in input_shape)
    return shape[2] if len(shape) == 3 and shape[:2] == (1, 1) else None


def example_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of one example an exported model takes: ``(D,)`` for rows of D features, else
    ``(C, H, W)``."""
    features = feature_count(input_shape)
    return (features,) if features is not None else tuple(int(n) for n in input_shape)


def model_input_shape(input_shape: Sequence[int]) -> list[int | str]:
    """The shape an exported model takes, its first dimension the batch (``"batch"``, any size):
    ``["batch", D]`` for rows of D features, else ``["batch", C, H, W]``."""
    return ["batch", *example_shape(input_shape)]


def model_input(input_shape: Sequence[int], standardization: Standardization | None) -> dict[str, Any]:
    """What an exported model takes, as its file records it: ``{"shape": ["batch", 13], "dtype":
    "float32", "what": "rows of 13 raw features, ..."}``."""
    return {
        "shape": model_input_shape(input_shape),
        "dtype": "float32",
        "what": _what(input_shape, standardization),
    }


def _given(input_shape: Sequence[int], standardization: Standardization | None) -> str:
    """The examples an exported model takes, in words: ``"rows of 13 raw features, in the order of the
    data's feature columns"``."""
    raw = "raw " if standardization is not None else ""
    features = feature_count(input_shape)
    if features is not None:
        return f"rows of {features} {raw}features, in the order of the data's feature columns"
    return f"{raw}images of {'x'.join(str(n) for n in input_shape)} (channels x height x width)"


def inside_text(input_shape: Sequence[int], standardization: Standardization | None, detail: bool) -> str:
    """What an exported model does with its inputs before its network sees them, for after `input_text`:
    ``" (reshaped and standardised inside the model)"`` (``detail``: to which shape, with what), or
    nothing when it takes them as they are."""
    steps = []
    if feature_count(input_shape) is not None:
        shape = tuple(int(n) for n in input_shape)
        steps.append(f"reshaped to the network's input_shape {shape}" if detail else "reshaped")
    if standardization is not None:
        steps.append("standardised, (x - mean) / std with standardization" if detail else "standardised")
    return f" ({' and '.join(steps)}{', ' if detail else ' '}inside the model)" if steps else ""


def _what(input_shape: Sequence[int], standardization: Standardization | None) -> str:
    return _given(input_shape, standardization) + inside_text(input_shape, standardization, detail=True)


def _shape_text(shape: Sequence[int | str]) -> str:
    return "(" + ", ".join("N" if n == "batch" else str(n) for n in shape) + ")"


def input_text(input_shape: Sequence[int], standardization: Standardization | None) -> str:
    """What an exported model takes, for a sentence: ``"(N, 13) float32 rows of 13 raw features, in the
    order of the data's feature columns"``."""
    shape = _shape_text(model_input_shape(input_shape))
    return f"{shape} float32 {_given(input_shape, standardization)}"


def input_summary(
    fmt: str,
    input_shape: Sequence[int],
    standardization: Standardization | None,
    class_names: Sequence[str] | None,
) -> str:
    """One line for the command line and the widget, after an export in format ``fmt``: what its model
    takes and what its outputs are (``"It takes (N, 13) float32 rows of 13 raw features, ... (reshaped
    and standardised inside the model); its 3 outputs score the classes a, b, c."``)."""
    given = input_text(input_shape, standardization)
    if fmt == "spec":
        scaled = " standardised as its data.standardization says" if standardization is not None else ""
        network = _shape_text(["batch", *input_shape])
        subject = f"A network built from it takes {network} inputs{scaled}; {MODEL_FILES} of it take {given}"
    elif fmt == "notebook":
        subject = f"Its rebuild code's `predict` takes {given}"
    else:
        subject = f"It takes {given}{inside_text(input_shape, standardization, detail=False)}"
    if not class_names:
        return subject + "."
    more = len(class_names) - 10  # the sentence ends in a full stop: never "sp 17, ...."
    shown = ", ".join(class_names[:10]) + (f" and {more} more" if more > 0 else "")
    return f"{subject}; its {len(class_names)} outputs score the classes {shown}."
