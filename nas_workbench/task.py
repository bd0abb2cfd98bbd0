"""`Task`: the data a search trains and evaluates on, as train / validation / test tensors.

The default task is scikit-learn's digits (1,797 8x8 grey images, 10 classes), which ships inside
scikit-learn, so nothing is downloaded. Users bring numpy arrays (or pandas tables and columns), a torch
``Dataset`` or a ``DataLoader``.
Architectures are chosen on the validation split; the test split is only reported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from nas_workbench.exceptions import ConfigError
from nas_workbench.labels import encode_labels
from nas_workbench.standardization import Standardization

__all__ = ["Task", "load_task", "make_task"]

#: The shapes `make_task` takes for its examples.
_X_SHAPES = "(N, C, H, W) or (N, H, W) images, or (N, D) rows of features"


@dataclass(frozen=True, eq=False)
class Task:
    """A classification task held in memory as float32 images and int64 labels.

    Attributes:
        name: A label for reports ("digits", "arrays", ...).
        input_shape: One example's shape, (C, H, W).
        num_classes: Number of classes; labels are 0..num_classes-1.
        x_train, y_train, x_valid, y_valid, x_test, y_test: The splits.
        class_names: What each class is, by index (a CSV's label values, the digits "0".."9", labels
            0..K-1 given as they are "0".."K-1"): the study records them and every export names its
            outputs with them; None when unknown (a `Task` built by hand).
        standardization: The training split's statistics the examples were scaled with (`make_task`'s
            ``standardize``): the study records them and the weight-carrying exports apply them, so an
            exported model takes raw examples; None when the examples are as given.
        source: How to load the data again, as `load_task` takes it: a data file's settings (``{"path":
            "wine.csv", "label": "class"}``), which the study records for its report notebook; None for
            data from Python.
    """

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...] | None = None
    standardization: Standardization | None = None
    source: Mapping[str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"Task({self.name!r}, input_shape={self.input_shape}, num_classes={self.num_classes}, "
            f"train={len(self.y_train)}, valid={len(self.y_valid)}, test={len(self.y_test)})"
        )


def _split_indices(labels: np.ndarray, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Stratified split of ``range(len(labels))`` into parts of the given fractions."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(bounds * len(members)).astype(int)
        for part, chunk in zip(parts, np.split(members, cuts), strict=True):
            part.extend(chunk.tolist())
    return [rng.permutation(np.asarray(part, dtype=np.int64)) for part in parts]


def make_task(
    x: Any,
    y: Any,
    name: str = "arrays",
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    split: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    standardize: bool = True,
    class_names: Sequence[str] | None = None,
) -> Task:
    """Build a `Task` from arrays of examples and class labels, split stratified into train/valid/test.

    ``x`` and ``y`` may be anything ``np.asarray`` reads, or have a ``to_numpy()`` (a pandas DataFrame and
    Series: no pandas is needed otherwise).

    Args:
        x: Examples, shape (N, C, H, W), (N, H, W) (a channel is added) or (N, D): a table of rows, each
            a 1xD input (``input_shape`` (1, 1, D)), as a CSV file's rows are.
        y: Class labels, shape (N,). Integers 0..K-1 are the classes, each named by its value (``"0"``,
            ``"1"``, ...: scikit-learn's ``classes_`` are the label values too); any other labels (text,
            integers with gaps, floats that are integers, booleans) are encoded as a CSV's label column is
            (`nas_workbench.labels`: classes in the order of their values), each class named by its label.
        input_shape: Shape (C, H, W) of one example when ``x`` is flat (default (1, 1, D); flattened
            images can say theirs).
        num_classes: Defaults to ``max(y) + 1``.
        split: Fractions of train, validation and test; they must sum to 1.
        seed: Seed of the split.
        standardize: Scale inputs to zero mean and unit variance using the training split's statistics:
            flat examples (``x`` of shape (N, D)) feature by feature, as scikit-learn's StandardScaler
            does, since tabular features come in unrelated units (one in thousands would swamp the
            rest); images with one mean and deviation over all their values, which keeps the contrast
            between pixels and channels. The statistics are kept (`Task.standardization`) and exported
            models apply them, so they take raw examples.
        class_names: The name of each class, by label (``["benign", "malignant"]`` for labels 0 and 1);
            default: the labels' own values, as text.
    """
    x_arr = _numeric(x, "dataset.x", f"numbers in an array of one shape: {_X_SHAPES}")
    flat = x_arr.ndim == 2
    y_arr = _array(y, "dataset.y", "class labels (integers or text), shape (N,)")
    if x_arr.ndim < 2 or 0 in x_arr.shape[1:]:  # no examples are caught below, with their count
        raise ConfigError("dataset.x", f"shape {x_arr.shape}", f"{_X_SHAPES}, each of at least one value")
    if y_arr.ndim != 1 or len(y_arr) != len(x_arr):
        raise ConfigError("dataset.y", f"shape {y_arr.shape}", f"labels of shape ({len(x_arr)},) to match x")
    if not _class_indices(y_arr, num_classes):
        y_arr, found = encode_labels(y_arr, "dataset.y", f"{len(y_arr)} labels of dtype {y_arr.dtype}")
        class_names = found if class_names is None else class_names
    if len(x_arr) < 10:
        raise ConfigError("dataset.x", f"{len(x_arr)} examples", "at least 10 examples")
    if not np.isfinite(x_arr).all():
        bad = int((~np.isfinite(x_arr)).reshape(len(x_arr), -1).any(axis=1).sum())
        raise ConfigError("dataset.x", f"{bad} examples with NaN or infinite values", "finite numbers only")
    if input_shape is None and flat:
        input_shape = (1, 1, x_arr.shape[1])  # a row of features: a 1xD "image"
    if input_shape is not None:
        if len(input_shape) != 3:
            raise ConfigError(
                "dataset.input_shape",
                tuple(input_shape),
                "the shape of one example as three numbers (C, H, W), for example "
                f"input_shape=(1, 1, {x_arr[0].size}) for {x_arr[0].size} flat features",
            )
        try:
            x_arr = x_arr.reshape(len(x_arr), *input_shape)
        except ValueError:
            raise ConfigError(
                "dataset.input_shape", tuple(input_shape), f"a shape that holds {x_arr[0].size} values"
            ) from None
    elif x_arr.ndim == 3:
        x_arr = x_arr[:, None]
    if x_arr.ndim != 4:
        raise ConfigError("dataset.x", f"shape {x_arr.shape}", _X_SHAPES)
    classes = int(y_arr.max()) + 1 if num_classes is None else num_classes
    if y_arr.min() < 0 or y_arr.max() >= classes:
        raise ConfigError(
            "dataset.y", f"labels in [{y_arr.min()}, {y_arr.max()}]", f"labels in [0, {classes - 1}]"
        )
    if len(split) != 3 or abs(sum(split) - 1.0) > 1e-6 or min(split) <= 0:
        raise ConfigError(
            "dataset.split", tuple(split), "three positive fractions (train, valid, test) summing to 1"
        )
    if len(np.unique(y_arr)) < 2:
        raise ConfigError("dataset.y", f"only class {y_arr[0]}", "labels of at least two classes")
    names = _class_names(class_names, classes)
    train, valid, test = _split_indices(y_arr, split, seed)
    for part, index in (("train", train), ("validation", valid), ("test", test)):
        if len(index) == 0:
            raise ConfigError(
                "dataset.split",
                tuple(split),
                f"fractions that leave examples in every split (the {part} split of {len(y_arr)} examples "
                f"in {len(np.unique(y_arr))} classes is empty: give more examples or a larger fraction)",
            )
    scaling = None
    if standardize:
        axis = 0 if flat else None  # per feature for flat examples, over everything for images
        mean, std = x_arr[train].mean(axis=axis), x_arr[train].std(axis=axis) + 1e-8
        x_arr = (x_arr - mean) / std
        scaling = Standardization.of(mean, std)

    def tensors(index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(x_arr[index])), torch.from_numpy(
            y_arr[index].astype(np.int64)
        )

    splits = (*tensors(train), *tensors(valid), *tensors(test))
    return Task(name, tuple(x_arr.shape[1:]), classes, *splits, class_names=names, standardization=scaling)


def _class_names(names: Sequence[str] | None, classes: int) -> tuple[str, ...]:
    """``names`` as a tuple of one text per class, or the error saying how many are needed; None (labels
    that are class indices 0..K-1 already) names each class by its index, its label's value, so that
    every study and export names its outputs whatever the data's source."""
    if names is None:
        return tuple(str(index) for index in range(classes))
    if isinstance(names, str) or not all(isinstance(name, str) and name for name in names):
        raise ConfigError("dataset.class_names", names, f"a list of {classes} non-empty texts, one per class")
    if len(names) != classes:
        raise ConfigError(
            "dataset.class_names",
            list(names),
            f"one name per class: {classes} names, for labels 0..{classes - 1}",
        )
    return tuple(names)


def _class_indices(labels: np.ndarray, num_classes: int | None) -> bool:
    """Whether integer ``labels`` are class indices as they stand: 0..K-1 each present, or within
    ``range(num_classes)`` when it is given."""
    if labels.dtype.kind not in "iu" or len(labels) == 0:
        return False
    present = np.unique(labels)
    if num_classes is not None:
        return bool(present[0] >= 0)  # make_task names labels outside [0, num_classes-1]
    return bool(present[0] == 0 and present[-1] == len(present) - 1)


def _array(values: Any, field: str, allowed: str, dtype: Any = None, shown: str | None = None) -> np.ndarray:
    """``values`` as an array (``values.to_numpy()`` for pandas' tables and columns), or a `ConfigError`
    on ``field`` for ragged lists or, given a ``dtype``, values it cannot hold (named as ``shown``, by
    default by their type)."""
    shown = shown or type(values).__name__
    if callable(getattr(values, "to_numpy", None)):
        values = values.to_numpy()
    try:
        return np.asarray(values, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise ConfigError(field, shown, f"{allowed} ({str(error).splitlines()[0]})") from None


def _numeric(values: Any, field: str, allowed: str) -> np.ndarray:
    """``values`` as a float32 array, or a `ConfigError` on ``field`` for ragged lists, text or objects
    that are no numbers."""
    array = _array(values, field, allowed)
    if array.dtype.kind not in "biufO":
        raise ConfigError(field, f"dtype {array.dtype}", allowed)
    # a pandas table of mixed columns holds objects: numbers among them convert, text is refused
    return _array(array, field, allowed, np.float32, shown=type(values).__name__)


def _load_digits(seed: int) -> Task:
    from nas_workbench._compat import digits

    images, labels = digits()
    names = [str(digit) for digit in np.unique(labels)]  # load_digits' target_names: 0-9
    return make_task(images, labels, name="digits", seed=seed, class_names=names)


def _from_torch(data: Dataset | DataLoader, seed: int) -> Task:
    dataset = data.dataset if isinstance(data, DataLoader) else data
    xs, ys = [], []
    for index in range(len(dataset)):  # type: ignore[arg-type]
        example, label = dataset[index]
        xs.append(torch.as_tensor(example, dtype=torch.float32).numpy())
        ys.append(int(label))
    labels = np.asarray(ys)
    names = getattr(dataset, "classes", None)  # torchvision's datasets name their classes so
    if not (isinstance(names, list | tuple) and len(names) == labels.max() + 1):
        names = None
    return make_task(
        np.stack(xs), labels, name=type(dataset).__name__, seed=seed, standardize=False,
        class_names=None if names is None else [str(name) for name in names],
    )  # fmt: skip


def load_task(dataset: Any = "digits", seed: int = 0) -> Task:
    """Resolve the data a search is given (`nas_workbench.search`'s ``data``) into a `Task`.

    Accepts ``"digits"``, a `Task`, a pair ``(x, y)`` of arrays, a dict with ``x`` and ``y`` (and any
    `make_task` argument), a map-style torch ``Dataset`` or a ``DataLoader`` over one, or a data file
    (`nas_workbench.data_files`): its path, or a dict ``{"path": ..., "label": ...}`` naming a CSV's
    label column (as a config file's ``dataset:`` gives it to the command line).
    """
    from nas_workbench.data_files import DataFile, read_data_settings  # built on make_task, from here

    if isinstance(dataset, Task):
        return dataset
    if isinstance(dataset, str) and dataset == "digits":
        return _load_digits(seed)
    if isinstance(dataset, DataFile):
        return dataset.task(seed)
    if isinstance(dataset, str | os.PathLike) or (isinstance(dataset, dict) and "path" in dataset):
        return read_data_settings(dataset).task(seed)
    if isinstance(dataset, dict) and {"x", "y"} <= set(dataset):
        return make_task(**{"seed": seed, **dataset})
    if isinstance(dataset, tuple) and len(dataset) == 2:
        return make_task(dataset[0], dataset[1], seed=seed)
    if isinstance(dataset, Dataset | DataLoader):
        return _from_torch(dataset, seed)
    raise ConfigError("dataset", type(dataset).__name__, _ACCEPTED)


#: What `load_task` accepts, for its error.
_ACCEPTED = "'digits', a data file's path, arrays (x, y), a torch Dataset or DataLoader, or a Task"
