"""vaekit.model.layers: Sampling (noise per row and unit, its statistics,
config) and DataTransform (standardisation, one-hot columns, log-Jacobian,
split of the decoder's parameters, inverse). Its log-likelihood in the data's
units is `likelihoods.InDataUnits` (test_likelihoods.py)."""

import math

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from vaekit.model.layers import DataTransform, Sampling
from vaekit.model.likelihoods import Gaussian, InDataUnits


def draw(layer, z_mean, z_log_var):
    return np.asarray(
        ops.convert_to_numpy(layer([z_mean, z_log_var])), dtype=np.float64
    )


def test_every_row_and_every_unit_gets_its_own_epsilon():
    batch, latent = 64, 3
    zeros = np.zeros((batch, latent), "float32")
    z = draw(Sampling(seed=0), zeros, zeros)
    assert z.shape == (batch, latent)
    # The tutorial drew one epsilon of shape (latent_dim,) for the whole batch:
    # every row would then be identical. Continuous draws never repeat.
    assert len(np.unique(z, axis=0)) == batch
    assert all(len(np.unique(row)) == latent for row in z)
    # Rows are independent: the sample correlation of two columns (each a
    # sequence over the batch) is ~N(0, 1/batch); 5 standard errors.
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 5 / math.sqrt(batch)


@pytest.mark.parametrize("epsilon_std", [1.0, 0.5])
def test_z_has_the_requested_mean_and_std(epsilon_std):
    n = 20_000
    mean = np.array([1.0, -2.0, 0.5], "float32")
    log_var = np.array([0.0, math.log(4.0), math.log(0.25)], "float32")
    z = draw(
        Sampling(epsilon_std=epsilon_std, seed=7),
        np.tile(mean, (n, 1)),
        np.tile(log_var, (n, 1)),
    )
    std = np.exp(0.5 * log_var.astype(np.float64)) * epsilon_std
    # Standard errors of the sample mean and the sample std of n normals.
    assert np.all(np.abs(z.mean(axis=0) - mean) < 5 * std / math.sqrt(n))
    se_std = std / math.sqrt(2 * (n - 1))
    assert np.all(np.abs(z.std(axis=0, ddof=1) - std) < 5 * se_std)
    # Normal, not merely the right two moments.
    for unit in range(3):
        standardized = (z[:, unit] - mean[unit]) / std[unit]
        assert stats.kstest(standardized, "norm").pvalue > 1e-4
    # Units are independent of each other.
    corr = np.corrcoef(z, rowvar=False)
    assert np.all(np.abs(corr[np.triu_indices(3, 1)]) < 5 / math.sqrt(n))


def test_noise_depends_on_each_rows_own_mean_and_log_var():
    # Per-row parameters: row i has mean i and std 2**-i.
    batch = 6
    mean = np.arange(batch, dtype="float32")[:, None].repeat(1000, axis=1)
    log_var = (-2 * math.log(2) * np.arange(batch, dtype="float32"))[:, None]
    log_var = log_var.repeat(1000, axis=1)
    z = draw(Sampling(seed=3), mean, log_var)
    std = 2.0 ** -np.arange(batch)
    se = std / math.sqrt(1000)
    assert np.all(np.abs(z.mean(axis=1) - np.arange(batch)) < 5 * se)
    assert np.all(np.abs(z.std(axis=1, ddof=1) / std - 1) < 5 / math.sqrt(2 * 999))


def test_zero_epsilon_std_returns_z_mean():
    mean = np.array([[0.3, -1.2], [4.0, 5.0]], "float32")
    log_var = np.array([[3.0, -3.0], [0.0, 1.0]], "float32")
    z = draw(Sampling(epsilon_std=0.0, seed=1), mean, log_var)
    np.testing.assert_array_equal(z, mean)


def test_seeded_layers_are_reproducible_and_successive_draws_differ():
    mean = np.zeros((5, 4), "float32")
    log_var = np.zeros((5, 4), "float32")
    a, b, c = Sampling(seed=11), Sampling(seed=11), Sampling(seed=12)
    first_a, first_b = draw(a, mean, log_var), draw(b, mean, log_var)
    np.testing.assert_array_equal(first_a, first_b)
    np.testing.assert_array_equal(draw(a, mean, log_var), draw(b, mean, log_var))
    assert not np.allclose(first_a, draw(c, mean, log_var))
    # The layer's generator advances: a second call is a fresh draw.
    assert not np.allclose(first_a, draw(a, mean, log_var))


@pytest.mark.parametrize(
    "value", [-1.0, -1e-9, "1.0", None, float("nan"), float("inf"), True, [1.0]]
)
def test_bad_epsilon_std_is_refused_naming_the_value(value):
    with pytest.raises(ValueError, match=r"Received: epsilon_std="):
        Sampling(epsilon_std=value)


@pytest.mark.parametrize("value", [1.5, "3", True])
def test_bad_seed_is_refused_naming_the_value(value):
    with pytest.raises(ValueError, match=r"Received: seed="):
        Sampling(seed=value)


def test_numpy_scalars_and_ints_are_valid_epsilon_std():
    assert Sampling(epsilon_std=np.float32(0.5)).epsilon_std == 0.5
    assert Sampling(epsilon_std=2).epsilon_std == 2.0


def test_get_config_from_config_round_trip():
    layer = Sampling(epsilon_std=0.25, seed=42, name="sampler")
    config = layer.get_config()
    assert config["epsilon_std"] == 0.25
    assert config["seed"] == 42
    assert config["name"] == "sampler"
    clone = Sampling.from_config(config)
    assert clone.get_config() == config
    mean = np.ones((3, 2), "float32")
    log_var = np.zeros((3, 2), "float32")
    np.testing.assert_array_equal(
        draw(layer, mean, log_var), draw(clone, mean, log_var)
    )


def test_serialize_deserialize_uses_the_registered_name():
    layer = Sampling(epsilon_std=0.5, seed=9)
    serialized = keras.saving.serialize_keras_object(layer)
    assert keras.saving.get_registered_name(Sampling) == "vaekit>Sampling"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, Sampling)
    assert (restored.epsilon_std, restored.seed) == (0.5, 9)


def test_model_with_sampling_saves_and_loads_in_safe_mode(tmp_path):
    z_mean = keras.Input((3,))
    z_log_var = keras.Input((3,))
    z = Sampling(seed=5, name="sampling")([z_mean, z_log_var])
    assert tuple(z.shape) == (None, 3)
    model = keras.Model([z_mean, z_log_var], z)
    path = tmp_path / "sampling.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("sampling"), Sampling)
    inputs = [np.full((4, 3), 2.0, "float32"), np.full((4, 3), -1.0, "float32")]
    # The generator's state is saved with the model: the next draws agree.
    expected = ops.convert_to_numpy(model(inputs))
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(inputs)), expected)
    assert np.all(np.abs(expected - 2.0) > 0)


# -- DataTransform ---------------------------------------------------------


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def mixed_table(n=40, seed=0, big=1000.0):
    """Columns: numeric ~N(1000, 300) (times `big / 1000`), categorical with
    3 categories, numeric ~N(0.01, 0.005), and a constant numeric column."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            rng.normal(1.0, 0.3, n) * big,
            rng.integers(0, 3, n),
            rng.normal(0.01, 0.005, n),
            np.full(n, 7.0),
        ],
        axis=1,
    ).astype("float32")


def mixed_transform(x, **kwargs):
    transform = DataTransform((4,), categorical=[[1, 3]], **kwargs)
    transform.adapt(x)
    return transform


def test_data_transform_standardises_numeric_columns_and_one_hots_categories():
    x = mixed_table()
    # Two categorical columns, the second listed first: blocks follow the
    # order of `categorical`, after all the numeric columns.
    x5 = np.concatenate([x, (np.arange(40) % 2)[:, None].astype("f4")], axis=1)
    transform = DataTransform((5,), categorical=[[4, 2], [1, 3]])
    transform.adapt(x5)
    assert transform.numeric == [0, 2, 3]
    assert transform.numeric_shape == (3,)
    assert transform.model_shape == (3 + 2 + 3,)
    assert transform.compute_output_shape((None, 5)) == (None, 8)
    data = x5.astype(np.float64)[:, [0, 2, 3]]
    mean, std = data.mean(axis=0), data.std(axis=0)  # ddof=0
    np.testing.assert_allclose(np_(transform.mean), mean, rtol=1e-6)
    # The constant column (std 0) gets scale 1: nothing divided by zero.
    np.testing.assert_allclose(np_(transform.scale), [std[0], std[1], 1.0], rtol=1e-5)
    out = np_(transform(x5))
    assert out.shape == (40, 8)
    assert np.all(np.isfinite(out))
    expected_numeric = (data - mean) / np.array([std[0], std[1], 1.0])
    np.testing.assert_allclose(out[:, :3], expected_numeric, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(out[:, 2], 0.0)
    np.testing.assert_array_equal(out[:, 3:5], np.eye(2)[x5[:, 4].astype(int)])
    np.testing.assert_array_equal(out[:, 5:8], np.eye(3)[x5[:, 1].astype(int)])
    # Standardised over the data it was adapted to: mean 0, std 1.
    np.testing.assert_allclose(out[:, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out[:, :2].std(axis=0), 1.0, rtol=1e-4)


def test_data_transform_of_images_has_statistics_per_channel():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 4, 5, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -2.0]
    images = images.astype("float32")
    transform = DataTransform((4, 5, 3))
    transform.adapt(images)
    assert transform.model_shape == transform.data_shape == (4, 5, 3)
    assert transform.numeric_shape == (4, 5, 3)
    flat = images.astype(np.float64).reshape(-1, 3)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    np.testing.assert_allclose(np_(transform.mean), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np_(transform.scale), std, rtol=1e-5)
    out = np_(transform(images))
    assert out.shape == images.shape
    np.testing.assert_allclose(out, (images - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np_(transform.standardize(images)), out, rtol=1e-6)
    # The log-Jacobian counts each of the 4 * 5 positions of every channel.
    params = rng.normal(size=images.shape).astype("float32")
    np.testing.assert_allclose(
        float(transform.log_jacobian()), -20 * np.log(std).sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        np_(transform.inverse(ops.convert_to_tensor(params))),
        params * std + mean,
        rtol=1e-5,
        atol=1e-4,
    )


def test_data_transform_inverse_restores_the_table_in_its_column_order():
    x = mixed_table()
    transform = mixed_transform(x)
    assert transform.model_shape == (6,)
    params = np_(transform(x))
    # Decoder-like outputs: the one-hot block as large logits.
    params[:, 3:] *= 10.0
    restored = np_(transform.inverse(ops.convert_to_tensor(params.astype("f4"))))
    assert restored.shape == x.shape
    # Column 1, in the middle, is the category index again.
    np.testing.assert_array_equal(restored[:, 1], x[:, 1])
    np.testing.assert_allclose(restored, x, rtol=1e-5, atol=1e-7)
    # Numeric columns are de-standardised: params * scale + mean.
    raw = np.random.default_rng(2).normal(size=(5, 6)).astype("float32")
    out = np_(transform.inverse(ops.convert_to_tensor(raw)))
    scale, mean = np_(transform.scale), np_(transform.mean)
    np.testing.assert_allclose(out[:, [0, 2, 3]], raw[:, :3] * scale + mean, rtol=1e-5)
    np.testing.assert_array_equal(out[:, 1], raw[:, 3:].argmax(axis=1))
    # Two categorical columns, listed out of column order.
    x5 = np.concatenate([x, (np.arange(40) % 2)[:, None].astype("f4")], axis=1)
    two = DataTransform((5,), categorical=[[4, 2], [1, 3]])
    two.adapt(x5)
    params = np_(two(x5))
    params[:, 3:] *= 10.0
    restored = np_(two.inverse(ops.convert_to_tensor(params.astype("f4"))))
    np.testing.assert_array_equal(restored[:, [1, 4]], x5[:, [1, 4]])
    np.testing.assert_allclose(restored, x5, rtol=1e-5, atol=1e-7)


def test_data_transform_config_and_weights_round_trip():
    x = mixed_table()
    transform = mixed_transform(
        x,
        column_names=["a", "b", "c", "d"],
        category_names=[["red", "green", "blue"]],
        name="transform",
    )
    config = transform.get_config()
    assert config["data_shape"] == [4]
    assert config["categorical"] == [[1, 3]]
    assert config["column_names"] == ["a", "b", "c", "d"]
    assert config["category_names"] == [["red", "green", "blue"]]
    clone = DataTransform.from_config(config)
    assert clone.get_config() == config
    assert (clone.model_shape, clone.numeric) == (transform.model_shape, [0, 2, 3])
    # Unadapted, the clone is the identity on numeric columns ...
    np.testing.assert_allclose(np_(clone(x))[:, :3], x[:, [0, 2, 3]], rtol=1e-6)
    # ... and with the weights it is the same transform.
    clone.set_weights(transform.get_weights())
    np.testing.assert_array_equal(np_(clone(x)), np_(transform(x)))
    params = np.random.default_rng(4).normal(size=(40, 6)).astype("float32")
    params = ops.convert_to_tensor(params)
    np.testing.assert_array_equal(
        np_(clone.inverse(params)), np_(transform.inverse(params))
    )
    np.testing.assert_array_equal(
        np_(InDataUnits(clone, Gaussian(std=1.1)).log_prob(x, params)),
        np_(InDataUnits(transform, Gaussian(std=1.1)).log_prob(x, params)),
    )
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(transform)
    )
    assert isinstance(restored, DataTransform)
    assert restored.category_names == [["red", "green", "blue"]]


@pytest.mark.parametrize(
    "shape, categorical",
    [
        ((3,), [[3, 2]]),  # column out of range
        ((3,), [[-1, 2]]),
        ((3,), [[1, 1]]),  # one category
        ((3,), [[1, 2], [1, 3]]),  # the same column twice
        ((4, 4, 3), [[0, 2]]),  # categorical on images
        ((4, 3), []),  # rank 2
        ((), []),
    ],
)
def test_data_transform_refuses_bad_arguments(shape, categorical):
    with pytest.raises(ValueError):
        DataTransform(shape, categorical=categorical)


def test_data_transform_adapt_refuses_data_of_the_wrong_rank_or_empty():
    transform = DataTransform((3,))
    with pytest.raises(ValueError, match="shape"):
        transform.adapt(np.zeros((4, 3, 1)))
    with pytest.raises(ValueError, match="shape"):
        transform.adapt(np.zeros((0, 3)))


def test_data_transform_keeps_a_large_offset_column_with_real_spread():
    """Timestamps near 1.7e9 spread by about 1000 are not constant."""
    rng = np.random.default_rng(0)
    x = np.column_stack([1.7e9 + rng.normal(0, 960, 100), np.full(100, 5.0)])
    transform = DataTransform((2,))
    transform.adapt(x)
    scale = keras.ops.convert_to_numpy(transform.scale)
    assert scale[0] == pytest.approx(x[:, 0].std(), rel=1e-3)
    assert scale[1] == 1.0  # the constant column


def test_data_transform_adapt_refuses_another_width():
    with pytest.raises(ValueError, match="Expected data of shape"):
        DataTransform((3,)).adapt(np.zeros((4, 7)))


def test_data_transform_standardize_takes_the_numeric_columns():
    x = mixed_table()
    transform = mixed_transform(x)
    got = np_(transform.standardize(x))
    scale, mean = np_(transform.scale), np_(transform.mean)
    assert got.shape == (40, 3)
    np.testing.assert_allclose(
        got, (x[:, [0, 2, 3]] - mean) / scale, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(got, np_(transform(x))[:, :3])


def test_data_transform_split_params_by_feature_kind():
    params = np.arange(2 * 8, dtype="float32").reshape(2, 8)
    two = DataTransform((5,), categorical=[[4, 2], [1, 3]])
    numeric, blocks = two.split_params(params)
    np.testing.assert_array_equal(np_(numeric), params[:, :3])
    # One block per categorical column, in the order of `categorical`.
    assert [np_(b).shape for b in blocks] == [(2, 2), (2, 3)]
    np.testing.assert_array_equal(np_(blocks[0]), params[:, 3:5])
    np.testing.assert_array_equal(np_(blocks[1]), params[:, 5:8])
    # Numeric only: all of it, no blocks; categorical only: no numeric part.
    numeric, blocks = DataTransform((3,)).split_params(params[:, :3])
    np.testing.assert_array_equal(np_(numeric), params[:, :3])
    assert blocks == []
    numeric, blocks = DataTransform((1,), categorical=[[0, 4]]).split_params(
        params[:, :4]
    )
    assert numeric is None
    np.testing.assert_array_equal(np_(blocks[0]), params[:, :4])


def test_adapt_keeps_each_numeric_features_range_and_whether_it_is_whole():
    x = mixed_table()
    x[:, 2] = np.round(x[:, 2] * 1000)  # whole numbers, as a count column
    transform = mixed_transform(x)
    # One entry per numeric feature (columns 0, 2, 3), in that order.
    np.testing.assert_allclose(
        transform.value_range,
        [[x[:, c].min(), x[:, c].max()] for c in (0, 2, 3)],
        rtol=1e-7,
    )
    assert transform.integers == [False, True, True]  # the constant 7 is whole
    config = transform.get_config()
    assert config["integers"] == [False, True, True]
    clone = DataTransform.from_config(config)
    assert (clone.value_range, clone.integers) == (
        transform.value_range,
        transform.integers,
    )
    # Images: per channel.
    images = np.random.default_rng(0).uniform(size=(5, 4, 4, 2)).astype("float32")
    images[..., 1] = np.round(images[..., 1] * 255)
    channels = DataTransform((4, 4, 2))
    channels.adapt(images)
    assert channels.integers == [False, True]
    np.testing.assert_allclose(
        channels.value_range,
        [[images[..., c].min(), images[..., c].max()] for c in range(2)],
        rtol=1e-7,
    )


def test_a_transform_saved_before_value_ranges_loads_without_them():
    config = mixed_transform(mixed_table()).get_config()
    del config["value_range"], config["integers"]
    clone = DataTransform.from_config(config)
    assert clone.value_range is None and clone.integers is None
    assert "value_range" not in clone.get_config()


@pytest.mark.parametrize(
    "value_range, integers",
    [
        ([[0, 1], [0, 1]], [True, False, True]),  # two ranges for three features
        ([[0, 1], [2, 1], [0, 1]], [True, True, True]),  # low above high
        ([[0, 1], [0, np.inf], [0, 1]], [True, True, True]),
        ([[0, 1], [0, 1], [0, 1]], [1, 0, 1]),  # not booleans
        ([[0, 1], [0, 1], [0, 1]], None),  # one without the other
    ],
)
def test_bad_value_ranges_are_refused(value_range, integers):
    with pytest.raises(ValueError, match="value_range"):
        DataTransform(
            (4,), categorical=[[1, 3]], value_range=value_range, integers=integers
        )
