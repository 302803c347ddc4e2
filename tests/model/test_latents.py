"""vaekit.model.latents: the prior a VAE's settings name, built for its
networks; each kind trains, evaluates, samples, saves and loads in a VAE,
on JAX here and on TensorFlow and PyTorch (the cross-backend workers of
conftest.py); the Monte Carlo KL of a learned prior agrees with the closed
form where one exists."""

import numpy as np
import pytest
from keras import ops

import vaekit
from tests.model.saved_models import LATENTS
from tests.model.saved_models import latent_data as data
from vaekit.model import VAE, load_model
from vaekit.model.flows import FlowPrior
from vaekit.model.hierarchy import TwoLayerPrior
from vaekit.model.priors import MixturePrior, StandardNormal, VampPrior

KINDS = {
    "standard": ({}, StandardNormal),
    "mog": ({"prior": "mog", "prior_size": 3}, MixturePrior),
    "vamp": ({"prior": "vamp", "prior_size": 6}, VampPrior),
    "flow": ({"prior": "flow", "prior_size": 2}, FlowPrior),
    "two_layer": ({"top_latent_dim": 2, "top_hidden_dims": [8]}, TwoLayerPrior),
}


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_prior_trains_evaluates_samples_saves_and_loads(kind, tmp_path):
    kwargs, cls = KINDS[kind]
    x = data()
    model = VAE(latent_dim=3, hidden_dims=[16], iw_samples=3, seed=0, **kwargs)
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=2, batch_size=50, verbose=0).history
    assert isinstance(model.prior, cls)
    assert np.all(np.isfinite(history["loss"])) and np.all(np.isfinite(history["kl"]))
    report = vaekit.evaluate(model, x[:40], iw_samples=20)
    assert np.isfinite(report["log_likelihood"]) and np.isfinite(report["kl"])
    assert report["log_likelihood"] >= report["elbo"] - 0.5
    assert model.sample(4, seed=0).shape == (4, 12)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded.prior) is cls
    epsilon = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")
    if kind != "two_layer":  # its second layer draws its own noise
        np.testing.assert_allclose(
            np_(loaded.log_importance_weights(x[:5], 2, epsilon=epsilon)),
            np_(model.log_importance_weights(x[:5], 2, epsilon=epsilon)),
            rtol=1e-6,
        )
    np.testing.assert_array_equal(loaded.sample(3, seed=2), model.sample(3, seed=2))


def test_vamp_pseudo_inputs_start_at_training_examples():
    x = data()
    model = VAE(latent_dim=3, hidden_dims=[16], prior="vamp", prior_size=5, seed=0)
    model.adapt(x)
    rows = np_(model.prior.pseudo_inputs)
    assert all(any(np.array_equal(r, e) for e in x) for r in rows)


def test_monte_carlo_kl_agrees_with_the_closed_form():
    """A one-component mixture at N(0, I) is the standard normal: its Monte
    Carlo KL (no closed form is assumed) matches the closed form."""
    x = data()
    model = VAE(latent_dim=3, hidden_dims=[16], prior="mog", prior_size=1, seed=0)
    model.adapt(x)
    model.prior.means.assign(np.zeros((1, 3), "float32"))
    z_mean, q_log_var = model.posterior(x[:50])
    closed = np_(StandardNormal().kl(z_mean, q_log_var))
    estimate = np_(model.posterior_kl(z_mean, q_log_var, seed=0, draws=4000))
    assert np.all(np.abs(estimate - closed) < 0.05 + 0.02 * closed)
    _, kl = model.elbo_terms(x[:50], seed=1)
    assert np.isfinite(np_(kl)).all()


@pytest.mark.backends
def test_other_backends_train_and_load_them(cross_backend):
    """TensorFlow and PyTorch (the cross-backend workers, conftest.py) load
    the JAX copies of `saved_models.LATENTS` with the same log weights, and
    train DReG with a VampPrior and a flow over a second layer: finite
    losses, weights that move."""
    expected = np.load(cross_backend.root / "latents" / "probe.npz")["log_weights"]
    for backend in ("tensorflow", "torch"):
        result = cross_backend.info[backend]["latents"]
        np.testing.assert_allclose(
            result["log_weights"], expected, rtol=1e-4, atol=1e-4
        )
        for name in LATENTS:
            assert np.all(np.isfinite(result["losses"][name])), (backend, name)
            assert result["moved"][name] > 1e-4, (backend, name)
