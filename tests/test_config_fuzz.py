"""Bad input, fuzzed: whatever a config holds, the answer is a valid config or an error naming the field.

Wrong types, out-of-range values, unknown keys, empty spaces, unknown devices and malformed storage URLs
end in a `ConfigError` from `SearchConfig.from_dict`; budgets no architecture can meet end in an
`InfeasibleBudgetError` naming the tightest achievable value before a study is created; a device this
machine lacks ends in a `ConfigError` when the search starts. Never a traceback, never a hung search.
"""

from __future__ import annotations

import dataclasses
import math
import uuid

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nas_workbench as nw
from nas_workbench.config import Fidelity, SearchConfig
from nas_workbench.exceptions import ConfigError, InfeasibleBudgetError
from nas_workbench.testing.workers import TINY_CHAIN, score

VALID = {
    "space": "chain",
    "space_options": dict(TINY_CHAIN),
    "strategy": "random",
    "objectives": ["accuracy", "params"],
    "profile_metrics": ["params"],
    "n_trials": 1,
}
FIELDS = [f.name for f in dataclasses.fields(SearchConfig)]
FIDELITY_FIELDS = [f.name for f in dataclasses.fields(Fidelity)]

#: A change to one field may be reported on a field that depends on it (another space has other options).
DEPENDENTS = {
    "space": {"space_options"},
    "objectives": {"strategy"},
    "seed": {"strategy_options"},
    "budget": {"strategy_options"},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["chain", "nb201", "tpe", "accuracy", "params", "latency_ms", "cuda", "cpu", "digits", ""]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=8,
)
urls = st.one_of(
    st.text(max_size=30),
    st.builds(
        "".join,
        st.tuples(
            st.sampled_from(
                ["sqlite://", "sqlite:///", "postgresql://", "mysql://", "redis://", "http://", ""]
            ),
            st.text(alphabet="abc:/@.?=%123-", max_size=20),
        ),
    ),
)
devices = st.one_of(
    st.text(max_size=10),
    st.builds("{}:{}".format, st.sampled_from(["cpu", "cuda", "mps", "tpu"]), st.text(max_size=3)),
)


def assert_names_the_field(error: ConfigError, changed: str) -> None:
    """The error is about ``changed`` (or a field that depends on it) and its message starts with it."""
    allowed = {changed, *DEPENDENTS.get(changed, ())}
    assert error.field.split(".")[0] in allowed, (error.field, changed)
    assert str(error).startswith(error.field)


def check(data: dict, changed: str) -> SearchConfig | None:
    try:
        return SearchConfig.from_dict(data)
    except ConfigError as error:
        assert_names_the_field(error, changed)
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=values)
def test_any_value_of_any_field_validates_or_names_the_field(field, value):
    check({**VALID, field: value}, field)


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(FIDELITY_FIELDS), value=values)
def test_any_fidelity_setting_validates_or_names_the_field(field, value):
    check({**VALID, "fidelity": {field: value}}, "fidelity")


@settings(max_examples=100, deadline=None)
@given(key=st.one_of(st.text(max_size=12), st.integers()), value=values)
def test_unknown_keys_are_named(key, value):
    if key in FIELDS:
        return
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_dict({**VALID, key: value})
    assert info.value.field == str(key)


@settings(max_examples=150, deadline=None)
@given(options=st.dictionaries(st.sampled_from([*TINY_CHAIN, "depth", "ops"]), values, max_size=3))
def test_space_options_including_empty_spaces_validate_or_name_the_option(options):
    config = check({**VALID, "space_options": {**TINY_CHAIN, **options}}, "space_options")
    if config is not None:
        assert nw.spaces.get("chain", **config.space_options).size() >= 1


@settings(max_examples=150, deadline=None)
@given(url=urls)
def test_storage_urls_validate_or_name_the_storage(url):
    config = check({**VALID, "storage": url}, "storage")
    if config is not None:
        assert "://" in url


@settings(max_examples=150, deadline=None)
@given(device=devices)
def test_devices_validate_or_name_the_device(device):
    config = check({**VALID, "device": device}, "device")
    if config is not None:
        assert device.partition(":")[0] in ("cpu", "cuda", "mps")


@settings(max_examples=60, deadline=None)
@given(
    budget=st.dictionaries(st.sampled_from(["params", "flops", "latency_ms", "bogus"]), values, max_size=2)
)
def test_budgets_validate_or_name_the_budget(budget):
    check({**VALID, "budget": budget}, "budget")


@pytest.fixture(scope="module")
def smallest_params():
    space = nw.spaces.get("chain", **TINY_CHAIN)
    return min(
        sum(p.numel() for p in space.build(s, (1, 8, 8), 10).parameters())
        for s in nw.spaces.enumerate_specs(space)
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.one_of(st.floats(min_value=1e-6, max_value=2000.0), st.integers(min_value=1, max_value=2000)),
    device=st.sampled_from(["cpu", "cuda", "cuda:3", "mps"]),
)
def test_a_valid_config_either_searches_to_the_end_or_is_refused_up_front(
    tmp_path, smallest_params, limit, device
):
    storage = f"sqlite:///{tmp_path / 'fuzz.db'}"
    config = SearchConfig.from_dict(
        {
            **VALID,
            "budget": {"params": limit},
            "device": device,
            "storage": storage,
            "study_name": uuid.uuid4().hex,
        }
    )
    try:
        run = nw.search(config, evaluate=score)
    except InfeasibleBudgetError as error:
        assert limit < smallest_params
        assert str(error).startswith("budget.params") and f"{smallest_params:g}" in str(error)
        return
    assert limit >= smallest_params
    available = device == "cpu" or (
        device.startswith("cuda") and torch.cuda.device_count() > int(device[5:] or 0)
    )
    if not available and device == "mps":
        available = torch.backends.mps.is_available()
    if available:
        run.run()
        assert run.trials_done() == 1
    else:
        with pytest.raises(ConfigError) as info:
            run.run()
        assert info.value.field == "device" and "this machine" in str(info.value)
    assert not math.isnan(run.trials_done())
