"""vaekit.model.preprocessing: the pieces `VAE.adapt` fits to the training
data, called one by one.

What `adapt` makes of them together (the transform of a Gaussian model,
class and numeric conditions, a Bernoulli output bias at the data's mean,
data refused for NaN, text or values outside [0, 1]) is tested in
tests/model/test_vae.py, and `DataTransform` itself in test_layers.py.
Here: each function's own answers, against numpy.
"""

import numpy as np
import pandas as pd
import pytest

from tests.model.common import np_
from vaekit.data.diskarray import open_npy
from vaekit.errors import DataError, InvalidArgument
from vaekit.model import preprocessing as prep
from vaekit.model.vae import VAE

# -- training_array --------------------------------------------------------------


def test_training_array_of_a_dataframe():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"], "b": [5, 6, 7]}
    )
    x, columns, categories = prep.training_array(frame)
    assert x.dtype == np.float32
    assert columns == ("a", "colour", "b")
    assert categories == {"colour": ("blue", "red")}  # sorted
    np.testing.assert_array_equal(x, [[1, 1, 5], [2, 0, 6], [3, 1, 7]])


def test_training_array_of_arrays_and_a_disk_array(tmp_path):
    x, columns, categories = prep.training_array([[1, 2], [3, 4]])
    assert x.dtype == np.float32 and (columns, categories) == (None, {})
    np.testing.assert_array_equal(x, [[1.0, 2.0], [3.0, 4.0]])
    np.save(tmp_path / "a.npy", np.ones((4, 3), np.float32))
    disk = open_npy(tmp_path / "a.npy")
    assert prep.training_array(disk) == (disk, None, {})  # left on disk


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((0, 3)), r"non-empty batch of examples, got shape \(0, 3\)"),
        (np.zeros(3), r"non-empty batch of examples, got shape \(3,\)"),
        (np.array([[1.0, np.inf]]), "NaN or infinite"),
        (np.array([["a", "b"]]), "dtype <U1 is not numeric"),
    ],
)
def test_training_array_refuses(x, match):
    with pytest.raises(DataError, match=match):
        prep.training_array(x)


# -- data_transform --------------------------------------------------------------


def test_data_transform_of_a_table_one_hots_its_text_columns():
    rng = np.random.default_rng(0)
    n = 50
    x = np.stack(
        [
            rng.normal(40.0, 9.0, n),
            rng.integers(0, 3, n),
            rng.normal(-2.0, 0.5, n),
            rng.integers(0, 2, n),
        ],
        axis=1,
    ).astype(np.float32)
    columns = ("age", "colour", "income", "size")
    categories = {"colour": ("blue", "green", "red"), "size": ("L", "S")}
    transform = prep.data_transform(x, columns, categories)
    assert transform.name == "transform"
    assert transform.categorical == [[1, 3], [3, 2]]
    assert transform.category_names == [["blue", "green", "red"], ["L", "S"]]
    assert transform.column_names == list(columns)
    assert transform.numeric == [0, 2]
    assert transform.model_shape == (2 + 3 + 2,)
    # Adapted: each numeric column's mean and (population) std.
    numeric = x[:, [0, 2]].astype(np.float64)
    np.testing.assert_allclose(np_(transform.mean), numeric.mean(0), rtol=1e-5)
    np.testing.assert_allclose(np_(transform.scale), numeric.std(0), rtol=1e-4)


def test_data_transform_of_an_array_has_no_names():
    x = np.random.default_rng(1).normal(3.0, 2.0, (40, 5)).astype(np.float32)
    transform = prep.data_transform(x)
    assert transform.categorical == [] and transform.column_names is None
    assert transform.category_names is None
    assert transform.model_shape == (5,)
    np.testing.assert_allclose(np_(transform.mean), x.mean(0), rtol=1e-5)


# -- conditions (the rest in test_conditions.py) ------------------------------------


def test_copy_transform_is_a_second_layer_with_the_same_statistics():
    transform = prep.condition_transform(np.array([0.5, 1.0, 3.0]))
    clone = prep.copy_transform(transform)
    assert clone is not transform
    assert clone.get_config() == transform.get_config()
    for a, b in zip(clone.get_weights(), transform.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# -- init_output_bias ------------------------------------------------------------


def test_output_bias_of_a_conv_decoder_is_per_channel(tmp_path):
    """A conv decoder's output bias has one value per channel: the logit of
    each channel's mean over examples and pixels; a DiskArray is read a
    chunk at a time to the same value."""
    rng = np.random.default_rng(0)
    x = (rng.random((30, 4, 4, 2)) * np.array([0.2, 0.7])).astype(np.float32)
    model = VAE(latent_dim=2, hidden_dims=[2, 4], architecture="conv", seed=0)
    model.adapt(x)
    bias = model.decoder.get_layer("x_params").bias
    assert tuple(bias.shape) == (2,)
    p = x.astype(np.float64).mean(axis=(0, 1, 2))
    prep.init_output_bias(model, x)
    np.testing.assert_allclose(np_(bias), np.log(p / (1 - p)), rtol=1e-5)
    bias.assign(np.zeros(2, "float32"))
    np.save(tmp_path / "x.npy", x)
    prep.init_output_bias(model, open_npy(tmp_path / "x.npy"))
    np.testing.assert_allclose(np_(bias), np.log(p / (1 - p)), rtol=1e-5)


def test_output_bias_is_clipped_away_from_0_and_1():
    x = np.zeros((10, 4), np.float32)
    x[:, 1] = 1.0
    x[:5, 2] = 1.0
    model = VAE(latent_dim=2, hidden_dims=[4], seed=0).adapt(x)
    prep.init_output_bias(model, x, eps=0.01)
    expected = np.log(np.array([0.01, 0.99, 0.5, 0.01]) / [0.99, 0.01, 0.5, 0.99])
    np.testing.assert_allclose(
        np_(model.decoder.get_layer("x_params").bias), expected, rtol=1e-5, atol=1e-6
    )


def test_output_bias_needs_the_x_params_layer():
    import keras

    z_in = keras.Input((2,))
    decoder = keras.Model(z_in, keras.layers.Dense(4, name="logits")(z_in))
    x_in = keras.Input((4,))
    encoder = keras.Model(
        x_in, [keras.layers.Dense(2)(x_in), keras.layers.Dense(2)(x_in)]
    )
    model = VAE(encoder, decoder)
    with pytest.raises(InvalidArgument, match="output layer is named x_params"):
        prep.init_output_bias(model, np.full((3, 4), 0.5, np.float32))
