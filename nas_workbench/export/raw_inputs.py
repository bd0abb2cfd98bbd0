"""The modules an exported model puts in front of its network so that it takes examples as the user has
them (`nas_workbench.export.inputs` says which): `Rows` reshapes rows of features, (N, D), to the
network's (N, 1, 1, D); `Standardize` applies the search's standardisation. `taking_raw_inputs` puts
them in front of a task's network, as the state dict's rebuilt network, TorchScript, ONNX and the report
notebook's ``predict`` hold it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from nas_workbench.export.inputs import feature_count
from nas_workbench.standardization import Standardization
from nas_workbench.task import Task

__all__ = ["Rows", "Standardize", "raw_input_model", "taking_raw_inputs"]


class Rows(nn.Module):
    """Rows of features, (N, D), reshaped to the network's input shape, (N, 1, 1, D). Keeps the batch
    size (traced as the input's, so TorchScript and ONNX take any); (N, 1, 1, D) passes through."""

    def __init__(self, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.input_shape = tuple(int(n) for n in input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.input_shape)


class Standardize(nn.Module):
    """``(x - mean) / std``: the standardisation a search's inputs had (`Standardization`), put in front
    of an exported network so that it takes raw inputs. The statistics are buffers, saved with it."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, standardization: Standardization, input_shape: Sequence[int]) -> None:
        super().__init__()
        shape = tuple(input_shape) if len(standardization.mean) > 1 else ()
        self.register_buffer("mean", torch.tensor(standardization.mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(standardization.std, dtype=torch.float32).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def raw_input_model(
    module: nn.Module, input_shape: Sequence[int], standardization: Standardization | None
) -> nn.Module:
    """``module`` (built for ``input_shape``) behind what makes it take examples as the user has them:
    `Rows` for a network of rows (``rows``), then `Standardize` of ``standardization`` (``standardize``),
    in an ``nn.Sequential`` (``network`` last); ``module`` itself when it needs neither."""
    front: OrderedDict[str, nn.Module] = OrderedDict()
    if feature_count(input_shape) is not None:
        front["rows"] = Rows(input_shape)
    if standardization is not None:
        front["standardize"] = Standardize(standardization, input_shape)
    if not front:
        return module
    return nn.Sequential(OrderedDict([*front.items(), ("network", module)])).eval()


def taking_raw_inputs(model: nn.Module, task: Task) -> nn.Module:
    """``model``, a network of ``task`` (`build_model`, `train_model`), as the exports hold it: taking
    examples as the user has them, a table's raw rows (N, D) or raw images (N, C, H, W), reshaped and
    standardised with ``task``'s statistics inside. ``model`` itself takes ``task``'s tensors.

    >>> predict = taking_raw_inputs(train_model(spec, task), task)
    >>> predict(torch.tensor(rows, dtype=torch.float32))  # rows: the CSV's feature columns, (N, D)
    """
    return raw_input_model(model, task.input_shape, task.standardization)
