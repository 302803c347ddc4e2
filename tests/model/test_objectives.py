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
