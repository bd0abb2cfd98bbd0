from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from nas_workbench.exceptions import ConfigError
from nas_workbench.task import load_task, make_task


def test_digits_is_embedded_split_and_standardised():
    task = load_task("digits", seed=0)
    assert task.input_shape == (1, 8, 8) and task.num_classes == 10
    sizes = len(task.y_train), len(task.y_valid), len(task.y_test)
    assert sum(sizes) == 1797 and sizes[0] > sizes[1] > 0
    assert abs(float(task.x_train.mean())) < 1e-3
    # stratified: every class in every split
    for labels in (task.y_train, task.y_valid, task.y_test):
        assert set(labels.tolist()) == set(range(10))


def test_split_is_seeded():
    a, b, c = load_task("digits", seed=1), load_task("digits", seed=1), load_task("digits", seed=2)
    assert torch.equal(a.y_test, b.y_test) and not torch.equal(a.y_test, c.y_test)


def test_arrays_flat_with_input_shape_and_torch_dataset():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 12)), rng.integers(0, 3, size=50)
    task = make_task(x, y, input_shape=(3, 2, 2))
    assert task.input_shape == (3, 2, 2) and task.num_classes == 3
    dataset = TensorDataset(torch.randn(40, 1, 4, 4), torch.arange(40) % 2)
    assert load_task(dataset).input_shape == (1, 4, 4)
    assert load_task(DataLoader(dataset, batch_size=8)).num_classes == 2


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"x": np.zeros((20, 4, 4)), "y": np.zeros(19, dtype=int)}, "dataset.y"),
        ({"x": np.zeros((20, 4, 4)), "y": np.zeros(20)}, "dataset.y"),
        ({"x": np.zeros((5, 4, 4)), "y": np.zeros(5, dtype=int)}, "dataset.x"),
        ({"x": np.zeros(20), "y": np.zeros(20, dtype=int)}, "dataset.x"),
        ({"x": np.zeros((20, 0)), "y": np.arange(20) % 2}, "dataset.x"),  # rows without features
        (
            {"x": np.zeros((20, 4)), "y": np.zeros(20, dtype=int), "input_shape": (3, 3)},
            "dataset.input_shape",
        ),
        ({"x": np.zeros((20, 4, 4)), "y": np.zeros(20, dtype=int), "split": (0.5, 0.5)}, "dataset.split"),
    ],
)
def test_bad_arrays_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        make_task(**kwargs)
    assert info.value.field == field


def test_rows_of_features_default_to_a_1xd_input_and_an_explicit_shape_wins():
    x = np.random.default_rng(0).normal(size=(20, 30))
    assert make_task(x, np.arange(20) % 2).input_shape == (1, 1, 30)  # as a CSV's rows are
    assert make_task(x, np.arange(20) % 2, input_shape=(30, 1, 1)).input_shape == (30, 1, 1)


@pytest.mark.parametrize(
    "labels, names",
    [
        (np.array(["b", "a", "c", "a"] * 5), ("a", "b", "c")),  # text, as the widget's user has it
        (np.array([1, 3, 2, 1] * 5), ("1", "2", "3")),  # UCI's wine labels: 1..3, no 0
        (np.array([0.0, 10.0, 2.0, 0.0] * 5), ("0", "2", "10")),  # floats that are integers, by value
        (np.array(["no", "yes", "yes", "no"] * 5, dtype=object), ("no", "yes")),  # pandas' text column
        (np.array([True, False, False, True] * 5), ("False", "True")),
    ],
)
def test_labels_of_any_kind_are_encoded_as_a_csvs_and_named(labels, names, tmp_path):
    x = np.arange(len(labels) * 2, dtype=np.float32).reshape(-1, 2)
    task = make_task(x, labels)
    assert task.class_names == names and task.num_classes == len(names)
    csv = tmp_path / "rows.csv"  # the same rows as a CSV file: the same classes, in the same order
    csv.write_text("f0,f1,label\n" + "".join(f"{a},{b},{v}\n" for (a, b), v in zip(x, labels, strict=True)))
    from_file = load_task(str(csv))
    assert from_file.class_names == names and torch.equal(from_file.y_test, task.y_test)


def test_class_indices_are_named_by_their_values():
    """Labels 0..K-1 given in memory are classes as they stand, named by their values (as scikit-learn's
    ``classes_`` and a CSV's integer label column name them), so their exports name each output."""
    x = np.arange(40, dtype=np.float32).reshape(-1, 2)
    assert make_task(x, np.arange(20) % 3).class_names == ("0", "1", "2")
    assert make_task(x, np.arange(20) % 2, num_classes=4).class_names == ("0", "1", "2", "3")
    assert load_task((x, np.arange(20) % 2)).class_names == ("0", "1")
    assert make_task(x, np.arange(20) % 2, class_names=["no", "yes"]).class_names == ("no", "yes")


class Column:
    """What pandas' DataFrame and Series offer make_task (pandas is not installed in the test venv)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def to_numpy(self) -> np.ndarray:
        return self.values


def test_tables_with_to_numpy_are_read_and_bad_labels_name_the_field():
    x, labels = np.random.default_rng(0).normal(size=(30, 4)), np.array(["x", "y", "z"] * 10, dtype=object)
    task = make_task(Column(x), Column(labels))
    assert task.input_shape == (1, 1, 4) and task.class_names == ("x", "y", "z")
    for bad, allowed in [
        (np.arange(30) / 7, "fractional numbers"),
        (np.where(np.arange(30) < 3, np.nan, np.arange(30) % 2), "3 are NaN or infinite"),
        (np.array([1, "a"] * 15, dtype=object), "all text or all numbers; these mix int, str"),
    ]:
        with pytest.raises(ConfigError, match=allowed) as info:
            make_task(x, bad)
        assert info.value.field == "dataset.y" and "30 labels of dtype" in str(info.value.value)
    with pytest.raises(ConfigError, match=r"could not convert string to float: 'red'") as info:
        make_task(Column(np.array([["red", 1.0]] * 30, dtype=object)), np.arange(30) % 2)
    assert (info.value.field, info.value.value) == ("dataset.x", "Column")


def test_a_flat_input_shape_is_named_with_its_three_number_form():
    with pytest.raises(ConfigError, match=r"input_shape=\(1, 1, 13\) for 13 flat features") as info:
        make_task(np.zeros((20, 13)), np.arange(20) % 2, input_shape=(13,))
    assert info.value.field == "dataset.input_shape"


def test_flat_features_are_standardised_each_on_its_own_scale():
    # tabular data: one feature in thousands, one in tenths; each ends with mean 0 and deviation 1 on train
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(1000, 300, 200), rng.normal(0.5, 0.1, 200)])
    task = make_task(x, np.arange(200) % 2, input_shape=(1, 1, 2))
    features = task.x_train.reshape(len(task.x_train), 2)
    assert torch.allclose(features.mean(0), torch.zeros(2), atol=1e-4)
    assert torch.allclose(features.std(0, unbiased=False), torch.ones(2), atol=1e-3)


def test_images_keep_one_scale_for_all_their_pixels():
    x = np.random.default_rng(0).normal(size=(40, 4, 4)).astype(np.float32)
    x[:, 0, 0] *= 100  # a bright pixel stays brighter than the rest
    task = make_task(x, np.arange(40) % 2)
    assert task.x_train[:, 0, 0, 0].std() > 5 * task.x_train[:, 0, 1, 1].std()


def test_unknown_dataset_name():
    with pytest.raises(ConfigError, match="'digits'"):
        load_task("cifar10")


@pytest.mark.parametrize(
    "x, y, field, hint",
    [
        (np.full((20, 4), np.nan), np.arange(20) % 2, "dataset.x", "finite numbers only"),
        (np.full((20, 4), np.inf), np.arange(20) % 2, "dataset.x", "finite numbers only"),
        (np.zeros((10, 4)), np.arange(10), "dataset.split", "the validation split of 10 examples"),
        (np.zeros((20, 4)), np.zeros(20, dtype=int), "dataset.y", "at least two classes"),
        (np.zeros((0, 4)), np.zeros(0), "dataset.y", "there are no rows"),  # an IndexError found by fuzzing
        ([[1.0, 2.0], [3.0]] * 10, np.arange(20) % 2, "dataset.x", "numbers in an array of one shape"),
        (np.array([["a"] * 4] * 20), np.arange(20) % 2, "dataset.x", "numbers in an array of one shape"),
        (None, np.arange(20) % 2, "dataset.x", "(N, C, H, W)"),
    ],
)
def test_data_a_search_cannot_learn_from_is_refused_naming_why(x, y, field, hint):
    with pytest.raises(ConfigError) as info:
        make_task(x, y, input_shape=(1, 2, 2) if x is not None else None)
    assert info.value.field == field and hint in str(info.value)


def test_profiling_with_the_wrong_channel_count_names_the_input_shape():
    import nas_workbench as nw

    space = nw.spaces.get("nb201")
    model = space.build(space.random(0), (3, 16, 16), 10)
    with pytest.raises(ConfigError) as info:
        nw.profile(model, input_shape=(1, 16, 16), metrics=["params"])
    assert info.value.field == "input_shape" and "an input shape this network runs on" in str(info.value)
