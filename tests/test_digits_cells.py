"""The workbench's own tabular benchmark: the shipped table covers its space exactly, says how it was made,
and a row is what training that cell at the stated fidelity gives."""

from __future__ import annotations

import pytest

from nas_workbench.spaces import enumerate_specs
from nas_workbench.testing import digits_cells
from nas_workbench.testing.nb201_tables import tabular_search


def test_the_table_holds_every_cell_of_its_space_once() -> None:
    table = digits_cells.read_table()
    space = digits_cells.space()
    assert sorted(table) == sorted(space.format(spec) for spec in enumerate_specs(space))
    assert len(table) == space.size() == 125
    for valid, test in table.values():
        assert 0.0 <= valid <= 100.0 and 0.0 <= test <= 100.0


def test_a_sub_space_is_searched_on_the_same_rows() -> None:
    """A space over fewer ops formats its cells as rows of the table: a grid search sees all of them and
    reports the test accuracy of the sub-space's best-validation cell."""
    table = digits_cells.read_table()
    small = digits_cells.space(["nor_conv_1x1", "avg_pool_3x3"])
    cells = [small.format(spec) for spec in enumerate_specs(small)]
    curve = tabular_search("grid", small, table, seed=0, queries=small.size())
    best = max(table[cell] for cell in cells)  # (validation, test): ties on validation go to the better test
    assert curve[-1] == best[1]


def test_prior_knowledge_enters_a_tabular_search_as_it_enters_a_search() -> None:
    """``initial_architectures`` are tried first; ``fixed_choices`` holds in every later trial: with two of
    the three edges fixed, a random search sees only the 5 cells that agree, so its choice is their best."""
    table = digits_cells.read_table()
    space = digits_cells.space()
    first = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|"
    fixed = {"node1.from0": "none", "node2.from0": "avg_pool_3x3"}
    curve = tabular_search(
        "random", space, table, seed=0, queries=30, fixed_choices=fixed, initial_architectures=[first]
    )
    assert curve[0] == table[first][1]
    agreeing = [table[f"|none~0|+|avg_pool_3x3~0|{op}~1|"] for op in space.op_names]
    assert curve[-1] == max([table[first], *agreeing])[1]
    assert max(agreeing)[0] < table[first][0] and curve[-1] == curve[0]  # nothing better to find: stays


def test_the_header_states_the_fidelity_seeds_and_command() -> None:
    header = [line for line in digits_cells.TABLE.read_text().splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert str(digits_cells.FIDELITY) in text and str(digits_cells.SPACE_OPTIONS) in text
    assert "python -m nas_workbench.testing.digits_cells" in text and "CPU s" in text


def test_cells_without_a_path_sit_at_chance_and_convolutions_beat_them() -> None:
    """What the table measures is the architecture: a cell whose edges carry nothing learns nothing."""
    table = digits_cells.read_table()
    assert table["|none~0|+|none~0|none~1|"][0] < 15.0
    assert max(table.values())[0] > 90.0


@pytest.mark.slow
def test_a_row_is_reproduced_by_training_its_cell() -> None:
    """The cheapest convolution-free cell, trained again at the table's fidelity and seeds (about 4 CPU s):
    the same accuracies, up to a sample or two that another CPU's arithmetic may flip."""
    arch = "|skip_connect~0|+|none~0|skip_connect~1|"
    row = digits_cells._train_cell(arch)
    valid, test = digits_cells.read_table()[arch]
    assert row["valid_acc"] == pytest.approx(valid, abs=0.6)
    assert row["test_acc"] == pytest.approx(test, abs=0.6)
