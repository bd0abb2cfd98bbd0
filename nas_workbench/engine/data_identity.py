"""`DataIdentity`: what a study records of the data it searched on, so a resume, a worker or an export on
other data is refused; with what exports and the report notebook need of it (class names, the inputs'
standardisation, how to load it again). Part of the study's record (`nas_workbench.engine.study_record`);
it needs no torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nas_workbench.exceptions import ConfigError
from nas_workbench.standardization import Standardization

__all__ = ["DataIdentity"]


@dataclass(frozen=True)
class DataIdentity:
    """What identifies the data a study searched on: name, example shape, classes, samples, content hash;
    with the name of each class (`Task.class_names`), the statistics its examples were standardised
    with (`Task.standardization`, which exports apply) and how to load it again (`Task.source`, a data
    file's path and label column, for the report notebook), which the hash does not cover.

    Two datasets with the same identity are the same data, split the same way (the hash covers every
    split's examples and labels), so a resumed search, a worker or an export may use it.
    """

    name: str
    shape: tuple[int, ...]
    classes: int
    samples: int
    content_hash: str
    class_names: tuple[str, ...] | None = None
    standardization: Standardization | None = None
    source: Mapping[str, str] | None = None

    @classmethod
    def of(cls, task: Any) -> DataIdentity:
        """The identity of a `nas_workbench.Task` (read through its tensors: this module needs no torch)."""
        digest = hashlib.sha256()
        for split in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
            array = getattr(task, split).detach().cpu().contiguous().numpy()
            digest.update(f"{split}:{array.dtype}:{array.shape};".encode())
            digest.update(array.tobytes())
        samples = sum(len(getattr(task, split)) for split in ("y_train", "y_valid", "y_test"))
        shape, names = tuple(task.input_shape), task.class_names
        scaling, source = task.standardization, task.source
        digest_hex = digest.hexdigest()
        return cls(task.name, shape, int(task.num_classes), samples, digest_hex, names, scaling, source)

    def completed_by(self, other: DataIdentity) -> DataIdentity:
        """This identity with the class names, standardisation and source of ``other`` (the same data)
        where it has none (recorded by an earlier version)."""
        return dataclasses.replace(
            self,
            class_names=self.class_names or other.class_names,
            standardization=self.standardization or other.standardization,
            source=self.source or other.source,
        )

    def to_dict(self) -> dict[str, Any]:
        names = None if self.class_names is None else list(self.class_names)
        scaling = None if self.standardization is None else self.standardization.to_dict()
        return {
            **dataclasses.asdict(self),
            "shape": list(self.shape),
            "class_names": names,
            "standardization": scaling,
            "source": None if self.source is None else dict(self.source),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataIdentity:
        return cls(
            name=str(data["name"]),
            shape=tuple(int(n) for n in data["shape"]),
            classes=int(data["classes"]),
            samples=int(data["samples"]),
            content_hash=str(data["content_hash"]),
            class_names=_names(data.get("class_names"), int(data["classes"])),
            standardization=Standardization.from_dict(data.get("standardization")),
            source=_source(data.get("source")),
        )

    def describe(self) -> str:
        """One line for messages: ``'digits' (1x8x8, 10 classes, 1797 samples, sha256 3f2a…)``."""
        shape = "x".join(str(n) for n in self.shape)
        return (
            f"{self.name!r} ({shape}, {self.classes} classes, {self.samples} samples, "
            f"sha256 {self.content_hash[:12]})"
        )

    def check_same(self, other: DataIdentity, study_name: str) -> None:
        """Raise `ConfigError` unless ``other`` (the data at hand) is this stored identity's data."""
        if other.content_hash != self.content_hash:
            raise ConfigError(
                "data",
                other.describe(),
                f"the data study {study_name!r} was searched on, {self.describe()}: its results would not "
                "compare with new ones. Pass that data (nw.search(config, data=...); the command line: "
                "--data FILE, a worker too), or start a new study (another study_name; --study)",
            )


def _names(stored: Any, classes: int) -> tuple[str, ...] | None:
    """Stored class names, if they are one text per class (anything else, as if none were stored)."""
    if isinstance(stored, list) and len(stored) == classes and all(isinstance(n, str) for n in stored):
        return tuple(stored)
    return None


def _source(stored: Any) -> dict[str, str] | None:
    """A stored source, if it is a data file's settings (anything else, as if none were stored)."""
    if isinstance(stored, Mapping) and isinstance(stored.get("path"), str):
        return {key: value for key, value in stored.items() if isinstance(value, str)}
    return None
