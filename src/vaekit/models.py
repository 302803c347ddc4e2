"""Encoder, decoder and the combined VAE model."""

import math
import numbers
import os

import keras
from keras import ops

from vaekit import VaekitError, files
from vaekit.layers import Sampling
from vaekit.losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    standard_normal_log_prob,
)

LIKELIHOODS = ("bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv")


def _is_finite_number(value):
    # bool is an int to Python, and NaN fails every comparison, so a plain
    # `value < 0` check lets both through.
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_dims(hidden_dims, latent_dim):
    hidden_dims = tuple(hidden_dims)
    if not all(isinstance(d, int) and d > 0 for d in hidden_dims):
        raise ValueError(
            "Invalid value for argument `hidden_dims`. Expected positive "
            f"integers. Received: hidden_dims={hidden_dims}"
        )
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(
            "Invalid value for argument `latent_dim`. Expected an integer "
            f">= 1. Received: latent_dim={latent_dim}"
        )
    return hidden_dims


def _check_conv_shape(shape, hidden_dims):
    if len(shape) != 3:
        raise ValueError(
            "The conv architecture needs images of shape (height, width, "
            f"channels). Received: shape={shape}"
        )
    factor = 2 ** len(hidden_dims)
    if shape[0] % factor or shape[1] % factor:
        raise ValueError(
            f"The conv architecture halves height and width {len(hidden_dims)} "
            f"times, so both must be divisible by {factor}. Received: "
            f"shape={shape}, hidden_dims={hidden_dims}"
        )


def _initializers(seed):
    """Returns a function giving a fresh Glorot-uniform initializer, seeded
    `seed, seed + 1, ...` when `seed` is given."""
    counter = iter(range(10**9))

    def init():
        return keras.initializers.GlorotUniform(
            seed=None if seed is None else seed + next(counter)
        )

    return init


def _dropout(h, rate, seed, index):
    if not rate:
        return h
    if not 0 <= rate < 1:
        raise ValueError(
            f"Invalid value for argument `dropout`. Expected a rate in [0, 1). "
            f"Received: dropout={rate}"
        )
    return keras.layers.Dropout(
        rate, seed=None if seed is None else seed + 500 + index, name=f"dropout_{index}"
    )(h)


def build_encoder(
    input_shape,
    hidden_dims=(512, 256),
    latent_dim=32,
    activation="relu",
    architecture="mlp",
    name="encoder",
    seed=None,
    dropout=0.0,
):
    """Builds the inference network ``x -> [z_mean, z_log_var]``.

    As in the tutorial, two linear `Dense(latent_dim)` heads sit on the last
    hidden layer; the second predicts the log-variance (not the standard
    deviation) of q(z|x), which cannot produce `log(0)`.

    Args:
        input_shape: Shape of one example, `(D,)` for vectors or
            `(H, W, C)` / `(H, W)` for images. Images keep their shape.
        hidden_dims: Units of each hidden `Dense` layer (`"mlp"`), or filters
            of each stride-2 `Conv2D` layer (`"conv"`).
        latent_dim: Number of latent units.
        activation: Activation of the hidden layers.
        architecture: `"mlp"` or `"conv"` (needs `(H, W, C)` inputs with `H`
            and `W` divisible by `2 ** len(hidden_dims)`).
        name: Name of the model.
        seed: Optional integer: seeds every layer's kernel initializer, so
            the same seed builds the same weights in any process.
        dropout: Rate of a `Dropout` layer after each hidden MLP layer (a
            regularizer for small data sets; 0: none).

    Returns:
        A functional `keras.Model` with outputs `[z_mean, z_log_var]`, each
        of shape `(batch, latent_dim)`.

    Raises:
        ValueError: if an argument is invalid.
    """
    hidden_dims = _check_dims(hidden_dims, latent_dim)
    input_shape = tuple(int(s) for s in input_shape)
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Invalid value for argument `architecture`. Expected one of "
            f"{ARCHITECTURES}. Received: architecture={architecture}"
        )
    init = _initializers(seed)
    inputs = keras.Input(shape=input_shape, name="x")
    h = inputs
    if architecture == "conv":
        _check_conv_shape(input_shape, hidden_dims)
        for i, filters in enumerate(hidden_dims):
            h = keras.layers.Conv2D(
                filters,
                3,
                strides=2,
                padding="same",
                activation=activation,
                name=f"conv_{i}",
                kernel_initializer=init(),
            )(h)
        h = keras.layers.Flatten(name="flatten")(h)
    else:
        if len(input_shape) > 1:
            h = keras.layers.Flatten(name="flatten")(h)
        for i, units in enumerate(hidden_dims):
            h = keras.layers.Dense(
                units,
                activation=activation,
                name=f"hidden_{i}",
                kernel_initializer=init(),
            )(h)
            h = _dropout(h, dropout, seed, i)
    z_mean = keras.layers.Dense(latent_dim, name="z_mean", kernel_initializer=init())(h)
    z_log_var = keras.layers.Dense(
        latent_dim, name="z_log_var", kernel_initializer=init()
    )(h)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def build_decoder(
    output_shape,
    hidden_dims=(512, 256),
    latent_dim=32,
    activation="relu",
    architecture="mlp",
    name="decoder",
    seed=None,
    dropout=0.0,
):
    """Builds the generative network ``z -> parameters of p(x|z)``.

    The decoder maps a latent code alone to the data space, so it generates
    from the prior as well as it reconstructs. Its output is unconstrained:
    the VAE reads it as Bernoulli **logits** or as the **mean** of a Gaussian,
    by its `likelihood`; `VAE.decode` returns the mean in data space
    (`sigmoid(logits)` for Bernoulli).

    Args:
        output_shape: Shape of one example, as `input_shape` of
            `build_encoder`.
        hidden_dims: As for `build_encoder`; the decoder uses them in reverse
            order, mirroring the encoder.
        latent_dim: Number of latent units.
        activation: Activation of the hidden layers.
        architecture: `"mlp"` or `"conv"` (stride-2 `Conv2DTranspose`).
        name: Name of the model.
        seed: Optional integer seed of the kernel initializers.
        dropout: Rate of a `Dropout` layer after each hidden MLP layer.

    Returns:
        A functional `keras.Model` from `(batch, latent_dim)` to
        `(batch, *output_shape)`.

    Raises:
        ValueError: if an argument is invalid.
    """
    hidden_dims = _check_dims(hidden_dims, latent_dim)
    output_shape = tuple(int(s) for s in output_shape)
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Invalid value for argument `architecture`. Expected one of "
            f"{ARCHITECTURES}. Received: architecture={architecture}"
        )
    init = _initializers(seed)
    z = keras.Input(shape=(latent_dim,), name="z")
    if architecture == "conv":
        _check_conv_shape(output_shape, hidden_dims)
        factor = 2 ** len(hidden_dims)
        start = (output_shape[0] // factor, output_shape[1] // factor, hidden_dims[-1])
        h = keras.layers.Dense(
            math.prod(start),
            activation=activation,
            name="project",
            kernel_initializer=init(),
        )(z)
        h = keras.layers.Reshape(start, name="unflatten")(h)
        for i, filters in enumerate(reversed(hidden_dims)):
            h = keras.layers.Conv2DTranspose(
                filters,
                3,
                strides=2,
                padding="same",
                activation=activation,
                name=f"deconv_{i}",
                kernel_initializer=init(),
            )(h)
        params = keras.layers.Conv2D(
            output_shape[-1],
            3,
            padding="same",
            name="x_params",
            kernel_initializer=init(),
        )(h)
    else:
        h = z
        for i, units in enumerate(reversed(hidden_dims)):
            h = keras.layers.Dense(
                units,
                activation=activation,
                name=f"hidden_{i}",
                kernel_initializer=init(),
            )(h)
            h = _dropout(h, dropout, seed, i)
        params = keras.layers.Dense(
            math.prod(output_shape), name="x_params", kernel_initializer=init()
        )(h)
        if len(output_shape) > 1:
            params = keras.layers.Reshape(output_shape, name="unflatten")(params)
    return keras.Model(z, params, name=name)


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
        **kwargs,
    ):
        kwargs.setdefault("name", "vae")
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"Invalid value for argument `likelihood`. Expected one of "
                f"{LIKELIHOODS}. Received: likelihood={likelihood}"
            )
        if not _is_finite_number(beta) or beta < 0:
            raise ValueError(
                f"Invalid value for argument `beta`. Expected a float >= 0. "
                f"Received: beta={beta}"
            )
        if not _is_finite_number(epsilon_std) or epsilon_std <= 0:
            raise ValueError(
                "Invalid value for argument `epsilon_std`. Expected a float "
                f"> 0. Received: epsilon_std={epsilon_std}"
            )
        if not (
            (isinstance(decoder_std, str) and decoder_std == "learned")
            or (_is_finite_number(decoder_std) and decoder_std > 0)
        ):
            raise ValueError(
                "Invalid value for argument `decoder_std`. Expected a float > 0 "
                f"or 'learned'. Received: decoder_std={decoder_std}"
            )
        if not isinstance(iw_samples, int) or iw_samples < 1:
            raise ValueError(
                "Invalid value for argument `iw_samples`. Expected an integer "
                f">= 1. Received: iw_samples={iw_samples}"
            )
        if not isinstance(kl_warmup_steps, int) or kl_warmup_steps < 0:
            raise ValueError(
                "Invalid value for argument `kl_warmup_steps`. Expected an "
                f"integer >= 0. Received: kl_warmup_steps={kl_warmup_steps}"
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
        if epsilon is None:
            epsilon = keras.random.normal(
                ops.shape(mean_k),
                dtype=mean_k.dtype,
                seed=self.sampling.seed_generator if seed is None else seed,
            )
        else:
            # Row i * batch + j of the tiled codes is draw i of example j.
            epsilon = ops.reshape(ops.cast(epsilon, mean_k.dtype), ops.shape(mean_k))
        z = mean_k + ops.exp(0.5 * log_var_k) * epsilon
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
        z_mean, q_log_var = self.posterior(x, training=training)
        if epsilon is None:
            epsilon = keras.random.normal(
                ops.shape(z_mean),
                dtype=z_mean.dtype,
                seed=self.sampling.seed_generator if seed is None else seed,
            )
        else:
            epsilon = ops.cast(epsilon, z_mean.dtype)
        z = z_mean + ops.exp(0.5 * q_log_var) * epsilon
        params = self.decoder(z, training=training)
        return -self._log_likelihood(x, params), gaussian_kl(z_mean, q_log_var)

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
            reconstruction, kl = self.elbo_terms(x, seed=seed, training=training)
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
        return loss

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


def load_model(path):
    """Loads a vaekit model with Keras' `safe_mode=True`.

    Raises:
        VaekitError: if the file is missing, is not a `.keras` archive, or
            holds code (a `Lambda` layer) or classes vaekit does not know.
    """
    path = os.fspath(path)
    files.check_model_file(path)
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types; all mean "cannot load"
        message = " ".join(str(exc).split())
        if "lambda" in message.lower() or "safe_mode" in message:
            raise VaekitError(
                f"model file {path!r} holds a Lambda layer (arbitrary code); vaekit "
                "loads models with safe_mode=True and refuses it"
            ) from None
        raise VaekitError(f"cannot load model file {path!r}: {message[:300]}") from None
    if not isinstance(model, VAE):
        raise VaekitError(
            f"model file {path!r} holds a {type(model).__name__}, not a vaekit VAE"
        )
    return model
