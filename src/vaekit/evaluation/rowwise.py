"""Per-row results that depend on the row alone: the importance-weighted
log p(x) of a row seeded by the row's values (`row_log_likelihood`), and
any function of a model computed over fixed-size batches
(`in_fixed_batches`), so that a row gets the same result whatever rows it
is computed with, in whatever order (what scikit-learn's estimator checks
ask of `score_samples`)."""

import hashlib
import math

import numpy as np
from keras import ops

__all__ = ["BATCH", "in_fixed_batches", "row_log_likelihood", "row_noise"]

# Rows per forward pass.
BATCH = 256


def row_noise(x, k, latent_dim, seed):
    """Standard normal noise `(k, n, latent_dim)` whose slice for a row
    depends only on `seed` and the row's values."""
    noise = np.empty((k, len(x), latent_dim), np.float32)
    for i, row in enumerate(np.ascontiguousarray(x, np.float32)):
        digest = hashlib.blake2b(row.tobytes(), digest_size=8).digest()
        rng = np.random.default_rng([seed, int.from_bytes(digest, "little")])
        noise[:, i] = rng.standard_normal((k, latent_dim), np.float32)
    return noise


def in_fixed_batches(x, function, batch=BATCH):
    """`function` over the rows of `x` in batches of exactly `batch` rows
    (the last padded with zeros): a row's result then does not depend on
    the rows computed beside it, as float32 kernels of other shapes would
    make it (by a few units in the last place). Returns float64 (the
    backend's tensors converted as `keras.ops.convert_to_numpy` does: a
    PyTorch tensor that requires grad as well)."""
    x = np.asarray(x, np.float32)
    out = []
    for start in range(0, len(x), batch):
        rows = x[start : start + batch]
        padded = np.zeros((batch, *x.shape[1:]), np.float32)
        padded[: len(rows)] = rows
        result = ops.convert_to_numpy(function(padded))
        out.append(np.asarray(result, np.float64)[: len(rows)])
    return np.concatenate(out)


def row_log_likelihood(model, x, k, seed):
    """The importance-weighted estimate of log p(x) of each row of `x`
    (numpy, the model's units), with `k` importance samples seeded by
    `seed` and the row (`row_noise`), in fixed batches. A row whose
    estimate is not finite gets -inf (as unlikely as can be)."""
    k = int(k)

    def batch_log_likelihood(rows):
        noise = row_noise(rows, k, model.latent_dim, seed)
        log_w = model.log_importance_weights(rows, k, epsilon=noise)
        log_w = np.asarray(ops.convert_to_numpy(log_w), np.float64)
        peak = log_w.max(axis=0)
        with np.errstate(invalid="ignore", over="ignore"):
            total = np.log(np.exp(log_w - peak).sum(axis=0))
        return peak + total - math.log(k)

    out = in_fixed_batches(x, batch_log_likelihood)
    return np.where(np.isfinite(out), out, -np.inf)
