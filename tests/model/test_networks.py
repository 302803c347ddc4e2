"""vaekit.model.networks: the encoder and decoder, their shapes, parameter
counts, seeds, dropout, argument checks, the condition input, and how a VAE
finds their transforms (by position) and checks that they fit."""

import keras
import numpy as np
import pytest

from vaekit.errors import InvalidArgument
from vaekit.model.layers import DataTransform
from vaekit.model.networks import (
    build_decoder,
    build_encoder,
    check_networks,
    network_transforms,
)


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


def test_the_package_names_the_builders():
    import vaekit
    import vaekit.model

    assert vaekit.model.build_encoder is build_encoder is vaekit.build_encoder
    assert vaekit.model.build_decoder is build_decoder is vaekit.build_decoder


def _condition(name, classes=3):
    transform = DataTransform((1,), categorical=[[0, classes]], name=name)
    transform.adapt(np.arange(classes, dtype="float32").reshape(-1, 1))
    return transform


def test_a_condition_is_a_second_input_joined_to_the_features():
    encoder = build_encoder((6,), [5], 2, condition=_condition("labels"), seed=0)
    decoder = build_decoder((6,), [5], 2, condition=_condition("labels_2"), seed=1)
    assert [tuple(t.shape) for t in encoder.inputs] == [(None, 6), (None, 1)]
    assert [tuple(t.shape) for t in decoder.inputs] == [(None, 2), (None, 1)]
    # 6 features + a one-hot of 3 classes into the hidden layer; the decoder's
    # output layer sees the condition too.
    assert encoder.get_layer("hidden_0").kernel.shape == (9, 5)
    assert decoder.get_layer("hidden_0").kernel.shape == (5, 5)
    assert decoder.get_layer("x_params").kernel.shape == (8, 6)
    x = np.random.default_rng(0).random((4, 6)).astype("float32")
    z_mean, _ = encoder([x, np.array([[0], [1], [2], [0]], "float32")])
    other, _ = encoder([x, np.array([[1], [1], [2], [0]], "float32")])
    z_mean, other = (keras.ops.convert_to_numpy(t) for t in (z_mean, other))
    # Only the first example's label changed, and only its code moved.
    assert np.abs(z_mean[0] - other[0]).max() > 1e-6
    np.testing.assert_array_equal(z_mean[1:], other[1:])


@pytest.mark.parametrize(
    "names", [("transform", "condition_transform"), ("my_scaler", "labels")]
)
def test_network_transforms_are_found_by_position_whatever_their_names(names):
    data = DataTransform((6,), name=names[0])
    data.adapt(np.random.default_rng(0).random((10, 6)))
    condition = _condition(names[1])
    encoder = build_encoder((6,), [5], 2, transform=data, condition=condition)
    assert network_transforms(encoder) == (data, condition)
    decoder = build_decoder((6,), [5], 2, condition=_condition(names[1] + "_copy"))
    found, found_condition = network_transforms(decoder)
    assert found is None and found_condition.name == names[1] + "_copy"
    plain = build_encoder((6,), [5], 2)
    assert network_transforms(plain) == (None, None)
    only_condition = build_encoder((6,), [5], 2, condition=_condition("c"))
    assert network_transforms(only_condition)[0] is None


def test_a_transform_inside_the_network_is_not_taken_for_the_inputs():
    """Only the layer that takes an input counts: a DataTransform further in
    is part of the network, not the model's preprocessing."""
    x = keras.Input((3,), name="x")
    inner = DataTransform((4,), name="transform")
    h = inner(keras.layers.Dense(4)(x))
    encoder = keras.Model(
        x, [keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)], name="encoder"
    )
    assert network_transforms(encoder) == (None, None)


def test_check_networks_refuses_networks_that_do_not_fit():
    encoder = build_encoder((6,), [5], 2)
    check_networks(encoder, build_decoder((6,), [5], 2))  # fits: no error
    with pytest.raises(InvalidArgument, match="latent"):
        check_networks(encoder, build_decoder((6,), [5], 3))
    conditional = build_decoder((6,), [5], 2, condition=_condition("c"))
    with pytest.raises(InvalidArgument, match="condition"):
        check_networks(encoder, conditional)
    with pytest.raises(InvalidArgument, match="condition"):
        check_networks(
            build_encoder((6,), [5], 2, condition=_condition("d")),
            build_decoder((6,), [5], 2),
        )
