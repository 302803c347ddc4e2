"""Anomaly scores: one value per example, higher for data the model finds
less likely.

`score` returns, for every row of the data, the negative ELBO, the negative
importance-weighted log-likelihood and a reconstruction error, computed by
`vaekit.evaluation.likelihood.per_example` (the same memory-budgeted chunks
and streaming logsumexp as `vaekit.evaluate`, whose figures are their
means). `feature_scores` says why a row scores high: each feature's part of its
reconstruction term (`score(..., explain=True)` adds them). `infer_threshold` turns scores of normal data (such as the
training split's, which a training run stores in its folder) into a
threshold, like alibi-detect's `OutlierVAE.infer_threshold`.
"""

import warnings

import numpy as np

from vaekit import checks, runs
from vaekit.errors import InvalidArgument, VaekitWarning
from vaekit.evaluation.inputs import as_float_rows, likelihood_data, model_run
from vaekit.evaluation.likelihood import (
    DEFAULT_MAX_MEMORY,
    _compiled,
    check_seed,
    per_example,
)

__all__ = [
    "DEFAULT_IW_SAMPLES",
    "SCORES",
    "feature_names",
    "feature_scores",
    "infer_threshold",
    "score",
    "scores_of",
]

DEFAULT_IW_SAMPLES = 100
# The scores `score` returns, each higher for a more anomalous example.
SCORES = ("neg_elbo", "neg_log_likelihood", "reconstruction_error")


def score(
    model,
    data,
    iw_samples=None,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    threshold=None,
    threshold_quantile=None,
    threshold_on="neg_log_likelihood",
    condition=None,
    binarize="auto",
    label_column=None,
    split=None,
    missing="error",
    explain=False,
):
    """Anomaly scores of every example of `data` under `model`, one row per
    example in the data's order.

    Args:
        model: A `vaekit.VAE` or the path of a `.keras` file.
        data: A dataset spec, a pandas DataFrame or an array (see
            `vaekit.model.inputs.read_inputs`, which also takes
            `label_column`, `split` and `missing`).
        iw_samples: Importance samples `k` per example (default: with
            `threshold_quantile` the k of the stored training scores, else
            `DEFAULT_IW_SAMPLES`).
        seed, max_memory: As for `per_example`.
        threshold: Optional number: rows whose `threshold_on` score is above
            it (or not finite) are outliers.
        threshold_quantile: Optional number in (0, 1) instead of
            `threshold`: the threshold is this quantile of the training
            split's scores stored in the run folder of a model file
            (`vaekit.runs.TRAIN_SCORES`).
        threshold_on: The score a threshold applies to, one of `SCORES`.
        condition: The labels of an array's examples (conditional models).
        binarize: As for `vaekit.evaluate`.
        explain: Also each feature's part of the row's score
            (`feature_scores`, with the same `iw_samples` and `seed`): for a
            table, one column `nll_<name>` per column of the data; for
            images, an array `(n, *data_shape)` in `attrs["feature_scores"]`
            (a heat map per image).

    Returns:
        A pandas DataFrame with the columns `index` (each row's place among
        the data's rows), `label` (when the data has labels), the `SCORES`
        (see `scores_of`) and, with a threshold, `is_outlier`. Its `attrs`
        hold `iw_samples`, `threshold`, `threshold_source`, `split`,
        `binarize` and `not_finite` (the number of rows whose
        `threshold_on` score is not finite: outliers, with a threshold).

    Warns:
        VaekitWarning: when `threshold_quantile` compares scores estimated
            with another `iw_samples` than the stored training scores'.

    Raises:
        InvalidArgument: for a bad argument.
        VaekitError: for a bad model or data, or missing training scores.
    """
    import pandas as pd

    checks.one_of(threshold_on, "threshold_on", SCORES)
    if threshold is not None and threshold_quantile is not None:
        raise InvalidArgument("Give threshold or threshold_quantile, not both.")
    stored = None
    if threshold_quantile is not None:
        checks.number(
            threshold_quantile, "threshold_quantile", 0, 1, ("minimum", "maximum")
        )
        if hasattr(model, "encoder"):
            raise InvalidArgument(
                "threshold_quantile reads the training scores stored beside a "
                "model file: pass the model's path, or a threshold"
            )
        stored = runs.read_train_scores(model_run(model), keys=(threshold_on,))
        threshold = infer_threshold(stored, threshold_quantile, threshold_on)
        if iw_samples is None:
            iw_samples = stored["iw_samples"]
        _warn_other_k(stored["iw_samples"], iw_samples, threshold_on)
    iw_samples = DEFAULT_IW_SAMPLES if iw_samples is None else iw_samples
    check_seed(seed)
    prepared = likelihood_data(
        model, data, condition, binarize, seed, label_column, split, missing
    )
    values = scores_of(
        prepared.model, prepared.x, iw_samples, seed, max_memory, prepared.condition
    )
    columns = {"index": prepared.inputs.rows}
    if prepared.inputs.y is not None:
        columns["label"] = prepared.inputs.labels  # as the data names them
    columns.update(values)
    explained = None
    if explain:
        explained = feature_scores(
            prepared.model, prepared.x, iw_samples, seed, prepared.condition
        )
        if explained.ndim == 2:
            names = feature_names(prepared.model)
            columns.update({f"nll_{n}": explained[:, j] for j, n in enumerate(names)})
            explained = None
    if threshold is not None:
        threshold = checks.number(threshold, "threshold")
        # A score that is not finite is never normal: `not <=` flags NaN too.
        columns["is_outlier"] = ~(values[threshold_on] <= threshold)
    frame = pd.DataFrame(columns)
    frame.attrs.update(
        not_finite=int((~np.isfinite(values[threshold_on])).sum()),
        iw_samples=iw_samples,
        threshold=threshold,
        threshold_source=None
        if threshold is None
        else ("quantile" if stored is not None else "given"),
        split=prepared.inputs.split,
        binarize=prepared.binarize,
    )
    if explained is not None:
        frame.attrs["feature_scores"] = explained
    return frame


def _warn_other_k(stored_k, k, threshold_on):
    """Warns that a threshold from training scores estimated with
    `stored_k` importance samples is applied to scores estimated with `k`:
    the estimate of -log p(x) falls as k rises, so the fraction flagged
    shifts."""
    if threshold_on != "neg_log_likelihood" or k == stored_k:
        return
    warnings.warn(
        f"the threshold is a quantile of the training scores estimated with "
        f"k={stored_k} importance samples, and these scores are estimated with "
        f"k={k}: the estimate of -log p(x) falls as k rises, so rows are "
        f"flagged {'less' if k > stored_k else 'more'} often than the quantile "
        f"says; score with k={stored_k} to compare like with like",
        VaekitWarning,
        stacklevel=3,
    )


def scores_of(
    model,
    x,
    iw_samples=DEFAULT_IW_SAMPLES,
    seed=0,
    max_memory=DEFAULT_MAX_MEMORY,
    condition=None,
    batch_size=256,
):
    """The `SCORES` of every example of an array `x` (shaped, scaled and
    binarized as the model expects), as a dict of numpy arrays `(n,)`:

    - `neg_elbo`: `-ELBO` in nats, the mean of the `k` log importance
      weights negated (a k-sample estimate, as `evaluate`'s `elbo`).
    - `neg_log_likelihood`: `-log p(x)` in nats, estimated with `k`
      importance samples (Burda et al. 2015); an upper bound on the true
      value in expectation that falls with `k`.
    - `reconstruction_error`: the mean over the features of
      `(x - x_hat)^2`, where `x_hat` is the mean of p(x|z) at `z = z_mean`
      (what `VAE.reconstruct` returns); for a model that standardises, in
      its space, so that every feature counts alike (each numeric feature in
      units of its standard deviation, each categorical column as one-hot
      vectors: 2 per wrong category); otherwise in the units of `x` as
      given (binarized data as binarized).
    """
    checks.integer(batch_size, "batch_size")
    x = as_float_rows(x)
    if condition is not None and model.conditional:
        condition = np.asarray(condition, dtype="float32").reshape(len(x), -1)
    else:
        condition = None
    values = per_example(
        model, x, iw_samples, seed, max_memory, condition=condition, z_mean=False
    )
    errors = _compiled(model, lambda m, xb, yb: m.reconstruction_error(xb, yb))
    error = np.empty(len(x))
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        labels = None if condition is None else condition[start:stop]
        error[start:stop] = errors(x[start:stop], labels)
    return {
        "neg_elbo": -values["elbo"],
        "neg_log_likelihood": -values["log_likelihood"],
        "reconstruction_error": error,
    }


def feature_scores(
    model, x, iw_samples=DEFAULT_IW_SAMPLES, seed=0, condition=None, batch_size=64
):
    """Why each example of an array `x` scores as it does: each feature's
    part of its reconstruction term, `-E_q(z|x)[log p(x_j|z)]` in nats
    (`VAE.feature_log_likelihood` negated, `k = iw_samples` draws), as a
    numpy array of the shape of `x`.

    Higher is more anomalous, as for the `SCORES`: a row's highest values
    name the columns (the pixels, for images: a heat map) it is least like
    the training data in. They sum to the row's expected reconstruction
    term; the rest of `neg_elbo` is the KL of its code, which belongs to no
    single feature. For a model of a table in its own units a numeric
    column's part includes the log of its scale (as `neg_log_likelihood`
    does), and a categorical column's is `-log p(category)`.

    Args:
        model: A `vaekit.VAE`.
        x: Array of examples, shaped, scaled and binarized as the model
            expects.
        iw_samples: Draws `z ~ q(z|x)` per example.
        seed: Seed of the draws.
        condition: The labels of the examples (conditional models).
        batch_size: Examples per pass.
    """
    checks.integer(iw_samples, "iw_samples")
    checks.integer(batch_size, "batch_size")
    check_seed(seed)
    x = as_float_rows(x)
    if condition is not None and model.conditional:
        condition = np.asarray(condition, dtype="float32").reshape(len(x), -1)
    else:
        condition = None

    def per_feature(m, xb, yb, key, k):
        return m.feature_log_likelihood(xb, k, seed=key, condition=yb)

    run = _compiled(model, per_feature, seed)
    out = np.empty(x.shape, dtype=np.float64)
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        labels = None if condition is None else condition[start:stop]
        out[start:stop] = -run(x[start:stop], labels, iw_samples)
    return out


def feature_names(model):
    """The names of a model's features, for its `feature_scores`: a table's
    column names (`x0`, `x1`, ... where it has none)."""
    transform = getattr(model, "transform", None)
    names = getattr(transform, "column_names", None)
    if names:
        return [str(n) for n in names]
    return [f"x{j}" for j in range(int(np.prod(model.data_shape)))]


def infer_threshold(scores, quantile, key="neg_log_likelihood"):
    """The `quantile` of scores of normal data: a threshold that flags about
    `1 - quantile` of such data as outliers.

    Like alibi-detect's `infer_threshold(X, threshold_perc=100 * quantile)`.

    Args:
        scores: A dict or DataFrame of scores (its `key` is used), or an
            array.
        quantile: A number in (0, 1).
        key: The score to use when `scores` is a dict.

    Returns:
        The threshold, a float (numpy's default, linear, quantile).

    Raises:
        InvalidArgument: if `quantile` is not in (0, 1), or there are no
            scores or a score is not finite.
    """
    checks.number(quantile, "quantile", 0, 1, exclusive=("minimum", "maximum"))
    if not hasattr(scores, "shape") or hasattr(scores, "columns"):
        checks.one_of(key, "key", SCORES)
        scores = scores[key]
    values = np.asarray(scores, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise InvalidArgument(
            "Expected at least one score, all finite. Received: "
            f"{values.size} scores, {int((~np.isfinite(values)).sum())} not finite"
        )
    return float(np.quantile(values, quantile))
