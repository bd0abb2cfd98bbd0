"""The Python API, fuzzed: data, configs, a user's ``evaluate`` and networks to profile.

Whatever a user passes ends in a result or a `NasWorkbenchError` naming what was wrong; a search given
a bad ``evaluate`` result fails that trial with the reason and goes on; nothing crashes or hangs.
"""

from __future__ import annotations

import math
import uuid

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nas_workbench as nw
from nas_workbench.exceptions import ConfigError, NasWorkbenchError
from nas_workbench.testing.workers import TINY_CHAIN

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
arrays = st.one_of(
    hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=12), elements=floats
    ),
    hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=30), elements=st.integers(-3, 12)),
    st.lists(st.one_of(st.lists(floats, max_size=3), st.text(max_size=2), floats), max_size=25),
    st.sampled_from([None, "digits", 3.5, {"x": 1}]),
)


@pytest.mark.timeout(600)
def test_make_task_gives_a_usable_task_or_names_what_is_wrong(fuzz):
    @given(
        x=arrays,
        y=arrays,
        split=st.one_of(st.just((0.6, 0.2, 0.2)), st.tuples(floats, floats, floats)),
        input_shape=st.one_of(st.none(), st.lists(st.integers(-1, 4), max_size=4)),
    )
    def check(x, y, split, input_shape):
        try:
            task = nw.make_task(x, y, split=split, input_shape=input_shape)
        except ConfigError as error:
            assert error.field.startswith("dataset"), error
            return
        for features, labels in ((task.x_train, task.y_train), (task.x_valid, task.y_valid)):
            assert len(labels) > 0 and torch.isfinite(features).all()
        assert len(set(task.y_train.tolist())) >= 2

    fuzz(check)


@pytest.mark.timeout(600)
def test_profile_gives_figures_or_names_the_input_shape(fuzz):
    model = nw.spaces.get("chain", **TINY_CHAIN).build(
        nw.spaces.get("chain", **TINY_CHAIN).random(0), (1, 8, 8), 3
    )

    @given(
        shape=st.lists(st.integers(-2, 12), min_size=0, max_size=4),
        batch_size=st.one_of(st.integers(-1, 4), st.just(True), st.just(2.5)),
    )
    def check(shape, batch_size):
        try:
            result = nw.profile(model, input_shape=shape, batch_size=batch_size, metrics=["params", "flops"])
        except ConfigError as error:
            assert error.field in ("input_shape", "batch_size"), error
            return
        assert result["params"].value > 0

    fuzz(check)


scores = st.one_of(
    st.dictionaries(
        st.sampled_from(["accuracy", "latency_ms", "extra"]),
        st.one_of(floats, st.integers(), st.text(max_size=3), st.none(), st.just(np.float32(0.5))),
        max_size=3,
    ),
    st.sampled_from([None, 0.5, "0.9", [0.5], {"accuracy": torch.tensor(0.7)}]),
)


@pytest.mark.timeout(900)
def test_a_search_survives_any_evaluate_result_and_fails_only_that_trial(fuzz, tmp_path):
    storage = f"sqlite:///{tmp_path / 'fuzz.db'}"

    @given(returned=scores)
    def check(returned):
        config = nw.SearchConfig(space="chain", space_options=TINY_CHAIN, strategy="random", n_trials=1,
                                 objectives=["accuracy", "params"], profile_metrics=["params"],
                                 storage=storage, study_name=uuid.uuid4().hex)  # fmt: skip
        run = nw.search(config, evaluate=lambda spec, model: returned)
        run.run()
        (result,) = run.results()
        if result.status == "ok":
            assert math.isfinite(result.value("accuracy"))
        else:
            assert result.status == "failed" and "evaluate" in (result.reason or "")

    fuzz(check, scale=0.5)


@pytest.mark.parametrize("evaluate", ["my_module:evaluate", 3, {"accuracy": 1.0}])
def test_an_evaluate_that_is_not_a_function_is_refused_when_the_search_is_made(evaluate, tmp_path):
    config = nw.SearchConfig(
        space="chain", space_options=TINY_CHAIN, storage=f"sqlite:///{tmp_path / 's.db'}"
    )
    with pytest.raises(ConfigError, match=r"evaluate: .* a function"):
        nw.search(config, evaluate=evaluate)
    assert not (tmp_path / "s.db").exists()


@pytest.mark.timeout(600)
def test_config_objects_validate_or_name_every_bad_field(fuzz):
    bad = {
        "n_trials": 0,
        "budget": {"latency_ms": math.inf},
        "study_name": "a\x00b",
        "seed": -1,
        "device": "tpu",
        "objectives": [],
        "timeout": math.nan,
        "storage": "sqlite://",
    }

    @given(fields=st.lists(st.sampled_from(sorted(bad)), min_size=1, max_size=len(bad), unique=True))
    def check(fields):
        with pytest.raises(NasWorkbenchError) as info:
            nw.SearchConfig(**{name: bad[name] for name in fields}).validate()
        named = [error.field.split(".")[0] for error in getattr(info.value, "errors", [info.value])]
        assert sorted(named) == sorted(fields)

    fuzz(check, scale=0.5)
