"""vaekit.model.conv: SubpixelConv2DTranspose and MatmulConv2D, vaekit's
faster forms of Keras' convolutions: the same layers (config, weights,
outputs and gradients to float rounding)."""

import keras
import numpy as np
import pytest
from keras import ops

from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose

FAST = {
    "transposed": (keras.layers.Conv2DTranspose, SubpixelConv2DTranspose),
    "stride1": (keras.layers.Conv2D, MatmulConv2D),
}
DEFAULTS = {
    "transposed": {"strides": 2, "padding": "same"},
    "stride1": {"padding": "same"},
}


def _pair(kind, filters, channels, size, kernel_size=3, **kwargs):
    """Keras' layer and vaekit's, built alike, with the same weights."""
    # Zeros first (cheap to make on JAX), then the same random weights.
    kwargs = {
        **DEFAULTS[kind],
        "activation": "relu",
        "kernel_initializer": "zeros",
        **kwargs,
    }
    plain_class, fast_class = FAST[kind]
    plain = plain_class(filters, kernel_size, **kwargs)
    fast = fast_class(filters, kernel_size, **kwargs)
    plain.build((None, size, size, channels))
    fast.build((None, size, size, channels))
    rng = np.random.default_rng(size + channels)
    fast.set_weights(
        [rng.normal(size=w.shape).astype("float32") for w in plain.get_weights()]
    )
    plain.set_weights(fast.get_weights())
    return plain, fast


def _fast_path(layer):
    return layer._subpixel() if hasattr(layer, "_subpixel") else layer._matmul()


def _outputs_and_gradients(layer, x):
    """`(layer(x), d sum(layer(x)^2) / d(kernel, bias, x))`; on JAX in one
    compiled function (one XLA compilation instead of one per op)."""
    import jax

    def f(values, inputs):
        mapping = list(zip(layer.trainable_variables, values, strict=True))
        with keras.StatelessScope(state_mapping=mapping):
            y = layer(inputs)
        return (y**2).sum(), y

    values = [v.value for v in layer.trainable_variables]
    grad = jax.jit(jax.grad(f, argnums=(0, 1), has_aux=True))
    ((kernel, bias), inputs), y = grad(values, x)
    return np.asarray(y), [np.asarray(g) for g in (kernel, bias, inputs)]


@pytest.mark.parametrize(
    "kind, filters, channels, size, kernel_size",
    [
        ("transposed", 1, 1, 4, 3),
        ("transposed", 5, 3, 7, 3),
        ("transposed", 2, 4, 5, 3),
        ("transposed", 8, 16, 14, 3),
        ("stride1", 1, 32, 7, 3),
        ("stride1", 4, 3, 6, 5),
        ("stride1", 3, 2, 5, (1, 3)),
    ],
)
def test_fast_convolution_is_keras_own(kind, filters, channels, size, kernel_size):
    plain, fast = _pair(kind, filters, channels, size, kernel_size)
    on_jax = keras.backend.backend() == "jax"
    assert _fast_path(fast) == on_jax
    x = np.random.default_rng(0).normal(size=(3, size, size, channels))
    x = x.astype("float32")
    if on_jax:
        # The same outputs and gradients, for the kernel, the bias and the input.
        expected, gradients = _outputs_and_gradients(plain, x)
        got, fast_gradients = _outputs_and_gradients(fast, x)
        for a, b in zip(gradients, fast_gradients, strict=True):
            np.testing.assert_allclose(b, a, atol=1e-4 * np.abs(a).max())
    else:
        expected = ops.convert_to_numpy(plain(x))
        got = ops.convert_to_numpy(fast(x))
    scale = {"transposed": 2, "stride1": 1}[kind]
    assert expected.shape == (3, scale * size, scale * size, filters)
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("transposed", {"strides": 1}),
        ("transposed", {"padding": "valid"}),
        ("transposed", {"strides": 3}),
        ("stride1", {"strides": 2}),
        ("stride1", {"padding": "valid"}),
        ("stride1", {"dilation_rate": 2}),
    ],
)
def test_fast_convolution_falls_back_for_other_shapes(kind, kwargs):
    plain, fast = _pair(kind, 2, 3, 5, **kwargs)
    assert not _fast_path(fast)
    x = np.random.default_rng(1).normal(size=(2, 5, 5, 3)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(fast(x)), ops.convert_to_numpy(plain(x)), rtol=1e-6
    )


def test_stride1_even_kernel_falls_back():
    plain, fast = _pair("stride1", 2, 3, 6, kernel_size=2)
    assert not fast._matmul()
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 3)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(fast(x)), ops.convert_to_numpy(plain(x)), rtol=1e-6
    )


@pytest.mark.parametrize("kind", sorted(FAST))
def test_fast_convolution_saves_and_loads(kind, tmp_path):
    _, fast = _pair(kind, 4, 2, 6)
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, fast(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    layer = loaded.layers[-1]
    assert type(layer) is FAST[kind][1]
    assert layer.get_config() == fast.get_config()
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 2)).astype("float32")
    expected = model.predict(x, verbose=0)
    assert np.abs(expected).max() > 0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
