"""vaekit.model.likelihoods: the log-likelihood formulas and the likelihood
objects (Bernoulli, Gaussian, StudentT, InDataUnits), against scipy."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from keras import ops
from scipy import special, stats

from vaekit.model.layers import DataTransform
from vaekit.model.likelihoods import (
    LOG_VAR_RATE,
    MIN_DECODER_STD,
    Bernoulli,
    Gaussian,
    InDataUnits,
    StudentT,
    bernoulli_log_likelihood,
    categorical_log_likelihood,
    gaussian_log_likelihood,
    student_t_log_likelihood,
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


# -- bernoulli_log_likelihood and Bernoulli --------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_bernoulli_matches_scipy_logpmf_for_binary_data(rng, shape):
    logits = rng.normal(0, 3, shape).astype("float32")
    x = (rng.random(shape) < 0.5).astype("float32")
    log_lik = np_(bernoulli_log_likelihood(x, logits))
    assert log_lik.shape == (shape[0],)
    p = special.expit(logits.astype(np.float64))
    expected = per_example(stats.bernoulli.logpmf(x, p))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)
    # The object: the same log-probability, and the mean p = sigmoid(logits).
    bernoulli = Bernoulli()
    np.testing.assert_array_equal(np_(bernoulli.log_prob(x, logits)), log_lik)
    np.testing.assert_allclose(np_(bernoulli.mean(logits)), p, rtol=1e-6, atol=1e-7)


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


# -- gaussian_log_likelihood and Gaussian ----------------------------------


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
    # The Gaussian object with a fixed std: the same, and its mean is params.
    gaussian = Gaussian(std=sigma)
    np.testing.assert_allclose(
        np_(gaussian.log_prob(x, mean)), expected, rtol=RTOL, atol=ATOL
    )
    np.testing.assert_array_equal(np_(gaussian.mean(mean)), mean)


@pytest.mark.parametrize(
    "stored, sigma",
    [
        (0.05, math.exp(0.25)),  # log-variance 0.5
        (-2.0, MIN_DECODER_STD),  # log-variance -20: floored at 2 log(1e-3)
        ([0.05, -2.0, -0.03], [math.exp(0.25), MIN_DECODER_STD, math.exp(-0.15)]),
    ],
    ids=["learned", "learned-floored", "per-feature"],
)
def test_gaussian_with_a_learned_log_var_matches_scipy(rng, stored, sigma):
    """The variable holds log-variance / LOG_VAR_RATE; the std stays above
    MIN_DECODER_STD."""
    variable = keras.Variable(np.asarray(stored, "float32"), trainable=True)
    gaussian = Gaussian(log_var=variable)
    expected_log_var = np.maximum(
        LOG_VAR_RATE * np.asarray(stored, np.float64), 2 * math.log(MIN_DECODER_STD)
    )
    np.testing.assert_allclose(np_(gaussian.log_var()), expected_log_var, rtol=1e-6)
    x = rng.normal(0, 1, (5, 3)).astype("float32")
    mean = (x + rng.normal(0, 1e-3, (5, 3))).astype("float32")
    expected = stats.norm.logpdf(x, loc=mean, scale=np.asarray(sigma)).sum(axis=1)
    np.testing.assert_allclose(np_(gaussian.log_prob(x, mean)), expected, rtol=1e-5)


# -- student_t_log_likelihood and StudentT --------------------------------


@pytest.mark.parametrize("df", [1.0, 3.0, 10.0])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_student_t_log_likelihood_matches_scipy_t(rng, shape, df):
    x = rng.standard_t(2, shape).astype("float32") * 3
    loc = rng.normal(0, 2, shape).astype("float32")
    log_var = rng.normal(0, 1, shape).astype("float32")
    log_lik = np_(student_t_log_likelihood(x, loc, log_var, df))
    assert log_lik.shape == (shape[0],)
    scale = np.exp(0.5 * log_var.astype(np.float64))
    expected = per_example(stats.t.logpdf(x, df, loc=loc, scale=scale))
    np.testing.assert_allclose(log_lik, expected, rtol=RTOL, atol=ATOL)


def test_student_t_tends_to_the_gaussian_and_grows_as_a_log_in_the_tails():
    x = np.array([[0.0, 0.5, 2.0]], "float32")
    zero = np.zeros_like(x)
    close = np_(student_t_log_likelihood(x, zero, 0.0, 1e6))
    gaussian = np_(gaussian_log_likelihood(x, zero, 0.0))
    np.testing.assert_allclose(close, gaussian, rtol=1e-5)
    # Far out, ten times as far costs (df+1) log(10) more nats, not 100x.
    far = np.array([[1000.0], [10000.0]], "float32")
    cost = -np_(student_t_log_likelihood(far, np.zeros_like(far), 0.0, 10.0))
    np.testing.assert_allclose(cost[1] - cost[0], 11 * math.log(10.0), rtol=1e-4)


def test_student_t_object_learned_scale_per_feature_and_draws_match_scipy(rng):
    """StudentT shares the Gaussian's scale (fixed or learned and floored);
    its per-feature values sum to log_prob; its draws follow scipy's t."""
    stored = np.array([0.05, -2.0, -0.03], "float32")
    student = StudentT(4.0, log_var=keras.Variable(stored))
    sigma = np.exp(0.5 * np_(student.log_var()))
    np.testing.assert_allclose(sigma[1], MIN_DECODER_STD, rtol=1e-5)
    x = rng.normal(0, 1, (6, 3)).astype("float32")
    loc = rng.normal(0, 1, (6, 3)).astype("float32")
    expected = stats.t.logpdf(x, 4.0, loc=loc, scale=sigma)
    per_feature = np_(student.log_prob_features(x, loc))
    np.testing.assert_allclose(per_feature, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        np_(student.log_prob(x, loc)), expected.sum(axis=1), rtol=1e-5
    )
    fixed = StudentT(3.0, std=2.0)
    draws = fixed.sample(np.full((20000, 1), 5.0, "float32"), seed=3)[:, 0]
    assert stats.kstest(draws, stats.t(3.0, loc=5.0, scale=2.0).cdf).pvalue > 1e-3
    with pytest.raises(ValueError, match="df must be > 0"):
        StudentT(0.0, std=1.0)


def test_in_data_units_with_student_t_numbers_matches_scipy(table_params):
    x = mixed_table(n=12)
    transform = mixed_transform(x)
    student = StudentT(5.0, std=0.7)
    likelihood = InDataUnits(transform, student)
    params = ops.convert_to_tensor(table_params)
    got = np_(likelihood.log_prob(ops.convert_to_tensor(x), params))
    mean, scale = np_(transform.mean), np_(transform.scale)
    numeric, blocks = transform.split_params(table_params.astype(np.float64))
    columns = [0, 2, 3]
    z = (x[:, columns] - mean) / scale
    expected = (stats.t.logpdf(z, 5.0, loc=numeric, scale=0.7) - np.log(scale)).sum(1)
    logits = blocks[0]
    log_softmax = logits - special.logsumexp(logits, axis=1, keepdims=True)
    expected += log_softmax[np.arange(12), x[:, 1].astype(int)]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    draws = likelihood.sample(table_params, seed=0)
    assert draws.shape == x.shape


def test_gaussian_needs_exactly_one_of_std_and_log_var():
    with pytest.raises(ValueError, match="not both"):
        Gaussian()
    with pytest.raises(ValueError, match="not both"):
        Gaussian(std=1.0, log_var=keras.Variable(0.0))


# -- categorical_log_likelihood ---------------------------------------------


def test_categorical_log_likelihood_is_the_log_softmax_of_the_category(rng):
    logits = rng.normal(0, 3, (8, 4)).astype("float32")
    index = np.array([0, 1, 2, 3, 3, 2, 1, 0], "float32")
    got = np_(categorical_log_likelihood(index, logits))
    expected = special.log_softmax(logits.astype(np.float64), axis=1)[
        np.arange(8), index.astype(int)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.all(got <= 0)
    # Indices arrive as float32 data: 2.0000002 is category 2.
    nudged = np_(categorical_log_likelihood(index + 2e-7, logits))
    np.testing.assert_array_equal(nudged, got)


# -- InDataUnits: data in its own units through a DataTransform -------------


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


def mixed_transform(x):
    transform = DataTransform((4,), categorical=[[1, 3]])
    transform.adapt(x)
    return transform


def learned(log_var):
    """A `Gaussian` whose learned log-variance is `log_var`."""
    stored = np.asarray(log_var, "float32") / LOG_VAR_RATE
    return Gaussian(log_var=keras.Variable(stored))


def reference_log_likelihood(transform, x, params, log_var):
    """scipy: Gaussians in the data's units plus the categorical log-softmax."""
    x = x.astype(np.float64)
    mean, scale = np_(transform.mean), np_(transform.scale)
    numeric = stats.norm.logpdf(
        x[:, [0, 2, 3]],
        loc=params[:, :3] * scale + mean,
        scale=np.exp(0.5 * np.asarray(log_var, np.float64)) * scale,
    ).sum(axis=1)
    log_probs = special.log_softmax(params[:, 3:].astype(np.float64), axis=1)
    categorical = log_probs[np.arange(len(x)), x[:, 1].astype(int)]
    return numeric + categorical


@pytest.fixture(scope="module")
def table_params():
    rng = np.random.default_rng(3)
    params = rng.normal(size=(12, 6)).astype("float32")
    params[:, 3:] *= 3.0
    return params


def test_in_data_units_matches_scipy_for_a_mixed_table(table_params):
    x = mixed_table(n=12)
    transform = mixed_transform(x)
    params = ops.convert_to_tensor(table_params)
    log_var = np.array([0.3, -1.2, 0.0], "float32")  # per numeric feature
    likelihood = InDataUnits(transform, learned(log_var))
    got = np_(likelihood.log_prob(x, params))
    assert got.shape == (12,)
    expected = reference_log_likelihood(transform, x, table_params, log_var)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # A scalar log-variance (or a fixed std) broadcasts over the features.
    scalar = InDataUnits(transform, Gaussian(std=math.exp(-0.25)))
    expected = reference_log_likelihood(transform, x, table_params, np.full(3, -0.5))
    np.testing.assert_allclose(np_(scalar.log_prob(x, params)), expected, rtol=1e-5)
    # Its mean is in the data's units: numeric means de-standardised, each
    # categorical column's most probable category.
    mean = np_(likelihood.mean(params))
    scale, offset = np_(transform.scale), np_(transform.mean)
    np.testing.assert_allclose(
        mean[:, [0, 2, 3]], table_params[:, :3] * scale + offset, rtol=1e-5
    )
    np.testing.assert_array_equal(mean[:, 1], table_params[:, 3:].argmax(axis=1))


def test_in_data_units_rescaling_a_column_shifts_log_p_by_its_log_jacobian(
    table_params,
):
    """The same data in units 1000 times smaller (column 0 times 1000): the
    standardised data and the Gaussian term are unchanged; the density of
    each example is 1000 times lower, exactly -log(1000) nats."""
    x = mixed_table(n=12)
    x_milli = mixed_table(n=12, big=1000.0 * 1000.0)
    np.testing.assert_allclose(x_milli[:, 0], x[:, 0] * 1000.0, rtol=1e-6)
    params = ops.convert_to_tensor(table_params)
    log_var = np.array([0.3, -1.2, 0.0], "float32")
    base, milli = mixed_transform(x), mixed_transform(x_milli)
    got = np_(InDataUnits(base, learned(log_var)).log_prob(x, params))
    got_milli = np_(InDataUnits(milli, learned(log_var)).log_prob(x_milli, params))
    np.testing.assert_allclose(
        got_milli,
        reference_log_likelihood(milli, x_milli, table_params, log_var),
        rtol=1e-5,
    )
    np.testing.assert_allclose(got_milli - got, -math.log(1000.0), atol=1e-4)
    # The transform's own term is the whole difference.
    assert float(milli.log_jacobian()) - float(base.log_jacobian()) == pytest.approx(
        -math.log(1000.0), abs=1e-4
    )


def test_in_data_units_of_images_counts_the_log_jacobian_per_position():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(6, 4, 5, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -2.0]
    images = images.astype("float32")
    transform = DataTransform((4, 5, 3))
    transform.adapt(images)
    flat = images.astype(np.float64).reshape(-1, 3)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    params = rng.normal(size=images.shape).astype("float32")
    likelihood = InDataUnits(transform, learned(-0.4))
    expected = stats.norm.logpdf(
        images, loc=params * std + mean, scale=np.exp(-0.2) * std
    ).sum(axis=(1, 2, 3))
    got = np_(likelihood.log_prob(images, ops.convert_to_tensor(params)))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Each of the 4 * 5 positions of every channel counts.
    np.testing.assert_allclose(
        float(transform.log_jacobian()), -20 * np.log(std).sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        np_(likelihood.mean(ops.convert_to_tensor(params))),
        params * std + mean,
        rtol=1e-5,
        atol=1e-4,
    )


def test_in_data_units_of_categorical_columns_only():
    """No numeric feature: the log-likelihood is the categorical terms."""
    x = np.array([[0, 1], [2, 0], [1, 1]], "float32")
    transform = DataTransform((2,), categorical=[[0, 3], [1, 2]])
    transform.adapt(x)
    assert transform.numeric == [] and transform.model_shape == (5,)
    params = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    got = np_(InDataUnits(transform, Gaussian(std=1.0)).log_prob(x, params))
    first = special.log_softmax(params[:, :3].astype(np.float64), axis=1)
    second = special.log_softmax(params[:, 3:].astype(np.float64), axis=1)
    expected = first[np.arange(3), [0, 2, 1]] + second[np.arange(3), [1, 0, 1]]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


# -- log_prob_features: each feature's part of log_prob ----------------------


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_per_feature_bernoulli_and_gaussian_match_scipy_and_sum_to_log_prob(rng, shape):
    x = (rng.random(shape) > 0.5).astype("float32")
    logits = rng.normal(size=shape).astype("float32")
    got = np_(Bernoulli().log_prob_features(x, logits))
    assert got.shape == shape
    np.testing.assert_allclose(
        got, stats.bernoulli.logpmf(x, special.expit(logits)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        per_example(got), np_(Bernoulli().log_prob(x, logits)), rtol=RTOL
    )
    mean = rng.normal(size=shape).astype("float32")
    x = rng.normal(size=shape).astype("float32")
    log_var = rng.normal(size=shape[1:]).astype("float32")  # per feature
    gaussian = learned(log_var)
    got = np_(gaussian.log_prob_features(x, mean))
    expected = stats.norm.logpdf(x, loc=mean, scale=np.exp(0.5 * log_var))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        per_example(got), np_(gaussian.log_prob(x, mean)), rtol=RTOL, atol=ATOL
    )


def test_per_feature_in_data_units_of_a_mixed_table_is_per_column(table_params):
    x = mixed_table(n=12)
    transform = mixed_transform(x)
    log_var = np.array([0.3, -1.2, 0.0], "float32")
    likelihood = InDataUnits(transform, learned(log_var))
    params = ops.convert_to_tensor(table_params)
    got = np_(likelihood.log_prob_features(x, params))
    assert got.shape == (12, 4)  # the table's columns, in its order
    mean, scale = np_(transform.mean), np_(transform.scale)
    numeric = stats.norm.logpdf(
        x[:, [0, 2, 3]].astype(np.float64),
        loc=table_params[:, :3] * scale + mean,
        scale=np.exp(0.5 * log_var.astype(np.float64)) * scale,
    )
    np.testing.assert_allclose(got[:, [0, 2, 3]], numeric, rtol=1e-5, atol=1e-5)
    log_probs = special.log_softmax(table_params[:, 3:].astype(np.float64), axis=1)
    np.testing.assert_allclose(
        got[:, 1], log_probs[np.arange(12), x[:, 1].astype(int)], rtol=1e-5
    )
    np.testing.assert_allclose(
        got.sum(axis=1), np_(likelihood.log_prob(x, params)), rtol=1e-5
    )


def test_per_feature_in_data_units_of_images_and_of_categories_only():
    rng = np.random.default_rng(2)
    images = (rng.normal(size=(3, 4, 5, 2)) * [1.0, 10.0] + [0.0, 50.0]).astype(
        "float32"
    )
    transform = DataTransform((4, 5, 2))
    transform.adapt(images)
    likelihood = InDataUnits(transform, learned(-0.4))
    params = ops.convert_to_tensor(rng.normal(size=images.shape).astype("float32"))
    got = np_(likelihood.log_prob_features(images, params))
    assert got.shape == images.shape
    np.testing.assert_allclose(
        per_example(got), np_(likelihood.log_prob(images, params)), rtol=1e-5
    )
    x = np.array([[0, 1], [2, 0], [1, 1]], "float32")
    transform = DataTransform((2,), categorical=[[0, 3], [1, 2]])
    transform.adapt(x)
    likelihood = InDataUnits(transform, Gaussian(std=1.0))
    params = rng.normal(size=(3, 5)).astype("float32")
    got = np_(likelihood.log_prob_features(x, params))
    assert got.shape == (3, 2)
    np.testing.assert_allclose(
        got.sum(axis=1), np_(likelihood.log_prob(x, params)), rtol=1e-5
    )


# -- sample: draws from p(x|z) -----------------------------------------------


def test_bernoulli_and_gaussian_draws_follow_their_distributions(rng):
    logits = np.full((20000, 3), [-2.0, 0.0, 1.5], "float32")
    bits = Bernoulli().sample(logits, seed=1)
    assert set(np.unique(bits)) == {0.0, 1.0}
    np.testing.assert_allclose(
        bits.mean(axis=0), special.expit([-2.0, 0.0, 1.5]), atol=0.015
    )
    np.testing.assert_array_equal(bits, Bernoulli().sample(logits, seed=1))
    mean = np.full((20000, 2), [3.0, -1.0], "float32")
    gaussian = learned([math.log(4.0), math.log(0.25)])
    draws = gaussian.sample(mean, seed=2)
    for j, (loc, scale) in enumerate([(3.0, 2.0), (-1.0, 0.5)]):
        assert stats.kstest(draws[:, j], stats.norm(loc, scale).cdf).pvalue > 1e-3
    np.testing.assert_array_equal(draws, gaussian.sample(mean, seed=2))


def test_in_data_units_draws_numbers_in_their_units_and_categories_by_softmax():
    x = mixed_table(n=200)
    x[:, 0] = x[:, 0] * 1e3  # a wide range: clipping leaves the draws alone
    transform = mixed_transform(x)
    transform.value_range[0] = [-1e9, 1e9]
    distribution = InDataUnits(transform, Gaussian(std=0.5))
    params = np.zeros((30000, 6), "float32")
    params[:, 0] = 1.0
    params[:, 3:] = [0.0, 1.0, 2.0]
    draws = distribution.sample(params, seed=3)
    assert draws.shape == (30000, 4) and draws.dtype == np.float32
    mean, scale = np_(transform.mean), np_(transform.scale)
    # Column 0 in the data's units: N(params * scale + mean, (0.5 scale)^2).
    reference = stats.norm(1.0 * scale[0] + mean[0], 0.5 * scale[0])
    assert stats.kstest(draws[:, 0], reference.cdf).pvalue > 1e-3
    # Column 1, between numeric ones, holds the categories at softmax's odds.
    counts = np.bincount(draws[:, 1].astype(int), minlength=3)
    expected = special.softmax([0.0, 1.0, 2.0]) * len(draws)
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    np.testing.assert_array_equal(draws, distribution.sample(params, seed=3))
    assert not np.array_equal(draws, distribution.sample(params, seed=4))


def test_in_data_units_draws_stay_in_the_training_range_and_whole_columns_whole():
    x = mixed_table(n=50)
    x[:, 2] = np.round(x[:, 2] * 1000)  # whole numbers, 0..about 25
    transform = mixed_transform(x)
    # A wide decoder: many draws would fall outside the training range.
    distribution = InDataUnits(transform, Gaussian(std=3.0))
    params = np.random.default_rng(5).normal(size=(5000, 6)).astype("float32")
    draws = distribution.sample(params, seed=0)
    for j, column in enumerate((0, 2, 3)):
        low, high = transform.value_range[j]
        assert draws[:, column].min() >= np.float32(low)
        assert draws[:, column].max() <= np.float32(high)
    np.testing.assert_array_equal(draws[:, 2], np.round(draws[:, 2]))
    np.testing.assert_array_equal(draws[:, 3], 7.0)  # a constant stays constant
    assert not np.array_equal(draws[:, 0], np.round(draws[:, 0]))
    assert len(np.unique(draws[:, 2])) > 5  # rounded, not collapsed
    # Without ranges (a model saved before them) draws are left as drawn.
    config = transform.get_config()
    del config["value_range"], config["integers"]
    old = DataTransform.from_config(config)
    old.set_weights(transform.get_weights())
    loose = InDataUnits(old, Gaussian(std=3.0)).sample(params, seed=0)
    assert loose[:, 0].max() > transform.value_range[0][1]
