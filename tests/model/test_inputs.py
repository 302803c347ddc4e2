"""vaekit.model.inputs: data read for a model (`read_inputs` -> `Inputs`)
and a conditional model's labels mapped to its classes (`class_indices`)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.helpers import TABLE_FEATURES, TABLE_ROWS, table_rows
from tests.model.common import CLASS_NAMES, class_condition, class_data
from tests.model.common import conditional_vae as make_conditional
from vaekit import VaekitWarning
from vaekit import data as data_lib
from vaekit.errors import DataError, InvalidArgument
from vaekit.model.inputs import Inputs, class_indices, read_inputs


@pytest.fixture(scope="module")
def labelled():
    """`(vae, x, y)`: an untrained VAE conditioned on the 4 classes named
    `CLASS_NAMES`, and 20 examples with their labels."""
    x, y = class_data(n=20)
    return make_conditional(class_condition(y)), x, y


@pytest.fixture(scope="module")
def table():
    """The mixed table with its labels (`kind`: text, x or y), as a
    DataFrame of numbers and text."""
    frame = pd.DataFrame(table_rows(), columns=[*TABLE_FEATURES, "kind"])
    return frame.astype({"age": float, "income": float})


# -- specs, arrays and splits --------------------------------------------------


def test_a_spec_is_read_with_its_labels_and_split(tiny_model, digits_x):
    inputs = read_inputs(tiny_model, "digits")
    assert isinstance(inputs, Inputs)
    assert inputs.split == "all"  # digits has no test split
    assert inputs.x.shape == (1797, 8, 8, 1) and inputs.x.dtype == np.float32
    np.testing.assert_array_equal(inputs.x, digits_x)
    np.testing.assert_array_equal(inputs.y, data_lib.load("digits").y_train)
    np.testing.assert_array_equal(inputs.rows, np.arange(1797))
    assert inputs.condition is None and inputs.label_names is None
    assert inputs.name == "'digits'"
    assert read_inputs(tiny_model, "digits", split="train").x.shape[0] == 1797
    with pytest.raises(DataError, match="no test split"):
        read_inputs(tiny_model, "digits", split="test")
    with pytest.raises(InvalidArgument, match="Received: which='validation'"):
        read_inputs(tiny_model, "digits", split="validation")


def test_flat_data_is_reshaped_to_the_model(tiny_model, digits_x, tmp_path):
    images = digits_x[:30]
    flat = tmp_path / "flat.npy"
    np.save(flat, images.reshape(30, 64))
    inputs = read_inputs(tiny_model, str(flat))
    assert (inputs.x.shape, inputs.y, inputs.split) == ((30, 8, 8, 1), None, "all")
    np.testing.assert_array_equal(inputs.x[:30], images)
    np.testing.assert_array_equal(inputs.rows, np.arange(30))
    # An array in memory, flat or as images, reads the same.
    for array in (images.reshape(30, 64), images.reshape(30, 8, 8)):
        inputs = read_inputs(tiny_model, array)
        np.testing.assert_array_equal(inputs.x, images)
        assert inputs.name == "ndarray"
    np.save(flat, images.reshape(30, 64)[:, :10])
    with pytest.raises(DataError, match="flat.npy"):
        read_inputs(tiny_model, str(flat))
    with pytest.raises(DataError, match=r"data ndarray .*\(10,\)"):
        read_inputs(tiny_model, images.reshape(30, 64)[:, :10])


def test_data_with_a_test_split_reads_it_by_default(tiny_model, digits_x, tmp_path):
    path = tmp_path / "parts.npz"
    np.savez(
        path,
        x_train=digits_x[:20],
        y_train=np.arange(20) % 10,
        x_test=digits_x[20:25],
        y_test=np.arange(5),
    )
    test = read_inputs(tiny_model, str(path))
    assert test.split == "test" and len(test.x) == 5
    np.testing.assert_array_equal(test.x, digits_x[20:25])
    np.testing.assert_array_equal(test.y, np.arange(5))
    np.testing.assert_array_equal(test.rows, np.arange(5))
    both = read_inputs(tiny_model, str(path), split="all")
    np.testing.assert_array_equal(both.x, digits_x[:25])
    np.testing.assert_array_equal(both.y, [*(np.arange(20) % 10), *range(5)])
    np.testing.assert_array_equal(both.rows, np.arange(25))


# -- tables ----------------------------------------------------------------------


def _expected(model, frame):
    """numpy: the model's columns of `frame`, text as category indices."""
    schema = model.schema
    columns = []
    for name in schema["columns"]:
        if name in schema["categories"]:
            names = schema["categories"][name]
            columns.append([names.index(v) for v in frame[name]])
        else:
            columns.append(frame[name].to_numpy(np.float64))
    return np.array(columns, np.float32).T


def test_a_dataframe_is_read_by_the_models_columns_and_categories(mixed_vae, table):
    """Another column order and an unused column: the model reads its own
    columns by name, text as its own categories; text labels as indices of
    their sorted names."""
    shuffled = table[["income", "kind", "size", "age", "colour"]].assign(note="n")
    inputs = read_inputs(mixed_vae, shuffled, label_column="kind")
    assert inputs.x.shape == (TABLE_ROWS, 4)
    np.testing.assert_array_equal(inputs.x, _expected(mixed_vae, table))
    assert inputs.label_names == ("x", "y")
    np.testing.assert_array_equal(inputs.y, (table["kind"] == "y").astype(int))
    np.testing.assert_array_equal(inputs.rows, np.arange(TABLE_ROWS))
    assert inputs.name == "DataFrame" and inputs.split == "all"
    assert inputs.condition is None  # not a conditional model


def test_a_csv_file_is_read_like_the_dataframe(mixed_vae, table, tmp_path):
    path = tmp_path / "t.csv"
    table[["kind", "colour", "size", "income", "age"]].to_csv(path, index=False)
    inputs = read_inputs(mixed_vae, str(path), label_column="kind")
    np.testing.assert_allclose(inputs.x, _expected(mixed_vae, table), rtol=1e-6)
    assert inputs.label_names == ("x", "y")
    assert inputs.name == repr(str(path))


def test_a_tables_bad_rows(mixed_vae, table):
    unknown = table.copy()
    unknown.loc[3, "colour"] = "purple"
    with pytest.raises(DataError, match="row 3, column 'colour': unknown category"):
        read_inputs(mixed_vae, unknown)
    missing = table.copy()
    missing.loc[2, "age"] = np.nan
    missing.loc[7, "size"] = None
    with pytest.raises(DataError, match="row 2, column 'age': missing value"):
        read_inputs(mixed_vae, missing)
    # Dropped with a warning, the other rows keep their places.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = read_inputs(mixed_vae, missing, missing="drop")
    said = [str(w.message) for w in caught if w.category is VaekitWarning]
    assert said == [f"DataFrame: dropped 2 of {TABLE_ROWS} rows with missing values"]
    kept = [i for i in range(TABLE_ROWS) if i not in (2, 7)]
    np.testing.assert_array_equal(inputs.rows, kept)
    np.testing.assert_array_equal(
        inputs.x, _expected(mixed_vae, table.iloc[kept].reset_index(drop=True))
    )


# -- conditional models ----------------------------------------------------------


def test_a_conditional_model_reads_the_datas_labels(labelled, tmp_path):
    model, x, y = labelled
    path = tmp_path / "labelled.npz"
    np.savez(path, x_train=x, y_train=y.astype(int))
    inputs = read_inputs(model, str(path))
    assert inputs.condition.dtype == np.float32
    np.testing.assert_array_equal(inputs.condition, y)
    with pytest.raises(DataError, match="conditional VAE: it needs the labels"):
        read_inputs(model, x)
    np.savez(path, x_train=x, y_train=np.full(len(x), 4))
    with pytest.raises(
        DataError, match=r"label 4 is not a class of the model \(0..3\)"
    ):
        read_inputs(model, str(path))


def test_an_arrays_labels_come_as_labels(labelled):
    """The labels of an array's examples, as class names or indices; they
    win over the data's own."""
    model, x, y = labelled
    names = np.asarray(CLASS_NAMES)[y.astype(int)]
    for labels in (y, names, list(names)):
        inputs = read_inputs(model, x, labels=labels)
        np.testing.assert_array_equal(inputs.condition, y)
    with pytest.raises(DataError, match="20 examples but 19 labels"):
        read_inputs(model, x, labels=y[1:])
    with pytest.raises(DataError, match="'up' is not a class of the model"):
        read_inputs(model, x, labels=["up"] * len(x))


def test_a_conditional_models_text_labels_in_a_table(labelled):
    """Text labels are mapped to the model's classes by name, whatever order
    the data's own (sorted) label names have."""
    model, x, _ = labelled
    frame = pd.DataFrame(x, columns=[f"x_{i}" for i in range(x.shape[1])])
    frame["where"] = ["west", "north"] * (len(x) // 2)
    inputs = read_inputs(model, frame, label_column="where")
    assert inputs.label_names == ("north", "west")
    np.testing.assert_array_equal(inputs.condition, [3.0, 0.0] * (len(x) // 2))
    frame["where"] = ["up", "north"] * (len(x) // 2)
    with pytest.raises(DataError, match=r"'up' is not a class .*north, east"):
        read_inputs(model, frame, label_column="where")


def test_class_indices(labelled, numeric_conditional):
    model, _, _ = labelled
    # Indices into the data's label names -> the model's class indices.
    np.testing.assert_array_equal(
        class_indices(model, [0, 1, 1, 0], ("south", "north")), [2.0, 0.0, 0.0, 2.0]
    )
    np.testing.assert_array_equal(class_indices(model, [3, 0.0, 2]), [3.0, 0.0, 2.0])
    for bad in (2.5, -1, 4):
        with pytest.raises(DataError, match=rf"source: label {bad:g} is not a class"):
            class_indices(model, [0, bad], source="source")
    with pytest.raises(DataError, match=r"classes: north, east, south, west"):
        class_indices(model, [0], ("up",))
    # A numeric condition takes any number, and no text.
    numeric, _, _ = numeric_conditional
    np.testing.assert_array_equal(class_indices(numeric, [1.5, -30]), [1.5, -30.0])
    with pytest.raises(
        DataError, match="text labels, but model's condition is numeric"
    ):
        class_indices(numeric, [0], ("warm",))
