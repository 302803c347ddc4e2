"""The memory a model and its outputs need, known before anything is built
or drawn: `adapt` (and `vaekit train`) refuse a model whose weights cannot
fit in this machine's memory, and `VAE.sample`, `VAE.decode` and the
manifold refuse more decoded examples than fit, each with one line that
says how much it would need, instead of letting the allocation abort the
process or run for hours."""

import math

from vaekit import checks, resources

__all__ = [
    "DECODE_COPIES",
    "TRAINING_COPIES",
    "check_decode_fits",
    "check_model_fits",
    "parameter_count",
]

# Float32 copies of the weights that training holds at once: the weights,
# their gradients and the optimizer's state (Adam: two moments per weight).
TRAINING_COPIES = {"sgd": 2, "rmsprop": 3, "adam": 4, "adamw": 4}
# Float32 copies of each decoded example held at once: the decoder's output
# (a Gaussian's mean and scale), the mean, and the numpy result.
DECODE_COPIES = 4


def _dense(inputs, units):
    return inputs * units + units


def _conv(channels, filters):
    return 9 * channels * filters + filters  # a 3x3 kernel and a bias


def _mlp_parameters(width, hidden_dims, latent_dim, condition_width):
    encoder, units = 0, width + condition_width
    for size in hidden_dims:
        encoder, units = encoder + _dense(units, size), size
    encoder += 2 * _dense(units, latent_dim)  # z_mean, z_log_var
    decoder, units = 0, latent_dim + condition_width
    for size in reversed(hidden_dims):
        decoder, units = decoder + _dense(units, size), size
    if condition_width and hidden_dims:
        units += condition_width  # the condition joins the output layer too
    return encoder + decoder + _dense(units, width)


def _conv_parameters(shape, hidden_dims, latent_dim, condition_width):
    height, width, channels = shape
    factor = 2 ** len(hidden_dims)
    cells = max(height // factor, 1) * max(width // factor, 1)
    encoder, units = 0, channels
    for filters in hidden_dims:
        encoder, units = encoder + _conv(units, filters), filters
    encoder += 2 * _dense(cells * units + condition_width, latent_dim)
    decoder = _dense(latent_dim + condition_width, cells * hidden_dims[-1])
    units = hidden_dims[-1]
    for filters in reversed(hidden_dims):
        decoder, units = decoder + _conv(units, filters), filters
    return encoder + decoder + _conv(units, channels)


def parameter_count(
    shape, hidden_dims, latent_dim, architecture="mlp", condition_width=0
):
    """The trainable weights of the encoder and decoder that
    `vaekit.model.networks.build_encoder` and `build_decoder` build, counted
    from their arguments alone (nothing is built).

    Args:
        shape: The shape of one example in the model's units (after its
            `DataTransform`: one-hot columns counted), `(D,)` or `(H, W, C)`.
        hidden_dims: Units of the hidden layers (filters for `"conv"`).
        latent_dim: Latent units.
        architecture: `"mlp"` or `"conv"`.
        condition_width: Width of the transformed condition of a
            conditional model (0: none).

    Returns:
        The number of trainable weights (an int).
    """
    hidden_dims = tuple(int(h) for h in hidden_dims)
    if architecture == "conv" and len(shape) == 3 and hidden_dims:
        return _conv_parameters(shape, hidden_dims, latent_dim, condition_width)
    width = math.prod(shape)
    return _mlp_parameters(width, hidden_dims, latent_dim, condition_width)


def check_model_fits(
    shape, hidden_dims, latent_dim, architecture="mlp", condition_width=0, copies=1
):
    """Refuses networks whose weights cannot fit in this machine's memory.

    Args:
        shape, hidden_dims, latent_dim, architecture, condition_width: As
            for `parameter_count`.
        copies: Float32 copies of the weights held at once (1 to build the
            model; `TRAINING_COPIES` of the optimizer to train it).

    Raises:
        InvalidArgument: if an argument is invalid (as the network builders
            say), or `"the model would hold 78.4 G parameters (314 GB of
            float32 weights, x4 with ...), which would need ...; this
            machine has 24 GB: ..."`.
    """
    for i, units in enumerate(hidden_dims):
        checks.integer(units, f"hidden_dims[{i}]")
    checks.integer(latent_dim, "latent_dim")
    checks.one_of(architecture, "architecture", checks.ARCHITECTURES)
    count = parameter_count(
        shape, hidden_dims, latent_dim, architecture, condition_width
    )
    weights = count * resources.FLOAT_BYTES
    extra = ""
    if copies > 1:
        extra = f", x{copies} with the gradients and the optimizer's state"
    resources.check_fits(
        weights * copies,
        f"the model would hold {resources.count_text(count)} parameters "
        f"({resources.size_text(weights)} of float32 weights{extra}), which",
        hint="use fewer or smaller hidden layers (hidden_dims) or a smaller latent_dim",
    )


def check_decode_fits(data_shape, latent_dim, n, what, hint="", extra_bytes=0):
    """Refuses decoding `n` codes when the codes and the decoded examples
    cannot fit in this machine's memory.

    Args:
        data_shape: The shape of one decoded example.
        latent_dim: Latent units of a code (float64 while drawn).
        n: How many examples would be decoded.
        what: What is asked for, for the message (`"2000000000 samples"`).
        hint: What to do instead.
        extra_bytes: Bytes the result needs besides (a picture's pixels).

    Raises:
        InvalidArgument: `"<what> would need 29.8 TB of memory; this machine
            has 24 GB: <hint>"`.
    """
    example = math.prod(data_shape) * resources.FLOAT_BYTES * DECODE_COPIES
    nbytes = n * (latent_dim * 8 + example) + extra_bytes
    resources.check_fits(nbytes, what, hint=hint)
