"""Data files from the terminal: a CSV with a label column or a .npz with x and y becomes a `Task`, and every
fault of a file is one `ConfigError` naming the setting, the file and what is allowed, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nas_workbench.data_files import read_data_file
from nas_workbench.exceptions import ConfigError
from nas_workbench.task import load_task


def write_csv(path, header: str, rows: list[str]) -> str:
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def flowers(tmp_path, n: int = 30) -> str:
    """A CSV of ``n`` rows: two numeric features, a text label in the middle, a feature in thousands."""
    rows = [f"{i % 7}.5,{'setosa' if i % 2 else 'virginica'},{1000 + 10 * i},{i % 3}" for i in range(n)]
    return write_csv(tmp_path / "flowers.csv", "petal, species ,weight,count", rows)


def test_a_csv_with_text_labels_becomes_a_task_standardised_per_feature(tmp_path):
    found = read_data_file(flowers(tmp_path), "species")
    assert found.classes == ("setosa", "virginica") and found.x.shape == (30, 3)
    assert found.describe().endswith("30 rows of 3 features; label 'species': 2 classes (setosa, virginica)")
    task = found.task(seed=0)
    assert task.input_shape == (1, 1, 3) and task.num_classes == 2 and task.name.endswith("flowers.csv")
    single = write_csv(tmp_path / "one.csv", "x,label", [f"{i / 10},{i % 2}" for i in range(20)])
    assert "20 rows of 1 feature;" in read_data_file(single).describe()  # not "1 features"
    means = task.x_train.reshape(len(task.x_train), -1).mean(dim=0)
    assert means.abs().max() < 1e-4  # each feature on its own scale: the one in thousands swamps nothing
    assert load_task({"path": found.path, "label": "species"}, seed=0).x_test.equal(task.x_test)


def test_the_last_column_is_the_label_by_default_and_numbers_are_classes_by_value(tmp_path):
    path = write_csv(tmp_path / "counts.csv", "a,b,count", [f"{i},{i % 5},{i % 3 * 10}" for i in range(30)])
    found = read_data_file(path)
    assert found.label == "count" and found.classes == ("0", "10", "20")
    assert load_task(path).num_classes == 3  # a path alone, as nw.search(config, data="x.csv")


def test_an_npz_of_images_or_rows(tmp_path):
    x, y = np.random.default_rng(0).normal(size=(40, 6, 6)), np.array(["cat", "dog"] * 20)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    images = read_data_file(tmp_path / "images.npz")
    assert images.classes == ("cat", "dog") and images.task().input_shape == (1, 6, 6)
    np.savez(tmp_path / "rows.npz", x=x.reshape(40, -1), y=np.arange(40) % 4 + 1)
    rows = read_data_file(tmp_path / "rows.npz")
    assert rows.classes == ("1", "2", "3", "4") and rows.task().input_shape == (1, 1, 36)


#: One table written as each spreadsheet dialect saves it: (file name, separator, decimal mark).
DIALECTS = [
    ("comma.csv", ",", "."),
    ("excel-de.csv", ";", ","),  # semicolons and decimal commas: Excel's "CSV" under European settings
    ("points.csv", ";", "."),
    ("text.tsv", "\t", "."),
    ("tabs.csv", "\t", ","),
]


@pytest.mark.parametrize("name, separator, decimal", DIALECTS)
def test_a_semicolon_or_tab_separated_file_and_decimal_commas_read_as_the_comma_csv(
    tmp_path, name, separator, decimal
):
    values = np.random.default_rng(1).normal(size=(24, 3)).round(3)
    labels = ["benign", "malignant"] * 12
    rows = [
        separator.join([*(f"{v}".replace(".", decimal) for v in row), label])
        for row, label in zip(values, labels, strict=True)
    ]
    found = read_data_file(
        write_csv(tmp_path / name, separator.join(["radius", "area (mm²)", "t", "diagnosis"]), rows)
    )
    assert found.classes == ("benign", "malignant") and found.label == "diagnosis"
    np.testing.assert_array_equal(found.x, values)
    named = {",": "", ";": " (semicolon-separated)", "\t": " (tab-separated)"}[separator]
    assert found.describe().startswith(f"{found.path}{named}: 24 rows of 3 features")


def test_the_separator_is_the_one_that_splits_the_header_most(tmp_path):
    """A comma inside a column's name does not make a semicolon file comma-separated (csv.Sniffer takes a
    comma whenever the header holds one), nor a quoted semicolon a comma file semicolon-separated."""
    rows = [f"{i};{i % 4};{'ab'[i % 2]}" for i in range(20)]
    assert read_data_file(write_csv(tmp_path / "a.csv", "length, cm;width;y", rows)).x.shape == (20, 2)
    rows = [f"{i},{i % 4},{'ab'[i % 2]}" for i in range(20)]
    assert read_data_file(write_csv(tmp_path / "b.csv", '"a;b;c",width,y', rows)).x.shape == (20, 2)
    with pytest.raises(ConfigError, match=r"line 2 has 1 \(read as semicolon-separated"):
        read_data_file(write_csv(tmp_path / "c.csv", "a;b;c,y", rows))


def bad_csv(tmp_path, kind: str) -> str:
    """A CSV with one fault of ``kind``."""
    ok = [f"{i},{i * 2},{'ab'[i % 2]}" for i in range(20)]
    faults = {
        "text feature": ("a,b,y", [*ok[:5], "x1,3,a", *ok[5:]]),
        "empty cell": ("a,b,y", [*ok[:3], "1,,a", *ok[3:]]),
        "nan": ("a,b,y", [*ok[:3], "nan,1,a", *ok[3:]]),
        "ragged": ("a,b,y", [*ok[:2], "1,2", *ok[2:]]),
        "one class": ("a,b,y", [f"{i},{i},same" for i in range(20)]),
        "few rows": ("a,b,y", ok[:6]),
        "index column": (",a,y", ok),
        "header twice": ("a,a,y", ok),
        "header only": ("a,b,y", []),
        "regression": ("a,b,y", [f"{i},{i},{i / 7}" for i in range(20)]),
        "quoted decimal comma": ("a,b,y", [*ok[:4], '"1,5",2,a', *ok[4:]]),
        "thousands separator": ("a;b;y", [row.replace(",", ";") for row in ok[:8]] + ["1.234,5;2;a"]),
    }
    header, rows = faults[kind]
    return write_csv(tmp_path / "bad.csv", header, rows)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("text feature", "column 'a' holds text ('x1' on line 7)"),
        ("empty cell", "line 5, column 'b' is empty"),
        ("nan", "line 5, column 'a' is 'nan'"),
        ("ragged", "rows of 3 cells as the header names; line 4 has 2"),
        ("one class", "labels of at least two classes; every row is 'same'"),
        ("few rows", "at least 10 examples"),
        ("index column", "column 1 has no name (pandas writes its index there"),
        ("header twice", "'a' is named twice"),
        ("header only", "rows of data below the header"),
        ("regression", "fractional numbers, as a regression target is"),
        ("quoted decimal comma", "a decimal point in a comma-separated file; line 6, column 'a' is '1,5' "),
        ("thousands separator", "a decimal comma (1.5 or 1,5); line 10, column 'a' is '1.234,5' (no "),
    ],
)
def test_each_fault_of_a_csv_names_the_file_and_where(tmp_path, kind, message):
    path = bad_csv(tmp_path, kind)
    with pytest.raises(ConfigError) as error:
        read_data_file(path, path_field="--data", label_field="--label").task()
    labels = kind in ("one class", "regression")  # a fault of the label column names it
    assert (error.value.field, error.value.value) == (("--label", "y") if labels else ("--data", path))
    assert message in str(error.value)


def test_faults_of_the_path_the_label_and_an_npz(tmp_path):
    csv = flowers(tmp_path)
    cases = [
        ((tmp_path / "missing.csv",), "dataset.path", "no such file"),
        ((tmp_path / "table.xlsx",), "dataset.path", "ends in '.xlsx'"),
        (
            (csv, "specie"),
            "dataset.label",
            "Available: petal, species, weight, count. Did you mean 'species'?",
        ),
    ]
    np.savez(tmp_path / "wrong.npz", a=np.zeros(3))
    (tmp_path / "broken.npz").write_text("not a zip")
    cases += [
        ((tmp_path / "wrong.npz",), "dataset.path", "with arrays x (examples) and y (labels)"),
        ((tmp_path / "broken.npz",), "dataset.path", "a .npz file written by np.savez"),
        ((tmp_path / "wrong.npz", "y"), "dataset.label", "no label for a .npz file"),
    ]
    for args, field, message in cases:
        with pytest.raises(ConfigError) as error:
            read_data_file(*args)
        assert error.value.field == field and message in str(error.value), str(error.value)
    with pytest.raises(ConfigError, match=r"dataset\.lable: 'x' is not allowed; no such setting"):
        load_task({"path": csv, "lable": "x"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.lists(
            st.sampled_from(
                ["1", "-2.5", "", "nan", "a", "b", " 3 ", '"4,5"', "inf", "x y", "1,5", "1.2,3", ",5", ";"]
            ),
            max_size=5,
        ),
        max_size=14,
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_any_malformed_csv_is_a_task_or_one_config_error(tmp_path, table, separator):
    """Whatever cells a CSV holds, however separated, reading it gives a task or a `ConfigError`: never
    another exception."""
    (tmp_path / "fuzz.csv").write_text("\n".join(separator.join(row) for row in table))
    try:
        task = read_data_file(tmp_path / "fuzz.csv").task()
    except ConfigError as error:
        assert error.field == "dataset.path" or error.field == "dataset.label"
    else:
        assert task.num_classes >= 2
