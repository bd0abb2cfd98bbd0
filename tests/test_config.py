from __future__ import annotations

import json

import numpy as np
import pytest

from nas_workbench.config import Fidelity, SearchConfig
from nas_workbench.exceptions import ConfigError


def test_defaults_validate_and_round_trip_through_dict():
    config = SearchConfig().validate()
    assert config.directions == ["maximize", "minimize"]
    again = SearchConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    "changes, field, hint",
    [
        ({"space": "chian"}, "space", "Did you mean 'chain'"),
        ({"strategy": "tpee"}, "strategy", "Did you mean 'tpe'"),
        ({"objectives": ["accuracyy"]}, "objectives", "Did you mean 'accuracy'"),
        ({"objectives": []}, "objectives", "non-empty"),
        ({"budget": {"latency": 1.0}}, "budget", "Did you mean 'latency_ms'"),
        ({"budget": {"latency_ms": -1}}, "budget.latency_ms", "a positive limit in ms"),  # not ">= 0.0"
        ({"budget": {"params": -5}}, "budget.params", "a positive limit in count"),
        ({"budget": {"latency_ms": None}}, "budget.latency_ms", "a positive limit in ms"),
        ({"budget": {"latency_ms": 0}}, "budget.latency_ms", "positive"),
        (
            {"budget": {"latency_ms": "fast"}},
            "budget.latency_ms",
            "an absolute limit in the metric's unit, or a limit relative",
        ),
        ({"budget": {"params": "p30"}}, "budget.params", "a number in count"),
        ({"n_trials": 0}, "n_trials", "integer >= 1"),
        ({"n_trials": 2.5}, "n_trials", "integer"),
        ({"n_trials": True}, "n_trials", "integer"),
        ({"device": "tpu"}, "device", "'cpu', 'cuda'"),
        ({"storage": "redis://x"}, "storage", "sqlite:///"),
        ({"pruner": "medain"}, "pruner", "Did you mean 'median'"),
        ({"fidelity": Fidelity(epochs=0)}, "fidelity.epochs", ">= 1"),
        ({"fidelity": Fidelity(subset=1.5)}, "fidelity.subset", "<= 1.0"),
        ({"timeout": -5}, "timeout", "number"),
        ({"study_name": "  "}, "study_name", "non-empty"),
    ],
)
def test_bad_values_name_field_value_and_what_is_allowed(changes, field, hint):
    with pytest.raises(ConfigError) as info:
        SearchConfig(**changes).validate()
    assert info.value.field == field
    assert hint in str(info.value)


def test_unknown_keys_get_a_suggestion():
    with pytest.raises(ConfigError, match="Did you mean 'n_trials'") as info:
        SearchConfig.from_dict({"n_trial": 5})
    assert info.value.field == "n_trial"
    with pytest.raises(ConfigError, match=r"fidelity\.epoch"):
        SearchConfig.from_dict({"fidelity": {"epoch": 3}})


@pytest.mark.parametrize(
    "given", ["digits", (np.zeros((10, 4)), np.zeros(10, dtype=int))], ids=["name", "data"]
)
def test_data_is_a_run_argument_not_a_setting(given):
    # a config is plain settings: data given in it is refused, saying where it goes instead (issue 15.2)
    for make in (lambda: SearchConfig(dataset=given), lambda: SearchConfig.from_dict({"dataset": given})):
        with pytest.raises(ConfigError) as info:
            make()
        message = str(info.value)
        assert info.value.field == "dataset" and "nw.search(config, data=task)" in message
        assert "nw.Workbench(config, data=task)" in message and "a worker: --data)" in message
    assert "dataset" not in SearchConfig().to_dict()


def test_yaml_and_json_files(tmp_path):
    (tmp_path / "c.yaml").write_text("space: nb201\nbudget:\n  latency_ms: 2\nfidelity:\n  epochs: 2\n")
    config = SearchConfig.from_file(tmp_path / "c.yaml")
    assert config.space == "nb201" and config.budget == {"latency_ms": 2} and config.fidelity.epochs == 2
    (tmp_path / "c.json").write_text('{"n_trials": 3}')
    assert SearchConfig.from_file(tmp_path / "c.json").n_trials == 3
    (tmp_path / "bad.yaml").write_text("space: [unclosed")
    with pytest.raises(ConfigError, match="valid YAML"):
        SearchConfig.from_file(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="readable"):
        SearchConfig.from_file(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        SearchConfig.from_file(tmp_path / "list.yaml")


def test_default_storage_and_study_name():
    config = SearchConfig(space="nb201", strategy="random", seed=3)
    assert config.resolved_storage() == "sqlite:///runs/nas_workbench.db"
    assert config.resolved_study_name() == "nb201-random-seed3"


def test_fidelity_given_as_a_mapping_in_python_as_in_a_file():
    """`SearchConfig(fidelity={"epochs": 2})` is what a YAML file gives: taken as that `Fidelity`, not refused
    with a message that offers the very mapping it got."""
    config = SearchConfig(space="chain", fidelity={"epochs": 2, "subset": 0.5})
    assert config.fidelity == Fidelity(epochs=2, subset=0.5)
    assert SearchConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match=r"fidelity\.epoch: .*Did you mean 'epochs'"):
        SearchConfig(space="chain", fidelity={"epoch": 2})
    with pytest.raises(ConfigError, match=r"fidelity.epochs"):
        SearchConfig(space="chain", fidelity={"epochs": 0}).validate()


def test_an_initial_architecture_that_breaks_a_fixed_choice_is_refused_naming_it():
    """Fixed choices hold for the whole search: an initial architecture against one was trained as given
    (trial 0 of a chain search with stage1.depth fixed to 2 had depth 1); it is refused, naming the decision,
    and one that keeps them (or does not ask the decision) is accepted."""
    shallow = json.dumps({"stage1.depth": 1, "stage1.block0.op": "conv", "stage1.block0.kernel": 3,
                          "stage1.block0.width": 8})  # fmt: skip
    options = {"num_stages": 1, "max_depth": 2, "widths": [8], "strides": [1]}
    config = SearchConfig(space="chain", space_options=options, initial_architectures=[shallow])
    with pytest.raises(ConfigError) as refused:
        SearchConfig(**{**config.to_dict(), "fixed_choices": {"stage1.depth": 2}}).validate()
    assert str(refused.value).endswith(
        "an architecture that keeps the fixed choices (stage1.depth is 1, fixed to 2)"
    )
    for kept in ({"stage1.depth": 1}, {"stage1.block1.op": "dwsep"}):  # block1 is not asked at depth 1
        SearchConfig(**{**config.to_dict(), "fixed_choices": kept}).validate()
