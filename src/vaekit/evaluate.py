"""Held-out evaluation of a trained VAE: ELBO, importance-weighted log p(x),
active units, per example (`per_example`) or averaged over the data
(`evaluate`). Everything runs in batches whose size follows a memory budget,
so k=5000 importance samples over 10,000 images fit in a fixed amount of RAM.
"""

import math

import keras
import numpy as np

from vaekit import checks
from vaekit.losses import gaussian_kl

__all__ = [
    "ACTIVE_UNIT_THRESHOLD",
    "DEFAULT_MAX_MEMORY",
    "active_units",
    "evaluate",
    "per_example",
    "plan_chunks",
]

DEFAULT_MAX_MEMORY = 1 << 30  # bytes of activations per chunk
ACTIVE_UNIT_THRESHOLD = 0.01


def _bytes_per_row(model):
    """Rough bytes of activations for one (example, importance sample) row:
    the decoder's layers, the tiled input and the latent code, in float32,
    with a factor for temporaries."""
    units = math.prod(model.data_shape) * 4 + model.latent_dim * 8
    for layer in model.decoder.layers:
        shape = getattr(layer, "output", None)
        if shape is not None and hasattr(shape, "shape"):
            units += math.prod(int(s) for s in shape.shape[1:] if s is not None)
    return 4 * units * 2


def plan_chunks(model, n_examples, iw_samples, max_memory=DEFAULT_MAX_MEMORY):
    """Chooses `(batch, k_chunk)`: examples per batch and importance samples
    per pass, with `batch * k_chunk` rows within `max_memory` bytes."""
    rows = max(1, int(max_memory // _bytes_per_row(model)))
    k_chunk = min(iw_samples, rows)
    batch = max(1, min(n_examples, rows // k_chunk, 4096))
    return batch, k_chunk


def evaluate(
    model,
    x,
    iw_samples=1000,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    progress=None,
    condition=None,
):
    """Evaluates `model` on the data `x`.

    The log-likelihood is the importance-weighted estimate of Burda et al.
    (2015): `log p(x) ~= logsumexp_i(log w_i) - log k`, a lower bound that
    rises with `k`. The ELBO is the mean of the same `k` log-weights (a
    k-sample Monte Carlo estimate); `kl` is the analytic KL of q(z|x) from
    the prior and `reconstruction = -(elbo + kl)`. Each figure is the mean
    over the data of `per_example`'s values.

    Args:
        model, x, iw_samples, seed, max_memory, progress, condition: As for
            `per_example`.

    Returns:
        A dict with `elbo`, `log_likelihood`, `log_likelihood_stderr`,
        `reconstruction`, `kl` (nats per example, means over the data),
        `active_units`, `n` and `iw_samples`.

    Raises:
        ValueError: if `iw_samples` or `max_memory` is invalid, or `x` is
            empty or not of the model's input shape.
    """
    values = per_example(model, x, iw_samples, seed, max_memory, progress, condition)
    log_px, elbo, kl = values["log_likelihood"], values["elbo"], values["kl"]
    n = len(log_px)
    z_means = values["z_mean"]
    return {
        "elbo": float(elbo.mean()),
        "log_likelihood": float(log_px.mean()),
        "log_likelihood_stderr": float(log_px.std(ddof=1) / math.sqrt(n))
        if n > 1
        else 0.0,
        "reconstruction": float(-(elbo + kl).mean()),
        "kl": float(kl.mean()),
        "active_units": active_units(z_means),
        "n": int(n),
        "iw_samples": iw_samples,
    }


def active_units(z_means, threshold=ACTIVE_UNIT_THRESHOLD):
    """The number of active latent units (Burda et al. 2015, section 5.2):
    units whose `Var_x(E_q[z_j])` over the examples exceeds `threshold`.

    Args:
        z_means: numpy array `(n, latent_dim)` of q's means.
        threshold: The variance above which a unit counts as active.

    Returns:
        An int (0 for fewer than two examples).
    """
    z_means = np.asarray(z_means, dtype=np.float64)
    if len(z_means) < 2:
        return 0
    return int((z_means.var(axis=0) > threshold).sum())


def per_example(
    model,
    x,
    iw_samples=1000,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    progress=None,
    condition=None,
):
    """The values `evaluate` averages, one per example of `x`.

    Args:
        model: A `vaekit.VAE`.
        x: numpy array of shape `(n, *model.data_shape)`, already scaled (and
            binarized) as the likelihood expects.
        iw_samples: Number of importance samples `k` per example.
        seed: Seed of the importance samples.
        max_memory: Byte budget of one chunk of work.
        progress: Optional callable `progress(done, total)`.
        condition: The labels of `x`, for a conditional model (each example
            is evaluated under its own label).

    Returns:
        A dict of float64 numpy arrays in the order of `x`: `elbo`,
        `log_likelihood` (the importance-weighted estimate of log p(x)),
        `kl` (nats, shape `(n,)` each) and `z_mean` (q's mean, shape
        `(n, latent_dim)`).

    Raises:
        ValueError: if `iw_samples` or `max_memory` is invalid, or `x` is
            empty or not of the model's input shape.
    """
    x = np.asarray(x, dtype="float32")
    n = len(x)
    # k = 0 or no data would end in log(0) or a mean of nothing (NaN).
    checks.integer(iw_samples, "iw_samples")
    checks.number(max_memory, "max_memory", minimum=0, exclusive=("minimum",))
    if n == 0 or tuple(x.shape[1:]) != tuple(model.data_shape):
        raise ValueError(
            f"Expected data of shape (n >= 1, *{tuple(model.data_shape)}), the "
            f"model's input. Received: x.shape={x.shape}"
        )
    if model.conditional:
        if condition is None:
            raise ValueError(
                "A conditional VAE is evaluated under each example's label: pass "
                "condition=y"
            )
        condition = np.asarray(condition, dtype="float32").reshape(n, -1)
    batch, k_chunk = plan_chunks(model, n, iw_samples, max_memory)
    log_weights = _log_weights_function(model, seed)
    log_px = np.empty(n)
    elbo = np.empty(n)
    kl = np.empty(n)
    z_means = np.empty((n, model.latent_dim))
    for start in range(0, n, batch):
        xb = keras.ops.convert_to_tensor(x[start : start + batch])
        yb = None
        if model.conditional:
            yb = keras.ops.convert_to_tensor(condition[start : start + batch])
        z_mean, q_log_var = model.posterior(xb, condition=yb)
        stop = start + len(z_mean)
        z_means[start:stop] = keras.ops.convert_to_numpy(z_mean)
        kl[start:stop] = keras.ops.convert_to_numpy(gaussian_kl(z_mean, q_log_var))
        running_max = np.full(stop - start, -np.inf)
        running_sum = np.zeros(stop - start)
        weight_total = np.zeros(stop - start)
        done = 0
        while done < iw_samples:
            k = min(k_chunk, iw_samples - done)
            log_w = log_weights(xb, k, yb).astype(np.float64)
            # Streaming logsumexp over chunks of importance samples.
            chunk_max = log_w.max(axis=0)
            new_max = np.maximum(running_max, chunk_max)
            running_sum = running_sum * np.exp(running_max - new_max) + np.exp(
                log_w - new_max
            ).sum(axis=0)
            running_max = new_max
            weight_total += log_w.sum(axis=0)
            done += k
        log_px[start:stop] = running_max + np.log(running_sum) - math.log(iw_samples)
        elbo[start:stop] = weight_total / iw_samples
        if progress is not None:
            progress(stop, n)
    return {"elbo": elbo, "log_likelihood": log_px, "kl": kl, "z_mean": z_means}


def _log_weights_function(model, seed):
    """Returns `f(x, k, y) -> numpy (k, batch)` of log importance weights
    (`y`: the labels of a conditional model, else None).

    On JAX the model's `log_importance_weights` is compiled once per shape
    with `jax.jit` over its variables, which fuses the elementwise work
    around the decoder's matmuls (benchmarks/speed.py: 1.07x eager for
    chunks of 24 x 1000 rows, more for small chunks, where dispatch
    dominates); other backends run it eagerly. Both draw from a stream
    seeded by `seed`.
    """
    if keras.backend.backend() != "jax":
        seed_gen = keras.random.SeedGenerator(seed)

        def eager(x, k, y=None):
            return keras.ops.convert_to_numpy(
                model.log_importance_weights(x, k, seed=seed_gen, condition=y)
            )

        return eager

    import jax
    import jax.numpy as jnp

    variables = list(model.trainable_variables) + list(model.non_trainable_variables)
    values = [v.value for v in variables]

    def stateless(values, x, key, k, y):
        with keras.StatelessScope(
            state_mapping=list(zip(variables, values, strict=True))
        ):
            return model.log_importance_weights(x, k, seed=key, condition=y)

    compiled = jax.jit(stateless, static_argnums=3)
    counter = iter(range(1, 2**31))

    def run(x, k, y=None):
        key = jnp.array([seed, next(counter)], dtype="uint32")
        return np.asarray(compiled(values, x, key, k, y))

    return run
