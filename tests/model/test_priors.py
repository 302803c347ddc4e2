"""vaekit.model.priors: the standard normal prior, its log-density and the
closed-form KL of a diagonal Gaussian posterior from it, against scipy,
Monte Carlo estimates and as properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from keras import ops
from scipy import stats

from vaekit.model.priors import (
    StandardNormal,
    gaussian_kl,
    standard_normal_log_prob,
    unit_kl,
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


def closed_form_kl(mean, log_var):
    """KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2) / 2 - 1/2, per unit."""
    m, s = mean.astype(np.float64), np.exp(0.5 * log_var.astype(np.float64))
    return -np.log(s) + 0.5 * (s**2 + m**2) - 0.5


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_gaussian_kl_matches_closed_form_per_dimension(rng, shape):
    mean = rng.normal(0, 1.5, shape).astype("float32")
    log_var = rng.normal(0, 1.0, shape).astype("float32")
    kl = np_(gaussian_kl(mean, log_var))
    assert kl.shape == (shape[0],)
    expected = per_example(closed_form_kl(mean, log_var))
    np.testing.assert_allclose(kl, expected, rtol=RTOL, atol=ATOL)


def test_unit_kl_is_per_unit_and_sums_to_gaussian_kl(rng):
    mean = rng.normal(0, 1.5, (6, 4)).astype("float32")
    log_var = rng.normal(0, 1.0, (6, 4)).astype("float32")
    units = np_(unit_kl(mean, log_var))
    assert units.shape == (6, 4)
    np.testing.assert_allclose(
        units, closed_form_kl(mean, log_var), rtol=RTOL, atol=1e-6
    )
    np.testing.assert_allclose(
        units.sum(axis=1), np_(gaussian_kl(mean, log_var)), rtol=1e-6, atol=1e-6
    )
    prior = StandardNormal()
    np.testing.assert_array_equal(np_(prior.unit_kl(mean, log_var)), units)


def _monte_carlo_kl(mean, log_var, rng, n=200_000):
    """E_q[log q(z) - log p(z)] with scipy's densities, and its standard error."""
    std = np.exp(0.5 * log_var.astype(np.float64))
    z = mean + std * rng.standard_normal((n, *mean.shape))
    log_ratio = (stats.norm.logpdf(z, loc=mean, scale=std) - stats.norm.logpdf(z)).sum(
        axis=-1
    )
    return log_ratio.mean(axis=0), log_ratio.std(axis=0, ddof=1) / math.sqrt(n)


@pytest.mark.parametrize("kl", [gaussian_kl, StandardNormal().kl], ids=["fn", "obj"])
def test_kl_against_monte_carlo(rng, kl):
    mean = np.array([[0.0, 0.0], [1.0, -2.0], [0.3, 0.5]], dtype="float32")
    # Row 0 is the prior itself; rows 1 and 2 are not.
    log_var = np.array([[0.0, 0.0], [0.5, -0.5], [-2.0, 1.0]], dtype="float32")
    got = np_(kl(mean, log_var))
    estimate, stderr = _monte_carlo_kl(mean, log_var, rng)
    # The first row is the prior itself: every log-ratio is exactly 0.
    assert got[0] == pytest.approx(0.0, abs=1e-7)
    assert np.all(np.abs(got - estimate) <= 5 * stderr + 1e-6), (got, estimate)
    assert got[1] > 1.0  # a real divergence, not a degenerate check


@pytest.mark.parametrize("shape", [(9, 4), (3, 2, 2, 1)], ids=SHAPE_IDS)
def test_standard_normal_log_prob_matches_scipy(rng, shape):
    z = rng.normal(0, 2, shape).astype("float32")
    log_prob = np_(standard_normal_log_prob(z))
    assert log_prob.shape == (shape[0],)
    flat = z.reshape(shape[0], -1).astype(np.float64)
    dim = flat.shape[1]
    expected = stats.multivariate_normal(np.zeros(dim), np.eye(dim)).logpdf(flat)
    np.testing.assert_allclose(log_prob, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(np_(StandardNormal().log_prob(z)), log_prob)


def test_standard_normal_sample_is_seeded_and_scaled_by_temperature():
    prior = StandardNormal()
    z = prior.sample(5, latent_dim=3, seed=7)
    assert z.shape == (5, 3) and z.dtype == np.float32
    expected = np.random.default_rng(7).standard_normal((5, 3)).astype("float32")
    np.testing.assert_array_equal(z, expected)
    np.testing.assert_array_equal(prior.sample(5, 3, seed=7, temperature=0.5), z / 2)
    np.testing.assert_array_equal(prior.sample(2, 3, seed=1, temperature=0.0), 0.0)
    assert not np.array_equal(prior.sample(5, 3, seed=8), z)
    # Its moments are those of N(0, 1) (5 standard errors).
    many = prior.sample(20_000, 2, seed=0)
    assert np.all(np.abs(many.mean(axis=0)) < 5 / math.sqrt(20_000))
    assert np.all(np.abs(many.std(axis=0) - 1) < 5 / math.sqrt(2 * 20_000))


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
