"""vaekit.evaluation.likelihood against the exact log-likelihood of probabilistic PCA.

With a linear-Gaussian decoder p(x|z) = N(W z + b, sigma^2 I) and the prior
N(0, I), the marginal is p(x) = N(b, W W^T + sigma^2 I) and the posterior is
p(z|x) = N(M^-1 W^T (x - b), sigma^2 M^-1) with M = W^T W + sigma^2 I
(Tipping & Bishop 1999). A linear encoder represents the posterior mean
exactly; its constant log-variance head sets q's (diagonal) variance.
"""

import math

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special, stats

from vaekit.evaluation.likelihood import (
    ACTIVE_UNIT_THRESHOLD,
    MAX_ROWS,
    _bytes_per_row,
    evaluate,
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
    for k in (1, 50):
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
    # In bounded memory (one example, 25 of the 50 samples per pass) nothing
    # changes: the answer here does not depend on the random draws at all.
    budget = 30 * _bytes_per_row(model)
    assert plan_chunks(model, n, 50, budget) == (1, 25)
    assert plan_chunks(model, n, 50) == (min(n, MAX_ROWS // 50), 50)
    small = evaluate(model, ppca.x, iw_samples=50, seed=5, max_memory=budget)
    assert small["log_likelihood"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)
    assert small["elbo"] == pytest.approx(ppca.log_px.mean(), abs=1e-4)


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
    assert calls == [(i, 150) for i in range(1, 151)]
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


def test_active_units_counts_units_whose_mean_varies(correlated):
    ppca = correlated
    model = ppca.vae(np.ones(L))
    x = np.random.default_rng(8).standard_normal((500, D)).astype("float32")
    # Four latent units; for x ~ N(0, I), var(x . w) = |w|^2.
    kernel = np.zeros((D, 4), "float32")
    kernel[0, 0] = 1.0  # variance 1: active
    kernel[1, 1] = math.sqrt(0.001)  # variance 0.001: below the 0.01 threshold
    # unit 2 is dead: its mean is the same for every x
    kernel[2:4, 3] = math.sqrt(0.05 / 2)  # variance 0.05: active
    x_in = keras.Input((D,))
    encoder = keras.Model(
        x_in,
        [
            keras.layers.Dense(4, name="z_mean")(x_in),
            keras.layers.Dense(4, name="z_log_var")(x_in),
        ],
    )
    encoder.get_layer("z_mean").set_weights([kernel, np.full(4, 3.0, "float32")])
    z_in = keras.Input((4,))
    decoder = keras.Model(z_in, keras.layers.Dense(D)(z_in))
    model = VAE(encoder, decoder, likelihood="gaussian", decoder_std=1.0)
    result = evaluate(model, x, iw_samples=1)
    z_mean = model.encode(x)[0]
    variances = z_mean.var(axis=0)
    assert variances[2] == 0.0
    assert result["active_units"] == int((variances > ACTIVE_UNIT_THRESHOLD).sum()) == 2


@pytest.mark.parametrize(
    "x_shape, iw_samples, match",
    [
        ((5, D), 0, "Received: iw_samples=0"),
        ((0, D), 10, r"Received: x.shape=\(0, 6\)"),
        ((5, D + 1), 10, r"Received: x.shape=\(5, 7\)"),
    ],
)
def test_bad_arguments_are_refused(correlated, x_shape, iw_samples, match):
    model = correlated.vae(np.ones(L))
    with pytest.raises(ValueError, match=match):
        evaluate(model, np.zeros(x_shape, "float32"), iw_samples=iw_samples)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"iw_samples": 2.5}, "Received: iw_samples=2.5"),
        ({"max_memory": 0}, "Received: max_memory=0"),
        ({"max_memory": float("nan")}, "Received: max_memory=nan"),
    ],
)
def test_bad_settings_are_refused_naming_them(correlated, kwargs, match):
    model = correlated.vae(np.ones(L))
    with pytest.raises(ValueError, match=match):
        evaluate(model, np.zeros((5, D), "float32"), **kwargs)


def test_a_single_example_has_zero_stderr(orthogonal):
    model = orthogonal.vae(np.diag(orthogonal.post_cov))
    result = evaluate(model, orthogonal.x[:1], iw_samples=3)
    assert result["n"] == 1
    assert result["log_likelihood_stderr"] == 0.0
    assert result["active_units"] == 0  # one example: no variance at all
    assert result["log_likelihood"] == pytest.approx(orthogonal.log_px[0], abs=1e-4)
