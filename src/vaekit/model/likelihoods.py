"""Likelihoods p(x|z) of a VAE's decoder, as small objects.

Each has `log_prob(x, params)`, one value per example (summed over every
axis but the first, so an image `(H, W, C)` and a row `(D,)` are treated
alike), `mean(params)`, the mean of p(x|z) in the data's units, from
the decoder's unconstrained output `params`, and `sample(params, seed)`, a
draw from p(x|z) in the data's units (numpy, drawn eagerly after decoding):

- `Bernoulli`: `params` are logits; data in [0, 1].
- `Gaussian`: `params` are the mean; a fixed or learned variance.
- `StudentT`: `params` are the location; a fixed or learned scale, and
  tails heavier than a Gaussian's: a value far from the mean costs nats
  that grow with the log of its distance, not its square.
- `InDataUnits`: data in its own units through a `DataTransform`: its
  numeric features standardised under a `Gaussian`, each categorical column
  under a categorical distribution, plus the transform's log-Jacobian, so
  every log-likelihood is that of the data as the user gave it.

The formulas are pure `keras.ops` functions, written once:
`bernoulli_log_likelihood`, `gaussian_log_likelihood`,
`student_t_log_likelihood` and `categorical_log_likelihood`.
"""

import math

import keras
import numpy as np
from keras import ops

from vaekit.errors import InvalidArgument

__all__ = [
    "LOG_VAR_RATE",
    "MIN_DECODER_STD",
    "Bernoulli",
    "Gaussian",
    "InDataUnits",
    "StudentT",
    "bernoulli_log_likelihood",
    "categorical_log_likelihood",
    "gaussian_log_likelihood",
    "student_t_log_likelihood",
]

_LOG_2PI = math.log(2.0 * math.pi)
# A learned Gaussian standard deviation stays above this (in the model's
# standardised units): a constant or perfectly fitted feature would
# otherwise drive it to 0 and the likelihood to infinity.
MIN_DECODER_STD = 1e-3
# A learned log-variance is stored divided by this: Adam moves each weight by
# about the learning rate per step, and a log-variance has several nats to
# travel (std 1 -> 0.1 is -4.6), too slow at 1e-3 for small data sets, whose
# models then collapse while it falls (0.5 nats of KL after 100 epochs of
# 28x20 faces). Stored this way it moves 10 times faster.
LOG_VAR_RATE = 10.0


def _flat(values):
    """`(batch, ...)` -> `(batch, features)`. The per-pixel work runs on
    the flat rows: on XLA:CPU the same Bernoulli log-likelihood over
    `(rows, 28, 28, 1)` images ran 6x slower than over `(rows, 784)` (one
    run, k=5000 evaluation of the default model)."""
    if len(values.shape) <= 2:
        return values
    return ops.reshape(values, (ops.shape(values)[0], -1))


def _softplus(x):
    """`log(1 + exp(x))` as `relu(x) + log(1 + exp(-|x|))`: stable for any
    finite `x`, within 6e-8 (absolute) of the exact value in float32, and
    1.3x faster than `ops.softplus` on XLA:CPU where it is most of the
    per-pixel work beside the decoder's matmuls (benchmarks/evaluation.py).
    Its gradient is `sigmoid(x)`."""
    return ops.relu(x) + ops.log(1.0 + ops.exp(-ops.abs(x)))


@keras.saving.register_keras_serializable(package="vaekit")
def bernoulli_log_likelihood(x, logits):
    """Log-likelihood of `x` under independent Bernoulli(sigmoid(logits)).

    `log p(x) = sum(x * logits - softplus(logits))`, which equals
    `sum(x * log(p) + (1 - x) * log(1 - p))` with `p = sigmoid(logits)`, but
    needs no clipping: it stays finite for any finite logit. For greyscale
    `x` in [0, 1] it is the (negative) summed binary crossentropy of the
    tutorial, with the arguments in the right order.

    Args:
        x: Tensor of shape `(batch, ...)` with values in [0, 1].
        logits: Tensor of the same shape: the decoder's output.

    Returns:
        Tensor of shape `(batch,)` (in nats; <= 0 for binary `x`).

    Example:

    >>> round(float(bernoulli_log_likelihood(ops.ones((1, 1)),
    ...                                      ops.zeros((1, 1)))[0]), 4)
    -0.6931
    """
    logits = _flat(ops.convert_to_tensor(logits))
    x = _flat(ops.cast(x, logits.dtype))
    return ops.sum(x * logits - _softplus(logits), axis=-1)


@keras.saving.register_keras_serializable(package="vaekit")
def gaussian_log_likelihood(x, mean, log_var):
    """Log-density of `x` under independent ``N(mean, exp(log_var))``.

    `log p(x) = sum(-0.5 * (log(2 pi) + log_var + (x - mean)^2 /
    exp(log_var)))`. `log_var` broadcasts against `x`, so a scalar gives a
    fixed or learned shared variance.

    Args:
        x: Tensor of shape `(batch, ...)`.
        mean: Tensor of the same shape.
        log_var: Tensor broadcastable to the shape of `x`.

    Returns:
        Tensor of shape `(batch,)` (in nats).

    Example:

    >>> round(float(gaussian_log_likelihood(ops.zeros((1, 1)),
    ...                                     ops.zeros((1, 1)), 0.0)[0]), 4)
    -0.9189
    """
    mean = ops.convert_to_tensor(mean)
    x = ops.cast(x, mean.dtype)
    log_var = ops.cast(log_var, mean.dtype)
    log_var = _flat(ops.broadcast_to(log_var, ops.shape(x)))
    return ops.sum(_gaussian(_flat(x), _flat(mean), log_var), axis=-1)


def _gaussian(x, mean, log_var):
    """Elementwise log-density of `x` under N(`mean`, `exp(log_var)`)."""
    return -0.5 * (_LOG_2PI + log_var + ops.square(x - mean) * ops.exp(-log_var))


def _student_t(x, loc, log_var, df):
    """Elementwise log-density of `x` under Student-t(`df`, `loc`,
    `exp(log_var / 2)`)."""
    const = (
        math.lgamma((df + 1.0) / 2.0)
        - math.lgamma(df / 2.0)
        - 0.5 * math.log(df * math.pi)
    )
    squared = ops.square(x - loc) * ops.exp(-log_var) / df
    return const - 0.5 * log_var - 0.5 * (df + 1.0) * ops.log1p(squared)


@keras.saving.register_keras_serializable(package="vaekit")
def student_t_log_likelihood(x, loc, log_var, df):
    """Log-density of `x` under independent Student-t distributions with
    `df` degrees of freedom, location `loc` and scale `exp(log_var / 2)`.

    `log p(x) = sum(log Gamma((df+1)/2) - log Gamma(df/2) - log(df pi)/2 -
    log_var/2 - (df+1)/2 * log(1 + (x - loc)^2 / (df exp(log_var))))`. As
    `df` grows it tends to `gaussian_log_likelihood`; far out, a value `d`
    scales from `loc` costs `(df+1) log(d)` nats plus a constant, not `d^2/2`.

    Args:
        x: Tensor of shape `(batch, ...)`.
        loc: Tensor of the same shape.
        log_var: Log of the squared scale, broadcastable to `x`.
        df: Degrees of freedom, a number > 0.

    Returns:
        Tensor of shape `(batch,)` (in nats).

    Example (the Cauchy density at its centre, 1/pi):

    >>> round(float(student_t_log_likelihood(ops.zeros((1, 1)),
    ...                                      ops.zeros((1, 1)), 0.0, 1.0)[0]), 4)
    -1.1447
    """
    loc = ops.convert_to_tensor(loc)
    x = ops.cast(x, loc.dtype)
    log_var = _flat(ops.broadcast_to(ops.cast(log_var, loc.dtype), ops.shape(x)))
    return ops.sum(_student_t(_flat(x), _flat(loc), log_var, float(df)), axis=-1)


def categorical_log_likelihood(index, logits):
    """Log-probability of category `index` (float or int, `(batch,)`) under
    `softmax(logits)` (`(batch, n)`); an index outside `0..n-1` gets no
    probability mass (its one-hot row is all zeros)."""
    logits = ops.convert_to_tensor(logits)
    index = ops.cast(ops.round(ops.cast(index, logits.dtype)), "int32")
    one_hot = ops.one_hot(index, ops.shape(logits)[-1], dtype=logits.dtype)
    return ops.sum(one_hot * ops.log_softmax(logits, axis=-1), axis=-1)


class Bernoulli:
    """p(x|z) = Bernoulli(sigmoid(logits)), independently per value."""

    def log_prob(self, x, logits):
        return bernoulli_log_likelihood(x, logits)

    def log_prob_features(self, x, logits):
        """`log p(x_j|z)` of each value, in the shape of `x`: its sum over
        the features is `log_prob`."""
        logits = ops.convert_to_tensor(logits)
        x = ops.cast(x, logits.dtype)
        return x * logits - _softplus(logits)

    def mean(self, logits):
        return ops.sigmoid(logits)

    def sample(self, logits, seed=None):
        """0 or 1 per value, 1 with probability `sigmoid(logits)` (numpy;
        numpy's generator seeded by `seed`)."""
        p = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
        uniform = np.random.default_rng(seed).uniform(size=p.shape)
        return (uniform < p).astype(np.float32)


class Gaussian:
    """p(x|z) = N(mean, sigma^2), independently per value.

    Args:
        std: A fixed standard deviation (> 0), or None.
        log_var: With `std=None`: a Keras variable holding the learned
            log-variance divided by `LOG_VAR_RATE` (a scalar, or one per
            feature); the variance it gives stays above `MIN_DECODER_STD`
            squared.
    """

    def __init__(self, std=None, log_var=None):
        if (std is None) == (log_var is None):
            raise InvalidArgument(
                "Give a fixed `std` or a learned `log_var`, not both."
            )
        self.std = std
        self.log_var_variable = log_var

    def log_var(self):
        """The log-variance: fixed, or learned and floored."""
        if self.log_var_variable is None:
            return 2.0 * math.log(self.std)
        return ops.maximum(
            LOG_VAR_RATE * self.log_var_variable, 2.0 * math.log(MIN_DECODER_STD)
        )

    def log_prob(self, x, mean):
        return gaussian_log_likelihood(x, mean, self.log_var())

    def log_prob_features(self, x, mean):
        """`log p(x_j|z)` of each value, in the shape of `x`: its sum over
        the features is `log_prob`."""
        mean = ops.convert_to_tensor(mean)
        x = ops.cast(x, mean.dtype)
        log_var = ops.cast(self.log_var(), mean.dtype)
        return self._log_density(x, mean, log_var)

    def _log_density(self, x, mean, log_var):
        return _gaussian(x, mean, log_var)

    def mean(self, params):
        return params

    def noise(self, shape, rng):
        """Standard draws (scale 1, centred) of this family, from numpy's
        generator `rng`."""
        return rng.standard_normal(shape)

    def scale(self):
        """The standard deviation (scale) as numpy float64."""
        log_var = np.asarray(ops.convert_to_numpy(self.log_var()), np.float64)
        return np.exp(0.5 * log_var)

    def sample(self, mean, seed=None):
        """`mean` plus noise of the likelihood's scale (numpy; numpy's
        generator seeded by `seed`)."""
        mean = np.asarray(mean, np.float64)
        noise = self.noise(mean.shape, np.random.default_rng(seed))
        return (mean + self.scale() * noise).astype(np.float32)


class StudentT(Gaussian):
    """p(x|z) = Student-t(df, loc, scale), independently per value: the
    `Gaussian` with heavier tails. A few values far from what the decoder
    predicts (a zero-inflated column, an anomaly among the training rows)
    cost nats in the log of their distance, not its square: they dominate
    neither the training loss nor a row's anomaly score.

    Args:
        df: Degrees of freedom, > 0 (large: close to the Gaussian).
        std, log_var: The scale, fixed or learned, as the `Gaussian`'s.
    """

    def __init__(self, df, std=None, log_var=None):
        super().__init__(std=std, log_var=log_var)
        if not df > 0:
            raise InvalidArgument(f"df must be > 0. Received: df={df!r}")
        self.df = float(df)

    def log_prob(self, x, mean):
        return student_t_log_likelihood(x, mean, self.log_var(), self.df)

    def _log_density(self, x, loc, log_var):
        return _student_t(x, loc, log_var, self.df)

    def noise(self, shape, rng):
        return rng.standard_t(self.df, shape)


class InDataUnits:
    """p(x|z) of data in its own units, through a `DataTransform`.

    The decoder's `params` live in the transform's model space: the
    Gaussian means of the standardised numeric features, then one block of
    logits per categorical column. The log-likelihood of `x` (in the
    data's units) is the Gaussian's of its standardised numeric features,
    plus each categorical column's log-probability, plus the transform's
    log-Jacobian `-sum(log scale)`: a column in millimetres and the same
    column in metres give log-likelihoods that differ by exactly log(1000).

    Args:
        transform: An adapted `vaekit.model.DataTransform`.
        numeric: The `Gaussian` of the standardised numeric features.
    """

    def __init__(self, transform, numeric):
        self.transform = transform
        self.numeric = numeric

    def log_prob(self, x, params):
        transform = self.transform
        x = ops.cast(x, params.dtype)
        numeric, blocks = transform.split_params(params)
        result = transform.log_jacobian()
        if numeric is not None:
            result = result + self.numeric.log_prob(transform.standardize(x), numeric)
        for (column, _), logits in zip(transform.categorical, blocks, strict=True):
            result = result + categorical_log_likelihood(x[:, column], logits)
        return result

    def log_prob_features(self, x, params):
        """`log p(x_j|z)` of each value of `x` in its own units, in the
        shape of `x` (a table's columns, categorical ones included; an
        image's values): a numeric value's Gaussian log-density minus the
        log of its feature's scale, a categorical column's log-probability
        of its category. Their sum over the features is `log_prob`."""
        transform = self.transform
        x = ops.cast(x, params.dtype)
        numeric, blocks = transform.split_params(params)
        per_numeric = None
        if numeric is not None:
            per_numeric = self.numeric.log_prob_features(
                transform.standardize(x), numeric
            ) - ops.log(transform.scale)
            if not transform.categorical:
                return per_numeric
        columns = {}
        for i, column in enumerate(transform.numeric):
            columns[column] = per_numeric[:, i]
        for (column, _), logits in zip(transform.categorical, blocks, strict=True):
            columns[column] = categorical_log_likelihood(x[:, column], logits)
        return ops.stack([columns[c] for c in range(len(columns))], axis=-1)

    def mean(self, params):
        return self.transform.inverse(params)

    def sample(self, params, seed=None):
        """A draw from p(x|z) in the data's units, as numpy (drawn by
        numpy's generator seeded by `seed`: a seed gives the same draw on
        every backend): each standardised numeric feature from its
        Gaussian (or Student-t), de-standardised, kept within the transform's
        `value_range` and rounded where it is `integers`; each categorical
        column's category drawn from its softmax (its value, for a column
        with `category_values`)."""
        transform = self.transform
        numeric, blocks = transform.split_params(np.asarray(params, np.float64))
        rng = np.random.default_rng(seed)
        parts = []
        if numeric is not None:
            values = numeric + self.numeric.scale() * self.numeric.noise(
                numeric.shape, rng
            )
            values = values * ops.convert_to_numpy(
                transform.scale
            ) + ops.convert_to_numpy(transform.mean)
            if transform.value_range is not None:
                bounds = np.asarray(transform.value_range)
                values = np.where(transform.integers, np.round(values), values)
                values = np.clip(values, bounds[:, 0], bounds[:, 1])
            parts.append(values)
        for logits, options in zip(
            blocks, transform.category_values or [None] * len(blocks), strict=True
        ):
            p = np.exp(logits - logits.max(axis=-1, keepdims=True))
            cumulative = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
            u = rng.uniform(size=(len(logits), 1))
            pick = np.minimum((u > cumulative).sum(axis=-1), logits.shape[-1] - 1)
            if options is not None:
                pick = np.asarray(options)[pick]
            parts.append(pick[:, None].astype(np.float64))
        rows = np.concatenate(parts, axis=-1)
        if transform.categorical:
            rows = rows[:, transform._inverse_order]
        return rows.astype(np.float32)
