"""Held-out evaluation of a trained VAE: ELBO, importance-weighted log p(x),
active units, per example (`per_example`) or averaged over the data
(`evaluate`). Everything runs in batches whose size follows a memory budget,
so k=5000 importance samples over 10,000 images fit in a fixed amount of RAM.
"""

import functools
import math

import keras
import numpy as np

from vaekit import checks
from vaekit.errors import InvalidArgument
from vaekit.evaluation.diagnostics import count_active
from vaekit.evaluation.inputs import as_float_rows, likelihood_data
from vaekit.model.saving import load_model

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "MAX_ROWS",
    "MAX_SEED",
    "check_seed",
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
MAX_SEED = 2**32 - 1


def _bytes_per_row(model):
    """Rough bytes of activations for one (example, importance sample) row:
    the decoder's layers, the tiled input and the latent code, in float32,
    with a factor for temporaries."""
    units = math.prod(model.data_shape) * 4 + model.latent_dim * 8
    for layer in model.decoder.layers:
        shape = getattr(layer, "output", None)
        if shape is not None and hasattr(shape, "shape"):
            units += math.prod(int(s) for s in shape.shape[1:] if s is not None)
    return 4 * units * 2 + model.prior.bytes_per_row()


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
    data,
    iw_samples=1000,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    progress=None,
    condition=None,
    binarize="auto",
    label_column=None,
    split=None,
    missing="error",
):
    """Evaluates `model` on `data`.

    The log-likelihood is the importance-weighted estimate of Burda et al.
    (2015): `log p(x) ~= logsumexp_i(log w_i) - log k`, a lower bound that
    rises with `k`. The ELBO is the mean of the same `k` log-weights (a
    k-sample Monte Carlo estimate); `kl` is the analytic KL of q(z|x) from
    the prior and `reconstruction = -(elbo + kl)`. Each figure is the mean
    over the data of `per_example`'s values, in nats per example and in the
    data's own units.

    Args:
        model: A `vaekit.VAE` or the path of a `.keras` file.
        data: A dataset spec (a name or a path), a pandas DataFrame or an
            array of examples (see `vaekit.model.inputs.read_inputs`, which
            also takes `label_column`, `split` and `missing`).
        iw_samples, seed, max_memory, progress: As for `per_example`.
        condition: The labels of an array's examples, for a conditional
            model.
        binarize: How a Bernoulli model's data is binarized first (see
            `vaekit.evaluation.inputs.likelihood_data`): `"auto"` as the
            model's run trained, `"none"`, or once (`"static"`), with `seed`.

    Returns:
        A dict with `elbo`, `log_likelihood`, `log_likelihood_stderr`,
        `reconstruction`, `kl` (nats per example, means over the data),
        `active_units`, `n`, `iw_samples`, `split` and `binarize`.

    Raises:
        InvalidArgument: if `iw_samples` or `max_memory` is invalid.
        VaekitError: for a bad model or data that does not fit it.
    """
    check_seed(seed)
    prepared = likelihood_data(
        model, data, condition, binarize, seed, label_column, split, missing
    )
    values = per_example(
        prepared.model,
        prepared.x,
        iw_samples,
        seed,
        max_memory,
        progress,
        prepared.condition,
        z_mean=False,
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
        "active_units": count_active(values["z_mean_variance"], n),
        "n": int(n),
        "iw_samples": iw_samples,
        "split": prepared.inputs.split,
        "binarize": prepared.binarize,
    }


def per_example(
    model,
    x,
    iw_samples=1000,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    progress=None,
    condition=None,
    z_mean=True,
):
    """The values `evaluate` averages, one per example of `x`.

    Args:
        model: A `vaekit.VAE` or the path of a `.keras` file.
        x: numpy array of shape `(n, *model.data_shape)`, already scaled (and
            binarized) as the likelihood expects, or a
            `vaekit.data.diskarray.DiskArray` (read a batch at a time).
        iw_samples: Number of importance samples `k` per example.
        seed: Seed of the importance samples.
        max_memory: Byte budget of one chunk of work.
        progress: Optional callable `progress(done, total)`: `done` of the
            `total` examples are evaluated (a float while the importance
            samples of a batch take several passes: the part drawn).
        condition: The labels of `x`, for a conditional model (each example
            is evaluated under its own label).
        z_mean: False returns the variance of q's mean over the examples
            (`z_mean_variance`, one per unit) instead of the means, so that
            memory does not grow with the data beyond a few numbers per
            example.

    Returns:
        A dict of float64 numpy arrays in the order of `x`: `elbo`,
        `log_likelihood` (the importance-weighted estimate of log p(x)),
        `kl` (nats, shape `(n,)` each) and `z_mean` (q's mean, shape
        `(n, latent_dim)`) or `z_mean_variance`.

    Raises:
        InvalidArgument: if `iw_samples` or `max_memory` is invalid, or `x`
            is empty or not of the model's input shape.
    """

    model = load_model(model)
    x = as_float_rows(x)
    n = len(x)
    # k = 0 or no data would end in log(0) or a mean of nothing (NaN).
    checks.integer(iw_samples, "iw_samples")
    check_seed(seed)
    checks.number(max_memory, "max_memory", minimum=0, exclusive=("minimum",))
    if n == 0 or tuple(x.shape[1:]) != tuple(model.data_shape):
        raise InvalidArgument(
            f"Expected data of shape (n >= 1, *{tuple(model.data_shape)}), the "
            f"model's input. Received: x.shape={x.shape}"
        )
    condition = _condition_rows(model, condition, n)
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
        on_pass = None
        if progress is not None and k_chunk < iw_samples:
            on_pass = functools.partial(_part, progress, start, len(xb), iw_samples, n)
        log_px[start:stop], elbo[start:stop] = _importance_batch(
            log_weights, xb, yb, iw_samples, k_chunk, on_pass
        )
        if progress is not None:
            progress(stop, n)
    values = {"elbo": elbo, "log_likelihood": log_px, "kl": kl}
    if z_mean:
        values["z_mean"] = z_means
    else:
        values["z_mean_variance"] = moments[2] / max(moments[0][0], 1)
    return values


def check_seed(seed, name="seed"):
    """Returns `seed` if it is an integer in [0, `MAX_SEED`] (the importance
    samples' stream is keyed by 32 bits).

    Raises:
        InvalidArgument: otherwise.
    """
    checks.integer(seed, name, minimum=0)
    if seed > MAX_SEED:
        raise checks.invalid(name, f"an integer in [0, {MAX_SEED}]", seed)
    return seed


def _condition_rows(model, condition, n):
    """The condition of a conditional model as float32 rows (required), or
    None for an unconditional one."""
    if not model.conditional:
        return None
    if condition is None:
        raise InvalidArgument(
            "a conditional model is evaluated under each example's label, and "
            "none were given: give the labels of the data"
        )
    return np.asarray(condition, dtype="float32").reshape(n, -1)


def _part(progress, start, size, iw_samples, n, k):
    """Reports a batch of `size` examples from `start` with `k` of its
    `iw_samples` importance samples drawn."""
    progress(start + size * k / iw_samples, n)


def _importance_batch(log_weights, xb, yb, iw_samples, k_chunk, on_pass=None):
    """`(log p(x), ELBO)` of a batch from `iw_samples` importance weights
    drawn `k_chunk` at a time: a streaming logsumexp over the chunks
    (`on_pass(samples drawn)` after each chunk but the last).

    An example whose log weights are all -inf gets -inf, one with a +inf or
    NaN weight gets +inf or NaN, without numpy's warnings about them (the
    caller counts values that are not finite); finite values are as a plain
    logsumexp's."""
    running_max = np.full(len(xb), -np.inf)
    running_sum = np.zeros(len(xb))
    weight_total = np.zeros(len(xb))
    done = 0
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        while done < iw_samples:
            k = min(k_chunk, iw_samples - done)
            log_w = log_weights(xb, yb, k).astype(np.float64)
            new_max = np.maximum(running_max, log_w.max(axis=0))
            # Shift by the maximum where it is finite (else by 0: all -inf
            # so far sums to 0, not to NaN).
            shift = np.where(np.isfinite(new_max), new_max, 0.0)
            running_sum = running_sum * np.exp(running_max - shift) + np.exp(
                log_w - shift
            ).sum(axis=0)
            running_max = new_max
            weight_total += log_w.sum(axis=0)
            done += k
            if on_pass is not None and done < iw_samples:
                on_pass(done)
        shift = np.where(np.isfinite(running_max), running_max, 0.0)
        log_px = shift + np.log(running_sum) - math.log(iw_samples)
    return log_px, weight_total / iw_samples


def _merge_moments(moments, batch):
    """Adds the rows of `batch` to `moments = [count, mean, M2]` (per
    column; Chan et al.'s pairwise update, stable for any number of
    batches)."""
    count, mean, m2 = moments
    n = len(batch)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, quietly
        batch_mean = batch.mean(axis=0)
        total = count + n
        delta = batch_mean - mean
        moments[2] = (
            m2 + ((batch - batch_mean) ** 2).sum(axis=0) + delta**2 * count * n / total
        )
        moments[1] = mean + delta * n / total
    moments[0] = total


def _posterior_terms(model, x, y):
    """`(z_mean, KL(q(z|x) || p(z)))` of a batch (a Monte Carlo estimate
    where the prior has no closed form)."""
    z_mean, q_log_var = model.posterior(x, condition=y)
    return z_mean, model.posterior_kl(z_mean, q_log_var)


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
