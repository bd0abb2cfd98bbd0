"""A user-defined space outside the notebook that defined it: named as ``"module:Class"`` in a config file,
found again by a worker process and by the command line's export from where the study's record says it
lives, and a space defined in ``__main__`` refused for worker processes with the way out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import optuna
import pytest
import yaml

import nas_workbench as nw
from nas_workbench import spaces
from nas_workbench.cli import main
from nas_workbench.engine.storage import open_storage
from nas_workbench.engine.study_record import record_of
from nas_workbench.engine.workers import config_from_study
from nas_workbench.exceptions import ConfigError
from nas_workbench.ui._controller import open_stored

SPACE_MODULE = '''
from torch import nn
import nas_workbench as nw


class WidthSpace(nw.spaces.SearchSpace):
    """One hidden layer of a searched width."""

    name = "width_mlp"

    def define(self, suggester):
        return {"width": suggester.suggest_categorical("width", (4, 8))}

    def assemble(self, spec, shape):
        features = 1
        for size in shape.input_shape:
            features *= size
        width = max(1, round(spec.choices["width"] * shape.width_multiplier))
        head = nn.Linear(width, shape.num_classes)
        return nn.Sequential(nn.Flatten(), nn.Linear(features, width), nn.ReLU(), head)

    def size(self):
        return 2
'''


@pytest.fixture
def user_space(tmp_path, monkeypatch) -> str:
    """``my_spaces.py`` in the current folder (on the path, as the command line puts it), and the space
    registry as it was before the test, afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_spaces", raising=False)  # imported from this test's folder
    monkeypatch.setattr(spaces._REGISTRY, "_items", dict(spaces._REGISTRY._items))
    (tmp_path / "my_spaces.py").write_text(SPACE_MODULE)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    np.savez(tmp_path / "rows.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    return "my_spaces:WidthSpace"


def test_a_space_named_by_where_it_lives_is_imported_and_registered_by_its_name(user_space):
    assert "width_mlp" not in spaces.list()
    space = spaces.get(user_space)
    assert space.size() == 2 and "width_mlp" in spaces.list()  # its architectures carry that name
    assert spaces.reference("width_mlp") == spaces.reference(user_space) == user_space
    assert spaces.reference("nb201") is None  # every process has the built-in ones
    assert nw.SearchConfig(space=user_space).validate().space == "width_mlp"  # the name its study records


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("no_such_module:Space", "a SearchSpace class importable here (ModuleNotFoundError"),
     ("json:dumps", "a subclass of nas_workbench.spaces.SearchSpace")],
)  # fmt: skip
def test_a_bad_space_reference_is_refused_naming_it(name, allowed):
    with pytest.raises(ConfigError, match="space") as refused:
        nw.SearchConfig(space=name).validate()
    assert f"'{name}' is not allowed; {allowed}" in str(refused.value)


def test_a_space_without_its_size_is_refused_naming_the_method(user_space, tmp_path):
    """A class that leaves ``size`` undefined cannot be instantiated: refused as the space, naming the
    method (before: "space_options: {} is not allowed; valid options (TypeError: Can't instantiate ...)",
    from ``nas-workbench run`` of a config naming it); registered in Python, refused the same."""
    (tmp_path / "sizeless.py").write_text(SPACE_MODULE.replace("def size(self):", "def count(self):"))
    with pytest.raises(ConfigError) as refused:
        nw.SearchConfig(space="sizeless:WidthSpace").validate()
    assert str(refused.value).startswith(
        "space: 'sizeless:WidthSpace' is not allowed; a SearchSpace subclass that defines size"
    )
    with pytest.raises(ConfigError, match="defines assemble, define, size"):
        spaces.register(spaces.SearchSpace)  # every abstract method named


def test_a_space_defined_in_main_is_refused_for_worker_processes_with_the_way_out(user_space, monkeypatch):
    cls = spaces.resolve(user_space)
    monkeypatch.setattr(cls, "__module__", "__main__")  # as a class defined in a notebook cell is
    assert spaces.reference("width_mlp") is None
    with pytest.raises(ConfigError, match="define its class in a module"):
        spaces.importable_reference("width_mlp")


def test_a_study_records_where_its_space_lives_and_a_worker_and_export_find_it_there(user_space, capsys):
    config = {"space": user_space, "strategy": "random", "objectives": ["accuracy"], "n_trials": 2,
              "fidelity": {"epochs": 1, "batch_size": 16},
              "profile_metrics": ["params", "flops", "macs"]}  # fmt: skip
    Path("search.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "search.yaml", "--data", "rows.npz"]) == 0
    assert "Study 'rows-width_mlp-random-seed0'" in capsys.readouterr().err  # named by the space's name
    storage, name = "sqlite:///runs/nas_workbench.db", "rows-width_mlp-random-seed0"
    record = record_of(optuna.load_study(study_name=name, storage=open_storage(storage)))
    assert record.space_reference == user_space

    for process in ("a worker", "the widget", "export", "the report notebook"):  # each one a fresh process:
        spaces._REGISTRY._items.pop("width_mlp")  # the space is not known there until imported
        if process == "a worker":
            assert config_from_study(storage, name).space == "width_mlp"
        elif process == "the widget":  # nw.Workbench.load, the side panel's "Open in notebook"
            assert open_stored(name, storage)[1:] == (config_from_study(storage, name), None)
        elif process == "export":
            assert (
                main(["export", name, "--format", "state_dict", "-o", "best.pt", "--data", "rows.npz"]) == 0
            )
        else:
            assert main(["export", name, "--format", "notebook", "-o", "report.ipynb"]) == 0
            rebuild = nbformat.read("report.ipynb", as_version=4).cells[-1].source
            exec(compile(rebuild, "report.ipynb", "exec"), {})  # builds the network in a fresh namespace
        assert "width_mlp" in spaces.list(), process


def test_a_report_notebook_written_elsewhere_imports_the_space_from_the_searchs_folder(user_space):
    """The report notebook in ``runs/exports`` runs there, in a kernel without the search's folder on its
    path: its code puts that folder on it (before: "No module named 'my_spaces'", running the notebook
    that ``export --format notebook -o ex/r.ipynb`` wrote)."""
    config = {"space": user_space, "strategy": "random", "objectives": ["accuracy"], "n_trials": 1,
              "fidelity": {"epochs": 1, "batch_size": 16}, "profile_metrics": ["params"]}  # fmt: skip
    Path("search.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "search.yaml", "--data", "rows.npz"]) == 0
    notebook = Path("runs/exports/report.ipynb")
    assert main(["export", "rows-width_mlp-random-seed0", "--format", "notebook", "-o", str(notebook)]) == 0
    cells = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert all(
        c.startswith("import sys\n\nsys.path.insert(0, '../..')  # where my_spaces lives") for c in cells
    )
    rebuild = cells[-1] + "\nprint(type(model).__name__, task.num_classes)"
    ran = subprocess.run(  # a fresh process in the notebook's folder, as its kernel is
        [sys.executable, "-c", rebuild], cwd=notebook.parent, capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0 and ran.stdout.strip() == "Sequential 2", ran.stderr
