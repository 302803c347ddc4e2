"""Convolution layers that XLA:CPU runs fast: Keras' own `Conv2DTranspose`
(stride 2) and `Conv2D` (to few channels), computed on JAX as matmuls.

Both are the Keras layers (same weights, config and outputs to float
rounding) and use Keras' own call for other shapes and backends.
"""

import keras
import numpy as np
from keras import ops

__all__ = ["MatmulConv2D", "SubpixelConv2DTranspose"]

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
        # The batch as -1 in the reshapes: exporters (jax2onnx) follow a
        # reshape of one unknown size, not of the symbolic batch itself.
        height, width = ops.shape(inputs)[1:3]
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
        y = ops.reshape(y, (-1, height, width, 2, 2, filters))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        y = ops.reshape(y, (-1, 2 * height, 2 * width, filters))
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
        height, width = ops.shape(inputs)[1:3]
        projection = ops.reshape(
            ops.transpose(kernel, (2, 0, 1, 3)), (channels, kh * kw * filters)
        )
        u = ops.matmul(ops.reshape(inputs, (-1, channels)), projection)
        u = ops.reshape(u, (-1, height, width, kh, kw, filters))
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        u = ops.pad(u, [[0, 0], [ph, ph], [pw, pw], [0, 0], [0, 0], [0, 0]])
        y = None
        for a in range(kh):
            for b in range(kw):
                term = u[:, a : a + height, b : b + width, a, b, :]
                y = term if y is None else y + term
        return _bias_and_activation(self, y)
