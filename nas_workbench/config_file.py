"""Reading a config file (YAML or JSON) into plain data, refusing what a user would not mean.

A file that cannot be read, is not text, does not parse, is empty, or sets a key twice is refused with a
`ConfigError` naming the file: YAML and JSON parsers silently keep the last of two equal keys, and an
empty file would silently run the default search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from nas_workbench.exceptions import ConfigError

__all__ = ["read_config_file"]


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that sets the same key twice."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # resolve merge keys ("<<") first: they may override on purpose
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is set twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ValueError(f"the key {twice[0]!r} is set twice")
    return dict(pairs)


def read_config_file(path: Path) -> Any:
    """The data a YAML (.yaml/.yml) or JSON (any other suffix) config file holds.

    Raises:
        ConfigError: On the field ``config file``: unreadable, not UTF-8 text, malformed, empty, or a key
            set twice.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ConfigError(
            "config file", str(path), f"a readable YAML or JSON file ({error.strerror})"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            "config file", str(path), "a YAML or JSON text file (this one is not UTF-8 text)"
        ) from None
    yaml_file = path.suffix in {".yaml", ".yml"}
    try:
        data = (
            yaml.load(text, Loader=_StrictLoader)
            if yaml_file
            else json.loads(text, object_pairs_hook=_json_object)
        )
    except (yaml.YAMLError, ValueError) as error:
        kind = "YAML" if yaml_file else "JSON"
        raise ConfigError(
            "config file", str(path), f"valid {kind} ({' '.join(str(error).split())})"
        ) from None
    if data is None:
        raise ConfigError(
            "config file", str(path), "settings of a search (the file is empty; write `{}` for every default)"
        )
    return data
