"""The encoder and decoder networks of a VAE: MLPs (the tutorial's) or
stride-2 convolutions, as functional `keras.Model`s."""

import math

import keras

from vaekit import checks
from vaekit.errors import InvalidArgument
from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose
from vaekit.model.layers import DataTransform

__all__ = [
    "build_decoder",
    "build_encoder",
    "check_networks",
    "network_transforms",
    "seeded_initializers",
]


def _check_arguments(shape, hidden_dims, latent_dim, architecture, dropout):
    """Checks the arguments shared by both builders; returns `(shape,
    hidden_dims)` as tuples of ints."""
    hidden_dims = tuple(hidden_dims)
    for i, units in enumerate(hidden_dims):
        checks.integer(units, f"hidden_dims[{i}]")
    checks.integer(latent_dim, "latent_dim")
    checks.one_of(architecture, "architecture", checks.ARCHITECTURES)
    checks.number(dropout, "dropout", 0, 1, exclusive=("maximum",))
    shape = tuple(int(s) for s in shape)
    if architecture == "conv":
        factor = 2 ** len(hidden_dims)
        if len(shape) != 3 or not hidden_dims:
            raise InvalidArgument(
                "The conv architecture needs images of shape (height, width, "
                f"channels) and at least one layer. Received: shape={shape}, "
                f"hidden_dims={hidden_dims}"
            )
        if shape[0] % factor or shape[1] % factor:
            raise InvalidArgument(
                f"The conv architecture halves height and width {len(hidden_dims)} "
                f"times, so both must be divisible by {factor}. Received: "
                f"shape={shape}, hidden_dims={hidden_dims}"
            )
    return shape, hidden_dims


def _conditioned(first, h, condition):
    """`([first, y], concat(h, c), c)`: the condition input `y` of shape
    `condition.data_shape`, transformed (`c`) and joined to the features."""
    y = keras.Input(shape=condition.data_shape, name="condition")
    c = condition(y)
    joined = keras.layers.Concatenate(name="join_condition")([h, c])
    return [first, y], joined, c


def seeded_initializers(seed):
    """Returns a function giving a fresh Glorot-uniform initializer, seeded
    `seed, seed + 1, ...` when `seed` is given."""
    counter = iter(range(10**9))

    def init():
        return keras.initializers.GlorotUniform(
            seed=None if seed is None else seed + next(counter)
        )

    return init


def _mlp(h, units, activation, init, dropout, seed):
    """`Dense` layers `hidden_i`, each followed by `dropout_i` if `dropout`."""
    for i, size in enumerate(units):
        h = keras.layers.Dense(
            size, activation=activation, name=f"hidden_{i}", kernel_initializer=init()
        )(h)
        if dropout:
            h = keras.layers.Dropout(
                dropout,
                seed=None if seed is None else seed + 500 + i,
                name=f"dropout_{i}",
            )(h)
    return h


def _convolutions(h, layer, prefix, filters, activation, init):
    """Stride-2 `layer`s (`Conv2D` halves, `Conv2DTranspose` doubles the
    height and width) named `prefix_i`."""
    for i, size in enumerate(filters):
        h = layer(
            size,
            3,
            strides=2,
            padding="same",
            activation=activation,
            name=f"{prefix}_{i}",
            kernel_initializer=init(),
        )(h)
    return h


def build_encoder(
    input_shape,
    hidden_dims=(512, 256),
    latent_dim=32,
    activation="relu",
    architecture="mlp",
    name="encoder",
    seed=None,
    dropout=0.0,
    transform=None,
    condition=None,
):
    """Builds the inference network ``x -> [z_mean, z_log_var]``, or
    ``[x, y] -> [z_mean, z_log_var]`` with a `condition`.

    As in the tutorial, two linear `Dense(latent_dim)` heads sit on the last
    hidden layer; the second predicts the log-variance (not the standard
    deviation) of q(z|x), which cannot produce `log(0)`.

    Args:
        input_shape: Shape of one example, `(D,)` for vectors or
            `(H, W, C)` / `(H, W)` for images. Images keep their shape.
        hidden_dims: Units of each hidden `Dense` layer (`"mlp"`), or filters
            of each stride-2 `Conv2D` layer (`"conv"`).
        latent_dim: Number of latent units.
        activation: Activation of the hidden layers.
        architecture: `"mlp"` or `"conv"` (needs `(H, W, C)` inputs with `H`
            and `W` divisible by `2 ** len(hidden_dims)`).
        name: Name of the model.
        seed: Optional integer: seeds every layer's kernel initializer, so
            the same seed builds the same weights in any process.
        dropout: Rate of a `Dropout` layer after each hidden MLP layer (a
            regularizer for small data sets; 0: none).
        transform: Optional adapted `vaekit.model.DataTransform` of
            `input_shape`, applied first: the encoder then takes data in
            its own units (the VAE finds it as the layer on its input).
        condition: Optional adapted `DataTransform` of the condition `y`
            (class labels as one categorical column, or numeric columns),
            applied to a second input `condition` and concatenated to the
            features before the dense layers: q(z|x, y).

    Returns:
        A functional `keras.Model` with outputs `[z_mean, z_log_var]`, each
        of shape `(batch, latent_dim)`.

    Raises:
        InvalidArgument: if an argument is invalid.
    """
    input_shape, hidden_dims = _check_arguments(
        input_shape, hidden_dims, latent_dim, architecture, dropout
    )
    init = seeded_initializers(seed)
    inputs = keras.Input(shape=input_shape, name="x")
    h = inputs
    if transform is not None:
        h = transform(h)
    if architecture == "conv":
        h = _convolutions(h, keras.layers.Conv2D, "conv", hidden_dims, activation, init)
    if len(h.shape) > 2:
        h = keras.layers.Flatten(name="flatten")(h)
    if condition is not None:
        inputs, h, _ = _conditioned(inputs, h, condition)
    if architecture == "mlp":
        h = _mlp(h, hidden_dims, activation, init, dropout, seed)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean", kernel_initializer=init())(h)
    z_log_var = keras.layers.Dense(
        latent_dim, name="z_log_var", kernel_initializer=init()
    )(h)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def build_decoder(
    output_shape,
    hidden_dims=(512, 256),
    latent_dim=32,
    activation="relu",
    architecture="mlp",
    name="decoder",
    seed=None,
    dropout=0.0,
    condition=None,
):
    """Builds the generative network ``z -> parameters of p(x|z)``, or
    ``[z, y] -> parameters of p(x|z, y)`` with a `condition`.

    The decoder maps a latent code alone to the data space, so it generates
    from the prior as well as it reconstructs. Its output is unconstrained:
    the VAE reads it as Bernoulli **logits** or as the **mean** of a Gaussian,
    by its `likelihood`; `VAE.decode` returns the mean in data space
    (`sigmoid(logits)` for Bernoulli).

    Args:
        output_shape: Shape of one example, as `input_shape` of
            `build_encoder`.
        hidden_dims: As for `build_encoder`; the decoder uses them in reverse
            order, mirroring the encoder.
        latent_dim: Number of latent units.
        activation: Activation of the hidden layers.
        architecture: `"mlp"` or `"conv"` (stride-2 `Conv2DTranspose`).
        name: Name of the model.
        seed: Optional integer seed of the kernel initializers.
        dropout: Rate of a `Dropout` layer after each hidden MLP layer.
        condition: Optional adapted `DataTransform` of the condition, as for
            `build_encoder` (its own copy): `[z, y]` are concatenated, and
            for an MLP `y` joins the last hidden layer's output too.

    Returns:
        A functional `keras.Model` from `(batch, latent_dim)` (and the
        condition) to `(batch, *output_shape)`.

    Raises:
        InvalidArgument: if an argument is invalid.
    """
    output_shape, hidden_dims = _check_arguments(
        output_shape, hidden_dims, latent_dim, architecture, dropout
    )
    init = seeded_initializers(seed)
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, h, c = z, z, None
    if condition is not None:
        inputs, h, c = _conditioned(z, z, condition)
    reverse = tuple(reversed(hidden_dims))
    if architecture == "conv":
        factor = 2 ** len(hidden_dims)
        start = (output_shape[0] // factor, output_shape[1] // factor, hidden_dims[-1])
        h = keras.layers.Dense(
            math.prod(start),
            activation=activation,
            name="project",
            kernel_initializer=init(),
        )(h)
        h = keras.layers.Reshape(start, name="unflatten")(h)
        h = _convolutions(
            h, SubpixelConv2DTranspose, "deconv", reverse, activation, init
        )
        return keras.Model(
            inputs,
            MatmulConv2D(
                output_shape[-1],
                3,
                padding="same",
                name="x_params",
                kernel_initializer=init(),
            )(h),
            name=name,
        )
    h = _mlp(h, reverse, activation, init, dropout, seed)
    if c is not None and reverse:
        # The condition reaches the output layer too: a direct path for what
        # the label says about x, so that p(x|z, y) uses y.
        h = keras.layers.Concatenate(name="join_condition_output")([h, c])
    params = keras.layers.Dense(
        math.prod(output_shape), name="x_params", kernel_initializer=init()
    )(h)
    if len(output_shape) > 1:
        params = keras.layers.Reshape(output_shape, name="unflatten")(params)
    return keras.Model(inputs, params, name=name)


def network_transforms(network):
    """The `DataTransform` layers a network applies to its inputs: `(of x
    or z, of the condition)`, each None where the input goes in as it is.
    They are found by position (the layer that takes the input), not by
    name."""
    found = [None] * len(network.inputs)
    for layer in network.layers:
        if isinstance(layer, DataTransform):
            for i, tensor in enumerate(network.inputs):
                if layer.input is tensor:
                    found[i] = layer
    return found[0], (found[1] if len(found) > 1 else None)


def check_networks(encoder, decoder):
    """Checks that an encoder and a decoder fit each other."""
    conditional = len(encoder.inputs) == 2
    if conditional != (len(decoder.inputs) == 2) or len(encoder.inputs) > 2:
        raise InvalidArgument(
            "The encoder and decoder must both take a condition (two inputs) "
            f"or neither. Received: {len(encoder.inputs)} encoder inputs, "
            f"{len(decoder.inputs)} decoder inputs"
        )
    z_shape = tuple(encoder.outputs[0].shape[1:])
    if tuple(decoder.inputs[0].shape[1:]) != z_shape:
        raise InvalidArgument(
            "The decoder's input must match the encoder's latent output. "
            f"Received: encoder latent shape={z_shape}, decoder "
            f"input shape={tuple(decoder.inputs[0].shape[1:])}"
        )
