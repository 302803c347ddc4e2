"""vaekit.model.hierarchy: a second stochastic layer. On a linear-Gaussian
two-layer model, whose log p(x) has a closed form, the ELBO and the
importance-weighted bounds stay below the exact log-likelihood and rise
towards it with k; a trained two-layer VAE samples, encodes, saves and
loads."""

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.special import logsumexp

from vaekit.model import VAE, load_model
from vaekit.model.hierarchy import TwoLayerPrior

D, D1, D2, STD = 3, 2, 1, 0.7


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def linear_two_layer(seed=0):
    """x = C z1 + c + N(0, STD^2), z1 = A z2 + b + N(0, diag(v)), z2 ~ N(0, 1):
    linear networks (no hidden layers) and constant variances."""
    keras.utils.set_random_seed(seed)
    x_in = keras.Input((D,))
    encoder = keras.Model(
        x_in, [keras.layers.Dense(D1)(x_in), keras.layers.Dense(D1)(x_in)]
    )
    z_in = keras.Input((D1,))
    decoder = keras.Model(z_in, keras.layers.Dense(D)(z_in))
    model = VAE(
        encoder,
        decoder,
        likelihood="gaussian",
        decoder_std=STD,
        top_latent_dim=D2,
        top_hidden_dims=(),
        iw_samples=5,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    log_var = model.prior.down.get_layer("log_var")
    log_var.bias.assign(rng.normal(-0.5, 0.3, D1).astype("float32"))
    model.prior.down.trainable = False  # its log-variance stays constant
    decoder.trainable = False
    return model


def exact_log_px(model, x):
    """log N(x; C b + c, C (A A^T + diag(v)) C^T + STD^2 I)."""
    kernel, bias = (np_(w) for w in model.decoder.layers[-1].weights)
    mean_layer = model.prior.down.get_layer("mean")
    a, b = (np_(w) for w in mean_layer.weights)
    v = np.exp(np_(model.prior.down.get_layer("log_var").bias))
    cov_z1 = a.T @ a + np.diag(v)
    cov = kernel.T @ cov_z1 @ kernel + STD**2 * np.eye(D)
    return stats.multivariate_normal(b @ kernel + bias, cov).logpdf(x)


def bound(model, x, k, repeats=1):
    """The mean over examples of the k-sample bound (averaged `repeats`
    times)."""
    values = []
    for r in range(repeats):
        log_w = np_(model.log_importance_weights(x, k, seed=r + 1))
        values.append(logsumexp(log_w, axis=0) - np.log(k))
    return float(np.mean(values))


@pytest.fixture(scope="module")
def trained():
    """The linear two-layer model with its inference networks (q(z1|x),
    q(z2|z1)) trained on data drawn from it; the generative side is fixed."""
    model = linear_two_layer()
    rng = np.random.default_rng(1)
    z1 = model.prior.sample(1000, seed=2)
    params = np_(model.decoder(z1))
    x = (params + STD * rng.standard_normal(params.shape)).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    model.fit(x, epochs=15, batch_size=100, verbose=0)
    return model, x[:200]


def test_bounds_stay_below_the_exact_log_likelihood_and_rise_with_k(trained):
    model, x = trained
    exact = float(exact_log_px(model, x).mean())
    elbo = bound(model, x, 1, repeats=20)
    iw_50 = bound(model, x, 50, repeats=2)
    iw_2000 = bound(model, x, 2000)
    assert elbo < iw_50 < iw_2000 <= exact + 0.01
    assert exact - iw_2000 < 0.05  # trained inference: the bound is tight
    assert exact - elbo > 0.02  # and the ELBO is not


def test_the_generative_side_stayed_linear_gaussian(trained):
    """The fixture's premise: training moved only the inference networks."""
    model, _ = trained
    kernel = np_(model.prior.down.get_layer("log_var").kernel)
    assert np.all(kernel == 0.0)


def test_log_prob_is_an_unbiased_estimate_of_the_marginal(trained):
    """exp(log_prob) averaged over its draws of z2 is p(z1) = N(b, A A^T + v)."""
    model, _ = trained
    z1 = np.random.default_rng(3).normal(0, 1, (5, D1)).astype("float32")
    tiled = np.tile(z1, (20000, 1))
    estimates = np_(model.prior.log_prob(tiled, seed=4)).reshape(20000, 5)
    a, b = (np_(w) for w in model.prior.down.get_layer("mean").weights)
    v = np.exp(np_(model.prior.down.get_layer("log_var").bias))
    exact = stats.multivariate_normal(b, a.T @ a + np.diag(v)).logpdf(z1)
    np.testing.assert_allclose(
        logsumexp(estimates, axis=0) - np.log(20000), exact, atol=0.02
    )
    assert np.all(estimates.mean(axis=0) <= exact + 1e-3)  # Jensen


def test_a_two_layer_vae_trains_samples_encodes_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 12)) < 0.3).astype("float32")
    model = VAE(
        latent_dim=4, hidden_dims=[16], top_latent_dim=2, top_hidden_dims=[8], seed=0
    )
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=2, batch_size=50, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert isinstance(model.prior, TwoLayerPrior)
    assert model.sample(5, seed=0).shape == (5, 12)
    z_mean, _ = model.encode(x[:3])
    assert z_mean.shape == (3, 4)  # the first layer: the code the decoder reads
    top_mean, _ = model.prior.upper_posterior(z_mean)
    assert tuple(top_mean.shape) == (3, 2)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.get_config()["top_latent_dim"] == 2
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np_(a), np_(b))
    np.testing.assert_allclose(
        np_(loaded.prior.log_prob(z_mean, seed=5)),
        np_(model.prior.log_prob(z_mean, seed=5)),
        rtol=1e-6,
    )
