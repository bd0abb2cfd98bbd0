"""A user's own data from the terminal: ``nas-workbench run --data FILE`` and a config file's ``dataset:``;
a study resumes only on its own data, and export asks for it. ``run``, ``advise``, ``worker`` and
``export`` take the same data options."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import yaml
from test_cli_input import run_refused  # tests/ is on the path (pytest's prepend import mode)

from nas_workbench.cli import main
from nas_workbench.engine.callables import load_dataset
from nas_workbench.testing.workers import TINY_CHAIN


def write_data(path, n: int = 40) -> str:
    """A CSV of ``n`` rows: three features and a text label ('kind', not the last column) they predict."""
    rows = [f"{i % 5},{'ab'[i % 2]},{(i % 2) * 3 - 1},{i % 7}" for i in range(n)]
    path.write_text("\n".join(["size,kind,signal,noise", *rows]) + "\n")
    return path.name


def tiny_config(tmp_path, **settings) -> str:
    config = {"space_options": TINY_CHAIN, "strategy": "random", "threads": 1, "n_trials": 2,
              "fidelity": {"epochs": 1, "batch_size": 16}, **settings}  # fmt: skip
    (tmp_path / "search.yaml").write_text(yaml.safe_dump(config))
    return "search.yaml"


@pytest.mark.slow  # two short searches and two exports: 15-60 s on 2 busy cores
def test_a_search_on_a_csv_resumes_on_it_and_refuses_other_data(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path / "mine.csv")
    argv = ["run", tiny_config(tmp_path), "--data", "mine.csv", "--label", "kind", "--budget", "params=1e6"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Data mine.csv: 40 rows of 3 features; label 'kind': 2 classes (a, b)" in captured.err
    assert "Study 'mine-chain-random-seed0'" in captured.err  # named after the data: other data, other study
    assert "on the Pareto front of 2 trials" in captured.out and "params <= 1M parameters" in captured.out

    assert main([*argv, "--trials", "3"]) == 0  # the same command resumes
    assert "of 3 trials" in capsys.readouterr().out
    write_data(tmp_path / "mine.csv", n=50)  # the file changed under the same study
    err = run_refused(argv, capsys)
    assert "error: data: " in err and "the data study 'mine-chain-random-seed0' was searched on" in err
    assert "--data FILE" in err

    export = ["export", "mine-chain-random-seed0", "--format", "onnx", "-o", "best.onnx"]
    assert "the data study 'mine-chain-random-seed0' was searched on" in run_refused(export, capsys)
    write_data(tmp_path / "mine.csv")
    assert main([*export, "--data", "mine.csv", "--label", "kind"]) == 0
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "best.onnx")).metadata_props}
    assert json.loads(props["nas_workbench.class_names"]) == ["a", "b"]  # output 0 is 'a', 1 is 'b'
    worker = ["worker", "--storage", "sqlite:///runs/nas_workbench.db", "--study", "mine-chain-random-seed0"]
    assert main([*worker, "--data", "mine.csv", "--label", "kind"]) == 0  # the study's data: nothing left
    assert "ran 0 trials; the study has 3/3 done" in capsys.readouterr().err


def test_run_study_continues_with_its_own_settings_and_data_file(tmp_path, capsys, monkeypatch):
    """``run --study NAME`` with no config file, data or budget continues the study as it was searched:
    its budget is kept (the defaults would drop it) and its data file is read again from where it was;
    export finds that file too, and asks for the data once the file has moved."""
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path / "mine.csv")
    config = tiny_config(tmp_path, n_trials=1, study_name="mine")
    assert main(["run", config, "--data", "mine.csv", "--label", "kind", "--budget", "params=1e6"]) == 0
    capsys.readouterr()

    assert main(["run", "--study", "mine", "--trials", "2"]) == 0
    captured = capsys.readouterr()
    assert "Continuing study 'mine' with its stored settings" in captured.err
    assert "Study 'mine' searched on mine.csv: reading it again" in captured.err
    assert "of 2 trials" in captured.out and "budget: params <= 1M parameters" in captured.out
    assert main(["export", "mine", "--format", "spec", "-o", "best.json"]) == 0
    assert main(["export", "mine", "--format", "state_dict", "-o", "best.pt"]) == 0
    assert "reading it again" in capsys.readouterr().err
    (tmp_path / "mine.csv").rename(tmp_path / "moved.csv")
    export = ["export", "mine", "--format", "state_dict", "-o", "best.pt"]
    assert "pass it (task= in Python; --data FILE on the command line)" in run_refused(export, capsys)


def test_a_config_file_names_its_data_and_bad_data_stops_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_data(tmp_path / "mine.csv")
    named = tiny_config(tmp_path, dataset={"path": "mine.csv", "label": "kinds"})
    assert "error: dataset.label: 'kinds' is not allowed" in run_refused(["run", named], capsys)
    assert "error: --label: 'kind' is not allowed" in run_refused(["run", "--label", "kind"], capsys)
    assert "error: --data: 'nope.csv' is not allowed" in run_refused(["run", "--data", "nope.csv"], capsys)
    assert "error: --budget: '=p40'" in run_refused(["run", "--data", "mine.csv", "--budget", "=p40"], capsys)
    assert "Unknown budget metric 'watts'" in run_refused(["run", "--budget", "watts=3"], capsys)
    worker = ["worker", "--storage", "sqlite:///w.db", "--study", "s", "--data"]
    assert "error: --data: 'nope.npz' is not allowed" in run_refused([*worker, "nope.npz"], capsys)
    assert "error: --data: 'nope.npz'" in run_refused([*worker[:-1], "--dataset", "nope.npz"], capsys)
    assert "column 'kind' holds text" in run_refused([*worker, "mine.csv"], capsys)  # the last is the label
    assert "error: --label: 'kinds' is not allowed" in run_refused(
        [*worker, "mine.csv", "--label", "kinds"], capsys
    )
    assert "--data names no CSV file" in run_refused([*worker, "os:getcwd", "--label", "kind"], capsys)
    assert "'module:function' returning the data" in run_refused([*worker, "table.xlsx"], capsys)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "w.db").exists()
    np.savez(tmp_path / "mine.npz", x=np.zeros((20, 3)), y=np.arange(20) % 2)
    assert load_dataset("mine.npz").classes == ("0", "1")
    advise = ["advise", "--data", "mine.csv", "--label", "kind", "--budget", "params=1e5", "--trials", "9"]
    assert main(advise) == 0  # run's arguments: the data is read and checked, the advice is the settings'
    captured = capsys.readouterr()
    assert "Data mine.csv: 40 rows of 3 features" in captured.err and "9 trials" in captured.out
    assert "error: dataset.label: 'kinds'" in run_refused(["advise", named], capsys)
