"""The combined VAE model: encoder, `Sampling`, decoder, and its loss.

The networks themselves are built by `vaekit.networks` and models are
loaded by `vaekit.inputs` (both re-exported here: `build_encoder`,
`build_decoder`, `load_model`).
"""

import math

import keras
from keras import ops

from vaekit import checks
from vaekit.inputs import load_model
from vaekit.layers import Sampling
from vaekit.losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    standard_normal_log_prob,
)
from vaekit.networks import build_decoder, build_encoder

__all__ = ["VAE", "build_decoder", "build_encoder", "load_model"]


class _RowMean(keras.metrics.Mean):
    """The `loss` tracker of `VAE`: the mean over the batches weighted by
    their real rows (`add`). Keras' trainer also calls `update_state` with
    the padded batch size: ignored."""

    def update_state(self, values, sample_weight=None):
        pass

    def add(self, values, sample_weight=None):
        super().update_state(values, sample_weight)


@keras.saving.register_keras_serializable(package="vaekit")
class VAE(keras.Model):
    """The variational autoencoder: encoder, `Sampling`, decoder.

    The model shares the layers of `encoder` and `decoder`, which stay usable
    on their own, as in the tutorial. Its training objective, the negative
    ELBO per data point

        loss = -E_q[log p(x|z)] + beta * KL(q(z|x) || p(z))

    (summed over features, mean over the batch), lives in `compute_loss`, so
    `compile(optimizer="rmsprop")` and `fit(x)` train it on every backend,
    reporting `loss`, `reconstruction` (the expected negative
    log-likelihood) and `kl`. With `iw_samples=k > 1` the loss is instead the
    negative importance-weighted bound of Burda et al. (2015).

    Args:
        encoder: A model `x -> [z_mean, z_log_var]` (see `build_encoder`).
        decoder: A model `z -> parameters of p(x|z)` (see `build_decoder`).
        likelihood: `"bernoulli"` (decoder outputs logits; data in [0, 1])
            or `"gaussian"` (decoder outputs the mean).
        beta: Weight of the KL term (beta-VAE; 1.0 is the true ELBO).
        epsilon_std: Scale of the reparameterization noise, as in the
            tutorial. The posterior is read as
            `N(z_mean, epsilon_std^2 * exp(z_log_var))`, so the loss stays a
            true bound whatever its value. Must be > 0.
        decoder_std: For the Gaussian likelihood: a fixed standard deviation
            (float > 0), or `"learned"`: one shared, trained log-variance.
        iw_samples: Number of importance samples of the training objective
            (1: the ELBO; k > 1: the IWAE bound).
        kl_warmup_steps: Number of training steps over which the KL weight
            rises linearly from 0 to `beta` (0: no warm-up).
        free_bits: Free bits lambda >= 0 (Kingma et al. 2016, eq. 15): the
            objective's KL term becomes `sum_j max(lambda, KL_j)`, `KL_j`
            the batch mean of latent unit j's KL, so no unit gains by
            collapsing below lambda nats. The tracked `loss` is this
            objective; `kl` (and `vaekit.evaluate`) stay the true KL. Only
            with `iw_samples=1`: the importance-weighted bound has no
            separate KL term (0: off).
        seed: Optional integer seed of the sampling layer.
        **kwargs: Passed to `keras.Model` (`name`, ...).

    Example:

    >>> encoder = build_encoder((784,), [256], latent_dim=2)
    >>> decoder = build_decoder((784,), [256], latent_dim=2)
    >>> vae = VAE(encoder, decoder)
    >>> vae.compile(optimizer="rmsprop")
    >>> history = vae.fit(x_train, epochs=50, batch_size=100)  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        beta=1.0,
        epsilon_std=1.0,
        decoder_std="learned",
        iw_samples=1,
        kl_warmup_steps=0,
        seed=None,
        free_bits=0.0,
        **kwargs,
    ):
        kwargs.setdefault("name", "vae")
        super().__init__(**kwargs)
        checks.one_of(likelihood, "likelihood", checks.LIKELIHOODS)
        checks.number(beta, "beta", minimum=0)
        checks.number(epsilon_std, "epsilon_std", minimum=0, exclusive=("minimum",))
        if isinstance(decoder_std, str):
            checks.one_of(decoder_std, "decoder_std", checks.DECODER_STDS)
        else:
            checks.number(decoder_std, "decoder_std", minimum=0, exclusive=("minimum",))
        checks.integer(iw_samples, "iw_samples")
        checks.integer(kl_warmup_steps, "kl_warmup_steps", minimum=0)
        checks.number(free_bits, "free_bits", minimum=0)
        if free_bits > 0 and iw_samples > 1:
            raise ValueError(
                "free_bits applies to the ELBO's KL term; the importance-weighted "
                "bound (iw_samples > 1) has none: use iw_samples=1 or free_bits=0. "
                f"Received: free_bits={free_bits!r}, iw_samples={iw_samples!r}"
            )
        z_shape = encoder.outputs[0].shape
        if tuple(decoder.inputs[0].shape[1:]) != tuple(z_shape[1:]):
            raise ValueError(
                "The decoder's input must match the encoder's latent output. "
                f"Received: encoder latent shape={tuple(z_shape[1:])}, decoder "
                f"input shape={tuple(decoder.inputs[0].shape[1:])}"
            )
        if tuple(decoder.outputs[0].shape[1:]) != tuple(encoder.inputs[0].shape[1:]):
            raise ValueError(
                "The decoder's output must have the encoder's input shape. "
                f"Received: encoder input shape={tuple(encoder.inputs[0].shape[1:])}"
                f", decoder output shape={tuple(decoder.outputs[0].shape[1:])}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.epsilon_std = float(epsilon_std)
        self.decoder_std = (
            decoder_std if decoder_std == "learned" else float(decoder_std)
        )
        self.iw_samples = iw_samples
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = float(free_bits)
        self.seed = seed
        self.latent_dim = int(z_shape[-1])
        self.data_shape = tuple(int(s) for s in encoder.inputs[0].shape[1:])
        self.sampling = Sampling(
            epsilon_std=self.epsilon_std, seed=seed, name="sampling"
        )
        # Inference (validation, predict) draws from its own stream, so that
        # evaluating never moves the training stream: a run resumed after an
        # extra validation pass trains on exactly the same noise.
        self.inference_sampling = Sampling(
            epsilon_std=self.epsilon_std,
            seed=None if seed is None else seed + 1,
            name="inference_sampling",
        )
        # The tutorial's epsilon_std scales the posterior's std; its log adds
        # to the log-variance so that KL and importance weights use the q(z|x)
        # that is actually sampled.
        self._log_eps_var = 2.0 * math.log(self.epsilon_std)
        self.decoder_log_var = None
        if likelihood == "gaussian" and decoder_std == "learned":
            self.decoder_log_var = self.add_weight(
                shape=(), initializer="zeros", name="decoder_log_var"
            )
        self.train_steps = None
        if kl_warmup_steps:
            self.train_steps = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="train_steps"
            )
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.built = True

    # -- the probabilistic model ------------------------------------------

    def _log_likelihood(self, x, params):
        """log p(x|z) per example, from the decoder's output."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, params)
        if self.decoder_log_var is not None:
            log_var = self.decoder_log_var
        else:
            log_var = 2.0 * math.log(self.decoder_std)
        return gaussian_log_likelihood(x, params, log_var)

    def _mean(self, params):
        """The mean of p(x|z) in data space."""
        if self.likelihood == "bernoulli":
            return ops.sigmoid(params)
        return params

    def posterior(self, x, training=False):
        """Returns `(z_mean, q_log_var)`: q(z|x) as it is sampled, with
        `epsilon_std` folded into the log-variance."""
        z_mean, z_log_var = self.encoder(x, training=training)
        return z_mean, z_log_var + self._log_eps_var

    def _noise(self, like, seed=None, epsilon=None):
        """Standard normal noise of the shape of `like`: drawn from `seed`
        (default: the sampling layer's stream), or `epsilon` reshaped."""
        if epsilon is None:
            return keras.random.normal(
                ops.shape(like),
                dtype=like.dtype,
                seed=self.sampling.seed_generator if seed is None else seed,
            )
        return ops.reshape(ops.cast(epsilon, like.dtype), ops.shape(like))

    def log_importance_weights(self, x, k=1, seed=None, training=False, epsilon=None):
        """`log p(x, z_i) - log q(z_i|x)` for `k` draws `z_i ~ q(z|x)`.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            k: Number of draws per example.
            seed: A `keras.random.SeedGenerator` or integer; default: the
                model's sampling layer.
            training: Passed to the encoder and decoder.
            epsilon: Optional standard normal noise of shape
                `(k, batch, latent_dim)`, used instead of drawing it:
                `keras.random` streams differ between backends, so the same
                `epsilon` is how JAX, TensorFlow and PyTorch give the same
                weights.

        Returns:
            Tensor of shape `(k, batch)`.
        """
        log_px_z, log_prior_ratio, _ = self._importance_terms(
            x, k, seed=seed, training=training, epsilon=epsilon
        )
        return log_px_z + log_prior_ratio

    def _importance_terms(self, x, k, seed=None, training=False, epsilon=None):
        """`(log p(x|z_i), log p(z_i) - log q(z_i|x), (z_mean, q_log_var))`,
        the first two of shape `(k, batch)`: one encoder pass and one decoder
        pass over `k * batch` codes."""
        z_mean, q_log_var = self.posterior(x, training=training)
        batch = ops.shape(z_mean)[0]
        mean_k = ops.tile(z_mean, (k, 1))
        log_var_k = ops.tile(q_log_var, (k, 1))
        # Row i * batch + j of the tiled codes is draw i of example j.
        if epsilon is None:
            # Drawn example-major, so that an example's draws do not depend on
            # the batch's size: a batch padded for --distribute draws for its
            # real rows what one device draws.
            like = ops.tile(ops.expand_dims(z_mean, 1), (1, k, 1))
            epsilon = ops.transpose(self._noise(like, seed), (1, 0, 2))
        z = mean_k + ops.exp(0.5 * log_var_k) * self._noise(mean_k, seed, epsilon)
        params = self.decoder(z, training=training)
        x_k = ops.tile(x, (k,) + (1,) * (len(x.shape) - 1))
        log_px_z = self._log_likelihood(x_k, params)
        log_prior_ratio = standard_normal_log_prob(z) - gaussian_log_likelihood(
            z, mean_k, log_var_k
        )
        return (
            ops.reshape(log_px_z, (k, batch)),
            ops.reshape(log_prior_ratio, (k, batch)),
            (z_mean, q_log_var),
        )

    def elbo_terms(self, x, seed=None, training=False, epsilon=None):
        """One-sample reconstruction term and analytic KL per example.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            seed: A `keras.random.SeedGenerator` or integer; default: the
                model's sampling layer.
            training: Passed to the encoder and decoder.
            epsilon: Optional standard normal noise of shape
                `(batch, latent_dim)`, used instead of drawing it (the same
                `epsilon` gives the same terms on every backend).

        Returns:
            `(reconstruction, kl)`, each of shape `(batch,)`:
            `reconstruction = -log p(x|z)` with `z ~ q(z|x)` and
            `kl = KL(q(z|x) || N(0, I))`. The ELBO is `-(reconstruction + kl)`.
        """
        reconstruction, posterior = self._elbo_parts(x, seed, training, epsilon)
        return reconstruction, gaussian_kl(*posterior)

    def _elbo_parts(self, x, seed=None, training=False, epsilon=None):
        """`(-log p(x|z), (z_mean, q_log_var))` for one draw `z ~ q(z|x)`."""
        z_mean, q_log_var = self.posterior(x, training=training)
        z = z_mean + ops.exp(0.5 * q_log_var) * self._noise(z_mean, seed, epsilon)
        params = self.decoder(z, training=training)
        return -self._log_likelihood(x, params), (z_mean, q_log_var)

    def _free_bits_kl(self, posterior, sample_weight=None):
        """`sum_j max(free_bits, KL_j)`, `KL_j` the batch mean (weighted by
        `sample_weight`) of latent unit j's KL (Kingma et al. 2016, eq. 15)."""
        z_mean, q_log_var = posterior
        unit_kl = -0.5 * (1.0 + q_log_var - ops.square(z_mean) - ops.exp(q_log_var))
        if sample_weight is None:
            batch_kl = ops.mean(unit_kl, axis=0)
        else:
            weight = ops.reshape(ops.cast(sample_weight, unit_kl.dtype), (-1, 1))
            batch_kl = ops.sum(unit_kl * weight, axis=0) / ops.maximum(
                ops.sum(weight), 1e-12
            )
        return ops.sum(ops.maximum(batch_kl, self.free_bits))

    # -- Keras hooks ------------------------------------------------------

    def call(self, inputs, training=False):
        """One stochastic pass `x -> z ~ q(z|x) -> mean of p(x|z)`."""
        z_mean, z_log_var = self.encoder(inputs, training=training)
        sampling = self.sampling if training else self.inference_sampling
        z = sampling([z_mean, z_log_var])
        return self._mean(self.decoder(z, training=training))

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        # `y_pred` (the call's output) is not needed: the terms are computed
        # afresh from `x`. Under jit, XLA drops the unused forward pass.
        if isinstance(x, (tuple, list)):
            x = x[0]
        x = ops.cast(x, self.compute_dtype)
        seed = None if training else self.inference_sampling.seed_generator
        if self.iw_samples > 1:
            # One pass gives the bound and, for the metrics, the k-sample
            # estimate of the reconstruction term and the analytic KL.
            log_px_z, log_prior_ratio, posterior = self._importance_terms(
                x, self.iw_samples, seed=seed, training=training
            )
            reconstruction = -ops.mean(log_px_z, axis=0)
            kl = gaussian_kl(*posterior)
        else:
            reconstruction, posterior = self._elbo_parts(x, seed, training)
            kl = gaussian_kl(*posterior)
        kl_weight = self.beta
        if self.train_steps is not None:
            kl_weight = self.beta * ops.minimum(
                1.0, self.train_steps / float(self.kl_warmup_steps)
            )
            if training:
                self.train_steps.assign(self.train_steps + 1.0)
        if self.iw_samples > 1:
            # beta and warm-up weight log p(z) - log q(z|x) inside each
            # importance weight; at weight 1 this is the IWAE bound.
            per_example = -importance_weighted_bound(
                log_px_z + kl_weight * log_prior_ratio
            )
        elif self.free_bits > 0:
            # One batch-level KL term, the same for every example, so the
            # (weighted) mean below counts it once; `kl` stays the true KL.
            per_example = reconstruction + kl_weight * self._free_bits_kl(
                posterior, sample_weight
            )
        else:
            per_example = reconstruction + kl_weight * kl
        if sample_weight is not None:
            sample_weight = ops.reshape(ops.cast(sample_weight, x.dtype), (-1,))
            loss = ops.sum(per_example * sample_weight) / ops.maximum(
                ops.sum(sample_weight), 1e-12
            )
        else:
            loss = ops.mean(per_example)
        self.reconstruction_tracker.update_state(reconstruction, sample_weight)
        self.kl_tracker.update_state(kl, sample_weight)
        for extra in self.losses:
            loss = loss + ops.sum(extra)
        if isinstance(self._loss_tracker, _RowMean):
            rows = ops.shape(x)[0] if sample_weight is None else ops.sum(sample_weight)
            self._loss_tracker.add(loss, rows)
        return loss

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        # Keras' trainer weighs each batch's loss by its row count, padding
        # rows included; `compute_loss` weighs it by the real rows instead.
        self._loss_tracker = _RowMean(name="loss")

    def compile_from_config(self, config):
        # Keras' own skips a custom `compile` (ours only swaps the tracker).
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": self.likelihood,
            "beta": self.beta,
            "epsilon_std": self.epsilon_std,
            "decoder_std": self.decoder_std,
            "iw_samples": self.iw_samples,
            "kl_warmup_steps": self.kl_warmup_steps,
            "free_bits": self.free_bits,
            "seed": self.seed,
        }
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        for key in ("trainable", "dtype"):
            config.pop(key, None)
        return cls(**config)

    # -- numpy conveniences ---------------------------------------------

    def encode(self, x, batch_size=256):
        """Returns numpy `(z_mean, z_log_var)` of the encoder for `x`."""
        z_mean, z_log_var = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        return z_mean, z_log_var

    def decode(self, z, batch_size=256):
        """Returns the mean of p(x|z) in data space (numpy), for codes `z`."""
        params = self.decoder.predict(z, batch_size=batch_size, verbose=0)
        return keras.ops.convert_to_numpy(self._mean(ops.convert_to_tensor(params)))

    def reconstruct(self, x, batch_size=256):
        """Decodes `z_mean` of each example: the mean of p(x|z=z_mean)."""
        z_mean, _ = self.encode(x, batch_size=batch_size)
        return self.decode(z_mean, batch_size=batch_size)

    def sample(self, n, seed=None, temperature=1.0):
        """Draws `n` codes from the prior `N(0, temperature^2 I)` and decodes
        them. Returns a numpy array of shape `(n, *data_shape)`."""
        import numpy as np

        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), self.latent_dim)).astype("float32")
        return self.decode(z * float(temperature))
