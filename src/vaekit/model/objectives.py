"""The training objectives of a VAE, as pure `keras.ops` functions.

`reparameterize` draws from the Gaussian posterior (the one place the
reparameterization trick is written) and `log_density_of_draw` is that
draw's log-density; `importance_weighted_bound` is the
IWAE bound of a set of log importance weights (the ELBO at k=1);
`free_bits_kl` is the KL term of free bits; `weighted_mean` averages one
value per example over a batch whose padding rows have weight 0, and
`trimmed_weights` leaves out a batch's highest-loss examples;
`dreg_codes` gives the importance-weighted bound the doubly reparameterized
gradient of Tucker et al. (2018).
"""

import math

import keras
from keras import ops

__all__ = [
    "RowWeightedMean",
    "dreg_codes",
    "free_bits_kl",
    "importance_weighted_bound",
    "log_density_of_draw",
    "reparameterize",
    "trimmed_weights",
    "weighted_mean",
]


def reparameterize(mean, log_var, epsilon):
    """`z = mean + exp(log_var / 2) * epsilon`: a draw from `N(mean,
    exp(log_var))` that is differentiable in `mean` and `log_var`, given
    standard normal noise `epsilon` of the same shape (Kingma & Welling
    2013, eq. 10)."""
    return mean + ops.exp(0.5 * log_var) * ops.cast(epsilon, mean.dtype)


def log_density_of_draw(log_var, epsilon):
    """`log N(z; mean, exp(log_var))` of `z = reparameterize(mean, log_var,
    epsilon)`, summed over the last axis.

    Written with the noise, `-0.5 * (log(2 pi) + log_var + epsilon^2)`: the
    same value and gradient as the density of `z`, but without dividing by
    the variance, which underflows to 0 in float32 (flushed denormals) when
    an encoder is very sure of an unusual row (log_var below about -87) and
    would make its log-likelihood infinite.
    """
    epsilon = ops.cast(epsilon, log_var.dtype)
    return -0.5 * ops.sum(
        math.log(2.0 * math.pi) + log_var + ops.square(epsilon), axis=-1
    )


@keras.saving.register_keras_serializable(package="vaekit")
def importance_weighted_bound(log_weights):
    """The importance-weighted bound on log p(x) (Burda et al. 2015, eq. 8).

    `L_k = logsumexp_i(log w_i) - log k` with
    `log w_i = log p(x, z_i) - log q(z_i | x)` and `z_i ~ q(z|x)`. `L_1` is
    the ELBO; `L_k` rises with `k` towards log p(x).

    Args:
        log_weights: Tensor of shape `(k, batch)`.

    Returns:
        Tensor of shape `(batch,)`.

    Example:

    >>> float(importance_weighted_bound(ops.zeros((5, 1)))[0])
    0.0
    """
    log_weights = ops.convert_to_tensor(log_weights)
    k = ops.shape(log_weights)[0]
    return ops.logsumexp(log_weights, axis=0) - ops.log(ops.cast(k, log_weights.dtype))


def weighted_mean(values, sample_weight=None):
    """The mean of `values` (one per example) weighted by `sample_weight`
    (a padded batch's rows have weight 0); the plain mean without it."""
    if sample_weight is None:
        return ops.mean(values)
    weight = ops.reshape(ops.cast(sample_weight, values.dtype), (-1,))
    return ops.sum(values * weight) / ops.maximum(ops.sum(weight), 1e-12)


def free_bits_kl(unit_kl, free_bits, sample_weight=None):
    """The KL term of free bits (Kingma et al. 2016, eq. 15):
    `sum_j max(free_bits, KL_j)`, `KL_j` the batch mean (weighted by
    `sample_weight`) of latent unit j's KL.

    Args:
        unit_kl: Tensor `(batch, latent_dim)`: each example's KL per unit.
        free_bits: The floor lambda, in nats per unit.
        sample_weight: Optional weights of the rows.

    Returns:
        A scalar: one KL term for the whole batch.
    """
    if sample_weight is None:
        batch_kl = ops.mean(unit_kl, axis=0)
    else:
        weight = ops.reshape(ops.cast(sample_weight, unit_kl.dtype), (-1, 1))
        batch_kl = ops.sum(unit_kl * weight, axis=0) / ops.maximum(
            ops.sum(weight), 1e-12
        )
    return ops.sum(ops.maximum(batch_kl, free_bits))


class RowWeightedMean(keras.metrics.Mean):
    """The `loss` the VAE reports: the mean over batches weighted by their
    real rows (Keras' own tracker counts a padded batch's padding rows too).

    Files written before it existed hold no state for it; a metric's state
    starts anew with each `fit`, so it then starts empty."""

    def load_own_variables(self, store):
        if len(store.keys()):
            super().load_own_variables(store)


def trimmed_weights(values, fraction, sample_weight=None):
    """The weights of a trimmed mean: `sample_weight` (default 1) with the
    examples of the highest `values` set to 0, so that
    `ceil((1 - fraction) * n)` of the `n` examples of nonzero weight keep
    theirs (at least one; ties at the cut are all kept).

    Args:
        values: Tensor of shape `(batch,)`, one loss per example.
        fraction: The fraction in [0, 1) to leave out.
        sample_weight: Optional tensor of shape `(batch,)`; rows of weight 0
            (a padded batch's) are never counted or kept.

    Returns:
        Tensor of shape `(batch,)`, without a gradient.

    Example:

    >>> [float(w) for w in trimmed_weights(ops.array([3.0, 1.0, 9.0, 2.0]), 0.25)]
    [1.0, 1.0, 0.0, 1.0]
    """
    values = ops.stop_gradient(ops.reshape(values, (-1,)))
    if sample_weight is None:
        weight = ops.ones_like(values)
    else:
        weight = ops.reshape(ops.cast(sample_weight, values.dtype), (-1,))
    real = weight > 0
    n = ops.sum(ops.cast(real, "float32"))
    keep = ops.maximum(ops.cast(ops.ceil(n * (1.0 - fraction)), "int32"), 1)
    ordered = ops.sort(ops.where(real, values, float("inf")))
    cut = ops.take(ordered, keep - 1)
    return ops.where(real & (values <= cut), weight, ops.zeros_like(weight))


def dreg_codes(z, kl_weight, k):
    """The codes of an importance-weighted bound, passed through so that its
    gradient to the inference network is DReG's (Tucker et al. 2018, eq. 7).

    The bound's plain gradient to q's parameters `phi` has a score-function
    part whose variance grows with `k`; DReG replaces it, with the same
    expectation, by a second pathwise term. With log q(z|x) taken at held
    parameters (so that `phi` reaches the bound only through the codes
    `z_i`), the plain gradient is `sum_i w_i d(log w_i)/dz_i dz_i/dphi` and
    DReG's is `sum_i ((1 - b) w_i + b w_i^2) d(log w_i)/dz_i dz_i/dphi`, `w_i`
    an example's normalized importance weights and `b` the weight of
    `log p(z) - log q(z|x)` in `log w_i` (1 is the true bound; below 1
    during a KL warm-up, whose tempered weights the same argument covers).
    The generative model's gradient stays the bound's own.

    The weights are only known once the bound is computed, after the codes
    are used, so they travel back with the gradient: the output is `z` with
    one more column of zeros, which the caller adds to `log w_i`; the
    gradient arriving at that column is the bound's coefficient of each
    `log w_i`, and an example's coefficients normalised are its `w_i`,
    whatever the loss's weighting of examples.

    Args:
        z: Tensor `(k * batch, d)`, draw-major (row `i * batch + j` is draw i
            of example j).
        kl_weight: The weight `b` (a number or scalar tensor).
        k: The draws per example.

    Returns:
        Tensor `(k * batch, d + 1)`: `z`, and a last column of zeros.
    """

    @ops.custom_gradient
    def codes(z, kl_weight):
        out = ops.concatenate([z, ops.zeros_like(z[:, :1])], axis=-1)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            coefficient = ops.reshape(upstream[:, -1], (k, -1))
            total = ops.sum(coefficient, axis=0, keepdims=True)
            nonzero = ops.not_equal(total, 0.0)
            safe = ops.where(nonzero, total, ops.ones_like(total))
            weights = ops.where(
                nonzero, coefficient / safe, ops.zeros_like(coefficient)
            )
            scale = (1.0 - kl_weight) + kl_weight * weights
            return upstream[:, :-1] * ops.reshape(scale, (-1, 1)), ops.zeros_like(
                kl_weight
            )

        return out, grad

    return codes(z, ops.cast(kl_weight, z.dtype))
