"""The combined VAE model: encoder, `Sampling`, decoder, and its loss.

The networks themselves are built by `vaekit.model.networks` and models are
loaded by `vaekit.model.inputs` (both re-exported here: `build_encoder`,
`build_decoder`, `load_model`).
"""

import math

import keras
from keras import ops

from vaekit import checks
from vaekit.model.inputs import load_model
from vaekit.model.layers import DataTransform, Sampling
from vaekit.model.losses import (
    bernoulli_log_likelihood,
    gaussian_kl,
    gaussian_log_likelihood,
    importance_weighted_bound,
    standard_normal_log_prob,
)
from vaekit.model.networks import build_decoder, build_encoder

__all__ = [
    "LOG_VAR_RATE",
    "MIN_DECODER_STD",
    "VAE",
    "build_decoder",
    "build_encoder",
    "load_model",
]

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


def _transform(network, name):
    """The `DataTransform` layer `name` of a network, or None."""
    for layer in network.layers:
        if isinstance(layer, DataTransform) and layer.name == name:
            return layer
    return None


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

    Data in its own units: for the Gaussian likelihood, an encoder built
    with a `DataTransform` (named `transform`) standardises each feature and
    one-hots categorical columns inside the model; the decoder then outputs
    the parameters in that space, `decode` returns the data's units and
    every log-likelihood is that of the data in its own units (the
    transform's log-Jacobian included).

    Conditional VAE: an encoder and decoder built with a `condition` (see
    `build_encoder`) model q(z|x, y) and p(x|z, y); the model's inputs are
    then `(x, y)` (`fit(x=(x, y))`), and every method takes `condition=y`.

    Args:
        encoder: A model `x -> [z_mean, z_log_var]` (see `build_encoder`),
            or `[x, y] -> [z_mean, z_log_var]`.
        decoder: A model `z -> parameters of p(x|z)` (see `build_decoder`),
            or `[z, y] -> ...`.
        likelihood: `"bernoulli"` (decoder outputs logits; data in [0, 1])
            or `"gaussian"` (decoder outputs the mean; categorical columns
            of a `DataTransform` get logits).
        beta: Weight of the KL term (beta-VAE; 1.0 is the true ELBO).
        epsilon_std: Scale of the reparameterization noise, as in the
            tutorial. The posterior is read as
            `N(z_mean, epsilon_std^2 * exp(z_log_var))`, so the loss stays a
            true bound whatever its value. Must be > 0.
        decoder_std: For the Gaussian likelihood: a fixed standard deviation
            (float > 0; in standardised units when the encoder has a
            `DataTransform`), `"learned"`: one shared, trained log-variance,
            or `"learned-per-feature"`: one per numeric feature (per pixel of
            an image). Learned ones start at 1 (the data's own standard
            deviation after the transform) and stay above
            `MIN_DECODER_STD`.
        iw_samples: Number of importance samples of the training objective
            (1: the ELBO; k > 1: the IWAE bound).
        kl_warmup_steps: Number of training steps over which the KL weight
            rises linearly from 0 to `beta` (0: no warm-up).
        free_bits: Free bits lambda >= 0 (Kingma et al. 2016, eq. 15): the
            objective's KL term becomes `sum_j max(lambda, KL_j)`, `KL_j`
            the batch mean of latent unit j's KL, so no unit gains by
            collapsing below lambda nats. The tracked `loss` is this
            objective; `kl` (and `vaekit.evaluation.likelihood`) stay the true KL. Only
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
        self.conditional = len(encoder.inputs) == 2
        if self.conditional != (len(decoder.inputs) == 2) or len(encoder.inputs) > 2:
            raise ValueError(
                "The encoder and decoder must both take a condition (two inputs) "
                f"or neither. Received: {len(encoder.inputs)} encoder inputs, "
                f"{len(decoder.inputs)} decoder inputs"
            )
        self.transform = _transform(encoder, "transform")
        self.condition_transform = _transform(encoder, "condition_transform")
        if self.transform is not None and likelihood != "gaussian":
            raise ValueError(
                "A DataTransform (standardised or categorical features) needs the "
                f"gaussian likelihood. Received: likelihood={likelihood!r}"
            )
        data_shape = tuple(int(s) for s in encoder.inputs[0].shape[1:])
        model_shape = (
            data_shape if self.transform is None else self.transform.model_shape
        )
        if tuple(decoder.inputs[0].shape[1:]) != tuple(z_shape[1:]):
            raise ValueError(
                "The decoder's input must match the encoder's latent output. "
                f"Received: encoder latent shape={tuple(z_shape[1:])}, decoder "
                f"input shape={tuple(decoder.inputs[0].shape[1:])}"
            )
        if tuple(decoder.outputs[0].shape[1:]) != tuple(model_shape):
            raise ValueError(
                "The decoder's output must have the encoder's input shape (after "
                f"its DataTransform). Received: expected shape={tuple(model_shape)}"
                f", decoder output shape={tuple(decoder.outputs[0].shape[1:])}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.epsilon_std = float(epsilon_std)
        self.decoder_std = (
            decoder_std if isinstance(decoder_std, str) else float(decoder_std)
        )
        self.iw_samples = iw_samples
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = float(free_bits)
        self.seed = seed
        self.latent_dim = int(z_shape[-1])
        self.data_shape = data_shape
        self.condition_shape = (
            tuple(int(s) for s in encoder.inputs[1].shape[1:])
            if self.conditional
            else None
        )
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
        if likelihood == "gaussian" and isinstance(decoder_std, str):
            shape = ()
            if decoder_std == "learned-per-feature":
                shape = (
                    self.transform.numeric_shape
                    if self.transform is not None
                    else data_shape
                )
            self.decoder_log_var = self.add_weight(
                shape=shape, initializer="zeros", name="decoder_log_var"
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
            log_var = ops.maximum(
                LOG_VAR_RATE * self.decoder_log_var, 2.0 * math.log(MIN_DECODER_STD)
            )
        else:
            log_var = 2.0 * math.log(self.decoder_std)
        if self.transform is not None:
            return self.transform.log_likelihood(x, params, log_var)
        return gaussian_log_likelihood(x, params, log_var)

    def _mean(self, params):
        """The mean of p(x|z) in data space (for categorical columns, the
        most probable category)."""
        if self.likelihood == "bernoulli":
            return ops.sigmoid(params)
        if self.transform is not None:
            return self.transform.inverse(params)
        return params

    def _with_condition(self, first, condition):
        """The input of the encoder (`first = x`) or decoder (`first = z`):
        `first`, or `[first, condition]` for a conditional model.

        Raises:
            ValueError: if a conditional model gets no condition.
        """
        if not self.conditional:
            return first
        self._require_condition(condition)
        condition = ops.cast(condition, first.dtype)
        return [first, ops.reshape(condition, (-1, *self.condition_shape))]

    @staticmethod
    def _require_condition(condition):
        if condition is None:
            raise ValueError(
                "This conditional VAE needs the condition (labels) of every "
                "example: pass condition=y"
            )

    def _split(self, inputs):
        """`(x, condition)` of the model's inputs: `x`, or `(x, y)`."""
        if isinstance(inputs, (tuple, list)):
            return inputs[0], (inputs[1] if len(inputs) > 1 else None)
        return inputs, None

    def posterior(self, x, training=False, condition=None):
        """Returns `(z_mean, q_log_var)`: q(z|x) (q(z|x, y) with a
        `condition`) as it is sampled, with `epsilon_std` folded into the
        log-variance."""
        x = ops.convert_to_tensor(x)
        z_mean, z_log_var = self.encoder(
            self._with_condition(x, condition), training=training
        )
        return z_mean, z_log_var + self._log_eps_var

    def _decode_params(self, z, condition, training=False):
        return self.decoder(self._with_condition(z, condition), training=training)

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

    def log_importance_weights(
        self, x, k=1, seed=None, training=False, epsilon=None, condition=None
    ):
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
            condition: The labels `y` of a conditional model.

        Returns:
            Tensor of shape `(k, batch)`.
        """
        log_px_z, log_prior_ratio, _ = self._importance_terms(
            x, k, seed=seed, training=training, epsilon=epsilon, condition=condition
        )
        return log_px_z + log_prior_ratio

    def _importance_terms(
        self, x, k, seed=None, training=False, epsilon=None, condition=None
    ):
        """`(log p(x|z_i), log p(z_i) - log q(z_i|x), (z_mean, q_log_var))`,
        the first two of shape `(k, batch)`: one encoder pass and one decoder
        pass over `k * batch` codes."""
        z_mean, q_log_var = self.posterior(x, training=training, condition=condition)
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
        if condition is not None and self.conditional:
            condition = ops.reshape(
                ops.cast(condition, z.dtype), (-1, *self.condition_shape)
            )
            condition = ops.tile(condition, (k,) + (1,) * len(self.condition_shape))
        params = self._decode_params(z, condition, training)
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

    def elbo_terms(self, x, seed=None, training=False, epsilon=None, condition=None):
        """One-sample reconstruction term and analytic KL per example.

        Args:
            x: Tensor of shape `(batch, *data_shape)`.
            seed: A `keras.random.SeedGenerator` or integer; default: the
                model's sampling layer.
            training: Passed to the encoder and decoder.
            epsilon: Optional standard normal noise of shape
                `(batch, latent_dim)`, used instead of drawing it (the same
                `epsilon` gives the same terms on every backend).
            condition: The labels `y` of a conditional model.

        Returns:
            `(reconstruction, kl)`, each of shape `(batch,)`:
            `reconstruction = -log p(x|z)` with `z ~ q(z|x)` and
            `kl = KL(q(z|x) || N(0, I))`. The ELBO is `-(reconstruction + kl)`.
        """
        reconstruction, posterior = self._elbo_parts(
            x, seed, training, epsilon, condition
        )
        return reconstruction, gaussian_kl(*posterior)

    def _elbo_parts(self, x, seed=None, training=False, epsilon=None, condition=None):
        """`(-log p(x|z), (z_mean, q_log_var))` for one draw `z ~ q(z|x)`."""
        z_mean, q_log_var = self.posterior(x, training=training, condition=condition)
        z = z_mean + ops.exp(0.5 * q_log_var) * self._noise(z_mean, seed, epsilon)
        params = self._decode_params(z, condition, training)
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
        """One stochastic pass `x -> z ~ q(z|x) -> mean of p(x|z)`; the
        inputs are `(x, y)` for a conditional model."""
        x, condition = self._split(inputs)
        x = ops.convert_to_tensor(x)
        z_mean, z_log_var = self.encoder(
            self._with_condition(x, condition), training=training
        )
        sampling = self.sampling if training else self.inference_sampling
        z = sampling([z_mean, z_log_var])
        return self._mean(self._decode_params(z, condition, training))

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        # `y_pred` (the call's output) is not needed: the terms are computed
        # afresh from `x`. Under jit, XLA drops the unused forward pass.
        x, condition = self._split(x)
        x = ops.cast(x, self.compute_dtype)
        seed = None if training else self.inference_sampling.seed_generator
        if self.iw_samples > 1:
            # One pass gives the bound and, for the metrics, the k-sample
            # estimate of the reconstruction term and the analytic KL.
            log_px_z, log_prior_ratio, posterior = self._importance_terms(
                x, self.iw_samples, seed=seed, training=training, condition=condition
            )
            reconstruction = -ops.mean(log_px_z, axis=0)
            kl = gaussian_kl(*posterior)
        else:
            reconstruction, posterior = self._elbo_parts(
                x, seed, training, condition=condition
            )
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
        if self.conditional:
            return input_shape[0]
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

    @property
    def num_classes(self):
        """The classes of a conditional model conditioned on class labels
        (one categorical condition column), else None."""
        transform = self.condition_transform
        if transform is None or transform.numeric or len(transform.categorical) != 1:
            return None
        return transform.categorical[0][1]

    @property
    def class_names(self):
        """The class names of a model conditioned on class labels (the
        training data's text labels, or "0", "1", ...), else None."""
        if self.num_classes is None:
            return None
        names = self.condition_transform.category_names
        return None if names is None else list(names[0])

    def _inputs(self, first, condition):
        """Numpy inputs of the encoder (`first = x`) or decoder (`z`)."""
        import numpy as np

        if not self.conditional:
            return first
        self._require_condition(condition)
        condition = np.asarray(condition, dtype="float32").reshape(
            (-1, *self.condition_shape)
        )
        if len(condition) != len(first):
            raise ValueError(
                f"Expected one condition per example. Received: {len(condition)} "
                f"conditions for {len(first)} examples"
            )
        return [first, condition]

    def default_condition(self, n):
        """Conditions for `n` decoded codes when none is given: the classes
        in turn (`0, 1, ..., K-1, 0, ...`) for class labels, else the
        training mean of each condition column. None for an unconditional
        model."""
        import numpy as np

        if not self.conditional:
            return None
        if self.num_classes is not None:
            return (np.arange(int(n)) % self.num_classes).astype("float32")
        mean = keras.ops.convert_to_numpy(self.condition_transform.mean)
        return np.tile(mean.astype("float32"), (int(n), 1))

    def encode(self, x, batch_size=256, condition=None):
        """Returns numpy `(z_mean, z_log_var)` of the encoder for `x` (and
        the labels `condition` of a conditional model)."""
        z_mean, z_log_var = self.encoder.predict(
            self._inputs(x, condition), batch_size=batch_size, verbose=0
        )
        return z_mean, z_log_var

    def decode(self, z, batch_size=256, condition=None):
        """Returns the mean of p(x|z) (p(x|z, y)) in the data's units
        (numpy), for codes `z`; a conditional model without `condition`
        uses `default_condition`."""
        if self.conditional and condition is None:
            condition = self.default_condition(len(z))
        params = self.decoder.predict(
            self._inputs(z, condition), batch_size=batch_size, verbose=0
        )
        return keras.ops.convert_to_numpy(self._mean(ops.convert_to_tensor(params)))

    def reconstruct(self, x, batch_size=256, condition=None):
        """Decodes `z_mean` of each example: the mean of p(x|z=z_mean)."""
        z_mean, _ = self.encode(x, batch_size=batch_size, condition=condition)
        return self.decode(z_mean, batch_size=batch_size, condition=condition)

    def sample(self, n, seed=None, temperature=1.0, condition=None):
        """Draws `n` codes from the prior `N(0, temperature^2 I)` and decodes
        them (with `condition`: one label for all, or one per sample).
        Returns a numpy array of shape `(n, *data_shape)`."""
        import numpy as np

        rng = np.random.default_rng(seed)
        z = rng.standard_normal((int(n), self.latent_dim)).astype("float32")
        if condition is not None and self.conditional:
            condition = np.asarray(condition, dtype="float32")
            if condition.size == math.prod(self.condition_shape):
                condition = np.tile(condition.reshape(1, -1), (int(n), 1))
        return self.decode(z * float(temperature), condition=condition)
