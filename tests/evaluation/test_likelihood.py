"""vaekit.evaluation.likelihood: `evaluate`, `per_example` and `plan_chunks`.

The estimators are checked against the exact log-likelihood of probabilistic
PCA. With a linear-Gaussian decoder p(x|z) = N(W z + b, sigma^2 I) and the
prior N(0, I), the marginal is p(x) = N(b, W W^T + sigma^2 I) and the
posterior is p(z|x) = N(M^-1 W^T (x - b), sigma^2 M^-1) with
M = W^T W + sigma^2 I (Tipping & Bishop 1999). A linear encoder represents
the posterior mean exactly; its constant log-variance head sets q's
(diagonal) variance.

`evaluate` also reads its inputs: a model or a `.keras` path, data as a
spec, a DataFrame or an array, binarized as the model's run trained.
"""

import math
import shutil
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from keras import ops
from scipy import special, stats

import vaekit
from vaekit import data as data_lib
from vaekit.errors import DataError, InvalidArgument, ModelFileError
from vaekit.evaluation.likelihood import (
    MAX_ROWS,
    _bytes_per_row,
    _importance_batch,
    evaluate,
    per_example,
    plan_chunks,
)
from vaekit.model.vae import VAE

D, L, SIGMA = 6, 2, 0.5


class PPCA:
    """A PPCA model, data drawn from it, and its exact log p(x)."""

    def __init__(self, W, b, n, seed):
        rng = np.random.default_rng(seed)
        self.W, self.b = W, b
        self.M = W.T @ W + SIGMA**2 * np.eye(L)
        self.M_inv = np.linalg.inv(self.M)
        self.post_cov = SIGMA**2 * self.M_inv
        z = rng.standard_normal((n, L))
        self.x = (z @ W.T + b + SIGMA * rng.standard_normal((n, D))).astype("float32")
        marginal = stats.multivariate_normal(b, W @ W.T + SIGMA**2 * np.eye(D))
        self.log_px = marginal.logpdf(self.x.astype(np.float64))
        self.post_mean = (self.x - b) @ W @ self.M_inv

    def vae(self, q_var):
        """A VAE with the exact posterior mean and q's variance `q_var`."""
        x_in = keras.Input((D,))
        encoder = keras.Model(
            x_in,
            [
                keras.layers.Dense(L, name="z_mean")(x_in),
                keras.layers.Dense(L, name="z_log_var")(x_in),
            ],
        )
        z_in = keras.Input((L,))
        decoder = keras.Model(z_in, keras.layers.Dense(D, name="linear")(z_in))
        decoder.get_layer("linear").set_weights([self.W.T, self.b])
        mean_kernel = self.W @ self.M_inv  # z_mean = (x - b) W M^-1
        encoder.get_layer("z_mean").set_weights([mean_kernel, -self.b @ mean_kernel])
        encoder.get_layer("z_log_var").set_weights(
            [np.zeros((D, L)), np.log(np.broadcast_to(q_var, (L,)))]
        )
        return VAE(encoder, decoder, likelihood="gaussian", decoder_std=SIGMA, seed=0)

    def kl_q_posterior(self, q_var):
        """KL(N(m, diag q_var) || p(z|x)): the same for every x (equal means)."""
        q = np.diag(q_var)
        inv = np.linalg.inv(self.post_cov)
        return 0.5 * (
            np.trace(inv @ q)
            - L
            + np.linalg.slogdet(self.post_cov)[1]
            - np.log(q_var).sum()
        )

    def log_ratio_samples(self, q_var, shape, rng):
        """numpy draws of log w - log p(x) = log p(z|x) - log q(z|x), z ~ q.

        Since p(z|x) and q(z|x) share their mean and their covariances do not
        depend on x, this distribution is the same for every example.
        """
        u = rng.standard_normal((*shape, L)) * np.sqrt(q_var)
        posterior = stats.multivariate_normal(np.zeros(L), self.post_cov)
        log_q = stats.norm.logpdf(u, scale=np.sqrt(q_var)).sum(-1)
        return posterior.logpdf(u.reshape(-1, L)).reshape(shape) - log_q


def per_example_weights(model, x, k, seed):
    log_w = model.log_importance_weights(ops.convert_to_tensor(x), k, seed=seed)
    return np.asarray(ops.convert_to_numpy(log_w), dtype=np.float64)


@pytest.fixture(scope="module")
def correlated():
    """Non-orthogonal W: the true posterior is correlated, q is diagonal."""
    rng = np.random.default_rng(0)
    return PPCA(rng.normal(size=(D, L)), rng.normal(size=D), n=2000, seed=1)


@pytest.fixture(scope="module")
def orthogonal():
    """Orthogonal columns of W: the posterior is diagonal and q can be exact."""
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(D, L)))
    return PPCA(q * np.array([2.0, 1.0]), rng.normal(size=D), n=100, seed=3)


# -- the estimators against probabilistic PCA --------------------------------


def test_exact_posterior_gives_the_exact_log_likelihood(orthogonal):
    ppca = orthogonal
    q_var = np.diag(ppca.post_cov)
    assert np.allclose(ppca.post_cov, np.diag(q_var))  # diagonal posterior
    model = ppca.vae(q_var)
    # Every importance weight is p(x, z) / p(z|x) = p(x), whatever z.
    log_w = per_example_weights(model, ppca.x[:50], 500, seed=4)
    np.testing.assert_allclose(
        log_w, np.broadcast_to(ppca.log_px[:50], (500, 50)), atol=1e-4
    )

    n = len(ppca.x)
    for k in (1, 40):
        result = evaluate(model, ppca.x, iw_samples=k, seed=5)
        assert result["n"] == n and result["iw_samples"] == k
        assert result["elbo"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)
        assert result["log_likelihood"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)
        # Here the per-example estimates are the exact log p(x) values.
        stderr = ppca.log_px.std(ddof=1) / math.sqrt(n)
        assert result["log_likelihood_stderr"] == pytest.approx(stderr, rel=1e-4)
        # KL(q || prior) in closed form, and reconstruction = -(elbo + kl).
        kl = 0.5 * (ppca.post_mean**2 + q_var - 1 - np.log(q_var)).sum(1).mean()
        assert result["kl"] == pytest.approx(kl, rel=1e-4)
        assert result["reconstruction"] == pytest.approx(
            -(ppca.log_px.mean() + kl), abs=1e-3
        )
    # In bounded memory (one example, 20 of the 40 samples per pass) nothing
    # changes: the answer here does not depend on the random draws at all.
    budget = 30 * _bytes_per_row(model)
    assert plan_chunks(model, n, 40, budget) == (1, 20)
    assert plan_chunks(model, n, 40) == (min(n, MAX_ROWS // 40), 40) == (n, 40)
    small = evaluate(model, ppca.x, iw_samples=40, seed=5, max_memory=budget)
    assert small["log_likelihood"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)
    assert small["elbo"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)


def test_per_example_values_are_each_examples_own(orthogonal):
    """With the exact posterior each example's estimate is its own exact
    log p(x); its KL and q's mean are the closed forms, row by row."""
    ppca = orthogonal
    q_var = np.diag(ppca.post_cov)
    model = ppca.vae(q_var)
    values = per_example(model, ppca.x, iw_samples=7, seed=1)
    assert sorted(values) == ["elbo", "kl", "log_likelihood", "z_mean"]
    np.testing.assert_allclose(values["log_likelihood"], ppca.log_px, atol=1e-4)
    np.testing.assert_allclose(values["elbo"], ppca.log_px, atol=1e-4)
    np.testing.assert_allclose(values["z_mean"], ppca.post_mean, atol=1e-5)
    kl = 0.5 * (ppca.post_mean**2 + q_var - 1 - np.log(q_var)).sum(1)
    np.testing.assert_allclose(values["kl"], kl, rtol=1e-4, atol=1e-6)
    # evaluate's figures are their means.
    result = evaluate(model, ppca.x, iw_samples=7, seed=1)
    assert result["log_likelihood"] == pytest.approx(values["log_likelihood"].mean())
    assert result["kl"] == pytest.approx(values["kl"].mean())


def test_per_example_elbo_is_log_px_minus_the_posterior_gap(correlated):
    """A too narrow q: each example's ELBO (the mean of its k log-weights)
    is log p(x) - KL(q || p(z|x)) within the k-sample error that a numpy
    simulation gives, and its IWAE estimate is at least its ELBO."""
    ppca = correlated
    q_var = 0.4 * np.diag(ppca.post_cov)
    model = ppca.vae(q_var)
    x, log_px = ppca.x[:40], ppca.log_px[:40]
    k = 500
    values = per_example(model, x, iw_samples=k, seed=2)
    log_r = ppca.log_ratio_samples(q_var, (k, 200), np.random.default_rng(3))
    se = log_r.std(ddof=1) / math.sqrt(k)
    gap = ppca.kl_q_posterior(q_var)
    np.testing.assert_array_less(np.abs(values["elbo"] - (log_px - gap)), 5 * se)
    assert (values["elbo"] <= values["log_likelihood"]).all()  # Jensen


def test_importance_weighted_estimate_rises_with_k_to_log_px(correlated):
    ppca = correlated
    # q: the exact mean, 0.4 times the true marginal variances, no
    # correlation; too narrow, as a VAE's posterior usually is, so the
    # bound approaches log p(x) slowly enough to see every step.
    q_var = 0.4 * np.diag(ppca.post_cov)
    model = ppca.vae(q_var)
    n = len(ppca.x)
    rng = np.random.default_rng(6)
    exact = ppca.log_px.mean()
    estimates, gaps = [], []
    for k in (1, 10, 100, 1000):
        result = evaluate(model, ppca.x, iw_samples=k, seed=k)
        estimates.append(result["log_likelihood"])
        gaps.append(exact - result["log_likelihood"])
        # An independent numpy IWAE simulation of the expected gap at this k.
        replicates = 400
        log_r = ppca.log_ratio_samples(q_var, (k, replicates), rng)
        sim_gaps = -(special.logsumexp(log_r, axis=0) - math.log(k))
        tolerance = 5 * sim_gaps.std(ddof=1) * math.sqrt(1 / n + 1 / replicates)
        assert abs(gaps[-1] - sim_gaps.mean()) < tolerance, (
            k,
            gaps[-1],
            sim_gaps.mean(),
        )
        if k == 1:
            # One sample: the bound is the ELBO = log p(x) - KL(q || p(z|x)).
            assert result["log_likelihood"] == pytest.approx(result["elbo"], abs=1e-9)
            assert gaps[-1] == pytest.approx(ppca.kl_q_posterior(q_var), abs=tolerance)
        else:
            # The ELBO of k samples (mean log-weight) has the same expectation.
            se = log_r.std() / math.sqrt(n * k)
            assert result["elbo"] == pytest.approx(
                exact - ppca.kl_q_posterior(q_var), abs=5 * se
            )
            assert result["elbo"] < result["log_likelihood"]
    assert np.all(np.diff(estimates) > 0), estimates
    assert gaps[0] > 0.2  # a real gap to close
    assert -5 * sim_gaps.std(ddof=1) / math.sqrt(n) < gaps[-1] < 0.05


def test_elbo_below_iw_bound_below_log_px_on_every_example_and_batch(correlated):
    ppca = correlated
    q_var = np.diag(ppca.post_cov)  # marginal variances: weights of finite variance
    model = ppca.vae(q_var)
    # 50 examples x 500 samples: the shapes of the test above (JAX compiles
    # each eager op once per shape).
    x, log_px = ppca.x[:50], ppca.log_px[:50]
    k = 500
    log_w = per_example_weights(model, x, k, seed=7)
    elbo = log_w.mean(axis=0)
    iw = special.logsumexp(log_w, axis=0) - math.log(k)
    assert np.all(elbo <= iw + 1e-9)
    assert np.all(elbo < log_px)
    # iw is an estimate: it can exceed log p(x) by its own noise, which the
    # delta method puts at std(w) / (sqrt(k) mean(w)).
    w = np.exp(log_w - log_w.max(axis=0))
    stderr = w.std(axis=0, ddof=1) / (math.sqrt(k) * w.mean(axis=0))
    assert np.all(iw <= log_px + 5 * stderr + 1e-4)
    assert np.mean(iw > elbo + 0.01) > 0.9  # strictly tighter, not just equal

    for start in range(0, 200, 50):
        batch = slice(start, start + 50)
        result = evaluate(model, ppca.x[batch], iw_samples=100, seed=start)
        bound = ppca.log_px[batch].mean()
        assert result["elbo"] < result["log_likelihood"]
        assert result["log_likelihood"] <= bound + 0.02  # 5 stderr of 50 x k=100
        assert result["log_likelihood"] > bound - 0.1


def test_bounded_memory_gives_the_same_answer_within_monte_carlo_error(correlated):
    ppca = correlated
    q_var = 0.4 * np.diag(ppca.post_cov)
    model = ppca.vae(q_var)
    x = ppca.x[:150]
    k = 64
    budget = 40 * _bytes_per_row(model)
    # One example per pass, its 64 samples in two chunks of 32: the
    # streaming logsumexp has to carry its running maximum across chunks.
    assert plan_chunks(model, len(x), k, budget) == (1, 32)
    calls = []
    full = evaluate(model, x, iw_samples=k, seed=0)
    chunked = evaluate(
        model,
        x,
        iw_samples=k,
        seed=0,
        max_memory=budget,
        progress=lambda done, total: calls.append((done, total)),
    )
    # after each example's first pass of two, half of it is done
    assert calls == [(i - d, 150) for i in range(1, 151) for d in (0.5, 0)]
    # Different draws, same expectation. The spread of one example's estimate
    # at k = 64, from the numpy simulation, gives 5 standard errors.
    log_r = ppca.log_ratio_samples(q_var, (k, 1000), np.random.default_rng(9))
    spread = (special.logsumexp(log_r, axis=0) - math.log(k)).std(ddof=1)
    tolerance = 5 * spread * math.sqrt(2 / len(x))
    assert chunked["log_likelihood"] == pytest.approx(
        full["log_likelihood"], abs=tolerance
    )
    assert chunked["elbo"] == pytest.approx(full["elbo"], abs=tolerance)
    # The analytic terms do not depend on the draws at all.
    assert chunked["kl"] == pytest.approx(full["kl"], rel=1e-6)
    assert chunked["active_units"] == full["active_units"]


def test_the_same_seed_and_chunks_give_the_same_answer(correlated):
    model = correlated.vae(np.diag(correlated.post_cov))
    x = correlated.x[:30]
    first = evaluate(model, x, iw_samples=9, seed=4)
    assert evaluate(model, x, iw_samples=9, seed=4) == first
    assert evaluate(model, x, iw_samples=9, seed=5) != first


def test_a_single_example_has_zero_stderr(orthogonal):
    model = orthogonal.vae(np.diag(orthogonal.post_cov))
    result = evaluate(model, orthogonal.x[:1], iw_samples=3)
    assert result["n"] == 1
    assert result["log_likelihood_stderr"] == 0.0
    assert result["active_units"] == 0  # one example: no variance at all
    assert result["log_likelihood"] == pytest.approx(orthogonal.log_px[0], abs=1e-4)


# -- memory planning ---------------------------------------------------------


@pytest.mark.parametrize(
    "n, k, max_memory",
    [
        (1000, 1000, 10**6),
        (10, 5000, 10**5),
        (7, 3, 10**12),
        (10_000, 5000, 10**12),
        (10_000, 7, 10**12),
    ],
)
def test_plan_chunks_respects_the_memory_budget(correlated, n, k, max_memory):
    model = correlated.vae(np.ones(L))
    per_row = _bytes_per_row(model)
    assert per_row > 4 * D  # at least the input row in float32
    batch, k_chunk = plan_chunks(model, n, k, max_memory)
    rows = min(max_memory // per_row, MAX_ROWS)
    assert 1 <= batch <= n
    assert 1 <= k_chunk <= k
    assert batch * k_chunk <= max(rows, 1)
    # It uses the budget: one more example per batch would not fit or exist.
    assert batch == n or (batch + 1) * k_chunk > rows
    # The samples go in passes of equal size (the last one may be smaller),
    # as few as fit.
    passes = -(-k // k_chunk)
    assert passes == -(-k // max(rows, 1))
    assert k - (passes - 1) * k_chunk <= k_chunk
    if rows >= k:
        assert k_chunk == k  # all importance samples in one pass


def test_plan_chunks_with_a_budget_below_one_row(correlated):
    model = correlated.vae(np.ones(L))
    assert plan_chunks(model, 100, 10, max_memory=1) == (1, 1)


def test_plan_chunks_splits_the_samples_into_equal_passes(correlated):
    """5000 samples in passes of at most 4096 rows: two of 2500, not 4096
    and 904."""
    model = correlated.vae(np.ones(L))
    assert plan_chunks(model, 10, 5000) == (1, 2500)
    assert plan_chunks(model, 10, 5000, max_rows=1000) == (1, 1000)
    assert plan_chunks(model, 10, 5001, max_rows=1000) == (1, 834)  # 6 passes


# -- bad arguments -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"iw_samples": 0}, "Received: iw_samples=0"),
        ({"iw_samples": 2.5}, "Received: iw_samples=2.5"),
        ({"max_memory": 0}, "Received: max_memory=0"),
        ({"max_memory": float("nan")}, "Received: max_memory=nan"),
        ({"binarize": "always"}, "Received: binarize='always'"),
        # the streams of importance samples are keyed by 32 bits (issue 18)
        ({"seed": 2**32}, r"in \[0, 4294967295\]. Received: seed=4294967296"),
        ({"seed": -1}, "Received: seed=-1"),
    ],
)
def test_bad_settings_are_refused_naming_them(correlated, kwargs, match):
    model = correlated.vae(np.ones(L))
    with pytest.raises(InvalidArgument, match=match):
        evaluate(model, np.zeros((5, D), "float32"), **kwargs)


@pytest.mark.parametrize(
    "x_shape, match",
    [
        ((0, D), r"got shape \(0, 6\)"),
        ((5, D + 1), r"examples of shape \(7,\) but the model expects \(6,\)"),
    ],
)
def test_data_that_does_not_fit_the_model_is_refused(correlated, x_shape, match):
    model = correlated.vae(np.ones(L))
    with pytest.raises(DataError, match=match):
        evaluate(model, np.zeros(x_shape, "float32"), iw_samples=10)


@pytest.mark.parametrize(
    "x_shape",
    [(0, D), (5, D + 1)],
)
def test_per_example_refuses_arrays_of_another_shape(correlated, x_shape):
    """`per_example` takes arrays as they are, shaped for the model."""
    model = correlated.vae(np.ones(L))
    match = rf"Received: x.shape=\({x_shape[0]}, {x_shape[1]}\)"
    with pytest.raises(InvalidArgument, match=match):
        per_example(model, np.zeros(x_shape, "float32"), iw_samples=10)


def test_a_conditional_model_is_evaluated_under_each_label(class_model):
    """The KL of each example is the closed form of q(z|x, y) under its own
    label: the labels reach the encoder; without them evaluation is refused."""
    model, x, y = class_model
    result = evaluate(model, x, iw_samples=3, condition=y)

    def kl_under(labels):
        m, lv = (a.astype(np.float64) for a in model.encode(x, condition=labels))
        return 0.5 * (np.exp(lv) + m**2 - 1 - lv).sum(1)

    kl = kl_under(y)
    assert result["kl"] == pytest.approx(kl.mean(), rel=1e-5)
    # Under other labels q is another distribution: the labels matter.
    assert abs(kl_under((y + 1) % 4).mean() - kl.mean()) > 1e-3
    with pytest.raises(DataError, match="conditional VAE: it needs the labels"):
        evaluate(model, x, iw_samples=3)
    with pytest.raises(DataError, match="40 examples but 39 labels"):
        evaluate(model, x, iw_samples=3, condition=y[:39])
    values = per_example(model, x, iw_samples=3, condition=y)
    np.testing.assert_allclose(values["kl"], kl, rtol=1e-5)
    with pytest.raises(InvalidArgument, match="none were given: give the labels"):
        per_example(model, x, iw_samples=3)


# -- the model and the data as evaluate reads them ---------------------------


def _binarized(x, seed):
    """An independent copy of a static binarization: one uniform draw per
    value from numpy's default generator, seeded."""
    u = np.random.default_rng(seed).random(np.shape(x), dtype=np.float32)
    return (u < x).astype(np.float32)


def test_a_model_path_and_a_spec_are_read_as_the_run_trained(
    tiny_model_path, tiny_model, digits_x
):
    """`vaekit.evaluate` of a run's model file and a dataset name: the
    digits, binarized as the run trained (its config.toml says dynamic),
    with the seed; the same as the loaded model on those binary images."""
    result = vaekit.evaluate(tiny_model_path, "digits", iw_samples=2, seed=3)
    assert result["split"] == "all"  # digits has no test split
    assert result["binarize"] == "dynamic"
    assert result["n"] == len(digits_x) == 1797
    x = _binarized(digits_x, 3)
    values = per_example(tiny_model, x, iw_samples=2, seed=3)
    assert result["log_likelihood"] == pytest.approx(
        values["log_likelihood"].mean(), rel=1e-9
    )
    assert result["elbo"] == pytest.approx(values["elbo"].mean(), rel=1e-9)
    assert result["kl"] == pytest.approx(values["kl"].mean(), rel=1e-9)
    # The model object: no run to ask, so no binarization (grey levels).
    plain = vaekit.evaluate(tiny_model, "digits", iw_samples=2, seed=3)
    assert plain["binarize"] == "none"
    raw = per_example(tiny_model, digits_x, iw_samples=2, seed=3)
    assert plain["kl"] == pytest.approx(raw["kl"].mean(), rel=1e-9)
    assert plain["kl"] != pytest.approx(result["kl"], rel=1e-3)


def test_an_array_a_flat_array_a_dataframe_and_a_npy_give_the_same_result(
    tiny_model, tiny_model_path, digits_x, tmp_path
):
    x = digits_x[:120]
    flat = x.reshape(120, 64)
    np.save(tmp_path / "x.npy", flat)
    kwargs = dict(iw_samples=3, seed=2, binarize="none")
    expected = evaluate(tiny_model, x, **kwargs)
    assert expected["n"] == 120 and expected["binarize"] == "none"
    assert expected["split"] == "all"
    for data in (flat, pd.DataFrame(flat), str(tmp_path / "x.npy")):
        assert evaluate(tiny_model_path, data, **kwargs) == expected, type(data)
    # static: binarized once with the seed, as numpy would.
    static = evaluate(tiny_model, x, iw_samples=3, seed=2, binarize="static")
    assert static["binarize"] == "static"
    binary = evaluate(tiny_model, _binarized(x, 2), **kwargs)
    assert {**static, "binarize": "none"} == binary


def test_a_bare_model_file_is_not_binarized(tiny_model_path, digits_x, tmp_path):
    """A model file without a run's config.toml beside it: binarize 'auto'
    means none."""
    bare = tmp_path / "model.keras"
    shutil.copy(tiny_model_path, bare)
    x = digits_x[:50]
    result = evaluate(bare, x, iw_samples=2)
    assert result["binarize"] == "none"
    assert result == evaluate(tiny_model_path, x, iw_samples=2, binarize="none")


def test_the_split_of_data_with_a_test_split(tiny_model, digits_x, tmp_path):
    path = tmp_path / "parts.npz"
    np.savez(path, x_train=digits_x[:70], x_test=digits_x[70:100])
    kwargs = dict(iw_samples=2, binarize="none")
    test = evaluate(tiny_model, str(path), **kwargs)
    assert (test["split"], test["n"]) == ("test", 30)  # the default
    assert test == evaluate(tiny_model, digits_x[70:100], **kwargs) | {"split": "test"}
    train = evaluate(tiny_model, str(path), split="train", **kwargs)
    assert (train["split"], train["n"]) == ("train", 70)
    both = evaluate(tiny_model, str(path), split="all", **kwargs)
    assert (both["split"], both["n"]) == ("all", 100)
    with pytest.raises(DataError, match="no test split"):
        evaluate(tiny_model, "digits", split="test", **kwargs)


def test_a_bad_model_file_fails_before_the_data_is_read(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(data_lib, "load", refuse)
    with pytest.raises(ModelFileError, match="does not exist"):
        evaluate(str(tmp_path / "missing.keras"), "digits")


def test_data_outside_0_1_is_refused_for_a_bernoulli_model(tiny_model, digits_x):
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        evaluate(tiny_model, digits_x[:10] * 255.0, iw_samples=2)


# -- values that are not finite (issue 18) ------------------------------------


def _stream(log_w, k_chunk):
    """`_importance_batch` over the rows of `log_w` `(k, n)`, drawn in
    chunks of `k_chunk`, with every warning an error."""
    draws = iter(range(0, log_w.shape[0], k_chunk))

    def log_weights(xb, yb, k):
        start = next(draws)
        return log_w[start : start + k]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _importance_batch(
            log_weights, np.zeros(log_w.shape[1]), None, log_w.shape[0], k_chunk
        )


def test_weights_that_are_not_finite_stream_quietly():
    """log w all -inf: log p(x) = -inf (p = 0); a +inf weight: +inf; a NaN
    weight: NaN; no numpy warning ("invalid value encountered in
    subtract"), and the finite columns as scipy's logsumexp."""
    inf, nan = np.inf, np.nan
    log_w = np.array(
        [
            [-1.0, -inf, -inf, -2.0, 0.5],
            [-3.0, -inf, inf, nan, -inf],
            [-0.5, -inf, -1.0, -1.0, -inf],
            [-7.0, -inf, -2.0, -1.0, 3.0],
        ]
    )
    for k_chunk in (1, 2, 3, 4):
        log_px, elbo = _stream(log_w, k_chunk)
        assert log_px[1] == -inf and log_px[2] == inf and np.isnan(log_px[3])
        for j in (0, 4):
            expected = special.logsumexp(log_w[:, j]) - math.log(4)
            assert log_px[j] == pytest.approx(expected, rel=1e-12)
        assert elbo[0] == pytest.approx(log_w[:, 0].mean())
        assert elbo[1] == -inf and np.isnan(elbo[2]) and np.isnan(elbo[3])


@settings(max_examples=100, deadline=None)
@given(
    log_w=arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 5)),
        elements=st.one_of(
            st.floats(-1e4, 1e4), st.just(-np.inf), st.just(np.inf), st.just(np.nan)
        ),
    ),
    k_chunk=st.integers(1, 12),
)
def test_streaming_logsumexp_is_a_plain_one_whatever_the_weights(log_w, k_chunk):
    """100 drawn weight tables, finite or not, in any chunks: the values of a
    plain logsumexp (with -inf for all -inf), never a numpy warning."""
    log_px, _ = _stream(log_w, k_chunk)
    k = log_w.shape[0]
    for j in range(log_w.shape[1]):
        column = log_w[:, j]
        if np.isnan(column).any():
            assert np.isnan(log_px[j])
        elif np.isposinf(column).any():
            assert log_px[j] == np.inf
        elif np.isneginf(column).all():
            assert log_px[j] == -np.inf
        else:
            expected = special.logsumexp(column) - math.log(k)
            assert log_px[j] == pytest.approx(expected, rel=1e-9, abs=1e-9)
