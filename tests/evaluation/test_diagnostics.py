"""vaekit.evaluation.diagnostics: active units, each unit's KL, and the
advice a posterior collapse warning gives.

The KL of each unit is checked against the closed form of
KL(N(m, s^2) || N(0, 1)) in numpy, and the active units against the
variance of q's means computed with numpy. (The warning itself, raised by
the training callback, is tested in tests/training/test_callbacks.py.)
"""

import math

import keras
import numpy as np
import pytest

from vaekit.evaluation.diagnostics import (
    ACTIVE_UNIT_THRESHOLD,
    active_units,
    collapse_advice,
    count_active,
    latent_diagnostics,
)
from vaekit.evaluation.likelihood import evaluate
from vaekit.model.vae import VAE

D = 6


def _linear_vae(kernel, bias, log_var_bias, **kwargs):
    """A VAE whose q(z|x) has the mean `x @ kernel + bias` and the constant
    log-variance `log_var_bias`; a linear decoder."""
    latent = kernel.shape[1]
    x_in = keras.Input((D,))
    encoder = keras.Model(
        x_in,
        [
            keras.layers.Dense(latent, name="z_mean")(x_in),
            keras.layers.Dense(latent, name="z_log_var")(x_in),
        ],
    )
    encoder.get_layer("z_mean").set_weights([kernel, bias])
    encoder.get_layer("z_log_var").set_weights(
        [np.zeros((D, latent), "float32"), np.asarray(log_var_bias, "float32")]
    )
    z_in = keras.Input((latent,))
    decoder = keras.Model(z_in, keras.layers.Dense(D)(z_in))
    kwargs.setdefault("decoder_std", 1.0)
    return VAE(encoder, decoder, likelihood="gaussian", seed=0, **kwargs)


def _unit_kl(z_mean, q_var):
    """numpy: the mean over examples of KL(N(m, v) || N(0, 1)), per unit."""
    z_mean = np.asarray(z_mean, np.float64)
    return (0.5 * (q_var + z_mean**2 - 1 - np.log(q_var))).mean(axis=0)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(8).standard_normal((500, D)).astype("float32")


def test_active_units_counts_units_whose_mean_varies(x):
    # Four latent units; for x ~ N(0, I), var(x . w) = |w|^2.
    kernel = np.zeros((D, 4), "float32")
    kernel[0, 0] = 1.0  # variance 1: active
    kernel[1, 1] = math.sqrt(0.001)  # variance 0.001: below the 0.01 threshold
    # unit 2 is dead: its mean is the same for every x
    kernel[2:4, 3] = math.sqrt(0.05 / 2)  # variance 0.05: active
    model = _linear_vae(kernel, np.full(4, 3.0, "float32"), np.zeros(4))
    result = evaluate(model, x, iw_samples=1)
    z_mean = model.encode(x)[0]
    variances = z_mean.var(axis=0)
    assert variances[2] == 0.0
    assert ACTIVE_UNIT_THRESHOLD == 0.01
    assert result["active_units"] == int((variances > ACTIVE_UNIT_THRESHOLD).sum()) == 2
    assert active_units(z_mean) == 2
    assert latent_diagnostics(model, x)[1] == 2


def test_active_units_and_count_active_against_numpy():
    rng = np.random.default_rng(0)
    # Units of standard deviations 0.05, 0.2 and 1: variances 0.0025, 0.04, 1.
    z_means = rng.standard_normal((400, 3)) * np.array([0.05, 0.2, 1.0]) + 7.0
    variances = z_means.var(axis=0)
    for threshold in (ACTIVE_UNIT_THRESHOLD, 0.001, 0.1, 10.0):
        expected = int((variances > threshold).sum())
        assert active_units(z_means, threshold) == expected
        assert count_active(variances, len(z_means), threshold) == expected
    assert active_units(z_means) == 2
    assert [active_units(z_means, t) for t in (0.001, 0.1, 10.0)] == [3, 1, 0]
    # Fewer than two examples: no variance, no active unit.
    assert active_units(z_means[:1]) == 0
    assert count_active(np.ones(3), 1) == 0


def test_latent_diagnostics_are_each_units_kl_and_the_active_units(x):
    """q's variance as the model samples it (epsilon_std scales its std):
    each unit's mean KL is the numpy closed form, and together they are the
    KL `evaluate` reports."""
    kernel = np.zeros((D, 3), "float32")
    kernel[0, 0] = 1.5
    kernel[1, 1] = 0.02  # a mean that hardly varies: not active
    log_var = np.log([0.3, 0.8, 1.0])  # unit 2: q = N(0, 1), the prior
    model = _linear_vae(kernel, np.zeros(3, "float32"), log_var, epsilon_std=0.5)
    unit_kl, active = latent_diagnostics(model, x, batch_size=64)
    assert unit_kl.dtype == np.float64 and unit_kl.shape == (3,)
    z_mean = x.astype(np.float64) @ kernel
    q_var = np.exp(log_var) * 0.5**2
    np.testing.assert_allclose(unit_kl, _unit_kl(z_mean, q_var), rtol=1e-5)
    assert active == int((z_mean.var(axis=0) > ACTIVE_UNIT_THRESHOLD).sum()) == 1
    result = evaluate(model, x, iw_samples=1)
    assert unit_kl.sum() == pytest.approx(result["kl"], rel=1e-5)
    assert result["active_units"] == active


def test_latent_diagnostics_of_a_conditional_model_use_each_label(class_model):
    model, x, y = class_model
    unit_kl, active = latent_diagnostics(model, (x, y), batch_size=16)
    z_mean, z_log_var = model.encode(x, condition=y)
    np.testing.assert_allclose(
        unit_kl, _unit_kl(z_mean, np.exp(z_log_var.astype(np.float64))), rtol=1e-5
    )
    assert active == active_units(z_mean)


@pytest.mark.parametrize(
    "kwargs, warmup_epochs, advice",
    [
        ({}, 0, "free_bits 0.5, a lower beta (now 1), kl_warmup_epochs 10"),
        (
            {"iw_samples": 5},
            0,
            "free_bits 0.5 with iw_samples 1, a lower beta (now 1), "
            "kl_warmup_epochs 10",
        ),
        ({"free_bits": 0.5, "beta": 0.0}, 3, "kl_warmup_epochs 10"),
        (
            {"likelihood": "gaussian", "decoder_std": "learned", "beta": 0.25},
            7,
            "free_bits 0.5, a lower beta (now 0.25), a fixed decoder_std (e.g. 0.1) "
            "for gaussian data, kl_warmup_epochs 14",
        ),
        (
            {
                "free_bits": 1.0,
                "beta": 2.0,
                "likelihood": "gaussian",
                "decoder_std": 0.1,
            },
            20,
            "a lower beta (now 2), kl_warmup_epochs 40",
        ),
    ],
)
def test_collapse_advice_names_the_settings_to_try(kwargs, warmup_epochs, advice):
    model = VAE(latent_dim=2, hidden_dims=[4], **kwargs)
    assert collapse_advice(model, warmup_epochs) == advice
