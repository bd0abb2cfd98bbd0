"""Config files, fuzzed: any bytes in a ``.yaml`` or ``.json`` file end in a `SearchConfig` or in a
`ConfigError` naming the file or the setting; every bad setting of a file is reported at once."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from nas_workbench.config import SearchConfig
from nas_workbench.exceptions import ConfigError, ConfigErrors
from nas_workbench.testing.workers import TINY_CHAIN

VALID = {"space": "chain", "space_options": TINY_CHAIN, "strategy": "random", "n_trials": 1}

#: Values a user might write, right or wrong, for any setting.
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
        st.sampled_from(["chain", "tpe", "accuracy", "latency_ms", "p50", "cpu", "digits", ".inf", "\x01"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
keys = st.one_of(
    st.sampled_from([*SearchConfig.__dataclass_fields__, "fidelity.epochs"]), st.text(max_size=8)
)


def read(path) -> SearchConfig | None:
    try:
        return SearchConfig.from_file(path)
    except ConfigError as error:
        assert str(error).startswith(error.field), str(error)
        return None


@pytest.mark.timeout(600)
def test_any_yaml_or_json_settings_give_a_config_or_name_each_bad_setting(fuzz, tmp_path):
    @given(changes=st.dictionaries(keys, values, max_size=4), suffix=st.sampled_from([".yaml", ".json"]))
    def check(changes, suffix):
        data = {**VALID, **changes}
        path = tmp_path / f"config{suffix}"
        path.write_text(yaml.safe_dump(data) if suffix == ".yaml" else json.dumps(data, allow_nan=True))
        config = read(path)
        if config is not None:  # what was accepted is what was written
            assert config.n_trials == data["n_trials"] and config.space == data["space"]

    fuzz(check)


@pytest.mark.timeout(600)
def test_any_bytes_give_a_config_or_an_error_naming_the_file(fuzz, tmp_path):
    text = yaml.safe_dump(VALID).encode()

    @given(
        junk=st.binary(max_size=40),
        at=st.integers(min_value=0, max_value=len(text)),
        cut=st.integers(min_value=0, max_value=8),
        suffix=st.sampled_from([".yaml", ".yml", ".json", ""]),
    )
    def check(junk, at, cut, suffix):
        path = tmp_path / f"config{suffix}"
        path.write_bytes(text[:at] + junk + text[at + cut :])
        read(path)

    fuzz(check)


@pytest.mark.timeout(600)
def test_a_key_set_twice_is_refused_and_every_unknown_key_is_named(fuzz, tmp_path):
    @given(
        key=st.sampled_from(list(VALID)),
        unknown=st.lists(st.from_regex(r"[a-z]{3,8}", fullmatch=True), min_size=2, max_size=4, unique=True),
    )
    def check(key, unknown):
        assume(not set(unknown) & set(SearchConfig.__dataclass_fields__))
        path = tmp_path / "twice.yaml"
        path.write_text(yaml.safe_dump(VALID) + f"{key}: {json.dumps(VALID[key])}\n")
        with pytest.raises(ConfigError, match=f"the key '{key}' is set twice"):
            SearchConfig.from_file(path)
        path.write_text(yaml.safe_dump({**VALID, **dict.fromkeys(unknown, 1)}))
        with pytest.raises(ConfigErrors) as info:
            SearchConfig.from_file(path)
        assert sorted(error.field for error in info.value.errors) == sorted(unknown)

    fuzz(check)
