"""``SearchConfig.warm_start``: its form is checked with the rest of the config (whether the study exists is
checked when the search creates its study: tests/engine/test_warm_start.py)."""

from __future__ import annotations

import json

import pytest

from nas_workbench.config import SearchConfig
from nas_workbench.exceptions import ConfigError


@pytest.mark.parametrize(
    "warm_start, field, hint",
    [
        ({"study_nam": "a"}, "warm_start.study_nam", "Did you mean 'study_name'"),
        ({"top_k": 3}, "warm_start.study_name", "the name of the earlier study"),
        ({"study_name": "  "}, "warm_start.study_name", "non-empty"),
        ({"study_name": 7}, "warm_start.study_name", "non-empty string"),
        ({"study_name": "a", "top_k": 0}, "warm_start.top_k", "integer >= 1"),
        ({"study_name": "a", "top_k": 2.5}, "warm_start.top_k", "integer"),
        ({"study_name": "a", "storage": "redis://x"}, "warm_start.storage", "sqlite:///"),
        ({"study_name": "a", "storage": "sqlite://"}, "warm_start.storage", "SQLite file"),
        ("a", "warm_start", "a mapping with string keys"),
        ({"study_name": "mine"}, "warm_start.study_name", "not this search's own"),
    ],
)
def test_bad_warm_starts_name_the_setting_the_value_and_what_is_allowed(warm_start, field, hint):
    with pytest.raises(ConfigError) as info:
        SearchConfig(study_name="mine", warm_start=warm_start).validate()
    assert info.value.field == field
    assert hint in str(info.value) and str(info.value).startswith(field)


def test_a_gradient_based_strategy_refuses_a_warm_start():
    with pytest.raises(ConfigError, match="derives every architecture from its supernet") as info:
        SearchConfig(space="nb201", strategy="dnas", warm_start={"study_name": "a"}).validate()
    assert info.value.field == "warm_start"


def test_defaults_are_filled_in_and_the_setting_round_trips_through_json(tmp_path):
    config = SearchConfig(
        storage="sqlite:///here.db", warm_start={"study_name": "chain-random-seed0"}
    ).validate()
    assert config.resolved_warm_start() == {
        "study_name": "chain-random-seed0",
        "storage": "sqlite:///here.db",
        "top_k": 5,
    }
    assert SearchConfig().resolved_warm_start() is None
    elsewhere = {"study_name": "s", "storage": "sqlite:///old.db", "top_k": 2}
    (tmp_path / "c.json").write_text(json.dumps(config.replace(warm_start=elsewhere).to_dict()))
    again = SearchConfig.from_file(tmp_path / "c.json")
    assert again.warm_start == elsewhere and again.resolved_warm_start() == elsewhere
