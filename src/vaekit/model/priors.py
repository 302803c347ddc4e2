"""Priors p(z) of a VAE's latent code, as objects.

`StandardNormal` is the prior of Kingma & Welling: `log_prob`, the closed
form of the KL of a diagonal Gaussian posterior from it (per latent unit and
summed), and `sample`. The learned priors are layers whose weights train
with the model: `MixturePrior` (a mixture of diagonal Gaussians) and
`VampPrior` (Tomczak & Welling 2018: the mixture of the posteriors of
learned pseudo-inputs); `vaekit.model.flows.FlowPrior` and
`vaekit.model.hierarchy.TwoLayerPrior` are the others. Each has
`log_prob(z, seed=None)`, `sample(n, latent_dim, seed, temperature)`,
`analytic_kl` (whether `kl` has a closed form; where not, the model's KL is
a Monte Carlo term) and `bytes_per_row` (the working memory of `log_prob`
per code, for planning evaluation chunks). Each formula is written once here
and used by the model, its evaluation and its diagnostics.
"""

import math

import keras
import numpy as np
from keras import ops

from vaekit.errors import InvalidArgument

__all__ = [
    "MixturePrior",
    "StandardNormal",
    "VampPrior",
    "gaussian_kl",
    "pairwise_normal_log_prob",
    "standard_normal_log_prob",
    "unit_kl",
]

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

    name = "standard"
    analytic_kl = True

    def log_prob(self, z, seed=None):
        """`log p(z)` per example, shape `(batch,)` (`seed` is unused)."""
        return standard_normal_log_prob(z)

    def bytes_per_row(self):
        return 0

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


def pairwise_normal_log_prob(z, means, log_vars):
    """`log N(z_n; means_k, diag(exp(log_vars_k)))` of every code and
    component.

    Args:
        z: Tensor `(n, d)`.
        means, log_vars: Tensors `(K, d)`.

    Returns:
        Tensor `(n, K)`.
    """
    diff = ops.expand_dims(z, 1) - ops.expand_dims(means, 0)
    terms = _LOG_2PI + log_vars + ops.square(diff) * ops.exp(-log_vars)
    return -0.5 * ops.sum(terms, axis=-1)


def _mixture_log_prob(z, means, log_vars, log_weights):
    """`log sum_k exp(log_weights_k) N(z; means_k, exp(log_vars_k))`."""
    joint = pairwise_normal_log_prob(z, means, log_vars) + log_weights
    return ops.logsumexp(joint, axis=-1)


def _draw_mixture(means, log_vars, weights, n, seed, temperature):
    """`n` numpy draws from a mixture of diagonal Gaussians (numpy
    parameters), each component's std scaled by `temperature`."""
    rng = np.random.default_rng(seed)
    which = rng.choice(len(means), size=int(n), p=weights / weights.sum())
    noise = rng.standard_normal((int(n), means.shape[1]))
    std = np.exp(0.5 * log_vars[which]) * temperature
    return (means[which] + std * noise).astype("float32")


class _LearnedPrior(keras.layers.Layer):
    """What the learned priors share: no closed-form KL, one latent size."""

    analytic_kl = False

    def __init__(self, latent_dim, size, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.size = int(size)

    def call(self, z):
        return self.log_prob(z)

    def bytes_per_row(self):
        return 4 * 3 * self.size * self.latent_dim

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "size": self.size,
        }


@keras.saving.register_keras_serializable(package="vaekit")
class MixturePrior(_LearnedPrior):
    """A mixture of `size` diagonal Gaussians with learned means, variances
    and weights: ``p(z) = sum_k pi_k N(z; mu_k, diag(sigma_k^2))``.

    The means start as standard normal draws (seeded by `seed`), the
    variances at 1 and the weights equal.

    Args:
        latent_dim: Latent units `d`.
        size: Components `K`.
        seed: Optional seed of the means' initial draws.

    Example:

    >>> prior = MixturePrior(latent_dim=2, size=3, seed=0)
    >>> prior.sample(4, latent_dim=2, seed=0).shape
    (4, 2)
    """

    def __init__(self, latent_dim, size=10, seed=None, **kwargs):
        super().__init__(latent_dim, size, **kwargs)
        self.seed = seed
        shape = (self.size, self.latent_dim)
        self.means = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomNormal(seed=seed),
            name="means",
        )
        self.log_vars = self.add_weight(
            shape=shape, initializer="zeros", name="log_vars"
        )
        self.logits = self.add_weight(
            shape=(self.size,), initializer="zeros", name="logits"
        )
        self.built = True

    def log_prob(self, z, seed=None):
        """`log p(z)` per code, shape `(batch,)`."""
        z = ops.convert_to_tensor(z)
        log_weights = self.logits - ops.logsumexp(self.logits)
        return _mixture_log_prob(z, self.means, self.log_vars, log_weights)

    def sample(self, n, latent_dim=None, seed=None, temperature=1.0):
        """`n` draws as a float32 numpy array `(n, d)`."""
        weights = np.exp(_numpy(self.logits) - _numpy(self.logits).max())
        return _draw_mixture(
            _numpy(self.means), _numpy(self.log_vars), weights, n, seed, temperature
        )

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="vaekit")
class VampPrior(_LearnedPrior):
    """The VampPrior (Tomczak & Welling 2018): the mixture of the model's
    posteriors at `size` learned pseudo-inputs `u_k`,
    ``p(z) = 1/K sum_k q(z | u_k)``.

    The pseudo-inputs are weights of the data's shape; `initialize(x)`
    starts them at training examples (`VAE.adapt` does). The prior reads
    the encoder through `posterior`, a function `u -> (z_mean, q_log_var)`
    that the VAE gives it (`VAE.posterior`), so that the encoder is tracked
    once, by the model.

    Args:
        latent_dim: Latent units `d`.
        size: Pseudo-inputs `K`.
        data_shape: The shape of one example.
        seed: Optional seed of the initial pseudo-inputs.
    """

    def __init__(self, latent_dim, size=500, data_shape=(1,), seed=None, **kwargs):
        super().__init__(latent_dim, size, **kwargs)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.seed = seed
        self.posterior = None
        self.pseudo_inputs = self.add_weight(
            shape=(self.size, *self.data_shape),
            initializer=keras.initializers.RandomNormal(stddev=0.01, seed=seed),
            name="pseudo_inputs",
        )
        self.built = True

    def initialize(self, x):
        """Starts the pseudo-inputs at `size` examples of `x` drawn without
        replacement (with replacement when `x` has fewer), seeded."""
        rng = np.random.default_rng(self.seed)
        n = len(x)
        index = np.sort(rng.choice(n, size=self.size, replace=n < self.size))
        rows = np.stack([np.asarray(x[int(i)], dtype="float32") for i in index])
        self.pseudo_inputs.assign(rows.reshape(self.pseudo_inputs.shape))
        self.pseudo_inputs.assign(rows)

    def components(self):
        """`(means, log_vars)` of the K posteriors, each `(K, d)`."""
        if self.posterior is None:
            raise InvalidArgument(
                "This VampPrior has no encoder: it is the prior of a VAE, which "
                "gives it its posterior when the networks are attached."
            )
        return self.posterior(self.pseudo_inputs)

    def log_prob(self, z, seed=None):
        """`log p(z)` per code, shape `(batch,)`."""
        z = ops.convert_to_tensor(z)
        means, log_vars = self.components()
        log_weight = -math.log(self.size)
        return _mixture_log_prob(z, means, log_vars, log_weight)

    def sample(self, n, latent_dim=None, seed=None, temperature=1.0):
        """`n` draws as a float32 numpy array `(n, d)`."""
        means, log_vars = (_numpy(t) for t in self.components())
        weights = np.ones(self.size)
        return _draw_mixture(means, log_vars, weights, n, seed, temperature)

    def get_config(self):
        return {
            **super().get_config(),
            "data_shape": list(self.data_shape),
            "seed": self.seed,
        }


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)
