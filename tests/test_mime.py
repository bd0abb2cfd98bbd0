"""`ArchSpec._repr_mimebundle_`: the payload JupyterLab's renderer draws, and the HTML/plain fallbacks."""

from __future__ import annotations

import json

import pytest
from IPython.core.formatters import DisplayFormatter

import nas_workbench as nw
from nas_workbench._mime import MIME_TYPE, arch_payload


@pytest.mark.parametrize("space", nw.spaces.list())
def test_every_space_describes_its_architectures_for_the_renderer(space):
    search_space = nw.spaces.get(space)
    spec = search_space.random(0)
    payload = arch_payload(spec)
    assert payload["spec"] == spec.to_dict() and payload["id"] == spec.id
    assert payload["summary"] == search_space.summary(spec)
    assert payload["describe"] == json.loads(json.dumps(search_space.describe(spec)))
    json.dumps(payload)  # plain JSON: what the kernel sends


def test_cell_rows_are_edges_and_chain_rows_are_layers():
    cell = arch_payload(nw.spaces.get("nb201").random(1))["describe"]
    assert all({"from", "to", "op"} <= set(row) for row in cell)
    chain = arch_payload(nw.spaces.get("chain").random(1))["describe"]
    assert all({"op", "channels_in", "channels_out", "stride"} <= set(row) for row in chain)


def test_ipython_displays_the_renderer_payload_first_with_fallbacks():
    spec = nw.spaces.get("nb201").random(2)
    data, _ = DisplayFormatter().format(spec)
    assert data[MIME_TYPE] == arch_payload(spec)
    assert data["text/plain"].startswith(f"nb201:{spec.id} |")
    assert data["text/html"].count("<tr>") == 1 + len(data[MIME_TYPE]["describe"])
    only_text, _ = DisplayFormatter().format(spec, include={"text/plain"})
    assert set(only_text) == {"text/plain"}


def test_a_spec_of_an_unknown_space_shows_its_choices_escaped():
    spec = nw.ArchSpec(space="mine", choices={"op": "<script>alert(1)</script>"})
    payload = arch_payload(spec)
    assert (payload["summary"], payload["describe"]) == (None, None)
    html = spec._repr_mimebundle_()["text/html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
