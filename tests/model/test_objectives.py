"""vaekit.model.objectives: the importance-weighted bound, the
reparameterization, the free-bits KL term and the row-weighted mean,
against scipy and numpy."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from keras import ops
from scipy import special, stats

from vaekit.model.objectives import (
    free_bits_kl,
    importance_weighted_bound,
    log_density_of_draw,
    reparameterize,
    trimmed_weights,
    weighted_mean,
)

RTOL = 1e-5
ATOL = 1e-4
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None)


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# -- importance_weighted_bound --------------------------------------------


def test_importance_weighted_bound_matches_scipy_logsumexp(rng):
    k, batch = 50, 6
    log_w = rng.normal(-100, 5, (k, batch)).astype("float32")
    bound = np_(importance_weighted_bound(log_w))
    assert bound.shape == (batch,)
    expected = special.logsumexp(log_w.astype(np.float64), axis=0) - math.log(k)
    np.testing.assert_allclose(bound, expected, rtol=RTOL, atol=ATOL)


def test_importance_weighted_bound_is_stable_for_very_negative_weights():
    # exp(-1e4) underflows to 0 in any float: a naive log(mean(exp)) is -inf.
    log_w = np.array([[-1e4, -2e4], [-1e4 + 1.0, -2e4]], dtype="float32")
    bound = np_(importance_weighted_bound(log_w))
    expected = special.logsumexp(log_w.astype(np.float64), axis=0) - math.log(2)
    assert np.all(np.isfinite(bound))
    np.testing.assert_allclose(bound, expected, rtol=1e-6, atol=2e-3)


def test_importance_weighted_bound_with_one_sample_is_the_log_weight(rng):
    log_w = rng.normal(0, 10, (1, 5)).astype("float32")
    np.testing.assert_allclose(
        np_(importance_weighted_bound(log_w)), log_w[0], rtol=1e-6, atol=1e-5
    )


@PROPERTY_SETTINGS
@given(
    constant=hnp.arrays(
        np.float32, (4,), elements=st.floats(-1e3, 1e3, width=32, allow_nan=False)
    ),
    # A few values of k: each new shape costs JAX a compilation.
    k=st.sampled_from([1, 2, 7, 64]),
)
def test_importance_weighted_bound_of_constant_weights_is_the_constant(constant, k):
    log_w = np.broadcast_to(constant, (k, 4)).copy()
    bound = np_(importance_weighted_bound(log_w))
    np.testing.assert_allclose(bound, constant, rtol=1e-6, atol=1e-4)


@PROPERTY_SETTINGS
@given(
    log_w=hnp.arrays(
        np.float32,
        st.sampled_from([(1, 3), (12, 3)]),
        elements=st.floats(-50, 50, width=32, allow_nan=False),
    )
)
def test_importance_weighted_bound_is_at_least_the_mean_log_weight(log_w):
    # Jensen: log mean(w) >= mean(log w); equality only for equal weights.
    bound = np_(importance_weighted_bound(log_w))
    mean_log_w = log_w.astype(np.float64).mean(axis=0)
    assert np.all(bound >= mean_log_w - 1e-4)
    unequal = log_w.max(axis=0) - log_w.min(axis=0) > 1.0
    assert np.all(bound[unequal] > mean_log_w[unequal])


# -- reparameterize ---------------------------------------------------------


def test_reparameterize_is_mean_plus_std_times_epsilon(rng):
    mean = rng.normal(size=(4, 3)).astype("float32")
    log_var = rng.normal(size=(4, 3)).astype("float32")
    eps = rng.normal(size=(4, 3)).astype("float32")
    z = np_(reparameterize(mean, log_var, eps))
    expected = mean + np.exp(0.5 * log_var.astype(np.float64)) * eps
    np.testing.assert_allclose(z, expected, rtol=1e-6, atol=1e-6)
    # Zero noise returns the mean itself.
    np.testing.assert_array_equal(np_(reparameterize(mean, log_var, 0 * eps)), mean)


def test_log_density_of_draw_is_the_density_of_the_draw(rng):
    mean = rng.normal(size=(4, 3))
    log_var = rng.normal(size=(4, 3))
    eps = rng.normal(size=(4, 3))
    z = mean + np.exp(0.5 * log_var) * eps
    expected = stats.norm.logpdf(z, loc=mean, scale=np.exp(0.5 * log_var)).sum(1)
    got = np_(log_density_of_draw(ops.convert_to_tensor(log_var, "float32"), eps))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_log_density_of_draw_is_finite_where_the_variance_underflows():
    # exp(-200) is 0 in float32: the density written with the variance
    # divides by it; written with the noise it stays finite and exact.
    log_var = ops.full((2, 3), -200.0)
    got = np_(log_density_of_draw(log_var, np.ones((2, 3), "float32")))
    np.testing.assert_allclose(got, -0.5 * 3 * (math.log(2 * math.pi) - 200.0 + 1.0))


# -- free_bits_kl and weighted_mean -----------------------------------------


def test_free_bits_kl_floors_each_units_batch_mean(rng):
    # Unit 0 is below the floor, unit 1 above it, unit 2 near it.
    unit_kl = np.abs(rng.normal([0.1, 2.0, 0.6], 0.05, (8, 3))).astype("float32")
    batch_kl = unit_kl.astype(np.float64).mean(axis=0)
    assert batch_kl[0] < 0.5 < batch_kl[1]
    got = float(free_bits_kl(unit_kl, 0.5))
    assert got == pytest.approx(np.maximum(0.5, batch_kl).sum(), rel=1e-6)
    # No floor: the plain KL, summed over units and averaged over the batch.
    assert float(free_bits_kl(unit_kl, 0.0)) == pytest.approx(batch_kl.sum(), rel=1e-6)


def test_free_bits_kl_with_sample_weights_uses_the_weighted_batch_mean(rng):
    unit_kl = np.abs(rng.normal([0.1, 2.0], 0.5, (10, 2))).astype("float32")
    weight = np.array([1, 1, 0, 0, 2, 1, 0, 1, 1, 0], "float32")
    batch_kl = np.average(unit_kl.astype(np.float64), axis=0, weights=weight)
    got = float(free_bits_kl(unit_kl, 0.3, weight))
    assert got == pytest.approx(np.maximum(0.3, batch_kl).sum(), rel=1e-6)
    # Only weighted rows count: changing a zero-weight row changes nothing.
    changed = unit_kl.copy()
    changed[2] = 100.0
    assert float(free_bits_kl(changed, 0.3, weight)) == pytest.approx(got, rel=1e-7)


def test_weighted_mean_matches_numpy(rng):
    values = rng.normal(size=9).astype("float32")
    weight = np.array([1, 0, 0, 1, 1, 2, 0, 1, 1], "float32")
    assert float(weighted_mean(values)) == pytest.approx(values.mean(), rel=1e-6)
    assert float(weighted_mean(values, weight)) == pytest.approx(
        np.average(values.astype(np.float64), weights=weight), rel=1e-6
    )
    # A (batch, 1) weight column, as Keras passes it, is the same weights.
    assert float(weighted_mean(values, weight[:, None])) == pytest.approx(
        float(weighted_mean(values, weight)), rel=1e-7
    )
    # All weights zero: 0, not a division by zero.
    assert float(weighted_mean(values, np.zeros(9, "float32"))) == 0.0


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 0.99])
def test_trimmed_weights_keep_the_lowest_losses_of_the_real_rows(rng, fraction):
    values = rng.normal(size=20).astype("float32")
    weight = np.ones(20, "float32")
    weight[-4:] = 0.0  # padding rows
    got = np_(trimmed_weights(values, fraction, weight))
    keep = max(1, math.ceil(16 * (1 - fraction)))
    expected = np.zeros(20)
    expected[np.argsort(values[:16])[:keep]] = 1.0
    np.testing.assert_array_equal(got, expected)


def test_trimmed_weights_keep_ties_and_the_given_weights():
    values = np.array([1.0, 2.0, 2.0, 5.0], "float32")
    got = np_(trimmed_weights(values, 0.5, np.array([0.5, 2.0, 1.0, 1.0], "float32")))
    np.testing.assert_array_equal(got, [0.5, 2.0, 1.0, 0.0])
    np.testing.assert_array_equal(np_(trimmed_weights(values, 0.0)), [1, 1, 1, 1])


# -- DReG ---------------------------------------------------------------------


def _linear_gaussian_vae(dreg, beta=1.0, k=5):
    """A one-layer linear-Gaussian VAE (linear encoder and decoder, fixed
    decoder std), the same weights for either gradient."""
    import keras

    from vaekit.model import VAE

    keras.utils.set_random_seed(0)
    x_in = keras.Input((3,))
    encoder = keras.Model(
        x_in, [keras.layers.Dense(2)(x_in), keras.layers.Dense(2)(x_in)]
    )
    z_in = keras.Input((2,))
    decoder = keras.Model(z_in, keras.layers.Dense(3)(z_in))
    return VAE(
        encoder,
        decoder,
        likelihood="gaussian",
        decoder_std=0.8,
        iw_samples=k,
        beta=beta,
        dreg=dreg,
        seed=0,
    )


def _gradients(model, x, groups):
    """The loss's gradient of each group of `groups` batches, each batch with
    fresh noise: `[(encoder grads, decoder grads)]`, numpy."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    state = [v.value for v in model.non_trainable_variables]
    metrics = [v.value for v in model.metrics_variables]

    def loss(trainable, state):
        value, (_, state, _) = model.stateless_compute_loss(
            trainable, state, metrics, x=x, training=True
        )
        return value, state

    step = jax.jit(jax.grad(loss, has_aux=True))
    n_encoder = len(model.encoder.trainable_variables)
    out = []
    for _ in range(groups):
        grads, state = step(trainable, state)
        flat = [np.asarray(g, np.float64).ravel() for g in grads]
        out.append((np.concatenate(flat[:n_encoder]), np.concatenate(flat[n_encoder:])))
    return out


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_dreg_gradient_has_the_plain_gradients_expectation(beta):
    """On a model with a closed form, DReG's gradient and the plain
    importance-weighted gradient agree: the generative side's exactly (the
    same noise), the encoder's in expectation (within 4 standard errors
    over independent batches)."""
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("the gradients are taken with jax.grad")
    rng = np.random.default_rng(0)
    x = ops.convert_to_tensor(rng.normal(0, 1.5, (512, 3)).astype("float32"))
    plain = _gradients(_linear_gaussian_vae(False, beta), x, 40)
    dreg = _gradients(_linear_gaussian_vae(True, beta), x, 40)
    for (_, dec_plain), (_, dec_dreg) in zip(plain, dreg, strict=True):
        np.testing.assert_allclose(dec_dreg, dec_plain, rtol=1e-4, atol=1e-6)
    enc_plain = np.stack([g for g, _ in plain])
    enc_dreg = np.stack([g for g, _ in dreg])
    diff = enc_dreg - enc_plain
    standard_error = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(axis=0)) < 4 * standard_error + 1e-6)
    assert np.abs(diff).max() > 1e-3  # two estimators, not one


def test_dreg_gradient_vanishes_at_the_exact_posterior():
    """With q(z|x) the exact posterior of a linear-Gaussian model, every
    importance weight is p(x): DReG's encoder gradient is 0 for every draw
    (Tucker et al. 2018, section 6), the plain one is score-function noise."""
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("the gradients are taken with jax.grad")
    std = 0.8
    kernel = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])  # orthogonal rows
    bias = np.array([0.5, -1.0, 0.2])
    cov = np.diag(1.0 / (1.0 + np.sum(kernel**2, axis=1) / std**2))
    mean_kernel = kernel.T @ cov / std**2  # z_mean = (x - bias) @ mean_kernel
    rng = np.random.default_rng(0)
    x = ops.convert_to_tensor(rng.normal(0, 1.5, (256, 3)).astype("float32"))
    grads = {}
    for dreg in (False, True):
        model = _linear_gaussian_vae(dreg)
        mean_layer, log_var_layer = model.encoder.layers[1:3]
        mean_layer.set_weights([mean_kernel, -bias @ mean_kernel])
        log_var_layer.set_weights([np.zeros((3, 2)), np.log(np.diag(cov))])
        model.decoder.layers[-1].set_weights([kernel, bias])
        grads[dreg] = np.stack([g for g, _ in _gradients(model, x, 5)])
    assert np.abs(grads[True]).max() < 1e-4
    assert grads[False].std(axis=0).max() > 1e-2


def test_dreg_codes_pass_values_and_weight_the_gradient():
    """The codes come out unchanged with a zero column; the gradient to them
    is the incoming one scaled by (1 - b) + b w_i, `w` the normalized
    coefficients of the zero column per example."""
    import jax

    from vaekit.model.objectives import dreg_codes

    k, batch = 3, 2
    z = np.random.default_rng(0).normal(0, 1, (k * batch, 2)).astype("float32")
    c = np.array([[-0.2, -0.1], [-0.5, -0.3], [-0.3, -0.6]], "float32")  # (k, batch)
    g = np.random.default_rng(1).normal(0, 1, (k * batch, 2)).astype("float32")
    out = dreg_codes(ops.convert_to_tensor(z), 0.7, k)
    np.testing.assert_array_equal(np.asarray(out)[:, :2], z)
    assert np.all(np.asarray(out)[:, 2] == 0)

    def surrogate(z):
        codes = dreg_codes(z, 0.7, k)
        return jnp_sum(codes[:, :2] * g) + jnp_sum(codes[:, 2] * c.ravel())

    def jnp_sum(t):
        return ops.sum(t)

    grad = np.asarray(jax.grad(surrogate)(z))
    w = c / c.sum(axis=0, keepdims=True)
    np.testing.assert_allclose(grad, g * (0.3 + 0.7 * w).reshape(-1, 1), rtol=1e-6)
