"""vaekit.model.losses against numpy/scipy references and as properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from keras import ops
from scipy import special, stats

from vaekit.model.losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    standard_normal_log_prob,
)

# float32 sums of a few dozen O(1..100) terms: relative error well below 1e-5.
RTOL = 1e-5
ATOL = 1e-4
SHAPES = [(7, 5), (4, 3, 2, 2)]  # flat (batch, D) and image (batch, H, W, C)
SHAPE_IDS = ["flat", "image"]
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None)


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def per_example(values):
    """Reference reduction: sum every axis but the first."""
    return values.reshape(len(values), -1).sum(axis=1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# -- gaussian_kl ----------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_gaussian_kl_matches_closed_form_per_dimension(rng, shape):
    mean = rng.normal(0, 1.5, shape).astype("float32")
    log_var = rng.normal(0, 1.0, shape).astype("float32")
    kl = np_(gaussian_kl(mean, log_var))
    assert kl.shape == (shape[0],)
    # KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2) / 2 - 1/2, per unit.
    m, s = mean.astype(np.float64), np.exp(0.5 * log_var.astype(np.float64))
    expected = per_example(-np.log(s) + 0.5 * (s**2 + m**2) - 0.5)
    np.testing.assert_allclose(kl, expected, rtol=RTOL, atol=ATOL)


def test_gaussian_kl_against_monte_carlo(rng):
    mean = np.array([[0.0, 0.0], [1.0, -2.0], [0.3, 0.5]], dtype="float32")
    # Row 0 is the prior itself; rows 1 and 2 are not.
    log_var = np.array([[0.0, 0.0], [0.5, -0.5], [-2.0, 1.0]], dtype="float32")
    kl = np_(gaussian_kl(mean, log_var))
    n = 200_000
    std = np.exp(0.5 * log_var.astype(np.float64))
    z = mean + std * rng.standard_normal((n, *mean.shape))
    # KL = E_q[log q(z) - log p(z)], with scipy's densities.
    log_ratio = (stats.norm.logpdf(z, loc=mean, scale=std) - stats.norm.logpdf(z)).sum(
        axis=-1
    )
    estimate = log_ratio.mean(axis=0)
    stderr = log_ratio.std(axis=0, ddof=1) / math.sqrt(n)
    # The first row is the prior itself: every log-ratio is exactly 0.
    assert kl[0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(np.abs(kl - estimate) <= 5 * stderr + 1e-6), (kl, estimate, stderr)
    assert kl[1] > 1.0  # a real divergence, not a degenerate check


# -- bernoulli_log_likelihood --------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_bernoulli_matches_scipy_logpmf_for_binary_data(rng, shape):
    logits = rng.normal(0, 3, shape).astype("float32")
    x = (rng.random(shape) < 0.5).astype("float32")
    log_lik = np_(bernoulli_log_likelihood(x, logits))
    assert log_lik.shape == (shape[0],)
    p = special.expit(logits.astype(np.float64))
    expected = per_example(stats.bernoulli.logpmf(x, p))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)


def test_bernoulli_greyscale_is_negative_binary_crossentropy(rng):
    logits = rng.normal(0, 2, (6, 10)).astype("float32")
    x = rng.random((6, 10)).astype("float32")
    log_lik = np_(bernoulli_log_likelihood(x, logits))
    lg = logits.astype(np.float64)
    # x log p + (1 - x) log(1 - p), with log p and log(1 - p) from scipy.
    expected = per_example(x * special.log_expit(lg) + (1 - x) * special.log_expit(-lg))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)


def test_bernoulli_is_stable_for_huge_logits():
    logits = np.array([[1e4], [1e4], [-1e4], [-1e4], [80.0], [-80.0]], "float32")
    x = np.array([[1.0], [0.0], [1.0], [0.0], [0.0], [1.0]], "float32")
    log_lik = np_(bernoulli_log_likelihood(x, logits))
    assert np.all(np.isfinite(log_lik))
    # The limits: a confident right guess costs 0 nats, a wrong one |logit|.
    np.testing.assert_allclose(log_lik, [0.0, -1e4, -1e4, 0.0, -80.0, -80.0], atol=1e-3)


@PROPERTY_SETTINGS
@given(
    logits=hnp.arrays(
        np.float32,
        (3, 4),
        elements=st.floats(-1e4, 1e4, width=32, allow_nan=False),
    ),
    bits=hnp.arrays(np.bool_, (3, 4)),
)
def test_bernoulli_log_likelihood_of_binary_data_is_not_positive(logits, bits):
    log_lik = np_(bernoulli_log_likelihood(bits.astype("float32"), logits))
    assert log_lik.shape == (3,)
    assert np.all(np.isfinite(log_lik))
    assert np.all(log_lik <= 0.0)


# -- gaussian_log_likelihood, standard_normal_log_prob ---------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_gaussian_log_likelihood_matches_scipy_norm(rng, shape):
    x = rng.normal(0, 2, shape).astype("float32")
    mean = rng.normal(0, 2, shape).astype("float32")
    log_var = rng.normal(0, 1, shape).astype("float32")
    log_lik = np_(gaussian_log_likelihood(x, mean, log_var))
    assert log_lik.shape == (shape[0],)
    scale = np.exp(0.5 * log_var.astype(np.float64))
    expected = per_example(stats.norm.logpdf(x, loc=mean, scale=scale))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_gaussian_log_likelihood_broadcasts_a_scalar_log_var(rng, shape):
    x = rng.normal(0, 1, shape).astype("float32")
    mean = rng.normal(0, 1, shape).astype("float32")
    sigma = 0.3
    log_lik = np_(gaussian_log_likelihood(x, mean, 2 * math.log(sigma)))
    expected = per_example(stats.norm.logpdf(x, loc=mean, scale=sigma))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(9, 4), (3, 2, 2, 1)], ids=SHAPE_IDS)
def test_standard_normal_log_prob_matches_scipy(rng, shape):
    z = rng.normal(0, 2, shape).astype("float32")
    log_prob = np_(standard_normal_log_prob(z))
    assert log_prob.shape == (shape[0],)
    flat = z.reshape(shape[0], -1).astype(np.float64)
    dim = flat.shape[1]
    expected = stats.multivariate_normal(np.zeros(dim), np.eye(dim)).logpdf(flat)
    np.testing.assert_allclose(log_prob, expected, rtol=RTOL, atol=ATOL)


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


# -- KL as a property -------------------------------------------------------

# Entries are exactly 0 or at least 2**-6 in size, so a nonzero KL is far above
# float32 rounding (KL per unit >= ~6e-5 there).
_latent = st.one_of(
    st.just(0.0),
    st.floats(2**-6, 5.0, width=32),
    st.floats(-5.0, -(2**-6), width=32),
)


@PROPERTY_SETTINGS
@given(
    mean=hnp.arrays(np.float32, (3, 4), elements=_latent),
    log_var=hnp.arrays(np.float32, (3, 4), elements=_latent),
)
def test_gaussian_kl_is_non_negative_and_zero_only_at_the_prior(mean, log_var):
    kl = np_(gaussian_kl(mean, log_var))
    assert kl.shape == (3,)
    at_prior = np.all(mean == 0, axis=1) & np.all(log_var == 0, axis=1)
    assert np.all(kl[at_prior] == 0.0)
    assert np.all(kl[~at_prior] > 0.0)


@PROPERTY_SETTINGS
@given(
    mean=hnp.arrays(
        np.float32, (2, 3), elements=st.floats(-20, 20, width=32, allow_nan=False)
    ),
    log_var=hnp.arrays(
        np.float32, (2, 3), elements=st.floats(-20, 8, width=32, allow_nan=False)
    ),
)
def test_gaussian_kl_is_non_negative_for_any_finite_input(mean, log_var):
    kl = np_(gaussian_kl(mean, log_var))
    # float32 cancellation in 1 + log_var - exp(log_var) near log_var = 0 can
    # leave about one ulp of the largest term per unit.
    scale = 1.0 + np.abs(log_var).sum(axis=1) + np.exp(log_var).sum(axis=1)
    assert np.all(kl >= -1e-6 * scale)
