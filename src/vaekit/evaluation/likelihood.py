"""Held-out evaluation of a trained VAE: ELBO, importance-weighted log p(x),
active units, per example (`per_example`) or averaged over the data
(`evaluate`). Everything runs in batches whose size follows a memory budget,
so k=5000 importance samples over 10,000 images fit in a fixed amount of RAM.
"""

import math

import keras
import numpy as np

from vaekit import checks
from vaekit.data.diskarray import DiskArray
from vaekit.model.losses import gaussian_kl

__all__ = [
    "ACTIVE_UNIT_THRESHOLD",
    "DEFAULT_MAX_MEMORY",
    "MAX_ROWS",
    "active_units",
    "evaluate",
    "per_example",
    "plan_chunks",
]

DEFAULT_MAX_MEMORY = 1 << 30  # bytes of activations per chunk
# Rows (example x importance sample) per compiled pass. Passes of more rows
# leave the CPU's caches: the default model's k=5000 evaluation ran at 0.69
# of a jitted matmul in passes of 2500 rows and 0.48 in passes of 20,000
# (one run, benchmarks/evaluation.py).
MAX_ROWS = 4096
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


def plan_chunks(
    model, n_examples, iw_samples, max_memory=DEFAULT_MAX_MEMORY, max_rows=MAX_ROWS
):
    """Chooses `(batch, k_chunk)`: examples per batch and importance samples
    per pass, with `batch * k_chunk` rows within `max_memory` bytes and at
    most `max_rows` rows. The samples of an example are split into passes of
    equal size (5000 in two passes of 2500, not 4096 and 904)."""
    rows = max(1, min(int(max_memory // _bytes_per_row(model)), int(max_rows)))
    passes = -(-iw_samples // rows)
    k_chunk = -(-iw_samples // passes)
    batch = max(1, min(n_examples, rows // k_chunk))
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
    values = _per_example(
        model, x, iw_samples, seed, max_memory, progress, condition, z_mean=False
    )
    log_px, elbo, kl = values["log_likelihood"], values["elbo"], values["kl"]
    n = len(log_px)
    return {
        "elbo": float(elbo.mean()),
        "log_likelihood": float(log_px.mean()),
        "log_likelihood_stderr": float(log_px.std(ddof=1) / math.sqrt(n))
        if n > 1
        else 0.0,
        "reconstruction": float(-(elbo + kl).mean()),
        "kl": float(kl.mean()),
        "active_units": _count_active(values["z_mean_variance"], n),
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
    return _count_active(z_means.var(axis=0), len(z_means), threshold)


def _count_active(variance, n, threshold=ACTIVE_UNIT_THRESHOLD):
    """`active_units` from the variance of each unit's mean over `n`
    examples."""
    if n < 2:
        return 0
    return int((np.asarray(variance) > threshold).sum())


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
            binarized) as the likelihood expects, or a
            `vaekit.data.diskarray.DiskArray` (read a batch at a time).
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
    return _per_example(model, x, iw_samples, seed, max_memory, progress, condition)


def _per_example(
    model,
    x,
    iw_samples=1000,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    progress=None,
    condition=None,
    z_mean=True,
):
    """`per_example`; with `z_mean=False`, the variance of q's mean over
    the examples (`z_mean_variance`, per unit) instead of the means, so that
    memory does not grow with the data beyond a few numbers per example."""
    x = _rows(x)
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
    else:
        condition = None
    batch, k_chunk = plan_chunks(model, n, iw_samples, max_memory)
    posterior = _compiled(model, _posterior_terms)
    log_weights = _compiled(model, _log_weights, seed)
    log_px = np.empty(n)
    elbo = np.empty(n)
    kl = np.empty(n)
    z_means = np.empty((n, model.latent_dim)) if z_mean else None
    moments = np.zeros((3, model.latent_dim))  # count, mean, M2 of z_mean
    # q's mean and KL in large batches, before the passes of one or a few
    # examples: an eager encoder call per example cost as much as its
    # k=5000 decoder passes.
    step = max(batch, 1024)
    for start in range(0, n, step):
        yb = None if condition is None else condition[start : start + step]
        means, kl_batch = posterior(x[start : start + step], yb)
        kl[start : start + len(means)] = kl_batch
        if z_mean:
            z_means[start : start + len(means)] = means
        _merge_moments(moments, means.astype(np.float64))
    for start in range(0, n, batch):
        xb = x[start : start + batch]
        yb = None if condition is None else condition[start : start + batch]
        stop = start + len(xb)
        running_max = np.full(stop - start, -np.inf)
        running_sum = np.zeros(stop - start)
        weight_total = np.zeros(stop - start)
        done = 0
        while done < iw_samples:
            k = min(k_chunk, iw_samples - done)
            log_w = log_weights(xb, yb, k).astype(np.float64)
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
    values = {"elbo": elbo, "log_likelihood": log_px, "kl": kl}
    if z_mean:
        values["z_mean"] = z_means
    else:
        values["z_mean_variance"] = moments[2] / max(moments[0][0], 1)
    return values


def _merge_moments(moments, batch):
    """Adds the rows of `batch` to `moments = [count, mean, M2]` (per
    column; Chan et al.'s pairwise update, stable for any number of
    batches)."""
    count, mean, m2 = moments
    n = len(batch)
    batch_mean = batch.mean(axis=0)
    total = count + n
    delta = batch_mean - mean
    moments[2] = (
        m2 + ((batch - batch_mean) ** 2).sum(axis=0) + delta**2 * count * n / total
    )
    moments[1] = mean + delta * n / total
    moments[0] = total


def _rows(x):
    """`x` as float32 rows to slice a batch at a time: a numpy array, or a
    `vaekit.data.diskarray.DiskArray` as it is (read a batch at a time)."""
    if isinstance(x, DiskArray):
        return x
    return np.asarray(x, dtype="float32")


def _posterior_terms(model, x, y):
    """`(z_mean, KL(q(z|x) || p(z)))` of a batch."""
    z_mean, q_log_var = model.posterior(x, condition=y)
    return z_mean, gaussian_kl(z_mean, q_log_var)


def _log_weights(model, x, y, seed, k):
    """`(k, batch)` log importance weights of a batch."""
    return model.log_importance_weights(x, k, seed=seed, condition=y)


def _compiled(model, fn, seed=None):
    """`fn(model, x, y[, seed, k])` as a function of numpy arrays
    `f(x, y[, k]) -> numpy` (`y`: the labels of a conditional model, else
    None), drawing from a stream seeded by `seed` when one is given.

    On JAX it is compiled once per shape with `jax.jit` over the model's
    variables, which fuses the elementwise work around the decoder's matmuls
    (benchmarks/speed.py: 1.07x eager for chunks of 24 x 1000 rows, more for
    small chunks, where dispatch dominates); other backends run it eagerly.
    """
    if keras.backend.backend() != "jax":
        seed_gen = None if seed is None else keras.random.SeedGenerator(seed)

        def eager(x, y, *k):
            x = keras.ops.convert_to_tensor(x)
            y = None if y is None else keras.ops.convert_to_tensor(y)
            args = () if seed is None else (seed_gen, *k)
            return keras.tree.map_structure(
                keras.ops.convert_to_numpy, fn(model, x, y, *args)
            )

        return eager

    import jax
    import jax.numpy as jnp

    variables = list(model.trainable_variables) + list(model.non_trainable_variables)
    values = [v.value for v in variables]

    def stateless(values, x, y, *args):
        with keras.StatelessScope(
            state_mapping=list(zip(variables, values, strict=True))
        ):
            return fn(model, x, y, *args)

    if seed is None:
        compiled = jax.jit(stateless)
        return lambda x, y: jax.tree.map(np.asarray, compiled(values, x, y))

    compiled = jax.jit(stateless, static_argnums=4)
    counter = iter(range(1, 2**31))

    def run(x, y, k):
        key = jnp.array([seed, next(counter)], dtype="uint32")
        return np.asarray(compiled(values, x, y, key, k))

    return run
