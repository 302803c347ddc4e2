"""vaekit.model.networks: the encoder and decoder, their shapes, parameter counts,
seeds, dropout and argument checks."""

import keras
import numpy as np
import pytest

from vaekit.model.networks import build_decoder, build_encoder


@pytest.mark.parametrize(
    "shape, architecture, hidden, params",
    [
        # 784*8+8 hidden, 2 * (8*2+2) heads
        ((784,), "mlp", (8,), 784 * 8 + 8 + 2 * (8 * 2 + 2)),
        ((28, 28, 1), "mlp", (8,), 784 * 8 + 8 + 2 * (8 * 2 + 2)),
        # conv 3x3: 1->4 and 4->8 filters, then heads on 7*7*8 features
        (
            (28, 28, 1),
            "conv",
            (4, 8),
            (9 * 4 + 4) + (9 * 4 * 8 + 8) + 2 * (392 * 2 + 2),
        ),
    ],
    ids=["flat-mlp", "image-mlp", "image-conv"],
)
def test_encoder_shapes(shape, architecture, hidden, params):
    encoder = build_encoder(shape, hidden, latent_dim=2, architecture=architecture)
    assert [tuple(t.shape) for t in encoder.outputs] == [(None, 2), (None, 2)]
    assert encoder.count_params() == params
    if architecture == "mlp":  # conv shapes above are traced, not guessed
        z_mean, z_log_var = encoder(np.zeros((3, *shape), "float32"))
        assert tuple(z_mean.shape) == tuple(z_log_var.shape) == (3, 2)


@pytest.mark.parametrize(
    "shape, architecture, hidden, params",
    [
        ((784,), "mlp", (8,), (2 * 8 + 8) + (8 * 784 + 784)),
        ((28, 28, 1), "mlp", (8,), (2 * 8 + 8) + (8 * 784 + 784)),
        # project 2 -> 7*7*8, deconvs 8->8 and 8->4, output conv 4->1
        (
            (28, 28, 1),
            "conv",
            (4, 8),
            (2 * 392 + 392) + (9 * 8 * 8 + 8) + (9 * 8 * 4 + 4) + (9 * 4 + 1),
        ),
    ],
    ids=["flat-mlp", "image-mlp", "image-conv"],
)
def test_decoder_shapes(shape, architecture, hidden, params):
    decoder = build_decoder(shape, hidden, latent_dim=2, architecture=architecture)
    assert tuple(decoder.inputs[0].shape) == (None, 2)
    assert tuple(decoder.outputs[0].shape) == (None, *shape)
    assert decoder.count_params() == params
    if architecture == "mlp":
        assert tuple(decoder(np.zeros((3, 2), "float32")).shape) == (3, *shape)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (
            {"input_shape": (28, 28, 1), "hidden_dims": (8,), "latent_dim": 0},
            "latent_dim",
        ),
        ({"input_shape": (16,), "hidden_dims": (8, -1)}, r"hidden_dims\[1\]"),
        ({"input_shape": (16,), "dropout": 1.0}, "dropout"),
        ({"input_shape": (16,), "architecture": "rnn"}, "architecture"),
        ({"input_shape": (16,), "architecture": "conv"}, "shape"),
        # 2 ** 3 = 8 does not divide 28
        (
            {
                "input_shape": (28, 28, 1),
                "hidden_dims": (4, 4, 4),
                "architecture": "conv",
            },
            "shape",
        ),
    ],
)
def test_bad_architecture_arguments_are_refused(kwargs, field):
    with pytest.raises(ValueError, match=f"Received: {field}="):
        build_encoder(**kwargs)
    kwargs["output_shape"] = kwargs.pop("input_shape")
    with pytest.raises(ValueError, match=f"Received: {field}="):
        build_decoder(**kwargs)


def test_the_same_seed_builds_the_same_weights():
    for build in (build_encoder, build_decoder):
        a = build((12,), [16], latent_dim=2, seed=3).get_weights()
        b = build((12,), [16], latent_dim=2, seed=3).get_weights()
        c = build((12,), [16], latent_dim=2, seed=4).get_weights()
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
        assert not np.array_equal(a[0], c[0])


def test_dropout_regularizes_training_only():
    encoder = build_encoder((12,), [16], latent_dim=2, dropout=0.5, seed=0)
    decoder = build_decoder((12,), [16], latent_dim=2, dropout=0.5, seed=1)
    names = [layer.name for layer in encoder.layers + decoder.layers]
    assert names.count("dropout_0") == 2
    x = np.random.default_rng(0).random((8, 12)).astype("float32")
    # Inference is deterministic; training drops units (different outputs).
    a = keras.ops.convert_to_numpy(encoder(x, training=False)[0])
    b = keras.ops.convert_to_numpy(encoder(x, training=False)[0])
    c = keras.ops.convert_to_numpy(encoder(x, training=True)[0])
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    with pytest.raises(ValueError, match="Received: dropout=1.5"):
        build_encoder((12,), [16], latent_dim=2, dropout=1.5)


@pytest.mark.parametrize(
    "shape, hidden, architecture, encoder_names, decoder_names",
    [
        (
            (28, 28, 1),
            (4, 8),
            "conv",
            ["x", "conv_0", "conv_1", "flatten", "z_mean", "z_log_var"],
            ["z", "project", "unflatten", "deconv_0", "deconv_1", "x_params"],
        ),
        (
            (28, 28, 1),
            (8,),
            "mlp",
            ["x", "flatten", "hidden_0", "dropout_0", "z_mean", "z_log_var"],
            ["z", "hidden_0", "dropout_0", "x_params", "unflatten"],
        ),
    ],
)
def test_layer_names_are_those_saved_models_hold(
    shape, hidden, architecture, encoder_names, decoder_names
):
    """A `.keras` file restores weights by layer: the names stay as saved."""
    kwargs = {"architecture": architecture, "dropout": 0.1 * (architecture == "mlp")}
    encoder = build_encoder(shape, hidden, 2, **kwargs)
    decoder = build_decoder(shape, hidden, 2, **kwargs)
    assert [layer.name for layer in encoder.layers] == encoder_names
    assert [layer.name for layer in decoder.layers] == decoder_names


def test_models_and_the_package_still_name_the_builders():
    import vaekit
    import vaekit.model.vae

    assert vaekit.model.vae.build_encoder is build_encoder is vaekit.build_encoder
    assert vaekit.model.vae.build_decoder is build_decoder is vaekit.build_decoder
