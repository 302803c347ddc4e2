"""The conv VAE's layers one by one: a jitted forward and backward pass of
each (the gradient of the sum of squares of its output, with respect to
its weights and input), on JAX and on TensorFlow, each in a fresh process.

    python benchmarks/conv_layers.py [--backends jax,tensorflow,tensorflow-noonednn]

The shapes are those of `benchmarks/conv.py`'s model with k=5 (batch 100
for the encoder, 500 rows for the decoder). On JAX the decoder's layers are
vaekit's matmul forms (`SubpixelConv2DTranspose`, `MatmulConv2D`), and
`plain ...` rows are Keras' own layers; on TensorFlow every row is Keras'
own layer (vaekit's forms are JAX-only). Prints milliseconds per pass (the
median of 15) and writes `benchmarks/out/conv_layers.json`.
"""

import argparse
import os

from peers import child_result, write_result

HERE = os.path.dirname(os.path.abspath(__file__))

_CHILD = r"""
import json, os, sys, time
backend = sys.argv[1]
os.environ["KERAS_BACKEND"] = backend.split("-")[0]
if backend == "tensorflow-noonednn":
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np
import keras
from keras import layers as L
from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose

def conv(n, s=2):
    return L.Conv2D(n, 3, strides=s, padding="same", activation="relu")

CASES = {
    "encoder conv 28x28x1 -> 14x14x32, batch 100": (conv(32), (100, 28, 28, 1)),
    "encoder conv 14x14x32 -> 7x7x64, batch 100": (conv(64), (100, 14, 14, 32)),
    "decoder deconv 7x7x64 -> 14x14x64, 500 rows": (
        SubpixelConv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        (500, 7, 7, 64)),
    "decoder deconv 14x14x64 -> 28x28x32, 500 rows": (
        SubpixelConv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        (500, 14, 14, 64)),
    "decoder output 28x28x32 -> 28x28x1, 500 rows": (
        MatmulConv2D(1, 3, padding="same"), (500, 28, 28, 32)),
}
if backend == "jax":
    CASES["plain deconv 14x14x64 -> 28x28x32, 500 rows"] = (
        L.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        (500, 14, 14, 64))
    CASES["plain output 28x28x32 -> 28x28x1, 500 rows"] = (
        L.Conv2D(1, 3, padding="same"), (500, 28, 28, 32))

def step(layer, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer.build(shape)
    if backend == "jax":
        import jax, jax.numpy as jnp
        def loss(weights, x):
            y, _ = layer.stateless_call(weights, [], x)
            return jnp.sum(y * y)
        f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        weights = [v.value for v in layer.trainable_variables]
        x = jnp.asarray(x)
        return lambda: jax.block_until_ready(f(weights, x))
    import tensorflow as tf
    x = tf.constant(x)
    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * y)
        return loss, tape.gradient(loss, layer.trainable_variables + [x])
    return lambda: [g.numpy() for g in f(x)[1]]

result = {}
for name, (layer, shape) in CASES.items():
    run = step(layer, shape)
    run(); run()
    times = []
    for _ in range(15):
        started = time.perf_counter(); run(); times.append(time.perf_counter() - started)
    result[name] = 1e3 * float(np.median(times))
print("RESULT", json.dumps(result))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="jax,tensorflow,tensorflow-noonednn")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "conv_layers.json"))
    args = parser.parse_args()
    results = {}
    for backend in args.backends.split(","):
        results[backend] = child_result(["-c", _CHILD, backend], backend)
        for name, ms in results[backend].items():
            print(f"{backend:>20} {name}: {ms:.1f} ms", flush=True)
    write_result({"milliseconds_per_pass": results}, args.out)


if __name__ == "__main__":
    main()
