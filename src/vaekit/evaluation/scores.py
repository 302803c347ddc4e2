"""Anomaly scores: one value per example, higher for data the model finds
less likely.

`score` returns, for every row of the data, the negative ELBO, the negative
importance-weighted log-likelihood and a reconstruction error, computed by
`vaekit.evaluation.likelihood.per_example` (the same memory-budgeted chunks and streaming
logsumexp as `vaekit.evaluation.likelihood.evaluate`, whose figures are their means).
`infer_threshold` turns scores of normal data (such as the training split's,
which `vaekit train` stores in the run folder) into a threshold, like
alibi-detect's `OutlierVAE.infer_threshold`.
"""

import numpy as np

from vaekit import checks
from vaekit.evaluation.likelihood import (
    DEFAULT_MAX_MEMORY,
    _compiled,
    _per_example,
    _rows,
)

__all__ = ["DEFAULT_IW_SAMPLES", "SCORES", "infer_threshold", "score"]

DEFAULT_IW_SAMPLES = 100
# The scores `score` returns, each higher for a more anomalous example.
SCORES = ("neg_elbo", "neg_log_likelihood", "reconstruction_error")


def score(
    model,
    x,
    iw_samples=DEFAULT_IW_SAMPLES,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    threshold=None,
    threshold_on="neg_log_likelihood",
    batch_size=256,
    condition=None,
):
    """Anomaly scores of every example of `x` under `model`.

    Args:
        model, x, iw_samples, seed, max_memory: As for
            `vaekit.evaluation.likelihood.per_example`: a `vaekit.VAE`, the data (shaped,
            scaled and binarized as the model expects), the number `k` of
            importance samples per example, their seed, and the byte budget
            of one chunk of work.
        threshold: Optional number: examples whose `threshold_on` score is
            above it are outliers.
        threshold_on: The score `threshold` applies to, one of `SCORES`.
        batch_size: Examples per decoder pass of the reconstruction.
        condition: The labels of `x`, for a conditional model (each example
            is scored under its own label).

    Returns:
        A dict of numpy arrays of shape `(n,)`, in the order of `x`:

        - `neg_elbo`: `-ELBO` in nats, the mean of the `k` log importance
          weights negated (a k-sample estimate, as `evaluate`'s `elbo`).
        - `neg_log_likelihood`: `-log p(x)` in nats, estimated with `k`
          importance samples (Burda et al. 2015); an upper bound on the true
          value in expectation that falls with `k`.
        - `reconstruction_error`: the mean over the features of
          `(x - x_hat)^2`, where `x_hat` is the mean of p(x|z) at
          `z = z_mean` (what `VAE.reconstruct` returns). For a model with a
          `DataTransform` (Gaussian models) it is measured in the model's
          space, so that every feature counts alike: each numeric feature
          in units of its standard deviation, and each categorical column
          as one-hot vectors (2 per wrong category); otherwise in the units
          of `x` as given (binarized data as binarized).
        - `is_outlier` (bool), when `threshold` is given:
          `scores[threshold_on] > threshold`.

    Raises:
        ValueError: if an argument is invalid, or `x` is empty or not of the
            model's input shape.
    """
    checks.one_of(threshold_on, "threshold_on", SCORES)
    if threshold is not None:
        threshold = checks.number(threshold, "threshold")
    checks.integer(batch_size, "batch_size")
    x = _rows(x)
    if condition is not None and model.conditional:
        condition = np.asarray(condition, dtype="float32").reshape(len(x), -1)
    else:
        condition = None
    values = _per_example(
        model, x, iw_samples, seed, max_memory, condition=condition, z_mean=False
    )
    errors = _compiled(model, _reconstruction_error)
    error = np.empty(len(x))
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        labels = None if condition is None else condition[start:stop]
        error[start:stop] = errors(x[start:stop], labels)
    scores = {
        "neg_elbo": -values["elbo"],
        "neg_log_likelihood": -values["log_likelihood"],
        "reconstruction_error": error,
    }
    if threshold is not None:
        scores["is_outlier"] = scores[threshold_on] > threshold
    return scores


def _reconstruction_error(model, x, y):
    """The mean over the features of `(x - x_hat)^2` per example, `x_hat`
    the mean of p(x|z = z_mean); in the model's space where it has a
    `DataTransform`."""
    from keras import ops

    z_mean, _ = model.posterior(x, condition=y)
    x_hat = model._mean(model._decode_params(z_mean, y if model.conditional else None))
    if model.transform is not None:
        x, x_hat = model.transform(x), model.transform(x_hat)
    diff = ops.reshape(x - ops.cast(x_hat, x.dtype), (ops.shape(x)[0], -1))
    return ops.mean(ops.square(diff), axis=1)


def infer_threshold(scores, quantile, key="neg_log_likelihood"):
    """The `quantile` of scores of normal data: a threshold that flags about
    `1 - quantile` of such data as outliers.

    Like alibi-detect's `infer_threshold(X, threshold_perc=100 * quantile)`.

    Args:
        scores: A dict as `score` returns (its `key` is used), or an array.
        quantile: A number in (0, 1).
        key: The score to use when `scores` is a dict.

    Returns:
        The threshold, a float (numpy's default, linear, quantile).

    Raises:
        ValueError: if `quantile` is not in (0, 1), or there are no scores
            or a score is not finite.
    """
    checks.number(quantile, "quantile", 0, 1, exclusive=("minimum", "maximum"))
    if isinstance(scores, dict):
        checks.one_of(key, "key", SCORES)
        scores = scores[key]
    values = np.asarray(scores, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError(
            "Expected at least one score, all finite. Received: "
            f"{values.size} scores, {int((~np.isfinite(values)).sum())} not finite"
        )
    return float(np.quantile(values, quantile))
