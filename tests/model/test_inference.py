"""vaekit.model.inference: the posterior, the ELBO terms, the importance
weights and the reconstruction error of a VAE, against numpy and scipy."""

import math

import numpy as np
import pytest
from keras import ops
from scipy import special, stats

from tests.model.common import (
    LATENT,
    make_vae,
    np_,
    set_posterior,
    table,
    tracked_terms,
    transform_vae,
)
from vaekit.model.likelihoods import LOG_VAR_RATE, MIN_DECODER_STD


def test_terms_match_a_numpy_computation_with_a_deterministic_posterior(binary_x):
    # log_var = -40: q(z|x) is a point mass at z_mean to float32 precision.
    vae = make_vae()
    set_posterior(vae, -40.0)
    x = binary_x[:60]
    loss, reconstruction, kl = tracked_terms(vae, x)
    z_mean, _ = vae.encode(x)
    logits = vae.decoder.predict(z_mean, verbose=0).astype(np.float64)
    expected_rec = -stats.bernoulli.logpmf(x, special.expit(logits)).sum(1).mean()
    expected_kl = (0.5 * (np.exp(-40.0) + z_mean**2 - 1 + 40.0)).sum(1).mean()
    assert reconstruction == pytest.approx(expected_rec, rel=1e-5)
    assert kl == pytest.approx(expected_kl, rel=1e-5)
    assert loss == pytest.approx(expected_rec + expected_kl, rel=1e-5)


@pytest.mark.parametrize("std", [0.5, "learned"])
def test_gaussian_likelihood_matches_scipy(binary_x, std):
    vae = make_vae(likelihood="gaussian", decoder_std=std)
    set_posterior(vae, -40.0)
    sigma = 0.5
    if std == "learned":
        # The weight holds log-variance / LOG_VAR_RATE (it moves faster).
        vae.decoder_log_var.assign(2 * math.log(0.3) / LOG_VAR_RATE)
        sigma = 0.3
    x = binary_x[:60]
    _, reconstruction, _ = tracked_terms(vae, x)
    mean = vae.decoder.predict(vae.encode(x)[0], verbose=0)
    expected = -stats.norm.logpdf(x, loc=mean, scale=sigma).sum(1).mean()
    assert reconstruction == pytest.approx(expected, rel=1e-5)


def test_importance_weighted_loss_is_a_tighter_bound(binary_x):
    # A posterior far too wide (variance e^1.5 per unit): the one-sample ELBO
    # pays for it, the k = 5 bound much less (Burda et al. 2015).
    losses = {}
    for k in (1, 5):
        vae = make_vae(iw_samples=k)
        set_posterior(vae, 1.5)
        per_draw = [tracked_terms(vae, binary_x[:60])[0] for _ in range(4)]
        losses[k] = (np.mean(per_draw), np.std(per_draw, ddof=1) / 2)
    gap = losses[1][0] - losses[5][0]
    noise = math.hypot(losses[1][1], losses[5][1])
    assert gap > 0.3
    assert gap > 5 * noise


def test_posterior_folds_epsilon_std_into_the_variance(binary_x):
    vae = make_vae(epsilon_std=0.5)
    set_posterior(vae, 0.3)
    z_mean, q_log_var = (np_(t) for t in vae.posterior(binary_x[:60]))
    np.testing.assert_allclose(z_mean, vae.encode(binary_x[:60])[0], atol=1e-6)
    # N(z_mean, 0.5^2 * exp(0.3)): the posterior actually sampled.
    np.testing.assert_allclose(q_log_var, 0.3 + 2 * math.log(0.5), atol=1e-6)
    # Its KL is that of the posterior actually sampled.
    _, _, kl = tracked_terms(vae, binary_x[:60])
    per_unit = 0.5 * (np.exp(q_log_var) + z_mean**2 - 1 - q_log_var)
    assert kl == pytest.approx(per_unit.sum(axis=1).mean(), rel=1e-5)


def test_log_importance_weights_match_scipy(binary_x):
    vae = make_vae(epsilon_std=0.5)
    x, k = binary_x[:60], 3
    eps = np.random.default_rng(4).normal(size=(k, 60, LATENT)).astype("float32")
    got = np_(vae.log_importance_weights(ops.convert_to_tensor(x), k, epsilon=eps))
    assert got.shape == (k, 60)
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x))
    std = np.exp(0.5 * q_log_var)
    for i in range(k):
        z = (z_mean + std * eps[i]).astype("float32")
        logits = vae.decoder.predict(z, verbose=0).astype(np.float64)
        z = z.astype(np.float64)
        expected = (
            stats.bernoulli.logpmf(x, special.expit(logits)).sum(1)
            + stats.norm.logpdf(z).sum(1)
            - stats.norm.logpdf(z, loc=z_mean, scale=std).sum(1)
        )
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-4)


def test_log_importance_weights_stay_finite_when_the_posterior_is_very_sure(binary_x):
    # log_var = -150: the posterior's variance underflows to 0 in float32,
    # so its density written with the variance would be infinite; the
    # weights are log p(x, z) - log q(z|x) with z the mean to float32.
    vae = make_vae()
    set_posterior(vae, -150.0)
    x, k = binary_x[:20], 3
    eps = np.random.default_rng(5).normal(size=(k, 20, LATENT)).astype("float32")
    got = np_(vae.log_importance_weights(ops.convert_to_tensor(x), k, epsilon=eps))
    assert np.isfinite(got).all()
    z_mean, _ = (np_(t) for t in vae.posterior(x))
    logits = vae.decoder.predict(z_mean.astype("float32"), verbose=0)
    for i in range(k):
        expected = (
            stats.bernoulli.logpmf(x, special.expit(logits.astype(np.float64))).sum(1)
            + stats.norm.logpdf(z_mean).sum(1)
            + 0.5 * (LATENT * (math.log(2 * math.pi) - 150.0) + (eps[i] ** 2).sum(1))
        )
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-2)


def test_reconstruction_error_is_the_squared_error_of_the_mean(binary_x):
    vae = make_vae()
    x = binary_x[:60]
    got = np_(vae.reconstruction_error(ops.convert_to_tensor(x)))
    expected = ((x - vae.reconstruct(x)) ** 2).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_reconstruction_error_of_a_table_is_in_the_models_space():
    """Each numeric column in units of its standard deviation, each
    categorical column one-hot: a column in big units does not swamp it."""
    x = table(n=20)
    vae = transform_vae(x, decoder_std=0.5)
    got = np_(vae.reconstruction_error(ops.convert_to_tensor(x)))
    x_hat = vae.reconstruct(x)
    scale, mean = np_(vae.transform.scale), np_(vae.transform.mean)
    numeric = ((x[:, [0, 2, 3]] - x_hat[:, [0, 2, 3]]) / scale) ** 2
    assert mean.shape == (3,)
    one_hot = (np.eye(3)[x[:, 1].astype(int)] - np.eye(3)[x_hat[:, 1].astype(int)]) ** 2
    expected = np.concatenate([numeric, one_hot], axis=1).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


# -- data in its own units: a DataTransform in the encoder ------------------


def reference_reconstruction(vae, x, params, log_var):
    """-log p(x|z) in the data's own units, with scipy."""
    transform = vae.transform
    mean, scale = np_(transform.mean), np_(transform.scale)
    x = x.astype(np.float64)
    params = params.astype(np.float64)
    numeric = stats.norm.logpdf(
        x[:, [0, 2, 3]],
        loc=params[:, :3] * scale + mean,
        scale=np.exp(0.5 * np.asarray(log_var, np.float64)) * scale,
    ).sum(axis=1)
    log_probs = special.log_softmax(params[:, 3:], axis=1)
    return -(numeric + log_probs[np.arange(len(x)), x[:, 1].astype(int)])


@pytest.mark.parametrize(
    "decoder_std, weight",
    [
        ("learned", 0.05),  # log-variance 0.5
        ("learned", -2.0),  # log-variance -20: floored at 2 log(1e-3)
        ("learned-per-feature", [0.05, -2.0, -0.03]),
        (0.7, None),
    ],
    ids=["learned", "learned-floored", "per-feature", "fixed"],
)
def test_transform_vae_reconstruction_matches_scipy_in_the_datas_units(
    decoder_std, weight
):
    x = table(n=20)
    vae = transform_vae(x, decoder_std=decoder_std)
    if weight is None:
        assert vae.decoder_log_var is None
        log_var = 2 * math.log(decoder_std)
    else:
        # One shared weight, or one per numeric feature of the transform.
        expected_shape = () if decoder_std == "learned" else (3,)
        assert tuple(vae.decoder_log_var.shape) == expected_shape
        vae.decoder_log_var.assign(np.asarray(weight, "float32"))
        log_var = np.maximum(
            LOG_VAR_RATE * np.asarray(weight, np.float64),
            2 * math.log(MIN_DECODER_STD),
        )
    eps = np.random.default_rng(5).normal(size=(20, LATENT)).astype("float32")
    reconstruction, kl = vae.elbo_terms(ops.convert_to_tensor(x), epsilon=eps)
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x))
    z = (z_mean + np.exp(0.5 * q_log_var) * eps).astype("float32")
    params = vae.decoder.predict(z, verbose=0)
    expected = reference_reconstruction(vae, x, params, log_var)
    np.testing.assert_allclose(np_(reconstruction), expected, rtol=1e-4)
    expected_kl = 0.5 * (np.exp(q_log_var) + z_mean**2 - 1 - q_log_var).sum(1)
    np.testing.assert_allclose(np_(kl), expected_kl, rtol=1e-5, atol=1e-6)


# -- conditional VAEs --------------------------------------------------------


def test_conditional_elbo_terms_match_scipy(conditional):
    vae, _, x, y = conditional
    eps = np.random.default_rng(1).normal(size=(len(x), LATENT)).astype("float32")
    reconstruction, _ = vae.elbo_terms(
        ops.convert_to_tensor(x), epsilon=eps, condition=y
    )
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x, condition=y))
    z = (z_mean + np.exp(0.5 * q_log_var) * eps).astype("float32")
    logits = vae.decoder.predict([z, y.reshape(-1, 1)], verbose=0).astype(np.float64)
    expected = -stats.bernoulli.logpmf(x, special.expit(logits)).sum(1)
    np.testing.assert_allclose(np_(reconstruction), expected, rtol=1e-5)


def test_conditional_importance_weights_match_numpy(conditional):
    """k draws per example: the condition is repeated for every draw."""
    vae, _, x, y = conditional
    x, y, k = x[:6], y[:6], 3
    eps = np.random.default_rng(4).normal(size=(k, 6, LATENT)).astype("float32")
    got = np_(
        vae.log_importance_weights(
            ops.convert_to_tensor(x), k=k, epsilon=eps, condition=y
        )
    )
    assert got.shape == (k, 6)
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x, condition=y))
    std = np.exp(0.5 * q_log_var)
    for i in range(k):
        z = (z_mean + std * eps[i]).astype("float32")
        logits = vae.decoder.predict([z, y.reshape(-1, 1)], verbose=0)
        log_px_z = stats.bernoulli.logpmf(x, special.expit(logits.astype(np.float64)))
        z = z.astype(np.float64)
        expected = (
            log_px_z.sum(1)
            + stats.norm.logpdf(z).sum(1)
            - stats.norm.logpdf(z, loc=z_mean, scale=std).sum(1)
        )
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-4)


def test_numeric_condition_is_standardised_and_its_terms_match_scipy(
    numeric_conditional,
):
    vae, x, y = numeric_conditional
    # Found by position: the transforms have names of their own.
    assert vae.transform.name == "scaler"
    assert vae.condition_transform.name == "temperature"
    assert vae.num_classes is None and vae.class_names is None
    mean, std = y.astype(np.float64).mean(), y.astype(np.float64).std()
    np.testing.assert_allclose(
        np_(vae.condition_transform(y.reshape(-1, 1)))[:, 0],
        (y - mean) / std,
        atol=1e-5,
    )
    eps = np.random.default_rng(4).normal(size=(60, LATENT)).astype("float32")
    reconstruction, _ = vae.elbo_terms(
        ops.convert_to_tensor(x), epsilon=eps, condition=y
    )
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x, condition=y))
    z = (z_mean + np.exp(0.5 * q_log_var) * eps).astype("float32")
    params = vae.decoder.predict([z, y.reshape(-1, 1)], verbose=0)
    expected = reference_reconstruction(
        vae, x, params, LOG_VAR_RATE * np.array([-0.02, 0.03, 0.01])
    )
    np.testing.assert_allclose(np_(reconstruction), expected, rtol=1e-4)


def test_feature_log_likelihood_is_the_mean_per_feature_over_the_draws():
    x = table(40)
    vae = transform_vae(x, decoder_std="learned-per-feature")
    k = 4
    eps = np.random.default_rng(6).normal(size=(k, 40, LATENT)).astype("float32")
    got = np_(vae.feature_log_likelihood(x, k, epsilon=eps))
    assert got.shape == (40, 4)
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x))
    draws = []
    for i in range(k):
        z = (z_mean + np.exp(0.5 * q_log_var) * eps[i]).astype("float32")
        params = vae.decoder(ops.convert_to_tensor(z))
        draws.append(np_(vae.distribution.log_prob_features(x, params)))
    np.testing.assert_allclose(got, np.mean(draws, axis=0), rtol=1e-4, atol=1e-4)
    # Summed over the columns: the mean reconstruction log-likelihood.
    log_px_z = [
        np_(
            vae.distribution.log_prob(
                x,
                vae.decoder(
                    ops.convert_to_tensor(
                        (z_mean + np.exp(0.5 * q_log_var) * eps[i]).astype("float32")
                    )
                ),
            )
        )
        for i in range(k)
    ]
    np.testing.assert_allclose(got.sum(1), np.mean(log_px_z, 0), rtol=1e-4, atol=1e-3)
