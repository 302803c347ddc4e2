"""vaekit.model.vae: the VAE's arguments, training, inference, saving (the
networks are tested in test_networks.py)."""

import json
import math
import os
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest
from keras import ops
from scipy import special, stats

import vaekit
from vaekit.model.layers import DataTransform
from vaekit.model.vae import (
    LOG_VAR_RATE,
    MIN_DECODER_STD,
    VAE,
    build_decoder,
    build_encoder,
    load_model,
)

D, LATENT, HIDDEN = 16, 2, (8,)


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def binary_data(n=300, seed=0):
    """Two prototypes with pixel probabilities 0.9 / 0.1: learnable structure."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[0.9] * 8 + [0.1] * 8, [0.1] * 8 + [0.9] * 8])
    p = prototypes[rng.integers(0, 2, n)]
    return (rng.random((n, D)) < p).astype("float32")


def make_vae(data_shape=(D,), seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    encoder = build_encoder(data_shape, HIDDEN, latent_dim=LATENT)
    decoder = build_decoder(data_shape, HIDDEN, latent_dim=LATENT)
    return VAE(encoder, decoder, seed=seed, **kwargs)


def fit(vae, x, epochs=3, learning_rate=1e-2, **kwargs):
    # The default, jit-compiled training step: the path every user takes.
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    # Batches of 60 divide 300, 240 (a 0.2 validation split) and 60: every
    # step has one shape, so JAX compiles each op once for the whole file.
    return vae.fit(x, epochs=epochs, batch_size=60, verbose=0, **kwargs).history


def tracked_terms(vae, x, training=False):
    """One `compute_loss` call and the tracked means of its two terms."""
    vae.reconstruction_tracker.reset_state()
    vae.kl_tracker.reset_state()
    loss = float(vae.compute_loss(x=ops.convert_to_tensor(x), training=training))
    return (
        loss,
        float(vae.reconstruction_tracker.result()),
        float(vae.kl_tracker.result()),
    )


def set_posterior(vae, log_var_bias, mean_kernel=None):
    """Makes q(z|x) have a constant log-variance `log_var_bias`."""
    head = vae.encoder.get_layer("z_log_var")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, log_var_bias)])
    if mean_kernel is not None:
        mean_head = vae.encoder.get_layer("z_mean")
        mean_head.set_weights([mean_kernel, np.zeros(LATENT, "float32")])


@pytest.fixture(scope="module")
def x():
    return binary_data()


@pytest.fixture(scope="module")
def trained(x):
    vae = make_vae(seed=1)
    history = fit(vae, x, epochs=3, validation_split=0.2)
    return vae, history


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"likelihood": "poisson"}, "likelihood"),
        ({"beta": -1.0}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"epsilon_std": 0.0}, "epsilon_std"),
        ({"epsilon_std": float("inf")}, "epsilon_std"),
        ({"epsilon_std": True}, "epsilon_std"),
        ({"decoder_std": 0.0}, "decoder_std"),
        ({"decoder_std": "fixed"}, "decoder_std"),
        ({"decoder_std": float("inf")}, "decoder_std"),
        ({"iw_samples": 0}, "iw_samples"),
        ({"kl_warmup_steps": -1}, "kl_warmup_steps"),
    ],
)
def test_bad_vae_arguments_are_refused(kwargs, field):
    encoder = build_encoder((D,), HIDDEN, latent_dim=LATENT)
    decoder = build_decoder((D,), HIDDEN, latent_dim=LATENT)
    with pytest.raises(ValueError, match=f"Received: {field}="):
        VAE(encoder, decoder, **kwargs)


def test_mismatched_encoder_and_decoder_are_refused():
    encoder = build_encoder((D,), HIDDEN, latent_dim=2)
    with pytest.raises(ValueError, match="latent"):
        VAE(encoder, build_decoder((D,), HIDDEN, latent_dim=3))
    with pytest.raises(ValueError, match="input shape"):
        VAE(encoder, build_decoder((D + 1,), HIDDEN, latent_dim=2))


# -- training -------------------------------------------------------------


def test_fit_reduces_the_loss_and_reports_each_term(trained):
    _, history = trained
    assert set(history) == {
        "loss",
        "reconstruction",
        "kl",
        "val_loss",
        "val_reconstruction",
        "val_kl",
    }
    assert all(len(values) == 3 for values in history.values())
    assert all(np.isfinite(v).all() for v in history.values())
    assert history["loss"][-1] < history["loss"][0] - 0.2
    assert history["val_loss"][-1] < history["val_loss"][0]
    # 16 Bernoulli pixels: an untrained model is near 16 log 2 = 11.1 nats.
    assert history["loss"][0] < 16 * math.log(2) + 2
    assert min(history["kl"]) >= 0
    # beta = 1, one sample: the loss is the negative ELBO, reconstruction + KL.
    for prefix in ("", "val_"):
        np.testing.assert_allclose(
            history[prefix + "loss"],
            np.add(history[prefix + "reconstruction"], history[prefix + "kl"]),
            rtol=1e-5,
        )


@pytest.mark.parametrize("beta", [1.0, 0.25])
def test_loss_is_reconstruction_plus_beta_kl(x, beta):
    vae = make_vae(beta=beta)
    vae.compile(optimizer="adam", jit_compile=False)
    result = vae.evaluate(x, batch_size=60, verbose=0, return_dict=True)
    assert result["kl"] > 0
    assert result["loss"] == pytest.approx(
        result["reconstruction"] + beta * result["kl"], rel=1e-5
    )


def test_terms_match_a_numpy_computation_with_a_deterministic_posterior(x):
    # log_var = -40: q(z|x) is a point mass at z_mean to float32 precision.
    vae = make_vae()
    set_posterior(vae, -40.0)
    x = x[:60]
    loss, reconstruction, kl = tracked_terms(vae, x)
    z_mean, _ = vae.encode(x)
    logits = vae.decoder.predict(z_mean, verbose=0).astype(np.float64)
    expected_rec = -stats.bernoulli.logpmf(x, special.expit(logits)).sum(1).mean()
    expected_kl = (0.5 * (np.exp(-40.0) + z_mean**2 - 1 + 40.0)).sum(1).mean()
    assert reconstruction == pytest.approx(expected_rec, rel=1e-5)
    assert kl == pytest.approx(expected_kl, rel=1e-5)
    assert loss == pytest.approx(expected_rec + expected_kl, rel=1e-5)


@pytest.mark.parametrize("std", [0.5, "learned"])
def test_gaussian_likelihood_matches_scipy(x, std):
    vae = make_vae(likelihood="gaussian", decoder_std=std)
    set_posterior(vae, -40.0)
    sigma = 0.5
    if std == "learned":
        assert vae.decoder_log_var is not None
        assert any(w is vae.decoder_log_var for w in vae.trainable_weights)
        # The weight holds log-variance / LOG_VAR_RATE (it moves faster).
        vae.decoder_log_var.assign(2 * math.log(0.3) / LOG_VAR_RATE)
        sigma = 0.3
    else:
        assert vae.decoder_log_var is None
    x = x[:60]
    _, reconstruction, _ = tracked_terms(vae, x)
    mean = vae.decoder.predict(vae.encode(x)[0], verbose=0)
    expected = -stats.norm.logpdf(x, loc=mean, scale=sigma).sum(1).mean()
    assert reconstruction == pytest.approx(expected, rel=1e-5)


def test_importance_weighted_training_with_a_learned_gaussian_std(x):
    vae = make_vae(likelihood="gaussian", decoder_std="learned", iw_samples=5)
    history = fit(vae, x, epochs=3)
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0] - 0.2
    log_var = float(vae.decoder_log_var.numpy())
    # It started at 0 (std 1); binary pixels around their mean have a std
    # below 1, so training shrinks it.
    assert log_var < -0.05
    fixed = make_vae(likelihood="gaussian", decoder_std=0.5)
    assert len(fixed.trainable_weights) == len(vae.trainable_weights) - 1


def test_importance_weighted_loss_is_a_tighter_bound(x):
    # A posterior far too wide (variance e^1.5 per unit): the one-sample ELBO
    # pays for it, the k = 5 bound much less (Burda et al. 2015).
    losses = {}
    for k in (1, 5):
        vae = make_vae(iw_samples=k)
        set_posterior(vae, 1.5)
        per_draw = [tracked_terms(vae, x[:60])[0] for _ in range(4)]
        losses[k] = (np.mean(per_draw), np.std(per_draw, ddof=1) / 2)
    gap = losses[1][0] - losses[5][0]
    noise = math.hypot(losses[1][1], losses[5][1])
    assert gap > 0.3
    assert gap > 5 * noise


def test_kl_warmup_weight_rises_linearly(x):
    vae = make_vae(kl_warmup_steps=10, beta=0.5)
    for steps in (0.0, 4.0, 10.0, 25.0):
        vae.train_steps.assign(steps)
        loss, reconstruction, kl = tracked_terms(vae, x[:60])
        weight = 0.5 * min(1.0, steps / 10)
        assert loss == pytest.approx(reconstruction + weight * kl, rel=1e-5, abs=1e-5)
        assert float(vae.train_steps.numpy()) == steps  # evaluation: no step
    tracked_terms(vae, x[:60], training=True)
    assert float(vae.train_steps.numpy()) == 26.0


def test_kl_warmup_during_fit(x):
    # Under jit the step counter, a non-trainable variable updated inside
    # compute_loss, must come back out of the stateless training step.
    vae = make_vae(kl_warmup_steps=30)
    history = fit(vae, x, epochs=3)
    assert float(vae.train_steps.numpy()) == 3 * 5  # 5 batches of 60 per epoch
    ratio = (np.array(history["loss"]) - history["reconstruction"]) / history["kl"]
    # Mean weights over each epoch's steps 0-4, 5-9, 10-14, out of 30.
    assert np.all(np.diff(ratio) > 0)
    assert np.all((ratio >= 0) & (ratio < 0.5))
    np.testing.assert_allclose(ratio, [2 / 30, 7 / 30, 12 / 30], atol=0.05)


# -- inference conveniences ---------------------------------------------


def test_encode_decode_reconstruct_sample(trained, x):
    vae, _ = trained
    z_mean, z_log_var = vae.encode(x)
    assert z_mean.shape == z_log_var.shape == (len(x), LATENT)
    expected_mean, expected_log_var = vae.encoder(x)
    np.testing.assert_allclose(z_mean, np_(expected_mean), atol=1e-5)
    np.testing.assert_allclose(z_log_var, np_(expected_log_var), atol=1e-5)

    means = vae.decode(z_mean)
    assert means.shape == x.shape
    assert means.min() >= 0.0 and means.max() <= 1.0
    logits = np_(vae.decoder(z_mean))
    np.testing.assert_allclose(means, special.expit(logits), atol=1e-5)
    np.testing.assert_allclose(vae.reconstruct(x), means, atol=1e-6)
    # Trained on two prototypes: reconstructions are better than chance.
    assert np.mean((vae.reconstruct(x) > 0.5) == (x > 0.5)) > 0.7

    samples = vae.sample(7, seed=3)
    assert samples.shape == (7, D)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, vae.sample(7, seed=3))
    assert not np.allclose(samples, vae.sample(7, seed=4))
    # Temperature 0 decodes the prior's mean, z = 0, for every sample.
    cold = vae.sample(3, seed=5, temperature=0.0)
    np.testing.assert_allclose(cold, vae.decode(np.zeros((3, LATENT), "float32")))


def test_image_vae_keeps_image_shapes():
    vae = make_vae(data_shape=(8, 8, 1), likelihood="gaussian", decoder_std=1.0)
    images = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype("float32")
    z_mean, _ = vae.encode(images)
    assert z_mean.shape == (5, LATENT)
    decoded = vae.decode(z_mean)
    assert decoded.shape == (5, 8, 8, 1)
    # Gaussian: decode returns the decoder's mean, unconstrained.
    np.testing.assert_allclose(decoded, np_(vae.decoder(z_mean)), atol=1e-5)
    assert vae.sample(4, seed=0).shape == (4, 8, 8, 1)


# -- saving and loading -------------------------------------------------

LOAD_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["KERAS_BACKEND"] = "jax"
    import keras, numpy as np
    import vaekit.model.vae  # registers vaekit>VAE with Keras, as any plugin must
    folder = sys.argv[1]
    model = keras.saving.load_model(
        os.path.join(folder, "model.keras"), safe_mode=True
    )
    z_mean, z_log_var = model.encode(np.load(os.path.join(folder, "x.npy")))
    np.save(os.path.join(folder, "z_mean.npy"), z_mean)
    np.save(os.path.join(folder, "z_log_var.npy"), z_log_var)
    np.save(os.path.join(folder, "decoded.npy"), model.decode(z_mean))
    json.dump(
        {"class": type(model).__module__ + "." + type(model).__name__,
         "config": {k: model.get_config()[k] for k in ("likelihood", "beta",
                    "epsilon_std", "iw_samples", "seed")}},
        open(os.path.join(folder, "info.json"), "w"),
    )
    """
)


def test_save_and_load_in_another_process(trained, x, tmp_path):
    vae, _ = trained
    vae.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["class"] == "vaekit.model.vae.VAE"
    assert info["config"] == {
        "likelihood": "bernoulli",
        "beta": 1.0,
        "epsilon_std": 1.0,
        "iw_samples": 1,
        "seed": 1,
    }
    z_mean, z_log_var = vae.encode(x)
    np.testing.assert_allclose(np.load(tmp_path / "z_mean.npy"), z_mean, atol=1e-6)
    np.testing.assert_allclose(
        np.load(tmp_path / "z_log_var.npy"), z_log_var, atol=1e-6
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "decoded.npy"), vae.decode(z_mean), atol=1e-6
    )
    assert np.std(z_mean) > 1e-3  # a trained, non-constant encoder


def test_load_model_restores_learned_std_and_warmup_state(x, tmp_path):
    vae = make_vae(likelihood="gaussian", decoder_std="learned", kl_warmup_steps=7)
    vae.decoder_log_var.assign(-1.25)
    vae.train_steps.assign(3.0)
    path = tmp_path / "gaussian.keras"
    vae.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, VAE)
    assert (loaded.likelihood, loaded.decoder_std, loaded.kl_warmup_steps) == (
        "gaussian",
        "learned",
        7,
    )
    assert float(loaded.decoder_log_var.numpy()) == -1.25
    assert float(loaded.train_steps.numpy()) == 3.0
    np.testing.assert_allclose(loaded.encode(x)[0], vae.encode(x)[0], atol=1e-6)


def test_load_model_refuses_a_lambda_layer(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(vaekit.VaekitError, match=r"(?i)lambda.*safe_mode"):
        load_model(path)


def test_load_model_refuses_a_model_that_is_not_a_vae(tmp_path):
    inputs = keras.Input((3,))
    path = tmp_path / "dense.keras"
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    with pytest.raises(vaekit.VaekitError, match="not a vaekit VAE"):
        load_model(path)


def test_load_model_refuses_corrupt_and_missing_files(tmp_path, trained):
    vae, _ = trained
    good = tmp_path / "good.keras"
    vae.save(good)
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a keras file")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{not json")
    for path in (garbage, truncated, broken):
        with pytest.raises(vaekit.VaekitError, match=str(path.name)):
            load_model(path)
    with pytest.raises(vaekit.VaekitError, match="does not exist"):
        load_model(tmp_path / "missing.keras")
    assert isinstance(load_model(good), VAE)


# -- free bits -------------------------------------------------------------


def _unit_kl(vae, x):
    """Each example's KL per latent unit, in numpy from the encoder."""
    z_mean, z_log_var = (a.astype(np.float64) for a in vae.encode(x))
    return 0.5 * (np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var)


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_free_bits_objective_matches_numpy(x, beta):
    """loss = reconstruction + beta * sum_j max(lambda, mean_batch KL_j),
    with one unit below lambda and one above; `kl` stays the true KL."""
    vae = make_vae(beta=beta, free_bits=0.7)
    # Unit 0's means stay near 0 (KL ~ 0.03 < lambda), unit 1's far from it.
    kernel = np.zeros((HIDDEN[-1], LATENT), "float32")
    kernel[:, 0], kernel[:, 1] = 0.01, 0.5
    set_posterior(vae, -0.3, mean_kernel=kernel)
    x = x[:60]
    batch_kl = _unit_kl(vae, x).mean(axis=0)
    assert batch_kl[0] < 0.7 < batch_kl[1]
    loss, reconstruction, kl = tracked_terms(vae, x, training=True)
    expected = reconstruction + beta * np.maximum(0.7, batch_kl).sum()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert kl == pytest.approx(batch_kl.sum(), rel=1e-5)
    # Without free bits the same model's objective is the plain beta-ELBO.
    plain = make_vae(beta=beta)
    plain.set_weights(vae.get_weights())
    loss, reconstruction, kl = tracked_terms(plain, x, training=True)
    assert loss == pytest.approx(reconstruction + beta * batch_kl.sum(), rel=1e-5)


def test_free_bits_with_sample_weights_uses_the_weighted_batch_mean(x):
    vae = make_vae(free_bits=0.7)
    kernel = np.zeros((HIDDEN[-1], LATENT), "float32")
    kernel[:, 0], kernel[:, 1] = 0.01, 0.5
    set_posterior(vae, -0.3, mean_kernel=kernel)
    x = x[:60]
    weights = np.zeros(60, "float32")
    weights[:20] = 1.0  # 40 padded rows count for nothing
    vae.reconstruction_tracker.reset_state()
    loss = float(
        vae.compute_loss(
            x=ops.convert_to_tensor(x),
            sample_weight=ops.convert_to_tensor(weights),
            training=False,
        )
    )
    reconstruction = float(vae.reconstruction_tracker.result())
    batch_kl = _unit_kl(vae, x[:20]).mean(axis=0)
    expected = reconstruction + np.maximum(0.7, batch_kl).sum()
    assert loss == pytest.approx(expected, rel=1e-5)


def test_free_bits_is_checked_and_refused_with_the_iwae_bound():
    encoder = build_encoder((D,), HIDDEN, latent_dim=LATENT)
    decoder = build_decoder((D,), HIDDEN, latent_dim=LATENT)
    with pytest.raises(ValueError, match="Received: free_bits=-0.5"):
        VAE(encoder, decoder, free_bits=-0.5)
    with pytest.raises(ValueError, match="iw_samples=1 or free_bits=0"):
        VAE(encoder, decoder, free_bits=0.5, iw_samples=5)


def test_free_bits_round_trips_through_a_model_file(x, tmp_path):
    vae = make_vae(beta=3.0, free_bits=0.25)
    path = tmp_path / "free_bits.keras"
    vae.save(path)
    loaded = load_model(path)  # safe_mode=True
    assert loaded.free_bits == 0.25 and loaded.beta == 3.0
    assert loaded.get_config()["free_bits"] == 0.25
    np.testing.assert_array_equal(loaded.encode(x)[0], vae.encode(x)[0])
    # The loaded objective applies the free bits: q(z|x) = N(0, e^-0.3) has
    # KL 0.02 per unit, lifted to 0.25 per unit.
    set_posterior(loaded, -0.3, mean_kernel=np.zeros((HIDDEN[-1], LATENT), "f4"))
    loss, reconstruction, kl = tracked_terms(loaded, x[:60])
    assert kl == pytest.approx(LATENT * 0.5 * (np.exp(-0.3) - 1 + 0.3), rel=1e-4)
    assert loss - reconstruction == pytest.approx(3.0 * LATENT * 0.25, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"iw_samples": 3}, {"kl_warmup_steps": 4}],
    ids=["elbo", "iwae", "warmup"],
)
def test_padded_batch_with_zero_weights_has_the_loss_of_its_real_rows(
    x, kwargs, monkeypatch
):
    """Data-parallel training pads a ragged batch with rows of weight 0: the
    loss and the tracked `loss`, `reconstruction` and `kl` must be those of
    the real rows alone, as on one device, with the same draws (an example's
    noise does not depend on the batch's size)."""
    real, pad = x[:7], 3
    padded = np.concatenate([real, np.ones((pad, D), "float32")])
    weight = np.array([1.0] * len(real) + [0.0] * pad, "float32")

    def loss_and_trackers(batch, sample_weight=None, noise=None):
        vae = make_vae(seed=3, **kwargs)
        vae.compile(optimizer="adam")
        if vae.train_steps is not None:
            vae.train_steps.assign(2.0)  # the KL weight is halfway up
        if noise is not None:
            monkeypatch.setattr(vae, "_noise", noise)
        loss = vae.compute_loss(
            x=ops.convert_to_tensor(batch), sample_weight=sample_weight
        )
        return vae, float(loss), {m.name: float(m.result()) for m in vae.metrics}

    _, loss, tracked = loss_and_trackers(real)
    _, padded_loss, padded_tracked = loss_and_trackers(padded, weight)
    assert set(tracked) == {"loss", "reconstruction", "kl"}
    assert padded_loss == pytest.approx(loss, rel=1e-6)
    assert tracked["loss"] == pytest.approx(loss, rel=1e-6)
    for name, value in tracked.items():
        assert padded_tracked[name] == pytest.approx(value, rel=1e-6), name

    # A numpy reference, with noise fixed by each example: the tracked terms
    # of the padded batch are the plain means of the real rows' terms.
    def example_noise(like, seed=None, epsilon=None):
        return ops.sin(7.0 * like)

    vae, _, padded_tracked = loss_and_trackers(padded, weight, example_noise)
    reconstruction, kl = (np_(t) for t in vae.elbo_terms(ops.convert_to_tensor(real)))
    assert padded_tracked["kl"] == pytest.approx(kl.mean(), rel=1e-5)
    if vae.iw_samples == 1:
        assert padded_tracked["reconstruction"] == pytest.approx(
            reconstruction.mean(), rel=1e-5
        )
        kl_weight = 0.5 if vae.train_steps is not None else 1.0
        assert padded_tracked["loss"] == pytest.approx(
            np.mean(reconstruction + kl_weight * kl), rel=1e-5
        )


def test_row_mean_loss_tracker_ignores_the_padded_batch_size():
    """Keras' trainer calls `update_state(loss, batch_size)`; the VAE's own
    tracker counts the real rows `compute_loss` gives it."""
    vae = make_vae()
    vae.compile(optimizer="adam")
    tracker = vae._loss_tracker
    tracker.update_state(5.0, sample_weight=10)
    tracker.add(2.0, 3)
    tracker.add(4.0, 1)
    assert float(tracker.result()) == pytest.approx((2.0 * 3 + 4.0) / 4)


# -- data in its own units: a DataTransform in the encoder ------------------


def table(n=60, seed=0):
    """Numeric ~N(1000, 50), a categorical column of 3 categories (in the
    middle), numeric ~N(0.01, 0.004) and ~N(-5, 2)."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            rng.normal(1000.0, 50.0, n),
            rng.integers(0, 3, n),
            rng.normal(0.01, 0.004, n),
            rng.normal(-5.0, 2.0, n),
        ],
        axis=1,
    ).astype("float32")


def transform_vae(x, seed=0, **kwargs):
    """A Gaussian VAE built as `vaekit.training.train` builds one for a table."""
    keras.utils.set_random_seed(seed)
    transform = DataTransform(
        x.shape[1:],
        categorical=[[1, 3]],
        column_names=["big", "kind", "small", "negative"],
        category_names=[["a", "b", "c"]],
        name="transform",
    )
    transform.adapt(x)
    encoder = build_encoder(x.shape[1:], HIDDEN, latent_dim=LATENT, transform=transform)
    decoder = build_decoder(transform.model_shape, HIDDEN, latent_dim=LATENT)
    kwargs.setdefault("likelihood", "gaussian")
    return VAE(encoder, decoder, seed=seed, **kwargs)


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


def test_transform_vae_decodes_to_the_datas_units():
    x = table()
    vae = transform_vae(x, decoder_std=0.5)
    assert vae.transform is not None and vae.transform.name == "transform"
    assert vae.condition_transform is None and not vae.conditional
    assert vae.data_shape == (4,)
    assert vae.decoder.outputs[0].shape[1:] == (6,)  # 3 numeric + one-hot of 3
    z_mean, _ = vae.encode(x)
    decoded = vae.decode(z_mean)
    assert decoded.shape == x.shape
    params = vae.decoder.predict(z_mean, verbose=0).astype(np.float64)
    scale, mean = np_(vae.transform.scale), np_(vae.transform.mean)
    np.testing.assert_allclose(
        decoded[:, [0, 2, 3]], params[:, :3] * scale + mean, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(decoded[:, 1], params[:, 3:].argmax(axis=1))
    # In the data's units: around 1000, not around 0 (standardised).
    assert np.all(np.abs(decoded[:, 0] - 1000.0) < 5 * 50.0)
    assert np.all(np.abs(decoded[:, 0]) > 500.0)
    assert np.all(np.abs(decoded[:, 2] - 0.01) < 5 * 0.004)
    np.testing.assert_allclose(vae.reconstruct(x), decoded, rtol=1e-6)
    samples = vae.sample(5, seed=0)
    assert samples.shape == (5, 4)
    assert set(np.unique(samples[:, 1])) <= {0.0, 1.0, 2.0}


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
        if decoder_std != "learned":
            assert vae.transform.numeric_shape == (3,)
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


def test_transform_needs_gaussian_and_condition_needs_both_networks():
    x = table(n=10)
    with pytest.raises(ValueError, match="gaussian"):
        transform_vae(x, likelihood="bernoulli")
    condition = DataTransform((1,), categorical=[[0, 3]], name="condition_transform")
    encoder = build_encoder((D,), HIDDEN, latent_dim=LATENT, condition=condition)
    with pytest.raises(ValueError, match="condition"):
        VAE(encoder, build_decoder((D,), HIDDEN, latent_dim=LATENT))
    copy = DataTransform.from_config(condition.get_config())
    decoder = build_decoder((D,), HIDDEN, latent_dim=LATENT, condition=copy)
    with pytest.raises(ValueError, match="condition"):
        VAE(build_encoder((D,), HIDDEN, latent_dim=LATENT), decoder)


# -- conditional VAE ------------------------------------------------------

K = 4
CLASS_NAMES = ["north", "east", "south", "west"]


def class_data(n=120, seed=0):
    """Binary data from K prototypes (4 pixels on each), and the labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    prototypes = np.full((K, D), 0.1)
    for k in range(K):
        prototypes[k, 4 * k : 4 * k + 4] = 0.9
    x = (rng.random((n, D)) < prototypes[y]).astype("float32")
    return x, y.astype("float32")


def conditional_vae(condition, data_shape=(D,), transform=None, seed=0, **kwargs):
    """Encoder and decoder conditioned as `vaekit.training.train.build_model` does."""
    keras.utils.set_random_seed(seed)
    copy = DataTransform.from_config(condition.get_config())
    copy.set_weights(condition.get_weights())
    output_shape = data_shape if transform is None else transform.model_shape
    encoder = build_encoder(
        data_shape, HIDDEN, latent_dim=LATENT, transform=transform, condition=condition
    )
    decoder = build_decoder(output_shape, HIDDEN, latent_dim=LATENT, condition=copy)
    return VAE(encoder, decoder, seed=seed, **kwargs)


@pytest.fixture(scope="module")
def conditional():
    x, y = class_data()
    condition = DataTransform(
        (1,),
        categorical=[[0, K]],
        category_names=[CLASS_NAMES],
        name="condition_transform",
    )
    condition.adapt(y.reshape(-1, 1))
    vae = conditional_vae(condition)
    history = fit(vae, (x, y), epochs=15)
    return vae, history, x, y


def test_conditional_vae_trains_on_x_and_labels(conditional):
    vae, history, x, y = conditional
    assert vae.conditional and vae.condition_shape == (1,)
    assert vae.transform is None
    assert vae.condition_transform is not None
    assert vae.num_classes == K
    assert vae.class_names == CLASS_NAMES
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0]
    np.testing.assert_allclose(
        history["loss"],
        np.add(history["reconstruction"], history["kl"]),
        rtol=1e-5,
    )
    # The encoder's condition is the one-hot label joined to the features.
    z_mean, z_log_var = vae.encode(x, condition=y)
    expected_mean, expected_log_var = vae.encoder([x, y.reshape(-1, 1)])
    np.testing.assert_allclose(z_mean, np_(expected_mean), atol=1e-5)
    np.testing.assert_allclose(z_log_var, np_(expected_log_var), atol=1e-5)
    with pytest.raises(ValueError, match="condition"):
        vae.encode(x)
    with pytest.raises(ValueError, match="one condition per example"):
        vae.encode(x, condition=y[:5])
    # elbo_terms with fixed noise against numpy and scipy.
    eps = np.random.default_rng(1).normal(size=(len(x), LATENT)).astype("float32")
    reconstruction, _ = vae.elbo_terms(
        ops.convert_to_tensor(x), epsilon=eps, condition=y
    )
    z_mean, q_log_var = (np_(t) for t in vae.posterior(x, condition=y))
    z = (z_mean + np.exp(0.5 * q_log_var) * eps).astype("float32")
    logits = vae.decoder.predict([z, y.reshape(-1, 1)], verbose=0).astype(np.float64)
    expected = -stats.bernoulli.logpmf(x, special.expit(logits)).sum(1)
    np.testing.assert_allclose(np_(reconstruction), expected, rtol=1e-5)


def test_conditional_decode_sample_and_default_condition(conditional):
    vae, _, _, _ = conditional
    z = np.random.default_rng(2).normal(size=(6, LATENT)).astype("float32")
    by_class = [vae.decode(z, condition=np.full(6, k)) for k in range(K)]
    for k in range(K):
        logits = np_(vae.decoder([z, np.full((6, 1), k, "float32")]))
        np.testing.assert_allclose(by_class[k], special.expit(logits), atol=1e-5)
    for a in range(K):
        for b in range(a + 1, K):
            assert np.abs(by_class[a] - by_class[b]).max() > 1e-3
    # Trained on prototypes: class k's own pixels are the brightest.
    zero = np.zeros((K, LATENT), "float32")
    means = vae.decode(zero, condition=np.arange(K))
    for k in range(K):
        assert (
            means[k, 4 * k : 4 * k + 4].mean()
            > np.delete(means[k], range(4 * k, 4 * k + 4)).mean()
        )

    np.testing.assert_array_equal(vae.default_condition(5), [0, 1, 2, 3, 0])
    np.testing.assert_allclose(
        vae.decode(z), vae.decode(z, condition=[0, 1, 2, 3, 0, 1]), atol=1e-7
    )
    samples = vae.sample(5, seed=7, condition=3)
    assert samples.shape == (5, D)
    prior = np.random.default_rng(7).standard_normal((5, LATENT)).astype("float32")
    np.testing.assert_allclose(
        samples, vae.decode(prior, condition=np.full(5, 3)), atol=1e-7
    )
    per_sample = vae.sample(4, seed=7, condition=[0, 1, 2, 3])
    np.testing.assert_allclose(
        per_sample, vae.decode(prior[:4], condition=np.arange(4)), atol=1e-7
    )


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


def test_conditional_vae_saves_and_loads(conditional, tmp_path):
    vae, _, x, y = conditional
    path = tmp_path / "conditional.keras"
    vae.save(path)
    loaded = load_model(path)  # safe_mode=True
    assert loaded.conditional and loaded.num_classes == K
    assert loaded.class_names == CLASS_NAMES
    z_mean, z_log_var = vae.encode(x, condition=y)
    loaded_mean, loaded_log_var = loaded.encode(x, condition=y)
    np.testing.assert_array_equal(loaded_mean, z_mean)
    np.testing.assert_array_equal(loaded_log_var, z_log_var)
    np.testing.assert_array_equal(
        loaded.decode(z_mean, condition=y), vae.decode(z_mean, condition=y)
    )
    np.testing.assert_array_equal(loaded.decode(z_mean), vae.decode(z_mean))


@pytest.fixture(scope="module")
def numeric_conditional():
    """A numeric condition (standardised, not classes) on a Gaussian model of
    a table in its own units: the encoder holds both transforms."""
    x = table(n=60)
    rng = np.random.default_rng(3)
    y = rng.normal(50.0, 10.0, 60).astype("float32")
    transform = DataTransform((4,), categorical=[[1, 3]], name="transform")
    transform.adapt(x)
    condition = DataTransform((1,), name="condition_transform")
    condition.adapt(y.reshape(-1, 1))
    vae = conditional_vae(
        condition,
        data_shape=(4,),
        transform=transform,
        likelihood="gaussian",
        decoder_std="learned-per-feature",
    )
    vae.decoder_log_var.assign(np.array([-0.02, 0.03, 0.01], "float32"))
    return vae, x, y


def test_numeric_condition_is_standardised_and_its_terms_match_scipy(
    numeric_conditional,
):
    vae, x, y = numeric_conditional
    assert vae.transform.name == "transform"
    assert vae.condition_transform.name == "condition_transform"
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


def test_numeric_condition_decodes_with_the_training_mean_by_default(
    numeric_conditional,
):
    vae, x, y = numeric_conditional
    default = vae.default_condition(3)
    assert default.shape == (3, 1)
    np.testing.assert_allclose(default, y.astype(np.float64).mean(), rtol=1e-6)
    z = vae.encode(x[:4], condition=y[:4])[0]
    low = vae.decode(z, condition=np.full(4, 20.0))
    high = vae.decode(z, condition=np.full(4, 80.0))
    assert np.abs(low[:, 0] - high[:, 0]).max() > 1e-3
    assert np.all(np.abs(low[:, 0] - 1000.0) < 5 * 50.0)
    np.testing.assert_allclose(
        vae.decode(z), vae.decode(z, condition=np.full(4, y.mean())), rtol=1e-6
    )


def test_numeric_condition_model_saves_and_loads(numeric_conditional, tmp_path):
    vae, x, y = numeric_conditional
    path = tmp_path / "numeric.keras"
    vae.save(path)
    loaded = load_model(path)
    assert loaded.num_classes is None and loaded.transform is not None
    assert loaded.transform.category_names is None
    np.testing.assert_array_equal(np_(loaded.decoder_log_var), np_(vae.decoder_log_var))
    z_mean = vae.encode(x, condition=y)[0]
    np.testing.assert_array_equal(loaded.encode(x, condition=y)[0], z_mean)
    np.testing.assert_array_equal(
        loaded.decode(z_mean, condition=y), vae.decode(z_mean, condition=y)
    )
    np.testing.assert_array_equal(loaded.default_condition(3), vae.default_condition(3))
