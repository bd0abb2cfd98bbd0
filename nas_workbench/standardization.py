"""`Standardization`: the mean and deviation a task's inputs were scaled with, kept so exports can apply it.

`nas_workbench.make_task` scales a search's inputs to zero mean and unit variance with its training
split's statistics (per feature for rows of features, one mean and deviation for images). The networks
it searches therefore take ``(x - mean) / std``, not the raw ``x`` a user has; a study records the
statistics beside its data's identity, and the weight-carrying exports put them in front of the network,
so an exported model takes raw inputs. Plain numbers only: the torch-free core reads and writes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Standardization"]

#: What `Standardization.to_dict` writes beside the numbers, for a reader of a spec file.
NOTE = (
    "the network takes (x - mean) / std of raw inputs x (mean and std: one value for every input value, "
    "in input_shape order, or one for all); the state_dict, torchscript and onnx exports apply it "
    "themselves and take raw inputs"
)


@dataclass(frozen=True)
class Standardization:
    """The statistics inputs are standardised with: ``(x - mean) / std``.

    Attributes:
        mean, std: One value per input value (a row's features, in ``input_shape`` order), or a single
            value for all of them (images). ``std`` is never 0 (make_task adds 1e-8).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, mean: Any, std: Any) -> Standardization:
        """From arrays or numbers (numpy's), flattened."""
        return cls(tuple(float(v) for v in np.ravel(mean)), tuple(float(v) for v in np.ravel(std)))

    def to_dict(self) -> dict[str, Any]:
        """The stored form: ``{"mean": [...], "std": [...], "note": ...}``."""
        return {"mean": list(self.mean), "std": list(self.std), "note": NOTE}

    @classmethod
    def from_dict(cls, stored: Any) -> Standardization | None:
        """Read `to_dict`'s form back; None for anything else (a record of an earlier version)."""
        if not isinstance(stored, Mapping):
            return None
        mean, std = _numbers(stored.get("mean")), _numbers(stored.get("std"))
        if mean is None or std is None or len(mean) != len(std) or not mean:
            return None
        return cls(mean, std)


def _numbers(values: Any) -> tuple[float, ...] | None:
    """``values`` as floats if it is a list of finite numbers, else None."""
    if not isinstance(values, Sequence) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        return None
    return tuple(float(v) for v in values)
