from __future__ import annotations

import pytest

from nas_workbench.exceptions import SpaceError
from nas_workbench.spec import ArchSpec, FrozenDict


def test_spec_is_immutable_hashable_and_canonical():
    a = ArchSpec("chain", choices={"b": 2, "a": "conv"}, options={"n": [1, 2]})
    b = ArchSpec("chain", choices={"a": "conv", "b": 2}, options={"n": (1, 2)})
    assert a == b and hash(a) == hash(b) and a.id == b.id
    assert a.to_json() == '{"choices":{"a":"conv","b":2},"options":{"n":[1,2]},"space":"chain"}'
    with pytest.raises(AttributeError):
        a.space = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.choices["a"] = "x"  # type: ignore[index]
    assert len({a, b}) == 1


def test_json_round_trip_and_id_changes_with_content():
    spec = ArchSpec("nb201", choices={"edge": "skip_connect"}, options={"num_cells": 5})
    assert ArchSpec.from_json(spec.to_json()) == spec
    other = ArchSpec("nb201", choices={"edge": "none"}, options={"num_cells": 5})
    assert other.id != spec.id and len(spec.id) == 12


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not a JSON ArchSpec"),
        ("[1]", "expected an object"),
        ('{"space": "x", "extra": 1}', "keys"),
    ],
)
def test_malformed_json_names_the_problem(text, message):
    with pytest.raises(SpaceError, match=message):
        ArchSpec.from_json(text)


def test_non_json_values_are_rejected():
    with pytest.raises(SpaceError, match="JSON scalars"):
        ArchSpec("chain", choices={"a": object()})
    with pytest.raises(SpaceError, match="non-empty string"):
        ArchSpec("", choices={})


def test_frozen_dict_equals_plain_dict():
    assert FrozenDict({"a": 1}) == {"a": 1}
    assert FrozenDict({"a": {"b": [1]}}).to_dict() == {"a": {"b": [1]}}


def test_public_names_resolve_lazily():
    import nas_workbench as nw

    assert set(nw.__all__) == {*nw._EXPORTS, *nw._SUBMODULES, "__version__"}
    for name in nw.__all__:
        assert getattr(nw, name) is not None
