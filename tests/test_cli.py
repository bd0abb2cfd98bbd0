"""The command line, run in-process through `main(argv)` as a user would type it."""

from __future__ import annotations

import json

import pytest
import yaml

import nas_workbench as nw
from nas_workbench.cli import main
from nas_workbench.cli._output import budget_lines
from nas_workbench.engine.relative import ResolvedBudget
from nas_workbench.testing.workers import TINY_CHAIN

TINY = {**TINY_CHAIN, "max_depth": 2}  # 20 architectures: depth 1-2, conv or dwsep, two widths


def test_run_show_and_report_from_a_yaml_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {
        "space": "chain",
        "space_options": TINY,
        "strategy": "random",
        "objectives": ["accuracy", "latency_ms"],
        "budget": {"latency_ms": 1000.0},
        "fidelity": {"epochs": 1, "subset": 0.2},
        "n_trials": 2,
        "study_name": "cli",
    }
    (tmp_path / "search.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "search.yaml"]) == 0
    out = capsys.readouterr().out
    assert "on the Pareto front of 2 trials" in out and "latency ms (measured)" in out
    report = tmp_path / "runs" / "cli.html"
    assert report.exists() and "Pareto front" in report.read_text()
    assert (tmp_path / "runs" / "cli.events.jsonl").read_text().count('"kind": "trial_finished"') == 2

    assert main(["show", "cli", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["meta"]["space"] == "chain" and shown["pareto"]
    assert all(row["metrics"]["latency_ms"]["unit"] == "ms" for row in shown["pareto"])

    assert main(["export", "cli", "--format", "onnx", "-o", "best.onnx"]) == 0  # no weights were kept
    assert "Its weights are freshly initialised" in capsys.readouterr().out
    assert (tmp_path / "best.onnx").exists()
    assert main(["export", "cli", "-o", "best.json"]) == 0  # a spec carries no weights: nothing to say
    assert "weights" not in capsys.readouterr().out

    # the study named as `run` names it, and without a name the storage's studies listed
    assert main(["show", "--study", "cli"]) == 0
    assert "on the Pareto front of 2 trials" in capsys.readouterr().out
    assert main(["show"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("Studies in sqlite:///runs/nas_workbench.db")
    assert listed[1].split() == ["study", "space", "strategy", "trials", "started"]
    assert listed[3].split()[:5] == ["cli", "chain", "random", "2", "of"]
    assert main(["export", "-o", "x.json"]) == 2
    assert "study: None is not allowed; the name of a stored study; Studies in" in capsys.readouterr().err
    assert main(["show", "cli", "--study", "other"]) == 2
    assert "--study: 'other' is not allowed" in capsys.readouterr().err


def test_profile_prints_json_for_an_nb201_string(capsys):
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|"
    status = main(
        [
            "profile",
            "--space",
            "nb201",
            "--arch",
            arch,
            "--input-shape",
            "3,32,32",
            "--num-classes",
            "10",
            "--json",
        ]
    )
    assert status == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["arch"] == arch
    metrics = payload["metrics"]
    assert metrics["flops"]["value"] == 2 * metrics["macs"]["value"] > 0
    assert metrics["latency_ms"]["method"] == "measured" and metrics["latency_ms"]["unit"] == "ms"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["profile", "--space", "chian"], "Did you mean 'chain'"),
        (["profile", "--space", "nb201", "--arch", "|bogus~0|"], "nb201"),
        (["profile", "--input-shape", "3,32"], "--input-shape"),
        (["run", "missing.yaml"], "config file"),
        (["show", "nope", "--storage", "sqlite:///empty.db"], "no SQLite storage at empty.db"),
        (["demo", "--budget", "p300", "--storage", "sqlite:///d.db"], "budget.latency_ms: 'p300'"),
        (["demo", "--budget", "fast", "--storage", "sqlite:///d.db"], "'Fx fastest'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_strategies_lists_every_registered_strategy_and_advise_reads_a_config(tmp_path, capsys):
    import nas_workbench as nw

    assert main(["strategies"]) == 0
    listing = capsys.readouterr().out
    assert all(f"{name}:" in listing for name in nw.strategies.list())
    (tmp_path / "c.yaml").write_text("space: nb201\nn_trials: 100\nbudget: {latency_ms: 2}\n")
    assert main(["advise", str(tmp_path / "c.yaml")]) == 0
    strategy, _, reason = capsys.readouterr().out.partition(": ")
    assert strategy in nw.strategies.list() and reason.strip()


def test_space_and_strategy_options_override_the_config_file_and_bad_ones_name_their_field(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("space: nb201\nn_trials: 10\n")
    assert main(["advise", str(tmp_path / "c.yaml")]) == 0
    assert capsys.readouterr().out.startswith("dnas: ")  # a cell space far larger than the trials
    assert main(["advise", str(tmp_path / "c.yaml"), "--space", "chain"]) == 0
    assert capsys.readouterr().out.startswith("tpe: ")
    for argv, message in [
        (["--space", "chian"], "error: space: 'chian' is not allowed; Unknown search space 'chian'."),
        (["--strategy", "tpee"], "Did you mean 'tpe'?"),
        (["--workers", "0"], "argument --workers: 0 is not allowed; an integer >= 1"),
    ]:
        try:
            status = main(["run", *argv])
        except SystemExit as exit:  # argparse's own refusal
            status = exit.code
        err = capsys.readouterr().err
        assert status == 2 and message in err and "Traceback" not in err, err


def tiny_yaml(tmp_path, budget) -> str:
    config = {
        "space": "chain",
        "space_options": TINY_CHAIN,
        "strategy": "random",
        "objectives": ["accuracy", "latency_ms"],
        "budget": budget,
        "threads": 1,
        "fidelity": {"epochs": 1, "subset": 0.2},
        "n_trials": 2,
        "study_name": "relative",
    }
    (tmp_path / "search.yaml").write_text(yaml.safe_dump(config))
    return "search.yaml"


def test_an_unreachable_latency_budget_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", tiny_yaml(tmp_path, {"latency_ms": 1e-6})]) == 2
    said, line = capsys.readouterr().err.strip().splitlines()  # what it waited for (seconds), then why
    assert said == (
        "Opening study 'relative': checking that an architecture of the space meets latency_ms <= 1e-06 ms..."
    )
    assert line.startswith("error: budget.latency_ms: no architecture of the 'chain' space fits 1e-06 ms")
    assert "tightest achievable value is" in line


def test_a_relative_budget_is_printed_resolved_and_kept_on_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAS_WORKBENCH_CACHE", str(tmp_path / "cache"))  # none resolved before: resolved here
    assert main(["run", tiny_yaml(tmp_path, {"latency_ms": "p50"})]) == 0
    err = capsys.readouterr().err
    assert ("Opening study 'relative': resolving the budget latency_ms <= p50 on this CPU by profiling 32 "
            "random networks of the space...") in err  # fmt: skip
    (line,) = [line for line in err.splitlines() if line.startswith("Budget: ")]
    assert line.startswith("Budget: latency_ms <= ") and line.endswith(" ms (p50 on this CPU, measured)")
    assert len(line) <= 60  # one short line: a terminal of 100 columns does not wrap it
    value = float(line.split("<= ")[1].split()[0])
    assert main(["run", "search.yaml", "--trials", "3", "-v"]) == 0  # a resume: the stored limit again
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("Budget: ")] == [line]
    (how,) = [line for line in err.splitlines() if line.startswith("  p50: ")]  # -v: how it was resolved
    assert how.startswith("  p50: percentile 50 of 4 random architectures (seed 0): ")  # the tiny space
    assert "Opening study" not in err  # nothing resolved, nothing checked: no wait to explain
    assert main(["show", "relative", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)["meta"]
    assert meta["budget"]["latency_ms"] == pytest.approx(value, rel=5e-3)  # printed to 3 significant digits


def test_the_budget_lines_say_each_limit_its_device_and_how_it_is_obtained():
    resolved = ResolvedBudget("latency_ms", "p30", 10.94, "ms", "pixel3, predicted", "percentile 30 of 32")
    on_phone = nw.SearchConfig(budget={"latency_ms": 10.94, "params": 150_000}, target_device="pixel3")
    assert budget_lines(on_phone, {"latency_ms": resolved}, verbose=True) == [
        "Budget: latency_ms <= 10.9 ms (p30 on pixel3, predicted)",
        "  p30: percentile 30 of 32",
        "Budget: params <= 150k parameters (counted)",
    ]
    here = nw.SearchConfig(budget={"peak_memory_mb": 2.5}, profiling_method="proxy")
    assert budget_lines(here, {}) == ["Budget: peak_memory_mb <= 2.5 MB (on this CPU, estimated)"]
    assert budget_lines(nw.SearchConfig(budget={}), {}) == ["Budget: none"]


@pytest.mark.slow  # profiles 32 networks of the demo's whole space: 44 s in CI (2026-12-06)
def test_the_demo_budget_is_relative_and_resolves_on_this_machine(storage):
    from nas_workbench.cli import DEMO_CONFIG
    from nas_workbench.engine import SearchRun

    assert isinstance(DEMO_CONFIG.budget["latency_ms"], str)  # any machine, fast or slow
    run = SearchRun(DEMO_CONFIG.replace(storage=storage, study_name="demo-budget"))
    resolved = run.resolved_budget["latency_ms"]
    assert resolved.spec == DEMO_CONFIG.budget["latency_ms"] and resolved.value > 0
    assert run.config.budget["latency_ms"] == resolved.value


def test_a_demo_where_nothing_fits_says_why_and_what_to_change(storage, tiny_task, capsys):
    import nas_workbench as nw
    from nas_workbench.cli.search import _demo_verdict

    config = nw.SearchConfig(space="chain", space_options=TINY_CHAIN, threads=1,
                             budget={"latency_ms": "p50"}, storage=storage, study_name="nothing")  # fmt: skip
    run = nw.search(config, data=tiny_task)
    assert _demo_verdict([], run) == 1  # no trial fitted: exit status 1, never silence
    out = capsys.readouterr().out
    assert out.startswith("No architecture met the budget of ") and "ms (p50 on this CPU)" in out
    assert "--budget p70" in out and "2x fastest" in out


def test_run_names_the_advised_strategy_in_a_clause_and_verbose_gives_the_reasoning(
    tmp_path, capsys, monkeypatch
):
    """A terminal user reads a line, not the advisor's evidence (`nas-workbench advise` prints that, and
    ``--verbose`` after the command as before it)."""
    monkeypatch.chdir(tmp_path)
    command = ["run", tiny_yaml(tmp_path, {"params": 100_000}), "--strategy", "auto", "--trials", "1"]
    assert main(command) == 0
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("Search space 'chain'")]
    assert line.endswith("(auto: the advisor's pick; `nas-workbench advise` says why); 1 trial")
    assert "resolved to" not in err
    for verbose in ([*command, "--verbose"], ["-v", *command]):
        assert main(verbose) == 0
        err = capsys.readouterr().err
        (advice,) = [line for line in err.splitlines() if line.startswith("Strategy 'auto' resolved to ")]
        assert len(advice) > 100 and "advisor's pick" not in err
