"""`ArchSpec`: the one currency between the parts of the workbench.

A spec names its search space, the space's options and the choices made for one architecture. It is
immutable, hashable and canonical JSON, so it can be stored in an Optuna study, compared, cached on and
rebuilt into the same `nn.Module` anywhere. Nothing passes live modules between stages; they pass specs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nas_workbench.exceptions import SpaceError

__all__ = ["ArchSpec", "FrozenDict"]


def _freeze(value: Any) -> Any:
    """Turn JSON-like data into hashable data: dicts → FrozenDict, lists → tuples."""
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise SpaceError(
        f"spec values must be JSON scalars, lists or mappings, not {type(value).__name__}: {value!r}"
    )


def _thaw(value: Any) -> Any:
    """The inverse of `_freeze`, for JSON encoding."""
    if isinstance(value, FrozenDict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable mapping with string keys, kept in sorted key order."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        items = dict(data or {})
        for key in items:
            if not isinstance(key, str):
                raise SpaceError(f"spec keys must be strings, not {key!r}")
        self._data = {k: _freeze(items[k]) for k in sorted(items)}
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable, JSON-able copy."""
        return _thaw(self)


@dataclass(frozen=True)
class ArchSpec:
    """One architecture of one search space.

    Attributes:
        space: The registered name of the search space ("chain", "nb201", ...).
        choices: The decisions made, keyed by decision name (the Optuna parameter names).
        options: The space's options (e.g. number of cells), needed to rebuild the same network.
    """

    space: str
    choices: FrozenDict = field(default_factory=FrozenDict)
    options: FrozenDict = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        if not isinstance(self.space, str) or not self.space:
            raise SpaceError(f"ArchSpec.space must be a non-empty string, not {self.space!r}")
        if not isinstance(self.choices, FrozenDict):
            object.__setattr__(self, "choices", FrozenDict(self.choices))
        if not isinstance(self.options, FrozenDict):
            object.__setattr__(self, "options", FrozenDict(self.options))

    def to_dict(self) -> dict[str, Any]:
        """A plain dict: ``{"space": ..., "options": {...}, "choices": {...}}``."""
        return {"space": self.space, "options": self.options.to_dict(), "choices": self.choices.to_dict()}

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces, so equal specs give equal strings."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchSpec:
        """Rebuild a spec from `to_dict` output; unknown keys are an error. ``"data"``, what an exported
        spec records of the data its network was built for (`nas_workbench.export.built_for`), is no part
        of the architecture and is passed over."""
        unknown = set(data) - {"space", "options", "choices", "data"}
        if unknown or "space" not in data:
            raise SpaceError(f"an ArchSpec dict has keys 'space', 'options', 'choices'; got {sorted(data)!r}")
        return cls(space=data["space"], choices=data.get("choices", {}), options=data.get("options", {}))

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        """Rebuild a spec from `to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SpaceError(f"not a JSON ArchSpec: {error}") from None
        if not isinstance(data, dict):
            raise SpaceError(f"not a JSON ArchSpec: expected an object, got {type(data).__name__}")
        return cls.from_dict(data)

    @property
    def id(self) -> str:
        """A short, stable hash of the canonical JSON (12 hex digits)."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()[:12]

    def __str__(self) -> str:
        return f"{self.space}:{self.id}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter's rich display: a diagram in JupyterLab (NAS Workbench extension), else a table."""
        from nas_workbench._mime import mimebundle

        return mimebundle(self, include, exclude)
