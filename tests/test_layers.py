"""vaekit.layers.Sampling: noise per row and unit, its statistics, config."""

import math

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from vaekit.layers import Sampling


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
