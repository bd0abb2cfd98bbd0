"""Wrong invocations of the command line, as a newcomer types them: each ends in clear lines and exit
status 2 before any work is done, and readers of studies never create a storage."""

from __future__ import annotations

import argparse
import os

import pytest
import yaml

import nas_workbench as nw
from nas_workbench.cli import main
from nas_workbench.cli._parser import build_parser
from nas_workbench.testing.workers import TINY_CHAIN


def run_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``, which must be refused with exit status 2; its stderr."""
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own refusals
        status = exit.code
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_version_and_a_did_you_mean_for_a_mistyped_command(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out.strip() == f"nas-workbench {nw.__version__}"
    assert "did you mean 'show'?" in run_refused(["shwo"], capsys)
    assert "did you mean 'onnx'?" in run_refused(["export", "s", "-o", "x", "--format", "onx"], capsys)


def test_every_option_of_every_command_has_a_help_text_and_the_description_is_plain():
    parser = build_parser()
    assert "``" not in parser.description and ":" not in parser.description.split(".")[0][-3:]

    def parsers(parser: argparse.ArgumentParser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    undocumented = [
        f"{p.prog} {a.dest}"
        for p in parsers(parser)
        for a in p._actions
        if not a.help and not isinstance(a, argparse._SubParsersAction)
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--trials", "0"], "--trials: 0 is not allowed"),
        (["profile", "--num-classes", "0"], "--num-classes: 0 is not allowed"),
        (["profile", "--num-classes", "-3"], "--num-classes: -3 is not allowed"),
        (["profile", "--space", "chain", "--arch", "nonsense"], "is not an architecture of 'chain'"),
        (["demo", "--study", ""], "study_name: ''"),
        (["show", "s", "--storage", ""], "--storage: ''"),
        (["show", "s", "--storage", "sqlite:////proc/x/y.db"], "no SQLite storage at /proc/x/y.db"),
        (["run", "c.yaml", "--storage", "sqlite:////proc/x/y.db"], "cannot create the folder"),
        (["run", "c.yaml", "--report", "/proc/x/r.html"], "--report: '/proc/x/r.html'"),
        (["export", "s", "-o", "/proc/x/spec.json"], "--output: '/proc/x/spec.json'"),
        (["worker", "--storage", "sqlite:///w.db", "--study", "a\x01b"], "study: 'a\\x01b'"),
        (["show", "a\nb"], "study: 'a\\nb'"),
    ],
)
def test_bad_values_are_refused_before_any_work(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"space_options": TINY_CHAIN, "n_trials": 1}))
    assert message in run_refused(argv, capsys)
    assert not (tmp_path / "runs").exists()  # no storage, study or report was created


def test_show_and_export_on_a_mistyped_path_create_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "no SQLite storage" in run_refused(["show", "demo"], capsys)
    assert "no SQLite storage" in run_refused(["export", "demo", "-o", "a.json"], capsys)
    assert "no SQLite storage" in run_refused(["show", "d", "--storage", "sqlite:///other/x.db"], capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("two.yaml", "space: chian\nn_trials: 0\nbogus: 1\n", ["space: 'chian'", "n_trials: 0", "bogus: 1"]),
        ("empty.yaml", "", ["the file is empty"]),
        ("twice.yaml", "n_trials: 3\nn_trials: 4\n", ["the key 'n_trials' is set twice"]),
        ("twice.json", '{"seed": 1, "seed": 2}', ["the key 'seed' is set twice"]),
        ("binary.yaml", b"\x80\x81\xfe\x00", ["not UTF-8 text"]),
        ("list.yaml", "- a\n- b\n", ["a mapping of settings"]),
    ],
)
def test_every_config_error_is_reported_at_once(name, content, message, capsys, tmp_path):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    err = run_refused(["run", str(path)], capsys)
    assert all(part in err for part in message), err
    assert all(line.startswith("error: ") for line in err.strip().splitlines())
    assert len(err.strip().splitlines()) == len(message)


def test_spaces_lists_every_space_with_its_size(capsys):
    assert main(["spaces"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == nw.spaces.list()
    assert all(
        f"{nw.spaces.get(name).size():,} architectures" in line
        for name, line in zip(nw.spaces.list(), lines, strict=True)
    )


def test_a_worker_imports_evaluate_from_a_module_in_its_own_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_eval.py").write_text("def evaluate(spec, model):\n    return {'accuracy': 0.5}\n")
    err = run_refused(
        ["worker", "--storage", "sqlite:///w.db", "--study", "none", "--evaluate", "my_eval:evaluate"], capsys
    )
    assert "--evaluate" not in err and "no study 'none'" in err  # imported; the study is what is missing
