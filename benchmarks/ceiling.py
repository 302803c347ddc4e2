"""The ceiling for the pytorch-examples model's training rate on this
machine, in one run: what a bare, hand-written JAX step reaches.

    python benchmarks/ceiling.py [--out benchmarks/out/ceiling.json]

Three rates, measured one after the other: a jitted 1024x1024 float32 matmul
(the reference of benchmarks/peers.py); one training step of the 784-400-20
VAE at batch 128 written in plain JAX (ELBO, SGD, everything in one jitted
function, no Keras); and that step's matmul shapes alone (each layer's
forward product and its two gradient products, nothing else). vaekit's own
step (benchmarks/peers.py) is compared against the second; the third is
the most any step of these shapes can reach on XLA:CPU. One step is 3.28
MFLOP per image, as in benchmarks/peers.py.
"""

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from peers import FLOPS_PER_IMAGE, LAYERS, matmul_rate, write_result

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 128


def _timed(function, *args, repeats):
    jax.block_until_ready(function(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        out = function(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "out", "ceiling.json"))
    parser.add_argument("--repeats", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    matmul = matmul_rate() * 1e9

    def layer(n_in, n_out):
        w = rng.standard_normal((n_in, n_out)) * 0.05
        return jnp.asarray(w, "float32"), jnp.zeros((n_out,), "float32")

    params = [layer(n_in, n_out) for n_in, n_out in LAYERS]

    def loss(params, x, eps):
        (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
        stats = jax.nn.relu(x @ w1 + b1) @ w2 + b2
        mean, log_var = stats[:, :20], stats[:, 20:]
        z = mean + jnp.exp(0.5 * log_var) * eps
        logits = jax.nn.relu(z @ w3 + b3) @ w4 + b4
        reconstruction = jnp.sum(jax.nn.softplus(logits) - x * logits, axis=-1)
        kl = -0.5 * jnp.sum(1 + log_var - mean**2 - jnp.exp(log_var), axis=-1)
        return jnp.mean(reconstruction + kl)

    @jax.jit
    def step(params, x, eps):
        grads = jax.grad(loss)(params, x, eps)
        return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads)

    x = jnp.asarray(rng.random((BATCH, 784)) > 0.5, "float32")
    eps = jnp.asarray(rng.standard_normal((BATCH, 20)), "float32")
    step_seconds = _timed(step, params, x, eps, repeats=args.repeats)

    shapes = [(BATCH, n_in, n_out) for n_in, n_out in LAYERS]
    mats = [(jnp.ones((m, k)), jnp.ones((k, n))) for m, k, n in shapes]

    @jax.jit
    def products(mats):
        out = []
        for a, b in mats:
            y = a @ b
            out += [y, y @ b.T, a.T @ y]
        return out

    products_seconds = _timed(products, mats, repeats=args.repeats)
    products_flops = sum(3 * 2 * m * k * n for m, k, n in shapes)
    step_rate = BATCH * FLOPS_PER_IMAGE / step_seconds
    products_rate = products_flops / products_seconds
    result = {
        "matmul_gflops": matmul / 1e9,
        "jax_step_ms": step_seconds * 1e3,
        "jax_step_images_per_s": BATCH / step_seconds,
        "jax_step_fraction_of_matmul": step_rate / matmul,
        "step_matmuls_ms": products_seconds * 1e3,
        "step_matmuls_fraction_of_matmul": products_rate / matmul,
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
