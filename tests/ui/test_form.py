"""The configuration form: every setting has a field, configs survive a round trip, help follows edits."""

from __future__ import annotations

import dataclasses
import html
import re

import ipywidgets as W
import numpy as np
import pytest

import nas_workbench as nw
from nas_workbench.config import FORM_TABS
from nas_workbench.profiling import METRICS
from nas_workbench.ui._fields import same_value
from nas_workbench.ui.form import ConfigForm


def text(widget) -> str:
    return html.unescape(widget.value)


def test_every_setting_has_a_field():
    form = ConfigForm()
    settings = {f.name for f in dataclasses.fields(nw.SearchConfig)} - {"budget", "fidelity"}
    keys = set(form.fields)
    assert settings <= keys
    assert {f"fidelity.{f.name}" for f in dataclasses.fields(nw.Fidelity)} <= keys
    assert {f"budget.{m}" for m in METRICS} <= keys


@pytest.mark.parametrize(
    "config",
    [
        nw.SearchConfig(),
        nw.SearchConfig(
            space="chain",
            space_options={"num_stages": 1, "widths": [8], "strides": [1], "ops": ["conv", "dwsep"]},
            strategy="evolution",
            strategy_options={"population_size": 12},
            objectives=["accuracy", "latency_ms", "peak_memory_mb"],
            budget={"latency_ms": 0.75, "params": 25_000},
            fidelity=nw.Fidelity(epochs=3, subset=0.5, batch_size=32, learning_rate=0.003, resolution=16),
            pruner="median",
            n_trials=120,
            timeout=600.0,
            trial_timeout=30.0,
            seed=7,
            threads=2,
            latency_batch_size=8,
            profiling_method="proxy",
            profile_metrics=["params", "latency_ms"],
            fixed_choices={"stage1.depth": 1},
            storage="sqlite:///elsewhere/nas.db",
            study_name="round-trip",
        ),
        nw.SearchConfig(
            space="nb201", space_options={"num_cells": 2}, strategy="random", budget={"flops": 1e12}
        ),
        nw.SearchConfig(budget={"latency_ms": "1.5x fastest", "peak_memory_mb": 2.0}),
    ],
    ids=["defaults", "everything", "cell", "relative"],
)
def test_a_config_survives_the_round_trip(config):
    form = ConfigForm(config)
    back = form.read()
    for f in dataclasses.fields(nw.SearchConfig):
        if f.name == "space_options":  # the form keeps only options that differ from the defaults
            assert (
                nw.spaces.get(back.space, **back.space_options).options
                == nw.spaces.get(config.space, **config.space_options).options
            )
        else:
            assert same_value(getattr(back, f.name), getattr(config, f.name)), f.name


def test_space_size_follows_the_options():
    form = ConfigForm(
        nw.SearchConfig(space="chain", space_options={"num_stages": 1, "widths": [8], "strides": [1]})
    )
    before = nw.spaces.get("chain", num_stages=1, widths=[8], strides=[1]).size()
    assert f"{before:,}" in text(form.space_size)
    form.space_options.fields["max_depth"].widget.value = 1
    after = nw.spaces.get("chain", num_stages=1, widths=[8], strides=[1], max_depth=1).size()
    assert after < before and f"{after:,}" in text(form.space_size)
    form.fields["space"].widget.value = "nb201"
    assert set(form.space_options.fields) == {"num_cells", "stem_channels"}
    assert "15,625" in text(form.space_size)


def test_strategy_help_and_the_advisor():
    small = {"num_stages": 1, "max_depth": 1, "widths": [8], "strides": [1]}
    form = ConfigForm(nw.SearchConfig(space="chain", space_options=small, strategy="random", n_trials=100))
    assert "random" in text(form.strategy_help)
    advice = nw.strategies.advise(nw.spaces.get("chain", **small), ["accuracy", "latency_ms"], {}, 100)
    assert advice.strategy != "random" and f"because {advice.why}." in text(form.advice)
    assert f'title="{html.escape(advice.reason)}"' in form.advice.value  # the evidence, on hover
    form.use_advice.click()
    assert form.fields["strategy"].widget.value == advice.strategy
    assert "agrees" in text(form.advice) and form.use_advice.layout.display == "none"
    form.fields["strategy"].widget.value = "evolution"
    assert "population_size" in form.strategy_options.fields


def test_auto_the_default_strategy_shows_what_it_runs():
    small = {"num_stages": 1, "max_depth": 1, "widths": [8], "strides": [1]}
    form = ConfigForm(nw.SearchConfig(space="chain", space_options=small, n_trials=100))
    assert form.fields["strategy"].widget.value == "auto" and not form.strategy_options.fields
    advice = nw.strategies.advise(nw.spaces.get("chain", **small), ["accuracy", "latency_ms"], {}, 100)
    shown = re.sub("<[^>]+>", "", text(form.advice))
    # one sentence in plain words, naming what auto picked and why; no emoji: a box where no emoji font is
    assert shown == f"Advice: auto runs {advice.strategy} because {advice.why}.", shown
    assert form.use_advice.layout.display == "none"


@pytest.mark.parametrize(
    ("objectives", "budget", "n_trials", "space", "target"),
    [
        (["accuracy"], {}, 100, {}, None),  # tpe
        (["accuracy"], {"params": 1000}, 20, {}, None),  # gp
        (["accuracy", "params"], {"latency_ms": 1.0}, 100, {}, None),  # multi-objective tpe
        (["accuracy", "params"], {}, 6000, {}, None),  # nsga2
        (["accuracy"], {}, 100, {"num_stages": 1, "max_depth": 1}, None),  # grid
        (["accuracy"], {"latency_ms": 1.0}, 100, {}, "pi"),  # proxy_guided
    ],
)
def test_the_advice_speaks_plainly(objectives, budget, n_trials, space, target):
    """What auto picks and why, in words a data scientist uses: the benchmarks' terms (regret,
    hypervolume, queries, NAS-Bench-201, Gaussian process, priors) stay in the reason, the tooltip."""
    advice = nw.strategies.advise(nw.spaces.get("chain", **space), objectives, budget, n_trials, None, target)
    jargon = (
        "regret",
        "hypervolume",
        "quer",
        "NAS-Bench",
        "Gaussian",
        "multivariate",
        "Pareto",
        "relaxation",
    )
    assert not [word for word in jargon if word in advice.why], advice.why
    assert "." not in advice.why.replace("e.g.", "") and len(advice.why) < 220  # one clause, no evidence
    if budget:
        assert "limit" in advice.why or "budget" in advice.why  # it says what the limit changes


def test_budget_sliders_carry_units_and_any_limit():
    form = ConfigForm(nw.SearchConfig(budget={"latency_ms": 12345.0}))
    field = form.fields["budget.latency_ms"]
    (row, _answer) = field.box.children[0].children
    label, inputs = row.children
    assert "Latency" in label.value and inputs.children[3].value == "ms"  # the unit after the limit
    assert field.read() == pytest.approx(12345.0)  # beyond the usual range: the slider widens
    assert form.fields["budget.params"].read() is None and form.fields["budget.params"].widget.disabled


def test_datasets_come_from_the_namespace():
    x, y = np.zeros((10, 1, 4, 4), np.float32), np.arange(10) % 2
    namespace = {"pair": (x, y), "_hidden": (x, y), "not_data": 3}
    form = ConfigForm(namespace=namespace)
    labels = [label for label, _ in form.datasets.widget.options]
    assert labels[0].startswith("digits") and any(label.startswith("pair:") for label in labels)
    assert not any("hidden" in label or "not_data" in label for label in labels)
    assert form.datasets.read() is None  # digits: the run's default data
    form.datasets.widget.value = "pair"
    assert form.datasets.read() is namespace["pair"]
    assert "dataset" not in form.read().to_dict()  # the data is the run's argument, not a setting
    given = nw.make_task(x, y)
    form.datasets.write(given)
    assert form.datasets.read() is given  # data given in code, not in the namespace, is kept


def test_data_shown_as_a_cell_result_is_chosen_by_its_name_not_by_ipythons_aliases():
    # a cell ending in ``task`` makes IPython store it as ``_``, ``__`` and ``_7`` too, before ``task``
    # in the namespace; the dropdown offers none of those (issue 14.1: a TraitError traceback)
    x, y = np.zeros((10, 1, 4, 4), np.float32), np.arange(10) % 2
    task = nw.make_task(x, y, name="mine")
    namespace = {"_": task, "__": task, "_7": task, "task": task}
    form = ConfigForm(namespace=namespace)
    form.datasets.write(task)
    assert form.datasets.widget.value == "task" and form.datasets.read() is task
    alias_only = ConfigForm(namespace={"_": task, "_7": task})
    alias_only.datasets.write(task)
    assert alias_only.datasets.read() is task  # shown as given in code
    assert "given in code" in alias_only.datasets.widget.label


def test_errors_clear_once_fixed():
    form = ConfigForm()
    form.fields["pruner_options"].widget.value = "[1, 2"
    assert form.validate() is None and "pruner_options" in text(form.fields["pruner_options"].error)
    assert form.tabs.selected_index == 1
    form.fields["pruner_options"].widget.value = ""
    assert form.validate() is not None and form.fields["pruner_options"].error.layout.display == "none"


def test_fields_freeze_while_a_search_runs():
    form = ConfigForm()
    form.set_disabled(True)
    assert form.fields["n_trials"].widget.disabled and form.space_options.fields["num_stages"].widget.disabled
    form.set_disabled(False)
    assert not form.fields["n_trials"].widget.disabled


def test_a_relative_limit_is_typed_in_its_box_and_a_bad_one_is_shown_under_the_field():
    form = ConfigForm()
    field = form.fields["budget.latency_ms"]
    (row, _answer) = field.box.children[0].children
    enabled, relative = row.children[1].children[0], row.children[1].children[-1]
    enabled.value = True
    relative.value = "p30"
    assert form.read().budget == {"latency_ms": "p30"}
    relative.value = "0.25"
    assert form.read().budget == {"latency_ms": 0.25}  # a number typed in the box is a number
    relative.value = "p300"
    assert form.validate() is None and "'pQ'" in text(field.error)


def test_start_shows_every_field_that_cannot_be_read_at_once():
    # "-5" parameters and "5ms" of latency: Start showed the parameters' error alone, and the latency's
    # only once that was fixed and Start pressed again
    form = ConfigForm()
    for metric, typed in (("params", "-5"), ("latency_ms", "5ms")):
        (row, _answer) = form.fields[f"budget.{metric}"].box.children[0].children
        row.children[1].children[0].value = True  # ticked
        row.children[1].children[2].value = typed  # the limit's box
    form.fields["pruner_options"].widget.value = "[1, 2"
    assert form.validate() is None
    assert "'-5' is not allowed" in text(form.fields["budget.params"].error)
    assert "'5ms' is not allowed" in text(form.fields["budget.latency_ms"].error)
    assert "pruner_options" in text(form.fields["pruner_options"].error)


def test_the_budget_check_shows_the_tightest_value_or_the_refusal_under_each_limit():
    tiny = {"num_stages": 1, "max_depth": 1, "ops": ["conv", "dwsep"], "kernel_sizes": [3], "widths": [8],
            "strides": [1], "width_ratios": [0.5, 1.0], "stem_channels": 8}  # fmt: skip
    form = ConfigForm(
        nw.SearchConfig(space_options=tiny, threads=1, budget={"latency_ms": 1e-6, "peak_memory_mb": "p50"})
    )
    assert form.check_budget(background=False) is None
    latency, memory = (
        re.sub("<[^>]+>", "", text(form.budget_checks[m])) for m in ("latency_ms", "peak_memory_mb")
    )
    assert latency.startswith("unreachable: budget.latency_ms") and "tightest achievable value is" in latency
    assert memory.startswith("reachable: ") and "MB (p50 on this CPU)" in memory and "tightest" in memory
    form.fields["budget.latency_ms"].widget.value = 2.0  # an edit clears the answer about the old limit
    assert text(form.budget_checks["latency_ms"]) == ""


def test_the_budget_check_answers_a_parameter_limit_as_start_would():
    """A parameter limit is checked too: Start refuses one no architecture meets, so the Check button says
    so before Start (a user read "no latency or memory limit to check" as "nothing wrong")."""
    tiny = {"num_stages": 1, "max_depth": 1, "ops": ["conv", "dwsep"], "kernel_sizes": [3], "widths": [8],
            "strides": [1], "width_ratios": [0.5, 1.0], "stem_channels": 8}  # fmt: skip
    form = ConfigForm(nw.SearchConfig(space_options=tiny, budget={"params": 10}))
    assert form.check_budget(background=False) is None
    answer = re.sub("<[^>]+>", "", text(form.budget_checks["params"]))
    assert answer.startswith("unreachable: budget.params") and "10" in answer, answer
    form = ConfigForm(nw.SearchConfig(space_options=tiny, budget={"params": 1_000_000}))
    assert form.check_budget(background=False) is None
    answer = re.sub("<[^>]+>", "", text(form.budget_checks["params"]))
    assert answer.startswith("reachable: 1M parameters; the tightest achievable is about "), answer


def test_the_form_is_generated_from_the_settings_metadata():
    form = ConfigForm()
    for setting in dataclasses.fields(nw.SearchConfig):
        if setting.name in ("budget", "fidelity"):  # shown as a field per metric / per knob
            continue
        assert form._tab_of[setting.name] == FORM_TABS.index(setting.metadata["tab"]), setting.name
    assert form.fields["n_trials"].widget.description == "trials"
    assert form.fields["fidelity.width_multiplier"].widget.description == "width multiplier"
    assert form.tabs.titles == FORM_TABS


def test_an_edit_validates_only_the_setting_that_changed(monkeypatch):
    from nas_workbench.engine import pruning

    form = ConfigForm()
    built: list[str] = []
    for module, name in [(nw.spaces, "get"), (nw.strategies, "make_sampler"), (pruning, "make_pruner")]:
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k)
        )
    for typed in ("t", "ty", "typ", "typed"):  # keystrokes in settings no component checks
        form.fields["study_name"].widget.value = typed
        form.fields["storage"].widget.value = f"sqlite:///{typed}.db"
    form.fields["trial_timeout"].widget.value = 30.0
    form.fields["fidelity.epochs"].widget.value = 3
    assert built == []
    form.fields["pruner_options"].widget.value = '{"n_startup_trials": 2}'
    form.fields["pruner"].widget.value = "median"
    assert set(built) == {"make_pruner"}  # the pruner alone
    built.clear()
    form.fields["n_trials"].widget.value = 0  # wrong: reported, and the advice (which uses it) not asked
    assert "n_trials" in text(form.fields["n_trials"].error) and built == []
    form.fields["timeout"].widget.value = -1.0  # a second bad setting: each shows under its own field
    assert "n_trials" in text(form.fields["n_trials"].error) and "timeout" in text(
        form.fields["timeout"].error
    )
    form.fields["n_trials"].widget.value = 7
    assert text(form.fields["n_trials"].error) == "" and "timeout" in text(form.fields["timeout"].error)


def _texts(widget) -> list[str]:
    """The text of every HTML and Label widget in ``widget``'s tree that shows some, tags stripped."""
    found = []
    if isinstance(widget, W.HTML | W.Label) and widget.value:
        found.append(re.sub("<[^>]+>", "", html.unescape(widget.value)))
    for child in getattr(widget, "children", ()):
        found += _texts(child)
    return found


def test_metrics_are_named_with_units_and_what_0_means_is_said_beside_its_box():
    """The objectives' tags said "latency_ms" beside the budget's "Latency"; that 0 means none (a timeout)
    or keep (a resolution) was said in a tooltip only; "latency for" showed a blank box (JupyterLab)."""
    form = ConfigForm(nw.SearchConfig(profile_metrics=["params", "latency_ms"]))
    objectives, recorded = form.fields["objectives"], form.fields["profile_metrics"]
    assert objectives.widget.value == ["Validation accuracy", "Latency (ms)"]
    assert recorded.widget.value == ["Parameters", "Latency (ms)"]
    assert not {"latency_ms", "peak_memory_mb"} & set(objectives.widget.allowed_tags)
    objectives.widget.value = ["Validation accuracy", "Peak memory (MB)"]
    assert form.read().objectives == ["accuracy", "peak_memory_mb"]
    hints = {key: _texts(form.fields[key].box) for key in ("timeout", "trial_timeout", "fidelity.resolution")}
    assert hints == {
        "timeout": ["0 = none"],
        "trial_timeout": ["0 = none"],
        "fidelity.resolution": ["0 = keep"],
    }
    assert _texts(form.fields["threads"].box) == ["0 = torch's default"]
    form.fields["strategy"].write("proxy_guided")  # an option's doc says what its 0 means: said beside it
    assert _texts(form.strategy_options.fields["score_batch"].box) == ["0 = all at first"]
    assert _texts(form.fields["n_trials"].box) == []  # 0 means nothing special there
    assert form.fields["target_device"].widget.label == "this machine (measured)"
    profiling = form.fields["profiling_method"]
    assert _texts(profiling.box)[0] == "profiling" and not profiling.widget.description  # one row
