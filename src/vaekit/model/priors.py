"""Priors p(z) of a VAE's latent code, as small objects.

`StandardNormal` is the prior of Kingma & Welling: `log_prob`, the closed
form of the KL of a diagonal Gaussian posterior from it (per latent unit and
summed), and `sample`. Each formula is written once here and used by the
model, its evaluation and its diagnostics.
"""

import math

import keras
import numpy as np
from keras import ops

__all__ = ["StandardNormal", "gaussian_kl", "standard_normal_log_prob", "unit_kl"]

_LOG_2PI = math.log(2.0 * math.pi)


def _sum_over_features(values):
    """Sums over every axis but the first: `(batch, ...)` -> `(batch,)`."""
    if len(values.shape) == 1:
        return values
    return ops.sum(values, axis=tuple(range(1, len(values.shape))))


def unit_kl(z_mean, z_log_var):
    """KL of each latent unit's ``N(z_mean_j, exp(z_log_var_j))`` from
    ``N(0, 1)``: `-0.5 * (1 + z_log_var - z_mean^2 - exp(z_log_var))`
    (Kingma & Welling 2013, appendix B).

    Returns:
        Tensor of the shape of `z_mean` (nats, each >= 0).
    """
    z_mean = ops.convert_to_tensor(z_mean)
    z_log_var = ops.cast(z_log_var, z_mean.dtype)
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


@keras.saving.register_keras_serializable(package="vaekit")
def gaussian_kl(z_mean, z_log_var):
    """KL divergence of ``N(z_mean, exp(z_log_var))`` from ``N(0, I)``,
    `unit_kl` summed over the latent units.

    Args:
        z_mean: Tensor of shape `(batch, latent_dim)`.
        z_log_var: Tensor of the same shape: the log-variance of q(z|x).

    Returns:
        Tensor of shape `(batch,)`, each value >= 0 (in nats).

    Example:

    >>> float(gaussian_kl(ops.zeros((1, 2)), ops.zeros((1, 2)))[0])
    0.0
    """
    return _sum_over_features(unit_kl(z_mean, z_log_var))


@keras.saving.register_keras_serializable(package="vaekit")
def standard_normal_log_prob(z):
    """Log-density of `z` under the prior ``N(0, I)``.

    Args:
        z: Tensor of shape `(batch, latent_dim)`.

    Returns:
        Tensor of shape `(batch,)`.
    """
    z = ops.convert_to_tensor(z)
    return _sum_over_features(-0.5 * (_LOG_2PI + ops.square(z)))


class StandardNormal:
    """The prior ``p(z) = N(0, I)``.

    Example:

    >>> prior = StandardNormal()
    >>> prior.sample(2, latent_dim=3, seed=0).shape
    (2, 3)
    """

    def log_prob(self, z):
        """`log p(z)` per example, shape `(batch,)`."""
        return standard_normal_log_prob(z)

    def unit_kl(self, z_mean, z_log_var):
        """`KL(q(z_j|x) || p(z_j))` per example and unit (closed form)."""
        return unit_kl(z_mean, z_log_var)

    def kl(self, z_mean, z_log_var):
        """`KL(q(z|x) || p(z))` per example, shape `(batch,)`."""
        return gaussian_kl(z_mean, z_log_var)

    def sample(self, n, latent_dim, seed=None, temperature=1.0):
        """`n` draws from ``N(0, temperature^2 I)`` as a float32 numpy array
        `(n, latent_dim)`, from numpy's generator seeded by `seed`."""
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), int(latent_dim))).astype("float32")
        return z * np.float32(temperature)
