"""Keras layers of vaekit."""

import numbers

import keras
from keras import ops

from vaekit import checks

__all__ = ["Sampling"]


@keras.saving.register_keras_serializable(package="vaekit")
class Sampling(keras.layers.Layer):
    """Draws ``z ~ N(z_mean, epsilon_std^2 * exp(z_log_var))``: the
    reparameterization trick (Kingma & Welling 2013, eq. 10).

    ``z = z_mean + exp(z_log_var / 2) * epsilon * epsilon_std`` with one
    ``epsilon ~ N(0, 1)`` per sample and latent unit, so each row of a batch
    gets its own noise (the tutorial drew one epsilon for the whole batch).

    Args:
        epsilon_std: Float >= 0, the standard deviation of epsilon, as in the
            tutorial. 1.0 samples the encoder's posterior exactly; 0 returns
            ``z_mean``.
        seed: Optional integer seed of the layer's own
            `keras.random.SeedGenerator`.

    Call arguments:
        inputs: A list ``[z_mean, z_log_var]`` of two tensors of the same
            shape ``(..., latent_dim)``.
        training: Ignored: the layer samples in training and inference alike,
            since a VAE's posterior draw is part of the model, not a
            regularizer.

    Returns:
        A tensor of the shape of ``z_mean``.

    Example:

    >>> z = Sampling(seed=0)([ops.zeros((4, 2)), ops.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, epsilon_std=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon_std, numbers.Real) and not isinstance(epsilon_std, bool):
            epsilon_std = float(epsilon_std)  # numpy scalars too
        checks.number(epsilon_std, "epsilon_std", minimum=0)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise checks.invalid("seed", "an integer or None", seed)
        self.epsilon_std = float(epsilon_std)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(
            ops.shape(z_mean),
            stddev=self.epsilon_std,
            dtype=z_mean.dtype,
            seed=self.seed_generator,
        )
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        base_config = super().get_config()
        config = {"epsilon_std": self.epsilon_std, "seed": self.seed}
        return {**base_config, **config}
