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

from vaekit.errors import InvalidArgument
from vaekit.model.flows import FlowPrior
from vaekit.model.priors import (
    MixturePrior,
    StandardNormal,
    VampPrior,
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


# -- learned priors -----------------------------------------------------------


def _set(prior, **values):
    for name, value in values.items():
        getattr(prior, name).assign(np.asarray(value, "float32"))


def _mixture_reference(z, means, log_vars, weights):
    """log sum_k w_k N(z; m_k, diag(exp(lv_k))) by scipy, per row."""
    dens = np.stack(
        [
            stats.multivariate_normal(m, np.diag(np.exp(lv))).logpdf(z)
            for m, lv in zip(means, log_vars, strict=True)
        ],
        axis=-1,
    )
    return np.log(np.exp(dens) @ (weights / weights.sum()))


def test_mixture_prior_log_prob_against_scipy():
    rng = np.random.default_rng(0)
    prior = MixturePrior(latent_dim=3, size=4, seed=0)
    means, log_vars = rng.normal(0, 1.5, (4, 3)), rng.normal(0, 0.5, (4, 3))
    logits = rng.normal(0, 1, 4)
    _set(prior, means=means, log_vars=log_vars, logits=logits)
    z = rng.normal(0, 2, (50, 3)).astype("float32")
    expected = _mixture_reference(z, means, log_vars, np.exp(logits))
    np.testing.assert_allclose(np_(prior.log_prob(z)), expected, rtol=1e-5, atol=1e-4)
    assert not prior.analytic_kl


def test_mixture_prior_samples_have_the_mixture_moments():
    rng = np.random.default_rng(1)
    prior = MixturePrior(latent_dim=2, size=3, seed=0)
    means, log_vars = rng.normal(0, 2, (3, 2)), rng.normal(0, 0.3, (3, 2))
    logits = np.array([0.0, 1.0, -1.0])
    _set(prior, means=means, log_vars=log_vars, logits=logits)
    z = prior.sample(200_000, seed=0)
    w = np.exp(logits) / np.exp(logits).sum()
    mean = w @ means
    second = w @ (np.exp(log_vars) + means**2)
    np.testing.assert_allclose(z.mean(0), mean, atol=0.02)
    np.testing.assert_allclose((z**2).mean(0), second, rtol=0.02)
    # Temperature scales each component's std, not the means.
    cold = prior.sample(200_000, seed=0, temperature=0.5)
    np.testing.assert_allclose(
        (cold**2).mean(0), w @ (0.25 * np.exp(log_vars) + means**2), rtol=0.02
    )


def _linear_posterior(d):
    """A posterior `u -> (mean, log_var)`: mean = the first d values of u,
    log-variance = 0.3 * the next d."""

    def posterior(u):
        u = ops.convert_to_tensor(u)
        return u[:, :d], 0.3 * u[:, d : 2 * d]

    return posterior


def test_vamp_prior_is_the_mixture_of_the_pseudo_inputs_posteriors():
    rng = np.random.default_rng(2)
    prior = VampPrior(latent_dim=2, size=5, data_shape=(4,), seed=0)
    prior.posterior = _linear_posterior(2)
    u = rng.normal(0, 1, (5, 4))
    _set(prior, pseudo_inputs=u)
    z = rng.normal(0, 1.5, (40, 2)).astype("float32")
    expected = _mixture_reference(z, u[:, :2], 0.3 * u[:, 2:], np.ones(5))
    np.testing.assert_allclose(np_(prior.log_prob(z)), expected, rtol=1e-5, atol=1e-4)
    draws = prior.sample(100_000, seed=3)
    np.testing.assert_allclose(draws.mean(0), u[:, :2].mean(0), atol=0.02)


def test_vamp_prior_starts_at_training_examples_and_needs_a_posterior():
    x = np.arange(40, dtype="float32").reshape(10, 4)
    prior = VampPrior(latent_dim=2, size=3, data_shape=(4,), seed=0)
    prior.initialize(x)
    rows = np_(prior.pseudo_inputs)
    assert all(any(np.array_equal(r, e) for e in x) for r in rows)
    assert len({tuple(r) for r in rows}) == 3  # without replacement
    prior.initialize(x[:2])  # fewer examples than pseudo-inputs: with replacement
    with pytest.raises(InvalidArgument, match="no encoder"):
        prior.log_prob(np.zeros((1, 2), "float32"))


@pytest.mark.parametrize("prior_name", ["mog", "vamp", "flow"])
def test_learned_priors_integrate_to_one(prior_name):
    """The density of each learned prior over a 2-D grid sums to 1."""
    rng = np.random.default_rng(4)
    if prior_name == "mog":
        prior = MixturePrior(latent_dim=2, size=3, seed=0)
        _set(
            prior,
            means=rng.normal(0, 1, (3, 2)),
            log_vars=rng.normal(-0.5, 0.3, (3, 2)),
        )
    elif prior_name == "vamp":
        prior = VampPrior(latent_dim=2, size=4, data_shape=(4,), seed=0)
        prior.posterior = _linear_posterior(2)
        _set(prior, pseudo_inputs=rng.normal(0, 1, (4, 4)))
    else:
        prior = FlowPrior(latent_dim=2, size=3, hidden_units=8, seed=0)
        randomize(prior, rng)
    grid = np.linspace(-9, 9, 601)
    step = grid[1] - grid[0]
    zz = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2).astype("float32")
    total = np.exp(np_(prior.log_prob(zz))).sum() * step**2
    assert total == pytest.approx(1.0, abs=2e-3)


def randomize(layer, rng, scale=0.3):
    """Replaces every weight of `layer` with N(0, scale^2) values (a flow
    starts as the identity; a test needs a flow that is not)."""
    for variable in layer.weights:
        variable.assign(rng.normal(0, scale, variable.shape).astype(variable.dtype))
