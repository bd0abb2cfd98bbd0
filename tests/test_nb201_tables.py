"""The tutorials' reader of NAS-Bench-201's table: found where the environment or the folders say, read as
(validation, test) per cell, and searched with a strategy's sampler."""

from __future__ import annotations

from pathlib import Path

import pytest

import nas_workbench as nw
from nas_workbench.spaces import enumerate_specs
from nas_workbench.testing import nb201_tables
from nas_workbench.testing.nb201_tables import find_tables, read_accuracies, tabular_search

#: A cell space of 2^6 = 64 cells whose architectures are NB201 strings.
SMALL = {"num_nodes": 4, "ops": ["nor_conv_1x1", "nor_conv_3x3"]}


def _write_table(folder: Path) -> dict[str, tuple[float, float]]:
    """A table over the small space: validation and test grow with the number of 3x3 convolutions, the
    test a little off, so that the best-validation cell is known."""
    space = nw.spaces.get("cell", **SMALL)
    rows = {}
    for spec in enumerate_specs(space):
        convs = sum(op == "nor_conv_3x3" for op in spec.choices.values())
        rows[space.format(spec)] = (80.0 + convs, 81.0 + convs)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["index,arch,c10_valid_val_200ep,c10_test_200ep,c100_test_200ep"]
    lines += [f"{i},{arch},{v},{t},1.0" for i, (arch, (v, t)) in enumerate(rows.items())]
    (folder / "nb201.csv").write_text("\n".join(lines) + "\n")
    return rows


def test_found_by_the_setting_and_read_as_validation_and_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _write_table(tmp_path / "tables")
    monkeypatch.setenv(nb201_tables.SETTING, str(tmp_path / "tables"))
    folder = find_tables()
    assert folder == tmp_path / "tables"
    assert read_accuracies(folder) == rows


def test_a_setting_without_the_table_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(nb201_tables.SETTING, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"{nb201_tables.SETTING}=.*nb201.csv"):
        find_tables()


def test_off_ignores_a_table_that_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``off`` runs a tutorial as on a machine without the table (CI), where one would be found."""
    _write_table(tmp_path / "shared" / "data" / "nb201")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(nb201_tables.SETTING, "off")
    assert find_tables() is None


def test_found_in_shared_data_above_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_table(tmp_path / "shared" / "data" / "nb201")
    below = tmp_path / "clone" / "notebooks"
    below.mkdir(parents=True)
    monkeypatch.delenv(nb201_tables.SETTING, raising=False)
    monkeypatch.chdir(below)
    assert find_tables() == tmp_path / "shared" / "data" / "nb201"


def test_a_search_reports_the_test_accuracy_of_its_best_validation_choice(tmp_path: Path) -> None:
    rows = _write_table(tmp_path)
    space = nw.spaces.get("cell", **SMALL)
    curve = tabular_search("grid", space, rows, seed=0, queries=space.size())
    assert len(curve) == 64
    assert curve == sorted(curve)  # the best-validation choice only improves
    assert curve[-1] == 87.0  # the grid saw every cell: the all-3x3 cell's test accuracy
