"""Exports of an architecture and its study: every file rebuilds the same network and names its spec."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import nbformat
import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

import nas_workbench as nw
from nas_workbench import export
from nas_workbench.engine.study_record import read_record, write_record
from nas_workbench.testing.workers import TINY_CHAIN

TINY = {**TINY_CHAIN, "max_depth": 2}
SHAPE, CLASSES = (1, 8, 8), 2


@pytest.fixture(scope="module")
def spec() -> nw.ArchSpec:
    space = nw.spaces.get("chain", **TINY)
    return space.spec(
        {
            "stage1.depth": 2,
            "stage1.block0.op": "conv",
            "stage1.block0.kernel": 3,
            "stage1.block0.width": 8,
            "stage1.block1.op": "dwsep",
            "stage1.block1.kernel": 3,
            "stage1.block1.width": 4,
        }
    )


@pytest.fixture(scope="module")
def trained(spec, tiny_task) -> torch.nn.Module:
    return export.train_model(spec, tiny_task, nw.Fidelity(epochs=1, batch_size=32))


NAMES = ("benign", "malignant")


def search_tiny(task, storage: str, name: str = "exp"):
    """A finished 3-trial search of ``task``, scored without training."""
    config = nw.SearchConfig(
        space="chain",
        space_options=TINY,
        strategy="random",
        objectives=["accuracy", "params"],
        n_trials=3,
        storage=storage,
        study_name=name,
        profile_metrics=["params", "flops", "macs"],
    )

    def score(spec, model):  # more parameters score higher: a front of several trials
        return {"accuracy": 1 - 1 / (1 + sum(p.numel() for p in model.parameters()) / 1000)}

    return nw.search(config, evaluate=score, data=task).run()


@pytest.fixture(scope="module")
def study(tiny_task, tmp_path_factory):
    """A finished 3-trial study on the tiny task."""
    return search_tiny(tiny_task, f"sqlite:///{tmp_path_factory.mktemp('export') / 'study.db'}").study


def x() -> torch.Tensor:
    return torch.randn(3, *SHAPE, generator=torch.Generator().manual_seed(0))


def test_spec_round_trips(spec, tmp_path):
    path = export.export_spec(spec, tmp_path / "a" / "spec.json")
    assert nw.ArchSpec.from_json(path.read_text()) == spec


def test_state_dict_rebuilds_the_trained_network(spec, trained, tmp_path):
    path = export.export_state_dict(spec, tmp_path / "w.pt", SHAPE, CLASSES, model=trained)
    data = torch.load(path, weights_only=True)  # a plain, safe-to-load file
    assert data["spec"] == spec.to_dict() and data["trained"] is True
    rebuilt_spec, rebuilt = export.load_state_dict(path)
    assert rebuilt_spec == spec
    torch.testing.assert_close(rebuilt(x()), trained(x()))


def test_without_a_model_the_weights_are_the_seeded_initialisation(spec, tmp_path):
    path = export.export_state_dict(spec, tmp_path / "w.pt", SHAPE, CLASSES)
    assert torch.load(path, weights_only=True)["trained"] is False
    _, rebuilt = export.load_state_dict(path)
    torch.testing.assert_close(rebuilt(x()), export.build_model(spec, SHAPE, CLASSES)(x()))


def test_torchscript_runs_without_the_package_and_carries_the_spec(spec, trained, tmp_path):
    path = export.export_torchscript(spec, tmp_path / "m.torchscript.pt", SHAPE, CLASSES, model=trained)
    extra = {"spec.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=extra)
    assert nw.ArchSpec.from_json(extra["spec.json"]) == spec
    torch.testing.assert_close(loaded(x()), trained(x()))


def test_onnx_matches_torch_for_any_batch_and_carries_the_spec(spec, trained, tmp_path):
    path = export.export_onnx(spec, tmp_path / "m.onnx", SHAPE, CLASSES, model=trained)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert nw.ArchSpec.from_json(props["nas_workbench.spec"]) == spec
    session = ReferenceEvaluator(model)
    for batch in (1, 3):
        inputs = x()[:batch]
        (logits,) = session.run(None, {"input": inputs.numpy()})
        np.testing.assert_allclose(logits, trained(inputs).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # 13 s: every export format once more, for its output only
def test_exports_print_nothing(tmp_path):
    """torch's exporters warn, on every export, about absent torchvision ops (by logging), TorchScript's
    deprecation and their own pytree internals; a user's fresh interpreter, with default warning filters,
    sees none of it."""
    script = f"""
import nas_workbench as nw
from nas_workbench import export
spec = nw.spaces.get("chain").random(0)
export.export_onnx(spec, {str(tmp_path / "m.onnx")!r}, {SHAPE!r}, {CLASSES})
export.export_torchscript(spec, {str(tmp_path / "m.pt")!r}, {SHAPE!r}, {CLASSES})
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""
    assert onnx.load(str(tmp_path / "m.onnx")).graph.input[0].name == "input"


def test_export_trial_writes_each_format_from_a_study(study, tiny_task, tmp_path):
    best = export.export_trial(study, None, "spec", tmp_path / "best.json")
    front = nw.engine.pareto_front(nw.engine.trial_results(study), ["maximize", "minimize"])
    assert nw.ArchSpec.from_json(best.read_text()).to_dict() == front[0].spec
    weights = export.export_trial(study, 1, "state_dict", tmp_path / "w.pt", task=tiny_task)
    spec, _ = export.load_state_dict(weights)
    assert spec.to_dict() == study.trials[1].user_attrs["spec"]
    with pytest.raises(nw.ConfigError, match="task"):  # the study searched data from Python: it must be given
        export.export_trial(study, 1, "state_dict", tmp_path / "w2.pt")
    with pytest.raises(nw.ConfigError, match="Did you mean 'onnx'"):
        export.export_trial(study, 1, "onx", tmp_path / "x")
    with pytest.raises(nw.ConfigError, match="trial"):
        export.export_trial(study, 99, "spec", tmp_path / "x.json")


def test_the_report_notebook_has_config_plots_pareto_table_and_rebuild_code(study, tmp_path):
    path = export.export_report_notebook(study, tmp_path / "report.ipynb", trial=2)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    sources = [cell.source for cell in notebook.cells]
    text = "\n".join(sources)
    assert "```yaml" in text and "space: chain" in text  # the configuration
    assert 'nw.Workbench.load("exp"' in text  # the plots
    table = next(s for s in sources if s.startswith("## Pareto front"))
    front = nw.engine.pareto_front(nw.engine.trial_results(study), ["maximize", "minimize"])
    assert table.count("\n| ") == 1 + len(front)  # the header, then one row per front trial
    assert "(counted," in table  # figures with their method
    rebuild = sources[-1]
    assert json.dumps(nw.ArchSpec.from_dict(study.trials[2].user_attrs["spec"]).to_json()) in rebuild
    for cell in notebook.cells:
        if cell.cell_type == "code":
            compile(cell.source, "cell", "exec")
    assert "task = ...  #" in rebuild  # data from Python: the reader supplies it
    namespace = {}
    exec(
        rebuild.replace(
            "task = ...", "task = nw.make_task(np.zeros((20, 1, 8, 8), np.float32), np.arange(20) % 2)"
        ),
        {"np": np},
        namespace,
    )
    assert isinstance(namespace["model"], torch.nn.Module)


def test_every_export_of_a_study_names_the_class_of_each_output(tiny_task, tmp_path):
    """A study on data with class names (a CSV's text labels) records them; each file says which output is
    which class, read back as a user would; a resume on the same data named otherwise keeps them."""
    named = dataclasses.replace(tiny_task, class_names=NAMES)
    storage = f"sqlite:///{tmp_path / 'named.db'}"
    study = search_tiny(named, storage, "named").study
    assert nw.engine.record_of(study).data.class_names == NAMES
    data = {
        "input_shape": list(SHAPE),
        "num_classes": 2,
        "class_names": list(NAMES),
        "standardization": tiny_task.standardization.to_dict(),
        "model_input": export.inputs.model_input(SHAPE, tiny_task.standardization),
    }
    assert data["model_input"]["shape"] == ["batch", 1, 8, 8]  # images: exported as they are

    spec_file = export.export_trial(study, 1, "spec", tmp_path / "best.json")
    assert json.loads(spec_file.read_text())["data"] == data
    assert nw.ArchSpec.from_json(spec_file.read_text()).to_dict() == study.trials[1].user_attrs["spec"]
    weights = export.export_trial(study, 1, "state_dict", tmp_path / "w.pt", task=tiny_task)  # no names
    assert torch.load(weights, weights_only=True)["class_names"] == list(NAMES)
    script = export.export_trial(study, 1, "torchscript", tmp_path / "m.pt", task=named)
    extra = {"spec.json": ""}
    torch.jit.load(str(script), _extra_files=extra)
    assert json.loads(extra["spec.json"])["data"] == data
    props = {
        p.key: p.value
        for p in onnx.load(
            str(export.export_trial(study, 1, "onnx", tmp_path / "m.onnx", task=named))
        ).metadata_props
    }
    assert json.loads(props["nas_workbench.class_names"]) == list(NAMES)
    assert json.loads(props["nas_workbench.spec"])["data"] == data
    notebook = nbformat.read(export.export_trial(study, 1, "notebook", tmp_path / "r.ipynb"), as_version=4)
    rebuild = notebook.cells[-2].source + notebook.cells[-1].source
    assert "in order: 0 `benign`, 1 `malignant`." in rebuild
    assert "class_names = ['benign', 'malignant']  # output i" in rebuild

    resumed = search_tiny(tiny_task, storage, "named")  # the same data, its labels named "0" and "1"
    assert nw.engine.record_of(resumed.study).data.class_names == NAMES


def test_class_names_are_one_per_output(spec, tiny_task, tmp_path):
    with pytest.raises(nw.ConfigError, match=r"class_names: .* one name per output: 2 names"):
        export.export_onnx(spec, tmp_path / "m.onnx", SHAPE, CLASSES, class_names=["a", "b", "c"])
    with pytest.raises(nw.ConfigError, match=r"dataset\.class_names: .* one name per class: 2 names"):
        nw.make_task(tiny_task.x_train, tiny_task.y_train, class_names=["a"])
    assert nw.load_task("digits").class_names == tuple("0123456789")
    assert "data" not in json.loads(export.export_spec(spec, tmp_path / "s.json").read_text())


@pytest.mark.parametrize("fmt", ["spec", "notebook"])
def test_export_train_refuses_the_formats_without_weights(fmt, tmp_path, capsys):
    """``--train`` of a spec or a notebook would train for nothing: refused before the study is opened."""
    from nas_workbench.cli import main

    output = tmp_path / "out"
    argv = [
        "export",
        "s",
        "--storage",
        f"sqlite:///{tmp_path / 'none.db'}",
        "--format",
        fmt,
        "-o",
        str(output),
    ]
    assert main([*argv, "--train"]) == 2
    err = capsys.readouterr().err
    assert f"--train: '--format {fmt}' is not allowed" in err and "(state_dict, torchscript, onnx)" in err
    assert main(argv) == 2 and "--train" not in capsys.readouterr().err  # no study there: another error


def test_the_report_notebook_states_the_budget_with_units_and_its_relative_form(tiny_task, tmp_path):
    # it read "budget {'latency_ms': 0.7049895000008632, 'peak_memory_mb': 5.0}": unitless, 16 digits,
    # and the "p50" the user gave lost (the HTML report said "latency_ms ≤ 0.705 ms (p50 on this CPU)")
    run = search_tiny(tiny_task, f"sqlite:///{tmp_path / 's.db'}")
    record = read_record(run.study)
    resolved = {"spec": "p50", "value": 0.7049895000008632, "unit": "ms", "device": "this CPU", "detail": ""}
    marked = record.with_changes(
        budget={"latency_ms": 0.7049895000008632, "params": 5e4}, budget_resolved={"latency_ms": resolved}
    )
    write_record(run.study, marked)
    notebook = nbformat.read(export.export_report_notebook(run.study, tmp_path / "r.ipynb"), as_version=4)
    assert (
        "budget latency_ms ≤ 0.705 ms (p50 on this CPU), params ≤ 50k parameters." in notebook.cells[0].source
    )
