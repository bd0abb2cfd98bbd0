"""Exports of a search on a table's rows (a CSV file, arrays of shape (N, D)): every exported model takes
the rows as the user has them, (N, D), raw, and each file and the command line say so."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import onnx
import optuna
import pytest
import torch
from onnx.reference import ReferenceEvaluator

import nas_workbench as nw
from nas_workbench import export
from nas_workbench.cli import main
from nas_workbench.export.formats import FORMATS
from nas_workbench.export.inputs import input_summary, model_input
from nas_workbench.standardization import Standardization
from tests.test_export import search_tiny

#: The shape and words every export of the CSV study's model gives of its input.
ROWS_INPUT = ["batch", 3]
SAYS = "It takes (N, 3) float32 rows of 3 raw features, in the order of the data's feature columns"


def raw_rows_and_task() -> tuple[np.ndarray, nw.Task]:
    """Rows of features in unrelated units, and their task; feature 0 numbers the rows (0, 10, 20, ...
    plus 1000), which standardising keeps in order, so sorting the task's rows by it finds each raw row."""
    rng = np.random.default_rng(1)
    n = 60
    raw = np.column_stack([np.arange(n) * 10.0 + 1000, rng.normal(50, 20, n), rng.normal(0, 0.01, n)])
    y = (raw[:, 1] > 50).astype(np.int64)
    return raw.astype(np.float32), nw.make_task(raw, y, name="rows")


def task_rows(task: nw.Task) -> torch.Tensor:
    """The task's (standardised) examples, in the order of the raw rows (by feature 0)."""
    rows = torch.cat([task.x_train, task.x_valid, task.x_test])
    return rows[rows[:, 0, 0, 0].argsort()]


def test_exported_models_take_raw_rows(tmp_path):
    """make_task makes each of the (N, D) rows a (1, 1, D) input, standardised with the training split's
    statistics; every weight-carrying export reshapes and standardises inside, so an exported model given
    the raw rows, (N, D), scores as the search's network does given the task's tensors."""
    raw, task = raw_rows_and_task()
    assert task.input_shape == (1, 1, 3)
    rows = task_rows(task)
    assert not torch.allclose(rows.flatten(1), torch.from_numpy(raw), atol=1)  # the scaling matters
    study = search_tiny(task, f"sqlite:///{tmp_path / 'rows.db'}", "rows").study
    assert nw.engine.record_of(study).data.standardization == task.standardization
    spec = nw.ArchSpec.from_dict(study.trials[1].user_attrs["spec"])
    trained = export.train_model(spec, task, nw.Fidelity(epochs=1, batch_size=16))
    expected = trained(rows).detach()
    raw_x = torch.from_numpy(raw)

    weights = export.export_trial(study, 1, "state_dict", tmp_path / "w.pt", task=task)
    _, rebuilt = export.load_state_dict(weights)  # freshly initialised, as the search built it
    fresh = export.build_model(spec, task.input_shape, task.num_classes)
    torch.testing.assert_close(rebuilt(raw_x), fresh(rows))
    built = {"input_shape": [1, 1, 3], "standardization": task.standardization.to_dict()}
    spec_data = json.loads(export.export_trial(study, 1, "spec", tmp_path / "s.json").read_text())["data"]
    assert built.items() <= spec_data.items() and "raw inputs" in spec_data["standardization"]["note"]
    assert spec_data["model_input"]["shape"] == ROWS_INPUT

    scaling = {"model": trained, "standardization": task.standardization}
    script = export.export_torchscript(spec, tmp_path / "m.pt", task.input_shape, 2, **scaling)
    torch.testing.assert_close(torch.jit.load(str(script))(raw_x), expected)
    onnx_file = export.export_onnx(spec, tmp_path / "m.onnx", task.input_shape, 2, **scaling)
    (logits,) = ReferenceEvaluator(onnx.load(str(onnx_file))).run(None, {"input": raw})
    np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-4, atol=1e-5)
    _, reloaded = export.load_state_dict(
        export.export_state_dict(spec, tmp_path / "t.pt", (1, 1, 3), 2, **scaling)
    )
    torch.testing.assert_close(reloaded(raw_x), expected)
    torch.testing.assert_close(export.taking_raw_inputs(trained, task)(raw_x), expected)  # in Python


@dataclass(frozen=True)
class CsvStudy:
    """A finished search of a CSV file's rows: the raw rows, the task, the storage, the file and the spec
    of trial 1."""

    raw: np.ndarray
    task: nw.Task
    storage: str
    csv: Path
    spec: nw.ArchSpec

    def export(self, fmt: str, output: Path) -> int:
        """``nas-workbench export`` of trial 1 in ``fmt``, with the data, as a user types it."""
        argv = [
            "export",
            "csv",
            "--storage",
            self.storage,
            "--trial",
            "1",
            "--format",
            fmt,
            "-o",
            str(output),
        ]
        return main([*argv, "--data", str(self.csv), "--label", "kind"])


@pytest.fixture(scope="module")
def csv_study(tmp_path_factory) -> CsvStudy:
    """A 3-trial search of a CSV file's rows (label column first, text labels), as the CLI reads it."""
    folder = tmp_path_factory.mktemp("csv")
    raw, _ = raw_rows_and_task()
    csv = folder / "rows.csv"
    csv.write_text(
        "kind,a,b,c\n" + "".join(f"{'ny'[i % 2]},{a},{b},{c}\n" for i, (a, b, c) in enumerate(raw))
    )
    task = nw.load_task({"path": str(csv), "label": "kind"})
    storage = f"sqlite:///{folder / 'csv.db'}"
    study = search_tiny(task, storage, "csv").study
    return CsvStudy(raw, task, storage, csv, nw.ArchSpec.from_dict(study.trials[1].user_attrs["spec"]))


def exported_input(fmt: str, path: Path) -> tuple[dict, Callable[[np.ndarray], np.ndarray]]:
    """What the file of format ``fmt`` says its model takes, and the model, loaded as a user would."""
    if fmt == "onnx":  # no onnxruntime in the environment: onnx's checker and reference evaluator
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        dims = proto.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ROWS_INPUT  # any batch size, 3 features
        props = {p.key: p.value for p in proto.metadata_props}
        assert json.loads(props["nas_workbench.class_names"]) == ["n", "y"]
        session = ReferenceEvaluator(proto)
        return json.loads(props["nas_workbench.model_input"]), lambda rows: session.run(
            None, {"input": rows}
        )[0]
    if fmt == "state_dict":
        said, model = torch.load(path, weights_only=True)["model_input"], export.load_state_dict(path)[1]
    else:
        extra = {"spec.json": ""}
        model = torch.jit.load(str(path), _extra_files=extra)
        said = json.loads(extra["spec.json"])["data"]["model_input"]
    return said, lambda rows: model(torch.from_numpy(rows)).detach().numpy()


@pytest.mark.parametrize("fmt", ["state_dict", "torchscript", "onnx"])
def test_each_weight_export_of_a_csv_search_takes_the_csvs_rows(fmt, csv_study, tmp_path, capsys):
    """``nas-workbench export`` of a CSV search writes a model that, loaded back, takes the CSV's rows as
    they are and scores them as the search's network scores the task's tensors; the file and the
    command's output say what it takes."""
    output = tmp_path / f"m{FORMATS[fmt]}"
    assert csv_study.export(fmt, output) == 0
    printed = capsys.readouterr().out
    assert (
        f"{SAYS} (reshaped and standardised inside the model); its 2 outputs score the classes n, y."
        in printed
    )
    said, model = exported_input(fmt, output)
    assert said["shape"] == ROWS_INPUT and said["what"].startswith("rows of 3 raw features")
    task = csv_study.task
    fresh = export.build_model(csv_study.spec, task.input_shape, task.num_classes)  # the search's seed
    expected = fresh(task_rows(task)).detach().numpy()
    np.testing.assert_allclose(model(csv_study.raw), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model(csv_study.raw[:1]), expected[:1], rtol=1e-4, atol=1e-5)  # any batch


def test_the_spec_and_the_notebook_of_a_csv_search_say_what_its_models_take(csv_study, tmp_path, capsys):
    """The spec file and the command say what a network built from it takes and what the exports take;
    the report notebook's rebuild code loads the CSV again and its ``predict`` takes the CSV's rows."""
    assert csv_study.export("spec", tmp_path / "s.json") == 0
    printed = capsys.readouterr().out
    assert (
        "A network built from it takes (N, 1, 1, 3) inputs standardised as its data.standardization says"
        in printed
    )
    assert "onnx exports of it take (N, 3) float32 rows of 3 raw features" in printed
    assert json.loads((tmp_path / "s.json").read_text())["data"]["model_input"]["shape"] == ROWS_INPUT

    assert csv_study.export("notebook", tmp_path / "r.ipynb") == 0
    assert "Its rebuild code's `predict` takes (N, 3) float32 rows" in capsys.readouterr().out
    notebook = nbformat.read(tmp_path / "r.ipynb", as_version=4)
    settings = {"path": str(csv_study.csv), "label": "kind"}
    rebuild = notebook.cells[-1].source
    assert f"task = nw.load_task({settings!r}, seed=0)" in rebuild
    assert "standardised per feature" in notebook.cells[-2].source
    assert "takes (N, 3) float32 rows of 3 raw features" in notebook.cells[-2].source
    namespace: dict = {}
    exec(rebuild, namespace)
    task = namespace["task"]
    assert task.class_names == ("n", "y")
    expected = namespace["model"](task_rows(task))
    torch.testing.assert_close(namespace["predict"](torch.from_numpy(csv_study.raw)), expected)


def test_a_report_notebook_written_elsewhere_finds_a_relative_storage_and_data_file(
    csv_study, tmp_path, monkeypatch
):
    """A search run in a folder names its SQLite file and CSV relative to it (``runs/nas_workbench.db``,
    ``rows.csv``); the notebook written to ``runs/exports`` (the widget's folder) runs in its own folder,
    so it names them from there: it opens the study, not an empty new ``runs/exports/runs/...db``, and
    loads the CSV (before: both relative to the search's folder, a FileNotFoundError's ConfigError)."""
    monkeypatch.chdir(tmp_path)
    Path("rows.csv").write_text(csv_study.csv.read_text())
    task = nw.load_task({"path": "rows.csv", "label": "kind"})
    search_tiny(task, "sqlite:///runs/nas_workbench.db", "rel")
    notebook_path = export.export_trial(
        optuna.load_study(study_name="rel", storage="sqlite:///runs/nas_workbench.db"),
        1,
        "notebook",
        Path("runs/exports/rel.ipynb"),
    )
    sources = [cell.source for cell in nbformat.read(notebook_path, as_version=4).cells]
    assert 'storage="sqlite:///../nas_workbench.db"' in "\n".join(sources)
    monkeypatch.chdir(notebook_path.parent)  # where the notebook's kernel runs
    assert optuna.load_study(study_name="rel", storage="sqlite:///../nas_workbench.db").trials
    namespace: dict = {}
    exec(sources[-1], namespace)
    assert namespace["task"].class_names == ("n", "y")
    assert not Path("runs").exists()


def test_images_are_exported_as_they_are():
    """A network of images takes (N, C, H, W); the words say raw only where it standardises inside."""
    scaling = Standardization.of(0.5, 2.0)
    assert model_input((1, 8, 8), None) == {
        "shape": ["batch", 1, 8, 8],
        "dtype": "float32",
        "what": "images of 1x8x8 (channels x height x width)",
    }
    assert input_summary("onnx", (3, 32, 32), scaling, ["cat", "dog"]) == (
        "It takes (N, 3, 32, 32) float32 raw images of 3x32x32 (channels x height x width) (standardised "
        "inside the model); its 2 outputs score the classes cat, dog."
    )
    many = [f"sp {i}" for i in range(30)]  # 30 species: the first ten named, the sentence ended once
    assert input_summary("onnx", (1, 1, 3), None, many).endswith(
        "its 30 outputs score the classes sp 0, sp 1, sp 2, sp 3, sp 4, sp 5, sp 6, sp 7, sp 8, sp 9 and "
        "20 more."
    )
    assert model_input((1, 1, 5), None)["what"].endswith(
        "(reshaped to the network's input_shape (1, 1, 5), inside the model)"
    )
