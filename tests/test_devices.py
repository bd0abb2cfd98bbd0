"""A search whose latency budget names a device the workbench cannot run on: config, engine and CLI."""

from __future__ import annotations

import csv

import pytest
import torch
import yaml

import nas_workbench as nw
from nas_workbench.cli import format_pareto_table, main
from nas_workbench.engine import events as ev
from nas_workbench.exceptions import ConfigError
from nas_workbench.profiling.device_csv import read_latency_table
from nas_workbench.profiling.device_report import WEAK_SPEARMAN, spearman_range
from nas_workbench.testing.workers import TINY_CHAIN

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures: depth 1-2, conv or dwsep, two widths


def device_ms(spec) -> float:
    """A synthetic device where every block costs 2 ms, a plain convolution 3 ms more."""
    blocks = [k for k in spec.choices if k.endswith(".op")]
    return 1.0 + sum(2.0 + (3.0 if spec.choices[k] == "conv" else 0.0) for k in blocks)


@pytest.fixture(autouse=True)
def _own_profiles(tmp_path, monkeypatch):
    """Each test sees only the device profiles it saves."""
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny_device(tiny_task):
    """A profile of the tiny chain space on the synthetic device, fitted on the tiny task's input."""
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    latency = [device_ms(space.parse(a)) for a in archs]
    shape, classes = tiny_task.input_shape, tiny_task.num_classes
    return nw.profiling.fit_device("tinyphone", space, archs, latency, input_shape=shape, num_classes=classes)


def test_a_budget_on_a_named_device_rules_out_what_it_predicts_too_slow(storage, tiny_task, tiny_device):
    limit = 6.5  # one dwsep block (3 ms) or two (5 ms) or one conv block (6 ms) fit; nothing with two convs
    config = nw.SearchConfig(
        space="chain",
        space_options=TINY,
        strategy="random",
        objectives=["accuracy", "latency_ms"],
        budget={"latency_ms": limit},
        target_device="tinyphone",
        fidelity=nw.Fidelity(epochs=1, batch_size=32),
        n_trials=8,
        storage=storage,
        study_name="phone",
        profile_metrics=["params"],
    )
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": 0.5}, data=tiny_task)
    run.run()
    results = run.results()
    assert len(results) == 8
    space = run.space
    for r in results:
        latency = r.metrics["latency_ms"]
        assert latency["method"] == "predicted"
        assert latency["source"] == "predicted for tinyphone from 8 measurements"
        truth = device_ms(space.parse(r.arch))
        assert latency["value"] == pytest.approx(truth, rel=0.05)
        assert r.status == ("ok" if latency["value"] <= limit else "infeasible")
    assert {r.status for r in results} == {"ok", "infeasible"}
    stored = nw.engine.records.trial_results(run.study)
    assert all(r.metrics["latency_ms"]["method"] == "predicted" for r in stored)
    from nas_workbench.engine.study_record import record_of
    from nas_workbench.viz._state import stored_budget

    assert stored_budget(record_of(run.study)) == (
        {"latency_ms": limit},
        {"latency_ms": "predicted for tinyphone"},
    )


def test_target_device_is_validated_with_a_suggestion(tiny_device):
    base = nw.SearchConfig(space="chain", space_options=TINY)
    assert base.replace(target_device="tinyphone").target_device == "tinyphone"
    with pytest.raises(ConfigError, match=r"target_device: 'tinyfone'.*Did you mean 'tinyphone'"):
        base.replace(target_device="tinyfone")
    with pytest.raises(ConfigError, match="target_device: 3"):
        base.replace(target_device=3)
    with pytest.raises(ConfigError, match="fitted on this search's space 'nb201'"):
        nw.SearchConfig(space="nb201", target_device="tinyphone").validate()
    loaded = nw.SearchConfig.from_dict(
        {"space": "chain", "space_options": TINY, "target_device": "tinyphone"}
    )
    assert loaded.to_dict()["target_device"] == "tinyphone"


def test_device_commands_propose_fit_show_and_list(tmp_path, capsys):
    space = nw.spaces.get("nb201")
    csv = tmp_path / "archs.csv"
    assert main(["device", "propose", "--space", "nb201", "-n", "5", "-o", str(csv)]) == 0
    rows = csv.read_text().splitlines()
    assert rows[0] == "arch,latency_ms" and len(rows) == 6
    ops = {"none": 0, "skip_connect": 0.1, "nor_conv_1x1": 1, "nor_conv_3x3": 2, "avg_pool_3x3": 0.5}
    filled = [f"{a.rstrip(',')},{3 + sum(ops[o] for o in space.parse(a.rstrip(',')).choices.values())}"
              for a in rows[1:]]  # fmt: skip
    csv.write_text("\n".join([rows[0], *filled]) + "\n")
    capsys.readouterr()
    assert main(["device", "fit", "pi4", "--space", "nb201", "--no-prior", str(csv)]) == 0
    assert "saved device profile 'pi4'" in capsys.readouterr().out
    assert main(["device", "show", "pi4"]) == 0
    out = capsys.readouterr().out
    assert "predicted for pi4 from 5 measurements" in out and "Spearman" in out and "within ±10%" in out
    assert main(["device", "list"]) == 0
    assert capsys.readouterr().out == "pi4: nb201, 5 measurements\n"

    csv.write_text("\n".join([rows[0], *filled, filled[1]]) + "\n")
    assert main(["device", "fit", "pi4", "--space", "nb201", str(csv)]) == 2
    assert "archs.csv line 7 arch" in capsys.readouterr().err
    assert main(["device", "show", "pi5"]) == 2
    assert "Did you mean 'pi4'" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["yaml", "option"])
def test_a_run_names_the_device_in_yaml_or_an_option(where, tmp_path, tiny_device, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    config = {
        "space": "chain",
        "space_options": TINY,
        "strategy": "random",
        **({"target_device": "tinyphone"} if where == "yaml" else {}),
        "budget": {"latency_ms": 8.0},
        "fidelity": {"epochs": 1, "subset": 0.2},
        "profile_metrics": ["params"],
        "n_trials": 2,
        "study_name": "phone",
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "c.yaml", *(["--target-device", "tinyphone"] if where == "option" else [])]) == 0
    assert "latency ms (predicted for tinyphone from 8 measurements)" in capsys.readouterr().out


def test_a_budget_no_architecture_is_predicted_to_meet_on_the_device_is_refused_before_the_search(
    storage, tiny_task, tiny_device
):
    from nas_workbench.engine.preflight import budget_report
    from nas_workbench.exceptions import InfeasibleBudgetError
    from nas_workbench.spaces._base import enumerate_specs

    config = nw.SearchConfig(
        space="chain", space_options=TINY, strategy="random", objectives=["accuracy"], n_trials=2,
        budget={"latency_ms": 2.0}, target_device="tinyphone", storage=storage, study_name="too-fast",
        profile_metrics=["params"], budget_confidence=0.8,
    )  # fmt: skip
    fastest = min(map(device_ms, enumerate_specs(nw.spaces.get("chain", **TINY))))  # one dwsep block: 3 ms
    with pytest.raises(
        InfeasibleBudgetError,
        match=r"within 2 ms on 'tinyphone' at budget_confidence 0.8; the tightest, its 89%-sure bound, is 3",
    ):  # from 8 measurements, the 8th of 8 ratios: 8 / 9 sure
        nw.search(config, evaluate=lambda spec, model: {"accuracy": 0.5}, data=tiny_task)
    with pytest.raises(InfeasibleBudgetError, match=r"within 2 ms on 'tinyphone'; the tightest predicted is"):
        nw.search(config.replace(budget_confidence=0.0), evaluate=lambda spec, model: {}, data=tiny_task)
    assert fastest == 3.0
    assert budget_report(config, tiny_task)["latency_ms"].startswith("unreachable: budget.latency_ms")
    line = budget_report(config.replace(budget={"latency_ms": 6.5}), tiny_task)["latency_ms"]
    assert line.startswith("reachable: 6.5 ms; the tightest predicted for tinyphone is about 3")
    assert line.endswith(" ms (its bound at budget_confidence 0.8)")
    relative = budget_report(config.replace(budget={"latency_ms": "2x fastest"}), tiny_task)["latency_ms"]
    assert relative.startswith("reachable: 6 ms (2x fastest on tinyphone, predicted)")  # not this CPU's


def test_the_form_offers_the_saved_profiles_and_reads_the_choice(tiny_device):
    from nas_workbench.ui.form import ConfigForm

    config = nw.SearchConfig(space="chain", space_options=TINY, target_device="tinyphone")
    form = ConfigForm(config)
    box = form.fields["target_device"].widget
    assert [value for _, value in box.options] == ["", "tinyphone"] and box.value == "tinyphone"
    assert box.label == "tinyphone (chain, predicted)"  # its space: one of another space is refused
    assert form.read().target_device == "tinyphone"
    box.value = ""  # "this machine (measured)": not None, which a dropdown shows as a blank box
    assert form.read().target_device is None
    assert ConfigForm(nw.SearchConfig(space="chain", space_options=TINY)).fields["target_device"].widget.label
    # ^ the label shown: a dropdown whose value is None shows none


def test_a_strategy_given_the_devices_predictions_proposes_nothing_over_its_budget(
    storage, tiny_task, tiny_device
):
    """The engine gives the strategy each candidate's parameter count and predicted latency before it
    proposes one (`SamplerContext.costs`) and the budget's limits (`SamplerContext.limits`): a limit on a
    counted cost is exact, so no trial is over budget from the first on (tests/strategies/
    test_exact_limits.py checks every strategy; here the wiring, end to end)."""
    config = nw.SearchConfig(
        space="chain",
        space_options=TINY,
        strategy="evolution",
        budget={"latency_ms": 6.5},
        target_device="tinyphone",
        fidelity=nw.Fidelity(epochs=1, batch_size=32),
        n_trials=18,
        seed=0,
        storage=storage,
        study_name="phone-evolution",
        profile_metrics=["params"],
    )
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": len(spec.choices) / 10}, data=tiny_task)
    run.run()
    costs = run.study.sampler.feasibility.costs
    spec = run.space.parse(run.results()[0].arch)
    assert costs is not None and set(costs.costs(spec)) == {"params", "latency_ms"}
    assert costs.costs(spec)["latency_ms"] == tiny_device.upper_ms(spec, config.budget_confidence)
    statuses = [r.status for r in sorted(run.results(), key=lambda r: r.number)]
    assert statuses == ["ok"] * 18, statuses


def test_proxy_guided_given_the_limit_proposes_nothing_over_budget_from_its_first_trial(
    storage, tiny_task, tiny_device
):
    """The engine tells the sampler the budget's limits (`SamplerContext.limits`), so a strategy that
    knows each candidate's predicted latency rules out those over the limit before any trial; it used to
    learn the limit from its first trial, the prior's top pick, which is the largest network: over."""
    config = nw.SearchConfig(
        space="chain", space_options=TINY, strategy="proxy_guided", objectives=["accuracy"],
        budget={"latency_ms": 6.5}, target_device="tinyphone", fidelity=nw.Fidelity(epochs=1, batch_size=32),
        n_trials=4, seed=0, storage=storage, study_name="phone-guided", profile_metrics=["params"],
    )  # fmt: skip
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": len(spec.choices) / 10}, data=tiny_task)
    run.run()
    assert [r.status for r in sorted(run.results(), key=lambda r: r.number)] == ["ok"] * 4


def test_a_profile_measured_at_another_input_is_said_when_the_search_starts(tiny_task, tiny_device):
    import warnings

    from nas_workbench.engine.preflight import Networks, prepare_machine

    config = nw.SearchConfig(space="chain", space_options=TINY, target_device="tinyphone")
    networks = Networks.of(config, tiny_task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_machine(config, lambda: networks, tiny_device)  # measured at the search's input: silent
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    big = nw.profiling.fit_device("bigphone", space, archs, [device_ms(space.parse(a)) for a in archs])
    with pytest.warns(
        UserWarning, match=r"'bigphone' predicts latency at input \[3, 32, 32\].*--input-shape"
    ):
        prepare_machine(config.replace(target_device="bigphone"), lambda: networks, big)


def test_that_warning_is_also_an_event_of_the_run_for_the_widget(storage, tiny_task):
    """The widget's search runs in a thread, whose Python warnings it never sees: the run emits each
    warning raised while it readies the machine as a `RunWarning` too, and still raises it (the CLI)."""
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    nw.profiling.fit_device("bigphone", space, archs, [device_ms(space.parse(a)) for a in archs])
    config = nw.SearchConfig(
        space="chain", space_options=TINY, strategy="random", objectives=["accuracy"],
        target_device="bigphone", n_trials=1, storage=storage, study_name="warned",
        profile_metrics=["params"],
    )  # fmt: skip
    run = nw.search(config, evaluate=lambda spec, model: {"accuracy": 0.5}, data=tiny_task)
    events: list[ev.Event] = []
    run.subscribe(events.append)
    with pytest.warns(UserWarning, match=r"'bigphone' predicts latency at input \[3, 32, 32\]"):
        run.run()
    warned = [e for e in events if isinstance(e, ev.RunWarning)]
    assert len(warned) == 1 and warned[0].category == "UserWarning", warned
    assert "'bigphone' predicts latency at input [3, 32, 32]" in warned[0].message
    assert events.index(warned[0]) < next(i for i, e in enumerate(events) if isinstance(e, ev.TrialFinished))


def test_device_propose_writes_a_model_file_per_architecture_that_the_csv_names(tmp_path, capsys):
    space = nw.spaces.get("chain")
    folder = tmp_path / "to_phone"
    args = ["device", "propose", "--space", "chain", "-n", "2", "--models", str(folder)]
    assert main([*args, "--format", "torchscript", "--input-shape", "1,8,8", "--num-classes", "4"]) == 0
    assert "--input-shape 1,8,8 --num-classes 4" in capsys.readouterr().err  # how to fit what was measured
    with open(folder / "archs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == ["arch-01.torchscript.pt", "arch-02.torchscript.pt"]
    for row in rows:  # each file is the row's network, carrying its spec, at the asked input and outputs
        extra = {"spec.json": ""}
        module = torch.jit.load(str(folder / row["model"]), _extra_files=extra)
        assert nw.ArchSpec.from_json(extra["spec.json"]) == space.parse(row["arch"])
        assert module(torch.zeros(1, 1, 8, 8)).shape == (1, 4)
        row["latency_ms"] = "4.5"
    with open(folder / "archs.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["arch", "latency_ms", "model"])
        writer.writeheader()
        writer.writerows(rows)
    wanted = lambda header: ["latency_ms"]  # noqa: E731  # as device fit reads it: the model column ignored
    _, read = read_latency_table(folder / "archs.csv", space, "CSV file", wanted, "")
    assert [(row.spec, row.latencies) for row in read] == [(space.parse(row["arch"]), [4.5]) for row in rows]


def test_device_propose_models_of_rows_take_rows(tmp_path, capsys):
    """A network of a table's rows (input shape 1,1,D) is written taking (N, D) rows, as every export of
    one is, and the command says so."""
    folder = tmp_path / "to_board"
    args = ["device", "propose", "--space", "chain", "-n", "1", "--models", str(folder), "--format"]
    assert main([*args, "torchscript", "--input-shape", "1,1,6", "--num-classes", "3"]) == 0
    assert "(input 1x6, 3 outputs)" in capsys.readouterr().err
    module = torch.jit.load(str(folder / "arch-01.torchscript.pt"))
    assert module(torch.zeros(5, 6)).shape == (5, 3)


def test_a_budget_on_a_device_is_judged_by_its_bound_at_the_confidence_asked(storage, tiny_task):
    """A profile fitted on noisy measurements has a wide interval: at ``budget_confidence`` 0.8 a trial is
    within budget only when its bound is, and each trial's latency says its verdict and how sure; at 0 the
    prediction alone decides. One conv block (6 ms, predicted about that) fits 6.5 ms only at 0."""
    from nas_workbench.spaces._base import enumerate_specs

    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 8, seed=0)
    noise = [0.85, 1.15, 0.9, 1.1, 1.0, 0.95, 1.2, 1.05]  # what the device adds that no model sees
    latency = [device_ms(space.parse(a)) * f for a, f in zip(archs, noise, strict=True)]
    shape, classes = tiny_task.input_shape, tiny_task.num_classes
    nw.profiling.fit_device("noisyphone", space, archs, latency, input_shape=shape, num_classes=classes)
    conv = next(s for s in enumerate_specs(space) if device_ms(s) == 6.0)
    config = nw.SearchConfig(
        space="chain", space_options=TINY, strategy="random", objectives=["accuracy"], n_trials=6,
        budget={"latency_ms": 6.5}, target_device="noisyphone", storage=storage, profile_metrics=["params"],
        initial_architectures=[space.format(conv)],
    )  # fmt: skip
    statuses = {}
    for confidence in (0.8, 0.0):
        run = nw.search(
            config.replace(budget_confidence=confidence, study_name=f"noisy-{confidence}"),
            evaluate=lambda spec, model: {"accuracy": 0.5},
            data=tiny_task,
        )
        run.run()
        for r in run.results():
            latency_ms = r.metrics["latency_ms"]
            verdict = latency_ms["detail"]["budget"]
            assert (
                r.status == ("ok" if verdict["upper_ms"] <= 6.5 else "infeasible")
                and verdict["limit_ms"] == 6.5
            )
            assert verdict["verdict"].startswith("predicted within" if r.status == "ok" else "predicted over")
            assert (verdict["upper_ms"] > latency_ms["value"]) == (confidence > 0)
            assert r.reason is None or r.reason.startswith("over budget: latency_ms predicted over budget (")
        statuses[confidence] = next(r.status for r in run.results() if r.arch == space.format(conv))
        table = format_pareto_table(run.results(), ["accuracy"], ["maximize"], {"latency_ms": 6.5})
        assert "% sure within)" in table.splitlines()[2]  # the CLI's table says how sure
    assert statuses == {0.8: "infeasible", 0.0: "ok"}


def test_a_profile_shown_in_a_cell_says_its_quality_and_warns_when_it_ranks_poorly(tiny_device, tiny_task):
    assert repr(tiny_device).startswith("DeviceProfile('tinyphone': chain at input")
    assert "8 measurements; leave-one-out Spearman" in repr(tiny_device) and "\n" not in repr(tiny_device)
    text = str(tiny_device)
    assert "predicted for tinyphone from 8 measurements" in text and "80% interval" in text
    assert "weak" not in text and "weak" not in tiny_device._repr_html_()  # the device is a sum of its blocks
    space = nw.spaces.get("chain", **TINY)
    archs = nw.profiling.propose(space, 16, seed=0)
    noise = [5.0, 1.0, 4.0, 2.0, 8.0, 1.5, 0.5, 6.0, 3.0, 7.0, 2.5, 0.8, 4.5, 1.2, 6.5, 3.5]  # unexplained
    shape, classes = tiny_task.input_shape, tiny_task.num_classes
    noisy = nw.profiling.fit_device("noisy", space, archs, noise, input_shape=shape, num_classes=classes)
    assert "weak: it ranks networks poorly" in str(noisy) and "device propose --space chain -n 26`" in str(
        noisy
    )
    assert "its first 16 are those proposed before" in str(noisy)  # propose(26)[:16] == propose(16)
    assert nw.profiling.propose(space, 26, seed=0)[:16] == archs
    assert "<li>weak: it ranks networks poorly" in noisy._repr_html_() and "--local-prior" in str(noisy)
    # the measurements' range, where a mistyped one shows (no check can refuse it: devices span 1000x)
    assert "measured: 16 architectures, 0.5 to 8 ms (median 3.25 ms)" in str(noisy)
    low, high = spearman_range(noisy.quality["spearman"], 16)
    assert f"({low:.2f}-{high:.2f} at 90% from 16)" in str(noisy) and high < WEAK_SPEARMAN
    # From 8 of them the same figures cannot tell: uncertain, with the same advice.
    few = nw.profiling.fit_device("few", space, archs[:8], noise[:8], input_shape=shape, num_classes=classes)
    assert few.quality["spearman"] < WEAK_SPEARMAN <= spearman_range(few.quality["spearman"], 8)[1]
    assert "uncertain: its Spearman is below 0.8, but from 8 measurements" in str(few)
    assert "weak" not in str(few) and "device propose --space chain -n 18`" in str(few)


@pytest.mark.parametrize(
    ("rho", "n", "low", "high"), [(0.77, 10, 0.30, 0.94), (0.178, 10, -0.42, 0.67), (0.975, 20, 0.94, 0.99)]
)
def test_a_spearman_of_few_measurements_is_said_with_its_range(rho, n, low, high):
    """Fisher's z with Bonett and Wright's variance; 0.77 of 10 pairs spans 0.30-0.94 (the Pixel 3 profile
    whose leave-one-out 0.77 ranked the other cells at 0.975)."""
    assert spearman_range(rho, n) == pytest.approx((low, high), abs=0.005)
    assert spearman_range(0.5, 3) == (-1.0, 1.0) and spearman_range(1.0, 10)[1] <= 1.0
