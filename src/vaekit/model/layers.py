"""Keras layers of vaekit: `Sampling` (the reparameterization trick) and
`DataTransform` (standardisation and one-hot columns inside the model)."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from vaekit import checks

__all__ = ["DataTransform", "MatmulConv2D", "Sampling", "SubpixelConv2DTranspose"]


@keras.saving.register_keras_serializable(package="vaekit")
class Sampling(keras.layers.Layer):
    """Draws ``z ~ N(z_mean, epsilon_std^2 * exp(z_log_var))``: the
    reparameterization trick (Kingma & Welling 2013, eq. 10).

    ``z = z_mean + exp(z_log_var / 2) * epsilon * epsilon_std`` with one
    ``epsilon ~ N(0, 1)`` per sample and latent unit, so each row of a batch
    gets its own noise (the tutorial drew one epsilon for the whole batch).

    Args:
        epsilon_std: Float >= 0, the standard deviation of epsilon, as in the
            tutorial. 1.0 samples the encoder's posterior exactly; 0 returns
            ``z_mean``.
        seed: Optional integer seed of the layer's own
            `keras.random.SeedGenerator`.

    Call arguments:
        inputs: A list ``[z_mean, z_log_var]`` of two tensors of the same
            shape ``(..., latent_dim)``.
        training: Ignored: the layer samples in training and inference alike,
            since a VAE's posterior draw is part of the model, not a
            regularizer.

    Returns:
        A tensor of the shape of ``z_mean``.

    Example:

    >>> z = Sampling(seed=0)([ops.zeros((4, 2)), ops.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, epsilon_std=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon_std, numbers.Real) and not isinstance(epsilon_std, bool):
            epsilon_std = float(epsilon_std)  # numpy scalars too
        checks.number(epsilon_std, "epsilon_std", minimum=0)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise checks.invalid("seed", "an integer or None", seed)
        self.epsilon_std = float(epsilon_std)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(
            ops.shape(z_mean),
            stddev=self.epsilon_std,
            dtype=z_mean.dtype,
            seed=self.seed_generator,
        )
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        base_config = super().get_config()
        config = {"epsilon_std": self.epsilon_std, "seed": self.seed}
        return {**base_config, **config}


@keras.saving.register_keras_serializable(package="vaekit")
class DataTransform(keras.layers.Layer):
    """Maps data in its own units to the space a Gaussian VAE models, and
    back: each numeric feature standardised, each categorical column
    one-hot.

    The numeric features are those along the last axis (a table's numeric
    columns; an image's channels), as `keras.layers.Normalization(axis=-1)`
    standardises them: `(x - mean) / scale`, where `adapt` sets `mean` and
    `scale` (the standard deviation) from the training data. A constant
    feature (standard deviation 0, or below `1e-7` of its magnitude, float32's
    rounding) gets
    scale 1, so nothing is divided by zero. Categorical columns (tables
    only) hold category indices `0..n-1` and become one-hot vectors (an index
    outside `0..n-1` becomes a vector of zeros, which `log_likelihood`
    cannot score: `vaekit.data.readers.read_csv` refuses unknown categories). The
    model's space is `[standardised numeric columns, one-hot blocks]`.

    The decoder's output has the shape of the model's space (`model_shape`):
    Gaussian means of the standardised numeric features, then one block of
    logits per categorical column. `log_likelihood` is the log-density of
    the data **in its own units**: the Gaussian's in the model's space plus
    the transform's log-Jacobian, `-sum(log scale)` (per position of an
    image), plus each categorical column's log-probability; so numbers stay
    comparable across scalings. `inverse` maps decoder outputs back to the
    data's units (numeric means, and each categorical column's most probable
    category).

    Args:
        data_shape: Shape of one example in the data's units: `(D,)` for a
            table, `(H, W, C)` for images.
        categorical: For tables: `[[column, n_categories], ...]`, the
            categorical columns and their number of categories (at least 2).
        column_names: Optional names of the `D` columns (kept for writing
            CSV files in the data's terms).
        category_names: Optional `[[name, ...], ...]`: the category strings
            of each categorical column, in the order of `categorical`.

    Call arguments:
        inputs: Tensor of shape `(batch, *data_shape)`.

    Returns:
        Tensor of shape `(batch, *model_shape)`.

    Example:

    >>> transform = DataTransform((2,), categorical=[[1, 3]])
    >>> transform.adapt(np.array([[1.0, 0.0], [3.0, 2.0]]))
    >>> transform.model_shape
    (4,)
    """

    def __init__(
        self,
        data_shape,
        categorical=(),
        column_names=None,
        category_names=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.data_shape = tuple(int(s) for s in data_shape)
        if len(self.data_shape) not in (1, 3):
            raise checks.invalid("data_shape", "(D,) or (H, W, C)", data_shape)
        self.categorical = [[int(c), int(n)] for c, n in categorical]
        width = self.data_shape[-1]
        columns = [c for c, _ in self.categorical]
        if self.categorical and len(self.data_shape) != 1:
            raise checks.invalid("categorical", "empty for images", categorical)
        if len(set(columns)) != len(columns) or any(
            not 0 <= c < width or n < 2 for c, n in self.categorical
        ):
            raise checks.invalid(
                "categorical",
                f"distinct columns in 0..{width - 1}, each with >= 2 categories",
                categorical,
            )
        self.column_names = None if column_names is None else list(column_names)
        self.category_names = (
            None if category_names is None else [list(c) for c in category_names]
        )
        self.numeric = [c for c in range(width) if c not in set(columns)]
        self.numeric_shape = (*self.data_shape[:-1], len(self.numeric))
        one_hot = sum(n for _, n in self.categorical)
        self.model_shape = (*self.data_shape[:-1], len(self.numeric) + one_hot)
        # Positions per feature: the log-Jacobian counts each pixel of an image.
        self._positions = math.prod(self.data_shape[:-1])
        self.mean = self.add_weight(
            shape=(len(self.numeric),),
            initializer="zeros",
            trainable=False,
            name="mean",
        )
        self.scale = self.add_weight(
            shape=(len(self.numeric),),
            initializer="ones",
            trainable=False,
            name="scale",
        )
        # Column order of `inverse`'s output: numeric first, then categorical.
        order = self.numeric + columns
        self._inverse_order = [order.index(c) for c in range(width)]
        self.built = True

    def adapt(self, data):
        """Sets `mean` and `scale` from `data` (numpy, `(n, *data_shape)`):
        the mean and standard deviation of each numeric feature, in two
        passes over chunks of rows (a `vaekit.data.diskarray.DiskArray` is read a
        chunk at a time)."""
        if not hasattr(data, "shape"):
            data = np.asarray(data)
        if tuple(data.shape[1:]) != self.data_shape or len(data) == 0:
            raise ValueError(
                f"Expected data of shape (n >= 1, *{self.data_shape}). Received: "
                f"shape={data.shape}"
            )
        if not self.numeric:
            return

        def chunks():
            for start in range(0, len(data), 8192):
                chunk = np.asarray(data[start : start + 8192], dtype=np.float64)
                yield chunk[..., self.numeric].reshape(-1, len(self.numeric))

        count = len(data) * math.prod(self.data_shape[:-1])
        mean = sum(chunk.sum(axis=0) for chunk in chunks()) / count
        squares = sum(((chunk - mean) ** 2).sum(axis=0) for chunk in chunks())
        std = np.sqrt(squares / count)
        # Constant: no spread beyond float32's rounding of the values.
        constant = (std == 0) | (std <= 1e-7 * np.abs(mean))
        self.mean.assign(mean.astype("float32"))
        self.scale.assign(np.where(constant, 1.0, std).astype("float32"))

    def _numeric(self, x):
        """The numeric features of `x`, standardised."""
        if self.categorical:
            x = ops.take(x, np.asarray(self.numeric, dtype="int32"), axis=-1)
        return (x - self.mean) / self.scale

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        parts = [self._numeric(x)] if self.numeric else []
        for column, n in self.categorical:
            index = ops.cast(ops.round(x[:, column]), "int32")
            parts.append(ops.one_hot(index, n, dtype=x.dtype))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def log_jacobian(self):
        """`log |d standardise / dx|` of one example: `-sum(log scale)` per
        position."""
        return -self._positions * ops.sum(ops.log(self.scale))

    def log_likelihood(self, x, params, log_var):
        """Log-density of data `x` (its own units), per example, given the
        decoder's `params` and the Gaussian log-variance `log_var` (in the
        standardised units; broadcast against the numeric features)."""
        from vaekit.model.losses import gaussian_log_likelihood

        x = ops.cast(x, params.dtype)
        k = len(self.numeric)
        result = self.log_jacobian()
        if k:
            result = result + gaussian_log_likelihood(
                self._numeric(x),
                params[..., :k] if self.categorical else params,
                log_var,
            )
        start = k
        for column, n in self.categorical:
            logits = params[:, start : start + n]
            index = ops.cast(ops.round(x[:, column]), "int32")
            picked = ops.sum(
                ops.one_hot(index, n, dtype=params.dtype)
                * ops.log_softmax(logits, axis=-1),
                axis=-1,
            )
            result = result + picked
            start += n
        return result

    def inverse(self, params):
        """The decoder's `params` in the data's units: numeric means
        de-standardised, each categorical column's most probable category
        index."""
        k = len(self.numeric)
        numeric = params[..., :k] if self.categorical else params
        parts = [numeric * self.scale + self.mean] if k else []
        start = k
        for _, n in self.categorical:
            best = ops.argmax(params[:, start : start + n], axis=-1)
            parts.append(ops.expand_dims(ops.cast(best, params.dtype), -1))
            start += n
        if len(parts) == 1:
            return parts[0]
        order = np.asarray(self._inverse_order, dtype="int32")
        return ops.take(ops.concatenate(parts, axis=-1), order, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.model_shape)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "data_shape": list(self.data_shape),
            "categorical": self.categorical,
            "column_names": self.column_names,
            "category_names": self.category_names,
        }
        return {**base_config, **config}


# Which of the 3 taps of a stride-2 transposed convolution feed each output
# phase (even or odd row/column) from each of the 2 input positions
# (previous, same) it sees: out[2m] = x[m-1] w[2] + x[m] w[0] and
# out[2m+1] = x[m] w[1] (Keras' "same" padding).
_PHASE_TAPS = np.array(
    [[[0, 0, 1], [1, 0, 0]], [[0, 0, 0], [0, 1, 0]]], dtype="float32"
)


def _bias_and_activation(layer, y):
    """What a Keras convolution does after its kernel: bias, activation."""
    if layer.use_bias:
        y = y + ops.cast(layer.bias, y.dtype)
    if layer.activation is not None:
        y = layer.activation(y)
    return y


@keras.saving.register_keras_serializable(package="vaekit")
class SubpixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`, computed on JAX as one matmul and a
    depth-to-space shuffle where it has a 3x3 kernel, stride 2 and "same"
    padding (the conv VAE's decoder layers).

    The same layer (weights, config, outputs to float rounding): each of
    the 4 output phases is a 2x2 convolution over the input with taps of the
    3x3 kernel (Shi et al. 2016, "sub-pixel convolution"), and the four are
    one matmul over the input's 2x2 windows. XLA:CPU runs a transposed
    convolution as an input-dilated convolution, about 10x slower than
    TensorFlow's; this form is 4-7x faster than that (benchmarks/conv.py).
    Other shapes, and other backends, use `Conv2DTranspose` itself.
    """

    def _subpixel(self):
        return (
            keras.backend.backend() == "jax"
            and tuple(self.kernel_size) == (3, 3)
            and tuple(self.strides) == (2, 2)
            and self.padding == "same"
            and tuple(self.dilation_rate) == (1, 1)
            and self.output_padding is None
            and self.data_format == "channels_last"
        )

    def call(self, inputs):
        if not self._subpixel():
            return super().call(inputs)
        kernel = ops.cast(self.kernel, inputs.dtype)  # (3, 3, out, in)
        filters = self.filters
        taps = ops.convert_to_tensor(_PHASE_TAPS, dtype=inputs.dtype)
        # k[i, j, c, p, q, f]: tap (i, j) of phase (p, q), input c, output f.
        k = ops.einsum("pia,qjb,abfc->ijcpqf", taps, taps, kernel)
        channels = ops.shape(kernel)[3]
        k = ops.reshape(k, (4 * channels, 4 * filters))
        padded = ops.pad(inputs, [[0, 0], [1, 0], [1, 0], [0, 0]])
        batch, height, width = ops.shape(inputs)[:3]
        # The 2x2 windows as rows of one matmul (XLA:CPU's fastest op).
        patches = ops.concatenate(
            [
                padded[:, i : i + height, j : j + width, :]
                for i in (0, 1)
                for j in (0, 1)
            ],
            axis=-1,
        )
        y = ops.matmul(ops.reshape(patches, (-1, 4 * channels)), k)
        y = ops.reshape(y, (batch, height, width, 2, 2, filters))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        y = ops.reshape(y, (batch, 2 * height, 2 * width, filters))
        return _bias_and_activation(self, y)


@keras.saving.register_keras_serializable(package="vaekit")
class MatmulConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`, computed on JAX as one matmul and shifted sums
    where it has stride 1, "same" padding and an odd kernel (the conv VAE's
    output layer).

    The same layer (weights, config, outputs to float rounding): every
    input pixel is first projected onto all `kh * kw` taps at once
    (`u = x @ W`, one matmul of `(pixels, channels) x (channels, taps *
    filters)`), then each output pixel sums its neighbours' projections for
    the matching taps (`y[i, j] = sum_ab u[i + a - p, j + b - p, a, b]`).
    XLA:CPU runs a convolution to few output channels (a 32-to-1 channel
    3x3 output layer) about 7x slower than this (benchmarks/conv.py).
    Other shapes, and other backends, use `Conv2D` itself.
    """

    def _matmul(self):
        kh, kw = self.kernel_size
        return (
            keras.backend.backend() == "jax"
            and tuple(self.strides) == (1, 1)
            and self.padding == "same"
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and self.data_format == "channels_last"
            and kh % 2 == 1
            and kw % 2 == 1
        )

    def call(self, inputs):
        if not self._matmul():
            return super().call(inputs)
        kh, kw = self.kernel_size
        kernel = ops.cast(self.kernel, inputs.dtype)  # (kh, kw, in, out)
        channels = ops.shape(kernel)[2]
        filters = self.filters
        batch, height, width = ops.shape(inputs)[:3]
        projection = ops.reshape(
            ops.transpose(kernel, (2, 0, 1, 3)), (channels, kh * kw * filters)
        )
        u = ops.matmul(ops.reshape(inputs, (-1, channels)), projection)
        u = ops.reshape(u, (batch, height, width, kh, kw, filters))
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        u = ops.pad(u, [[0, 0], [ph, ph], [pw, pw], [0, 0], [0, 0], [0, 0]])
        y = None
        for a in range(kh):
            for b in range(kw):
                term = u[:, a : a + height, b : b + width, a, b, :]
                y = term if y is None else y + term
        return _bias_and_activation(self, y)
