"""A flow prior: RealNVP affine couplings (Dinh et al. 2017) over a
standard normal.

`FlowPrior` maps a code `z` to `u = f(z)` through `size` couplings, each of
which keeps half of the units (alternating halves) and scales and shifts
the other half by functions of the kept half; `log p(z) = log N(f(z); 0, I)
+ log |det df/dz|`, the log-determinant being the sum of the log-scales.
Sampling inverts the couplings from standard normal draws. The last layer
of each coupling starts at zero, so the flow starts as the identity and the
prior as N(0, I).
"""

import keras
import numpy as np
from keras import ops

from vaekit.model.priors import _LearnedPrior, _numpy, standard_normal_log_prob

__all__ = ["FlowPrior"]


@keras.saving.register_keras_serializable(package="vaekit")
class FlowPrior(_LearnedPrior):
    """A RealNVP prior: ``p(z) = N(f(z); 0, I) |det df/dz|``.

    Args:
        latent_dim: Latent units `d` (at least 2).
        size: Coupling layers.
        hidden_units: Units of the two hidden layers of each coupling's
            network.
        activation: Their activation.
        seed: Optional seed of their initial weights.

    Example:

    >>> prior = FlowPrior(latent_dim=4, size=2, seed=0)
    >>> prior.sample(3, latent_dim=4, seed=0).shape
    (3, 4)
    """

    def __init__(
        self,
        latent_dim,
        size=4,
        hidden_units=128,
        activation="relu",
        seed=None,
        **kwargs,
    ):
        super().__init__(latent_dim, size, **kwargs)
        self.hidden_units = int(hidden_units)
        self.activation = activation
        self.seed = seed
        d = self.latent_dim
        self.couplings = []
        for i in range(self.size):
            init = keras.initializers.GlorotUniform(
                seed=None if seed is None else seed + i
            )
            net = keras.Sequential(
                [
                    keras.Input((d,)),
                    keras.layers.Dense(
                        hidden_units, activation, kernel_initializer=init
                    ),
                    keras.layers.Dense(
                        hidden_units, activation, kernel_initializer=init
                    ),
                    keras.layers.Dense(2 * d, kernel_initializer="zeros"),
                ],
                name=f"coupling_{i}",
            )
            self.couplings.append(net)
        # Each coupling's log-scales are `scale * tanh(raw)`: bounded, so one
        # step cannot blow a scale up; `scale` is learned per unit.
        self.scales = self.add_weight(
            shape=(self.size, d), initializer="ones", name="scales"
        )
        self.masks = np.stack(
            [(np.arange(d) % 2 == i % 2).astype("float32") for i in range(self.size)]
        )
        self.built = True

    def _shift_and_log_scale(self, i, kept):
        """`(shift, log_scale)` of coupling `i` from its kept units, each
        zero on the kept units."""
        mask = ops.cast(self.masks[i], kept.dtype)
        out = self.couplings[i](kept)
        raw, shift = out[:, : self.latent_dim], out[:, self.latent_dim :]
        log_scale = self.scales[i] * ops.tanh(raw) * (1.0 - mask)
        return shift * (1.0 - mask), log_scale

    def forward(self, z):
        """`(u, log |det du/dz|)`: the code mapped to the base distribution,
        and the log-determinant per code, shape `(batch,)`."""
        u = ops.convert_to_tensor(z)
        log_det = ops.zeros(ops.shape(u)[:1], dtype=u.dtype)
        for i in range(self.size):
            mask = ops.cast(self.masks[i], u.dtype)
            shift, log_scale = self._shift_and_log_scale(i, u * mask)
            u = u * ops.exp(log_scale) + shift
            log_det = log_det + ops.sum(log_scale, axis=-1)
        return u, log_det

    def inverse(self, u):
        """The code `z` with `forward(z)[0] == u`."""
        z = ops.convert_to_tensor(u)
        for i in reversed(range(self.size)):
            mask = ops.cast(self.masks[i], z.dtype)
            shift, log_scale = self._shift_and_log_scale(i, z * mask)
            z = (z - shift) * ops.exp(-log_scale)
        return z

    def log_prob(self, z, seed=None):
        """`log p(z)` per code, shape `(batch,)`."""
        u, log_det = self.forward(z)
        return standard_normal_log_prob(u) + log_det

    def sample(self, n, latent_dim=None, seed=None, temperature=1.0):
        """`n` draws as a float32 numpy array `(n, d)`: base draws of std
        `temperature`, through the inverse flow."""
        rng = np.random.default_rng(seed)
        u = rng.standard_normal((int(n), self.latent_dim)) * temperature
        return _numpy(self.inverse(u.astype(self.compute_dtype))).astype("float32")

    def bytes_per_row(self):
        return 4 * 3 * self.size * (2 * self.hidden_units + 3 * self.latent_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "seed": self.seed,
        }
