"""A second stochastic layer, as the prior of the first.

The two-layer VAE of the IWAE paper (Burda et al. 2015, section 5) is
``p(x, z1, z2) = p(z2) p(z1|z2) p(x|z1)`` with ``q(z1, z2|x) =
q(z1|x) q(z2|z1)``. Seen from the first layer, ``p(z1) = int p(z1|z2)
p(z2) dz2`` is a prior with its own inference network, and

    log p(z1|z2) + log p(z2) - log q(z2|z1),   z2 ~ q(z2|z1)

is an unbiased importance estimate of it whose use in a VAE's importance
weight gives exactly the two-layer model's weight
``log p(x, z1, z2) - log q(z1, z2|x)``. So `TwoLayerPrior.log_prob` draws
`z2` and returns that term: the ELBO, the importance-weighted bound and
their evaluation are those of the two-layer model, and every other part of
the VAE (encoder, decoder, pictures) stays that of its first layer.
"""

import math

import keras
import numpy as np
from keras import ops

from vaekit.model.networks import seeded_initializers
from vaekit.model.objectives import log_density_of_draw, reparameterize
from vaekit.model.priors import _LearnedPrior, _numpy

__all__ = ["TwoLayerPrior"]

_LOG_2PI = math.log(2.0 * math.pi)


def _gaussian_net(inputs, outputs, hidden_dims, activation, seed, name):
    """An MLP `inputs -> [mean, log_var]` of `outputs` units each."""
    init = seeded_initializers(seed)
    x = keras.Input((inputs,))
    h = x
    for units in hidden_dims:
        h = keras.layers.Dense(units, activation, kernel_initializer=init())(h)
    mean = keras.layers.Dense(outputs, kernel_initializer=init(), name="mean")(h)
    # The log-variance starts at 0 for every input: each conditional starts
    # as a unit Gaussian, not at scales a random layer would give (which
    # made the first steps' importance weights span hundreds of nats).
    log_var = keras.layers.Dense(outputs, kernel_initializer="zeros", name="log_var")(h)
    return keras.Model(x, [mean, log_var], name=name)


@keras.saving.register_keras_serializable(package="vaekit")
class TwoLayerPrior(_LearnedPrior):
    """The prior of `z1` that a second stochastic layer `z2` gives:
    ``p(z1) = int p(z1|z2) p(z2) dz2``, with the inference network
    ``q(z2|z1)`` (see the module docstring).

    Both conditionals are diagonal Gaussians from MLPs of `hidden_dims`;
    `top` is the prior of `z2` (standard normal by default, or a learned
    prior of `top_dim` units).

    Args:
        latent_dim: Units of the first layer `z1`.
        size: Units of the second layer `z2`.
        hidden_dims: Hidden units of both MLPs.
        activation: Their activation.
        top: The prior of `z2`, or None (standard normal).
        seed: Optional seed of the MLPs' initial weights.

    Example:

    >>> prior = TwoLayerPrior(latent_dim=4, size=2, hidden_dims=[8], seed=0)
    >>> prior.sample(3, latent_dim=4, seed=0).shape
    (3, 4)
    """

    def __init__(
        self,
        latent_dim,
        size,
        hidden_dims=(100, 100),
        activation="tanh",
        top=None,
        seed=None,
        **kwargs,
    ):
        from vaekit.model.priors import StandardNormal

        super().__init__(latent_dim, size, **kwargs)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.activation = activation
        self.seed = seed
        if isinstance(top, dict):
            top = keras.saving.deserialize_keras_object(top)
        self.top = StandardNormal() if top is None else top
        s = None if seed is None else seed + 100
        self.up = _gaussian_net(
            self.latent_dim, self.size, self.hidden_dims, activation, seed, "q_z2"
        )
        self.down = _gaussian_net(
            self.size, self.latent_dim, self.hidden_dims, activation, s, "p_z1"
        )
        self.seed_generator = keras.random.SeedGenerator(
            0 if seed is None else seed + 200
        )
        self.built = True

    def upper_posterior(self, z1):
        """`(mean, log_var)` of q(z2|z1)."""
        return self.up(ops.convert_to_tensor(z1))

    def log_prob(self, z, seed=None):
        """A one-draw importance estimate of `log p(z1)` per code, shape
        `(batch,)`: `log p(z1|z2) + log p(z2) - log q(z2|z1)` with
        `z2 ~ q(z2|z1)` drawn from `seed` (a `keras.random.SeedGenerator`
        or integer; default: the prior's own stream)."""
        z = ops.convert_to_tensor(z)
        mean2, log_var2 = self.upper_posterior(z)
        epsilon = keras.random.normal(
            ops.shape(mean2),
            dtype=mean2.dtype,
            seed=self.seed_generator if seed is None else seed,
        )
        z2 = reparameterize(mean2, log_var2, epsilon)
        mean1, log_var1 = self.down(z2)
        log_p_z1 = -0.5 * ops.sum(
            _LOG_2PI + log_var1 + ops.square(z - mean1) * ops.exp(-log_var1), axis=-1
        )
        return (
            log_p_z1
            + self.top.log_prob(z2, seed)
            - log_density_of_draw(log_var2, epsilon)
        )

    def sample(self, n, latent_dim=None, seed=None, temperature=1.0):
        """`n` draws of `z1` as a float32 numpy array: `z2` from the top
        prior, then `z1 ~ p(z1|z2)`, each with its std scaled by
        `temperature`."""
        z2 = self.top.sample(n, self.size, seed=seed, temperature=temperature)
        mean1, log_var1 = (_numpy(t) for t in self.down(z2))
        rng = np.random.default_rng(None if seed is None else int(seed) + 1)
        noise = rng.standard_normal(mean1.shape) * temperature
        return (mean1 + np.exp(0.5 * log_var1) * noise).astype("float32")

    def bytes_per_row(self):
        units = 2 * sum(self.hidden_dims) + 6 * (self.latent_dim + self.size)
        return 4 * 3 * units + self.top.bytes_per_row()

    def get_config(self):
        top = None
        if isinstance(self.top, keras.layers.Layer):
            top = keras.saving.serialize_keras_object(self.top)
        return {
            **super().get_config(),
            "hidden_dims": list(self.hidden_dims),
            "activation": self.activation,
            "top": top,
            "seed": self.seed,
        }
