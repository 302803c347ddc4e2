"""vaekit.model.vae: the VAE's arguments, its networks (given, or built by
`adapt` for the data), its training objective and trackers, its config, and
conditional models by argument. (The probability computations are
test_inference.py's, the array and DataFrame methods test_arrays.py's.)"""

import math

import keras
import numpy as np
import pytest
from keras import ops

import vaekit
from tests.model.common import (
    CLASS_NAMES,
    HIDDEN,
    LATENT,
    D,
    K,
    class_data,
    fit,
    make_vae,
    np_,
    set_posterior,
    table,
    tracked_terms,
    transform_vae,
)
from vaekit.errors import InvalidArgument
from vaekit.model import VAE, DataTransform, build_decoder, build_encoder
from vaekit.model.likelihoods import Bernoulli, Gaussian, InDataUnits
from vaekit.model.priors import StandardNormal


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
        ({"free_bits": -0.5}, "free_bits"),
        ({"trim_fraction": 1.0}, "trim_fraction"),
        ({"trim_fraction": -0.1}, "trim_fraction"),
        ({"conditional": "sometimes"}, "conditional"),
        ({"conditional": 1}, "conditional"),  # not True: 1 == True in Python
        ({"output_bias": "ones"}, "output_bias"),
    ],
)
def test_bad_vae_arguments_are_refused(kwargs, field):
    encoder = build_encoder((D,), HIDDEN, latent_dim=LATENT)
    decoder = build_decoder((D,), HIDDEN, latent_dim=LATENT)
    with pytest.raises(InvalidArgument, match=f"Received: {field}="):
        VAE(encoder, decoder, **kwargs)
    with pytest.raises(InvalidArgument, match=f"Received: {field}="):
        VAE(**kwargs)  # without networks too


def test_free_bits_is_refused_with_the_iwae_bound():
    with pytest.raises(ValueError, match="iw_samples=1 or free_bits=0"):
        VAE(free_bits=0.5, iw_samples=5)


def test_mismatched_encoder_and_decoder_are_refused():
    encoder = build_encoder((D,), HIDDEN, latent_dim=2)
    with pytest.raises(ValueError, match="latent"):
        VAE(encoder, build_decoder((D,), HIDDEN, latent_dim=3))
    with pytest.raises(ValueError, match="input shape"):
        VAE(encoder, build_decoder((D + 1,), HIDDEN, latent_dim=2))
    with pytest.raises(ValueError, match="both an encoder and a decoder"):
        VAE(encoder)


def test_transform_needs_gaussian_and_condition_needs_both_networks():
    x = table(n=10)
    with pytest.raises(ValueError, match="gaussian"):
        transform_vae(x, likelihood="bernoulli")
    condition = DataTransform((1,), categorical=[[0, 3]], name="labels")
    encoder = build_encoder((D,), HIDDEN, latent_dim=LATENT, condition=condition)
    with pytest.raises(ValueError, match="condition"):
        VAE(encoder, build_decoder((D,), HIDDEN, latent_dim=LATENT))
    copy = DataTransform.from_config({**condition.get_config(), "name": "y"})
    decoder = build_decoder((D,), HIDDEN, latent_dim=LATENT, condition=copy)
    with pytest.raises(ValueError, match="condition"):
        VAE(build_encoder((D,), HIDDEN, latent_dim=LATENT), decoder)


def test_the_model_holds_its_likelihood_and_prior_objects():
    assert isinstance(make_vae().distribution, Bernoulli)
    fixed = make_vae(likelihood="gaussian", decoder_std=0.5)
    assert isinstance(fixed.distribution, Gaussian)
    assert fixed.distribution.std == 0.5 and fixed.decoder_log_var is None
    learned = make_vae(likelihood="gaussian")
    assert learned.distribution.log_var_variable is learned.decoder_log_var
    tabular = transform_vae(table(n=10), decoder_std="learned-per-feature")
    assert isinstance(tabular.distribution, InDataUnits)
    assert tabular.distribution.transform is tabular.transform
    assert tuple(tabular.decoder_log_var.shape) == (3,)  # the numeric columns
    assert isinstance(tabular.prior, StandardNormal)


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
def test_loss_is_reconstruction_plus_beta_kl(binary_x, beta):
    vae = make_vae(beta=beta)
    vae.compile(optimizer="adam", jit_compile=False)
    result = vae.evaluate(binary_x, batch_size=60, verbose=0, return_dict=True)
    assert result["kl"] > 0
    assert result["loss"] == pytest.approx(
        result["reconstruction"] + beta * result["kl"], rel=1e-5
    )


def test_a_trimmed_training_step_leaves_out_the_highest_losses(binary_x):
    # A deterministic posterior (log_var -40) makes each example's loss a
    # fixed number: the training loss is the mean of the lowest 75%, the
    # tracked loss stays the mean of all.
    vae = make_vae(trim_fraction=0.25)
    set_posterior(vae, -40.0)
    x = binary_x[:40]
    rec, kl = (np_(t) for t in vae.elbo_terms(ops.convert_to_tensor(x)))
    per_example = rec + kl
    vae.loss_tracker.reset_state()
    loss = float(vae.compute_loss(x=ops.convert_to_tensor(x), training=True))
    # The 30 lowest, and any tied with the 30th (float32 rounding aside).
    cut = np.sort(per_example)[29]
    kept = per_example[per_example <= cut + 1e-4 * abs(cut)]
    assert 30 <= len(kept) < 40
    assert loss == pytest.approx(kept.mean(), rel=1e-5)
    assert float(vae.loss_tracker.result()) == pytest.approx(
        per_example.mean(), rel=1e-5
    )
    # Evaluation is not trimmed.
    loss, _, _ = tracked_terms(vae, x)
    assert loss == pytest.approx(per_example.mean(), rel=1e-5)
    assert VAE.from_config(vae.get_config()).trim_fraction == 0.25


def test_importance_weighted_training_with_a_learned_gaussian_std(binary_x):
    vae = make_vae(likelihood="gaussian", decoder_std="learned", iw_samples=5)
    assert vae.decoder_log_var is not None
    assert any(w is vae.decoder_log_var for w in vae.trainable_weights)
    history = fit(vae, binary_x, epochs=3)
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0] - 0.2
    log_var = float(vae.decoder_log_var.numpy())
    # It started at 0 (std 1); binary pixels around their mean have a std
    # below 1, so training shrinks it.
    assert log_var < -0.05
    fixed = make_vae(likelihood="gaussian", decoder_std=0.5)
    assert len(fixed.trainable_weights) == len(vae.trainable_weights) - 1


def test_kl_warmup_weight_rises_linearly(binary_x):
    vae = make_vae(kl_warmup_steps=10, beta=0.5)
    for steps in (0.0, 4.0, 10.0, 25.0):
        vae.train_steps.assign(steps)
        loss, reconstruction, kl = tracked_terms(vae, binary_x[:60])
        weight = 0.5 * min(1.0, steps / 10)
        assert loss == pytest.approx(reconstruction + weight * kl, rel=1e-5, abs=1e-5)
        assert float(vae.train_steps.numpy()) == steps  # evaluation: no step
    tracked_terms(vae, binary_x[:60], training=True)
    assert float(vae.train_steps.numpy()) == 26.0


def test_kl_warmup_during_fit(binary_x):
    # Under jit the step counter, a non-trainable variable updated inside
    # compute_loss, must come back out of the stateless training step.
    vae = make_vae(kl_warmup_steps=30)
    history = fit(vae, binary_x, epochs=3)
    assert float(vae.train_steps.numpy()) == 3 * 5  # 5 batches of 60 per epoch
    ratio = (np.array(history["loss"]) - history["reconstruction"]) / history["kl"]
    # Mean weights over each epoch's steps 0-4, 5-9, 10-14, out of 30.
    assert np.all(np.diff(ratio) > 0)
    assert np.all((ratio >= 0) & (ratio < 0.5))
    np.testing.assert_allclose(ratio, [2 / 30, 7 / 30, 12 / 30], atol=0.05)


# -- free bits -------------------------------------------------------------


def _unit_kl(vae, x):
    """Each example's KL per latent unit, in numpy from the encoder."""
    z_mean, z_log_var = (a.astype(np.float64) for a in vae.encode(x))
    return 0.5 * (np.exp(z_log_var) + z_mean**2 - 1.0 - z_log_var)


def _free_bits_vae(**kwargs):
    """Unit 0's means stay near 0 (KL ~ 0.03 < 0.7), unit 1's far from it."""
    vae = make_vae(**kwargs)
    kernel = np.zeros((HIDDEN[-1], LATENT), "float32")
    kernel[:, 0], kernel[:, 1] = 0.01, 0.5
    set_posterior(vae, -0.3, mean_kernel=kernel)
    return vae


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_free_bits_objective_matches_numpy(binary_x, beta):
    """loss = reconstruction + beta * sum_j max(lambda, mean_batch KL_j),
    with one unit below lambda and one above; `kl` stays the true KL."""
    vae = _free_bits_vae(beta=beta, free_bits=0.7)
    x = binary_x[:60]
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


def test_free_bits_with_sample_weights_uses_the_weighted_batch_mean(binary_x):
    vae = _free_bits_vae(free_bits=0.7)
    x = binary_x[:60]
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


# -- padded batches and the row-weighted loss -------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"iw_samples": 3}, {"kl_warmup_steps": 4}],
    ids=["elbo", "iwae", "warmup"],
)
def test_padded_batch_with_zero_weights_has_the_loss_of_its_real_rows(
    binary_x, kwargs, monkeypatch
):
    """Data-parallel training pads a ragged batch with rows of weight 0: the
    loss and the tracked `loss`, `reconstruction` and `kl` must be those of
    the real rows alone, as on one device, with the same draws (an example's
    noise does not depend on the batch's size)."""
    real, pad = binary_x[:7], 3
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
        return (
            vae,
            float(loss),
            {k: float(v) for k, v in vae.get_metrics_result().items()},
        )

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


def test_the_reported_loss_is_the_mean_over_real_rows():
    """Keras' own tracker weights each batch's loss by its padded size; the
    VAE reports `loss_tracker`, which `compute_loss` weights by the real
    rows."""
    vae = make_vae()
    vae.compile(optimizer="adam")
    tracker = vae.loss_tracker
    assert tracker in vae.metrics
    tracker.update_state(2.0, 3)  # a batch of 3 real rows
    tracker.update_state(4.0, 1)  # a padded batch with 1 real row
    assert float(tracker.result()) == pytest.approx((2.0 * 3 + 4.0) / 4)
    assert vae.get_metrics_result()["loss"] == pytest.approx((2.0 * 3 + 4.0) / 4)
    assert tracker.name not in vae.get_metrics_result()


# -- a VAE without networks: adapt builds them for the data -----------------


def test_a_vae_without_networks_refuses_to_run_until_adapted():
    vae = VAE(latent_dim=2, hidden_dims=[8])
    assert not vae.networks_built and vae.encoder is None and vae.decoder is None
    x = np.random.default_rng(0).random((4, 6)).astype("float32")
    message = "no networks yet: they are built for the data by adapt"
    for use in (
        lambda: vae(x),
        lambda: vae.encode(x),
        lambda: vae.decode(np.zeros((2, 2), "float32")),
        lambda: vae.sample(2),
        lambda: vae.elbo_terms(x),
        lambda: vae.predict(x),
    ):
        with pytest.raises(InvalidArgument, match=message):
            use()
    assert vae.adapt(x) is vae
    assert vae.networks_built and vae.data_shape == (6,) and vae.latent_dim == 2
    assert vae.encode(x)[0].shape == (4, 2)
    with pytest.raises(InvalidArgument, match="adapt builds them once"):
        vae.adapt(x)


def test_adapt_builds_the_networks_from_the_settings():
    x = np.random.default_rng(0).random((40, 4, 4, 1)).astype("float32")
    vae = VAE(
        latent_dim=3,
        hidden_dims=[2, 4],
        architecture="conv",
        activation="elu",
        seed=5,
        likelihood="gaussian",
        decoder_std="learned-per-feature",
    ).adapt(x)
    names = [layer.name for layer in vae.encoder.layers]
    assert names == [
        "x", "transform", "conv_0", "conv_1", "flatten", "z_mean", "z_log_var"
    ]  # fmt: skip
    assert vae.encoder.get_layer("conv_0").activation.__name__ == "elu"
    assert vae.latent_dim == 3 and vae.data_shape == (4, 4, 1)
    # Gaussian: standardised inside the model, per channel, by adapt.
    assert isinstance(vae.transform, DataTransform)
    assert float(vae.transform.mean[0]) == pytest.approx(x.mean(), rel=1e-5)
    assert float(vae.transform.scale[0]) == pytest.approx(x.std(), rel=1e-4)
    assert tuple(vae.decoder_log_var.shape) == (4, 4, 1)
    # The seed builds the same weights again.
    unbuilt = {**vae.get_config(), "encoder": None, "decoder": None}
    again = VAE.from_config(unbuilt).adapt(x)
    for a, b in zip(vae.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_adapt_refuses_data_that_does_not_suit_the_model():
    with pytest.raises(vaekit.VaekitError, match=r"\[0, 1\]"):
        VAE(latent_dim=2, hidden_dims=[4]).adapt(np.full((5, 3), 2.0, "float32"))
    with pytest.raises(vaekit.VaekitError, match="NaN"):
        VAE(likelihood="gaussian").adapt(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(vaekit.VaekitError, match="not numeric"):
        VAE(likelihood="gaussian").adapt(np.array([["a", "b"]], dtype=object))


def test_output_bias_data_mean_starts_at_the_datas_average(binary_x):
    vae = VAE(latent_dim=2, hidden_dims=[8], output_bias="data-mean", seed=0)
    vae.adapt(binary_x)
    bias = vae.decoder.get_layer("x_params").bias.numpy()
    p = np.clip(binary_x.mean(axis=0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(bias, np.log(p / (1 - p)), rtol=1e-5)
    zeros = VAE(latent_dim=2, hidden_dims=[8], seed=0).adapt(binary_x)
    np.testing.assert_array_equal(zeros.decoder.get_layer("x_params").bias, 0.0)


def test_get_config_and_from_config_of_an_unbuilt_vae():
    vae = VAE(
        likelihood="gaussian",
        beta=0.5,
        latent_dim=3,
        hidden_dims=(6, 4),
        dropout=0.1,
        conditional="numeric",
        seed=2,
        name="unbuilt",
    )
    config = vae.get_config()
    assert config["encoder"] is None and config["decoder"] is None
    assert config["hidden_dims"] == [6, 4] and config["latent_dim"] == 3
    assert config["conditional"] == "numeric" and config["name"] == "unbuilt"
    clone = VAE.from_config(config)
    assert not clone.networks_built
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(VAE) == "vaekit>VAE"
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(vae)
    )
    assert isinstance(restored, VAE) and restored.get_config() == config


def test_get_config_and_from_config_of_a_built_vae(table_vae, breast_cancer):
    vae, _ = table_vae
    config = vae.get_config()
    assert config["encoder"]["class_name"] == "Functional"
    clone = VAE.from_config(config)
    assert clone.networks_built and clone.data_shape == (30,)
    assert clone.transform is not None and clone.schema == vae.schema
    # The config is the architecture; the weights (the transform's
    # statistics too) come with set_weights.
    clone.set_weights(vae.get_weights())
    np.testing.assert_array_equal(
        clone.encode(breast_cancer)[0], vae.encode(breast_cancer)[0]
    )


# -- a raw DataFrame --------------------------------------------------------


def test_fit_on_a_raw_dataframe_trains_in_the_tables_units(table_vae, breast_cancer):
    vae, history = table_vae
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0]
    assert vae.schema == {"columns": list(breast_cancer.columns), "categories": {}}
    # Standardised inside the model, per column, on the training data.
    frame = breast_cancer.to_numpy(np.float64)
    np.testing.assert_allclose(np_(vae.transform.mean), frame.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np_(vae.transform.scale), frame.std(axis=0), rtol=1e-4)
    result = vaekit.evaluate(vae, breast_cancer, iw_samples=4, seed=0)
    assert result["n"] == len(breast_cancer)
    assert np.isfinite(result["log_likelihood"]) and np.isfinite(result["elbo"])
    assert result["elbo"] <= result["log_likelihood"]


def test_the_log_likelihood_is_in_the_tables_own_units(table_vae, breast_cancer):
    """The same model of the table with one column in units 1000 times
    smaller (its transform's statistics times 1000, the network the same):
    the evaluated log-likelihood of each row drops by log(1000), the
    log-Jacobian, and nothing else changes."""
    vae, _ = table_vae
    milli = VAE.from_config(vae.get_config())
    milli.set_weights(vae.get_weights())
    scale, mean = vae.transform.scale.numpy(), vae.transform.mean.numpy()
    milli.transform.scale.assign(scale * np.array([1000.0] + [1.0] * 29, "float32"))
    milli.transform.mean.assign(mean * np.array([1000.0] + [1.0] * 29, "float32"))
    frame = breast_cancer.copy()
    frame["mean radius"] *= 1000.0
    rows = breast_cancer.iloc[:32]
    eps = np.random.default_rng(0).normal(size=(5, 32, 2)).astype("float32")
    base = np_(vae.log_importance_weights(vae.as_array(rows), 5, epsilon=eps))
    scaled = np_(
        milli.log_importance_weights(milli.as_array(frame.iloc[:32]), 5, epsilon=eps)
    )
    np.testing.assert_allclose(scaled - base, -math.log(1000.0), atol=2e-4)
    result = vaekit.evaluate(vae, breast_cancer, iw_samples=4, seed=0)
    result_milli = vaekit.evaluate(milli, frame, iw_samples=4, seed=0)
    for key in ("log_likelihood", "elbo"):
        assert result_milli[key] - result[key] == pytest.approx(
            -math.log(1000.0), abs=1e-3
        )
    assert result_milli["kl"] == pytest.approx(result["kl"], abs=1e-4)


def test_text_columns_need_the_gaussian_likelihood():
    import pandas as pd

    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"]})
    with pytest.raises(InvalidArgument, match=r"colour.*likelihood='gaussian'"):
        VAE(latent_dim=2, hidden_dims=[4]).adapt(frame)
    vae = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[4]).adapt(frame)
    assert vae.schema == {
        "columns": ["size", "colour"],
        "categories": {"colour": ["blue", "red"]},
    }
    # One numeric column standardised, the text column one-hot.
    assert vae.transform.model_shape == (3,)


def test_labels_on_an_unconditional_vae_are_refused(binary_x):
    vae = make_vae()
    vae.compile(optimizer="adam")
    with pytest.raises(InvalidArgument, match=r"conditional=True"):
        vae.fit(binary_x, np.zeros(len(binary_x)), epochs=1, verbose=0)
    unbuilt = VAE(latent_dim=2, hidden_dims=[8])
    unbuilt.compile(optimizer="adam")
    with pytest.raises(InvalidArgument, match=r"conditional=True"):
        unbuilt.fit(binary_x, np.zeros(len(binary_x)), epochs=1, verbose=0)
    assert not unbuilt.networks_built


# -- conditional VAEs ---------------------------------------------------------


def test_a_conditional_vae_built_by_hand_trains_on_x_and_labels(conditional):
    """Its condition layers have names of their own ("labels", ...): the VAE
    finds them by position."""
    vae, history, x, y = conditional
    assert vae.conditional and vae.condition_shape == (1,)
    assert vae.transform is None
    assert vae.condition_transform.name == "labels"
    assert vae.num_classes == K
    assert vae.class_names == CLASS_NAMES
    assert np.isfinite(history["loss"]).all()
    assert history["loss"][-1] < history["loss"][0]
    np.testing.assert_allclose(
        history["loss"],
        np.add(history["reconstruction"], history["kl"]),
        rtol=1e-5,
    )


def _by_argument(x, y, **kwargs):
    vae = VAE(latent_dim=LATENT, hidden_dims=HIDDEN, seed=0, **kwargs)
    return vae, fit(vae, x, epochs=15, y=y)


@pytest.fixture(scope="module")
def by_argument():
    """`VAE(conditional=True)` fitted on the class data's labels as numbers
    and as text."""
    x, y = class_data()
    names = np.asarray(CLASS_NAMES)[y.astype(int)]
    return (
        x,
        y,
        names,
        _by_argument(x, y, conditional=True),
        _by_argument(x, names, conditional=True),
    )


def test_conditional_by_argument_on_class_labels(by_argument, conditional):
    x, y, _, (vae, history), _ = by_argument
    assert vae.conditional and vae.condition_kind == "auto"
    assert vae.num_classes == K and vae.class_names == ["0", "1", "2", "3"]
    assert history["loss"][-1] < history["loss"][0] - 1.0
    # Trained like the model built by hand: as good on the same data.
    by_hand = conditional[1]["loss"][-1]
    assert history["loss"][-1] == pytest.approx(by_hand, abs=1.0)
    # The labels condition it: class k's own pixels are the brightest.
    means = vae.decode(np.zeros((K, LATENT), "float32"), condition=np.arange(K))
    for k in range(K):
        own = means[k, 4 * k : 4 * k + 4].mean()
        assert own > np.delete(means[k], range(4 * k, 4 * k + 4)).mean() + 0.1
    assert vae.label_condition("2") == 2.0
    np.testing.assert_array_equal(vae.default_condition(5), [0, 1, 2, 3, 0])
    with pytest.raises(InvalidArgument, match="needs the condition"):
        vae.encode(x)


def test_conditional_by_argument_on_text_labels(by_argument):
    x, _, names, _, (vae, history) = by_argument
    # The class names, sorted; text labels anywhere map to them.
    assert vae.class_names == sorted(CLASS_NAMES)
    assert history["loss"][-1] < history["loss"][0] - 1.0
    np.testing.assert_array_equal(
        vae.condition_values(["west", "east"]),
        [sorted(CLASS_NAMES).index("west"), sorted(CLASS_NAMES).index("east")],
    )
    assert vae.label_condition("south") == float(sorted(CLASS_NAMES).index("south"))
    assert vae.label_condition("1") == 1.0  # an index
    with pytest.raises(InvalidArgument, match="not a class of the model"):
        vae.label_condition("up")
    z_mean, _ = vae.encode(x[:8], condition=names[:8])
    expected, _ = vae.encode(x[:8], condition=vae.condition_values(names[:8]))
    np.testing.assert_array_equal(z_mean, expected)


def test_conditional_numeric_by_argument(binary_x):
    y = np.linspace(-3.0, 3.0, len(binary_x)).astype("float32")
    vae = VAE(latent_dim=LATENT, hidden_dims=HIDDEN, seed=0, conditional="numeric")
    history = fit(vae, binary_x, epochs=2, y=y)
    assert np.isfinite(history["loss"]).all()
    assert vae.num_classes is None and vae.class_names is None
    assert vae.condition_transform.numeric == [0]
    assert float(vae.condition_transform.mean[0]) == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(vae.default_condition(2), [[0.0], [0.0]], atol=1e-6)
    assert vae.label_condition("2.5") == 2.5
    with pytest.raises(InvalidArgument, match="a number"):
        vae.label_condition("warm")


def test_conditional_vae_needs_labels_and_classes():
    x, y = class_data(n=8)
    with pytest.raises(InvalidArgument, match=r"fit\(x, y\)"):
        VAE(conditional=True, latent_dim=2, hidden_dims=[4]).adapt(x)
    with pytest.raises(vaekit.VaekitError, match="at least two classes"):
        VAE(conditional="classes", latent_dim=2, hidden_dims=[4]).adapt(x, np.zeros(8))
    # Classes by request: the distinct values present, whole or not.
    halves = VAE(conditional="classes", latent_dim=2, hidden_dims=[4])
    assert halves.adapt(x, y + 0.5).class_names == ["0.5", "1.5", "2.5", "3.5"]
    with pytest.raises(vaekit.VaekitError, match="the label of example 1 is inf"):
        VAE(conditional=True, latent_dim=2, hidden_dims=[4]).adapt(x, [0, np.inf] * 4)
