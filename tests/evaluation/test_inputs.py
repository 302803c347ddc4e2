"""vaekit.evaluation.inputs: a model and its data, read and binarized for a
likelihood (`likelihood_data`).

Binarization is checked against an independent numpy draw: one uniform
number per value from `numpy.random.default_rng(seed)`, the value 1 where
it falls below the data's value.
"""

import shutil

import numpy as np
import pytest

from vaekit import data as data_lib
from vaekit.data.diskarray import open_npy
from vaekit.errors import DataError, InvalidArgument, RunFolderError
from vaekit.evaluation.inputs import (
    BINARIZE,
    LikelihoodData,
    as_float_rows,
    likelihood_data,
    model_run,
)
from vaekit.model.vae import VAE


def _binarized(x, seed):
    u = np.random.default_rng(seed).random(np.shape(x), dtype=np.float32)
    return (u < x).astype(np.float32)


def test_binarize_choices():
    assert BINARIZE == ("auto", "none", "static", "dynamic")


def test_a_run_model_file_is_binarized_as_its_run_trained(
    tiny_run, tiny_model_path, digits_x
):
    prepared = likelihood_data(tiny_model_path, "digits", seed=4)
    assert isinstance(prepared, LikelihoodData)
    assert isinstance(prepared.model, VAE) and prepared.model.data_shape == (8, 8, 1)
    assert prepared.binarize == "dynamic"  # the run's config.toml
    assert prepared.condition is None
    np.testing.assert_array_equal(prepared.x, _binarized(digits_x, 4))
    assert set(np.unique(prepared.x)) == {0.0, 1.0}
    inputs = prepared.inputs
    assert inputs.split == "all" and inputs.name == "'digits'"
    np.testing.assert_array_equal(inputs.x, digits_x)  # as read, before binarizing
    np.testing.assert_array_equal(inputs.y, data_lib.load("digits").y_train)
    np.testing.assert_array_equal(inputs.rows, np.arange(1797))
    assert model_run(tiny_model_path) == tiny_run


def test_binarize_none_static_and_auto_of_a_model_object(tiny_model, digits_x):
    x = digits_x[:40]
    none = likelihood_data(tiny_model, x, binarize="none", seed=1)
    assert none.model is tiny_model and none.binarize == "none"
    np.testing.assert_array_equal(none.x, x)
    # A VAE object has no run to ask: auto means none.
    auto = likelihood_data(tiny_model, x, seed=1)
    assert auto.binarize == "none"
    np.testing.assert_array_equal(auto.x, x)
    for rule in ("static", "dynamic"):  # once, with the seed, either way
        prepared = likelihood_data(tiny_model, x, binarize=rule, seed=1)
        assert prepared.binarize == rule
        np.testing.assert_array_equal(prepared.x, _binarized(x, 1))
    with pytest.raises(InvalidArgument, match="Received: binarize='yes'"):
        likelihood_data(tiny_model, x, binarize="yes")


def test_auto_binarize_with_an_unreadable_run_config(tiny_model_path, tmp_path):
    folder = tmp_path / "RUN"
    folder.mkdir()
    shutil.copy(tiny_model_path, folder / "model.keras")
    model = folder / "model.keras"
    (folder / "config.toml").write_text('binarize = "sometimes"\n')
    with pytest.raises(RunFolderError, match="pass --binarize none or"):
        likelihood_data(model, "digits")
    (folder / "config.toml").write_text("binarize = = static\n")
    with pytest.raises(RunFolderError) as info:
        likelihood_data(model, "digits")
    assert str(folder / "config.toml") in str(info.value)
    # A config.toml without the setting: the default, dynamic.
    (folder / "config.toml").write_text("latent_dim = 2\n")
    assert likelihood_data(model, "digits").binarize == "dynamic"
    # Told how, it needs no config.
    assert likelihood_data(model, "digits", binarize="static").binarize == "static"


def test_data_outside_0_1_is_refused_for_a_bernoulli_model(tiny_model, tmp_path):
    x = np.full((5, 64), 2.0, "float32")
    np.save(tmp_path / "big.npy", x)
    path = str(tmp_path / "big.npy")
    with pytest.raises(DataError) as info:
        likelihood_data(tiny_model, path)
    assert str(info.value).startswith(
        f"data {path!r}: the bernoulli likelihood needs values in [0, 1], got 2..2"
    )
    with pytest.raises(DataError, match=r"data ndarray: the bernoulli likelihood"):
        likelihood_data(tiny_model, x)


def test_the_labels_of_a_conditional_models_array(class_model):
    """An array's labels come as `condition` (class names or indices); a
    spec's from the data."""
    from tests.model.common import CLASS_NAMES

    model, x, y = class_model
    names = np.asarray(CLASS_NAMES)[y.astype(int)]
    for labels in (y, names, list(names)):
        prepared = likelihood_data(model, x, condition=labels)
        np.testing.assert_array_equal(prepared.condition, y)
        np.testing.assert_array_equal(prepared.inputs.condition, y)
    with pytest.raises(DataError, match="needs the labels"):
        likelihood_data(model, x)
    with pytest.raises(DataError, match="'up' is not a class of the model"):
        likelihood_data(model, x, condition=["up"] * len(x))


def test_a_conditional_models_spec_brings_its_labels(class_model, tmp_path):
    model, x, y = class_model
    path = tmp_path / "labelled.npz"
    np.savez(path, x_train=x, y_train=y.astype(int))
    prepared = likelihood_data(model, str(path))
    np.testing.assert_array_equal(prepared.condition, y)
    # Given labels win over the data's own.
    other = (y + 1) % 4
    prepared = likelihood_data(model, str(path), condition=other)
    np.testing.assert_array_equal(prepared.condition, other)


def test_as_float_rows_keeps_a_disk_array_on_disk(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(12, dtype=np.uint8).reshape(4, 3))
    disk = open_npy(tmp_path / "a.npy")
    assert as_float_rows(disk) is disk
    rows = as_float_rows([[1, 2], [3, 4]])
    assert rows.dtype == np.float32
    np.testing.assert_array_equal(rows, [[1.0, 2.0], [3.0, 4.0]])
