"""The combined VAE model: encoder, `Sampling`, decoder, and its loss."""

import math

import keras
from keras import ops

from vaekit.errors import InvalidArgument
from vaekit.model import preprocessing
from vaekit.model.arguments import check_arguments
from vaekit.model.arrays import ArrayAPI
from vaekit.model.inference import Inference
from vaekit.model.latents import make_prior
from vaekit.model.layers import Sampling
from vaekit.model.likelihoods import Bernoulli, Gaussian, InDataUnits, StudentT
from vaekit.model.networks import check_networks, network_transforms
from vaekit.model.objectives import RowWeightedMean, weighted_mean
from vaekit.model.priors import StandardNormal

__all__ = ["VAE"]

# The constructor arguments `get_config` saves as the attributes they are.
_PLAIN_CONFIG = (
    "likelihood", "beta", "epsilon_std", "decoder_std", "decoder_df",
    "iw_samples", "kl_warmup_steps", "free_bits", "trim_fraction", "seed",
    "output_bias", "prior_size", "top_latent_dim", "dreg",
)  # fmt: skip


@keras.saving.register_keras_serializable(package="vaekit")
class VAE(ArrayAPI, Inference, keras.Model):
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

    Networks: pass an `encoder` and a `decoder` (see `build_encoder`), or
    neither: then `adapt(x)` (which the first `fit` calls) builds them for
    the data from `latent_dim`, `hidden_dims`, `architecture`,
    `activation` and `dropout`, after fitting the model's preprocessing.

    Data in its own units: a Gaussian model adapted to data standardises
    each feature and one-hots each text column of a table inside the model
    (a `DataTransform`, the encoder's first layer); the decoder then outputs
    the parameters in that space, `decode` returns the data's units and
    every log-likelihood is that of the data in its own units (the
    transform's log-Jacobian included). A pandas DataFrame may be passed
    wherever data is.

    Conditional VAE: with `conditional` (or networks that take a
    condition, see `build_encoder`) the model is q(z|x, y) and p(x|z, y);
    `fit(x, y)` trains it on the labels `y`, and every method takes
    `condition=y`.

    Args:
        encoder: A model `x -> [z_mean, z_log_var]` (or `[x, y] -> ...`),
            or None (built by `adapt`).
        decoder: A model `z -> parameters of p(x|z)` (or `[z, y] -> ...`),
            or None (built by `adapt`).
        likelihood: `"bernoulli"` (decoder outputs logits; data in [0, 1])
            or `"gaussian"` (decoder outputs the mean; categorical columns
            of a `DataTransform` get logits).
        beta: Weight of the KL term (beta-VAE; 1.0 is the true ELBO).
        epsilon_std: Scale of the reparameterization noise, as in the
            tutorial. The posterior is read as
            `N(z_mean, epsilon_std^2 * exp(z_log_var))`, so the loss stays a
            true bound whatever its value. Must be > 0.
        decoder_std: For the Gaussian likelihood: a fixed standard deviation
            (float > 0; in standardised units when the model standardises),
            `"learned"`: one shared, trained log-variance, or
            `"learned-per-feature"`: one per numeric feature (per pixel of
            an image). Learned ones start at 1 and stay above
            `vaekit.model.likelihoods.MIN_DECODER_STD`.
        decoder_df: For the Gaussian likelihood: 0 keeps it Gaussian; a
            number > 0 makes p(x|z) a Student-t with that many degrees of
            freedom and `decoder_std` as its scale (heavier tails: a value
            far from the decoder's mean costs log, not squared, nats).
        iw_samples: Number of importance samples of the training objective
            (1: the ELBO; k > 1: the IWAE bound).
        kl_warmup_steps: Number of training steps over which the KL weight
            rises linearly from 0 to `beta` (0: no warm-up).
        seed: Optional integer seed of the sampling layer and of the
            networks `adapt` builds.
        free_bits: Free bits lambda >= 0 (Kingma et al. 2016, eq. 15): the
            objective's KL term becomes `sum_j max(lambda, KL_j)`, `KL_j`
            the batch mean of latent unit j's KL. The tracked `loss` is this
            objective; `kl` stays the true KL. Only with `iw_samples=1`.
        trim_fraction: Fraction in [0, 1) of each training batch's examples
            with the highest loss that are left out of the gradient step: a
            trimmed likelihood (Neykov et al. 2007), so that the anomalies a
            training set holds are not learned as normal. The tracked `loss`
            stays the mean over every example; evaluation is not trimmed.
        latent_dim, hidden_dims, architecture, activation, dropout: The
            networks `adapt` builds (see `build_encoder`).
        conditional: False, or how the labels condition the model: True or
            `"auto"` (text or whole numbers >= 0 are classes, else a
            number), `"classes"` or `"numeric"`.
        output_bias: `"zeros"`, or `"data-mean"`: `adapt` starts a Bernoulli
            decoder's output at the logit of the data's mean.
        prior: p(z): `"standard"` (N(0, I)), `"mog"` (a learned mixture of
            Gaussians), `"vamp"` (the VampPrior: the mixture of the
            posteriors of learned pseudo-inputs) or `"flow"` (RealNVP
            couplings over N(0, I)); see `vaekit.model.priors`. Where the KL
            has no closed form, the ELBO's KL is a Monte Carlo term.
        prior_size: Mixture components (`"mog"`, default 10), pseudo-inputs
            (`"vamp"`, 500) or coupling layers (`"flow"`, 4); 0: the default.
        top_latent_dim: Units of a second stochastic layer `z2` above the
            code `z1` (x -> z1 -> z2, with p(z1|z2) and q(z2|z1), as in the
            IWAE paper's two-layer model); `prior` is then the prior of
            `z2`. 0: one layer. The encoder, decoder, `encode` and the
            pictures are those of `z1`; `vaekit.model.hierarchy`.
        top_hidden_dims: Hidden units of the second layer's two networks.
        dreg: Train the importance-weighted bound with DReG gradients
            (Tucker et al. 2018; `vaekit.model.objectives.dreg_codes`):
            the same expected gradient, with less variance for the
            inference network. Needs `iw_samples > 1`.
        **kwargs: Passed to `keras.Model` (`name`, ...).

    Example:

    >>> vae = VAE(latent_dim=2, hidden_dims=[256])
    >>> vae.compile(optimizer="rmsprop")
    >>> history = vae.fit(x_train, epochs=50, batch_size=100)  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder=None,
        decoder=None,
        likelihood="bernoulli",
        beta=1.0,
        epsilon_std=1.0,
        decoder_std="learned",
        decoder_df=0.0,
        iw_samples=1,
        kl_warmup_steps=0,
        seed=None,
        free_bits=0.0,
        trim_fraction=0.0,
        latent_dim=32,
        hidden_dims=(512,),
        architecture="mlp",
        activation="relu",
        dropout=0.0,
        conditional=False,
        output_bias="zeros",
        prior="standard",
        prior_size=0,
        top_latent_dim=0,
        top_hidden_dims=(100, 100),
        dreg=False,
        **kwargs,
    ):
        kwargs.setdefault("name", "vae")
        super().__init__(**kwargs)
        check_arguments(locals())
        self.likelihood = likelihood
        self.beta = float(beta)
        self.epsilon_std = float(epsilon_std)
        self.decoder_std = (
            decoder_std if isinstance(decoder_std, str) else float(decoder_std)
        )
        self.decoder_df = float(decoder_df)
        self.iw_samples = iw_samples
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = float(free_bits)
        self.trim_fraction = float(trim_fraction)
        self.seed = seed
        self.network_settings = {
            "latent_dim": latent_dim,
            "hidden_dims": tuple(hidden_dims),
            "architecture": architecture,
            "activation": activation,
            "dropout": float(dropout),
        }
        self.condition_kind = "auto" if conditional is True else conditional
        self.output_bias = output_bias
        self.prior_name, self.prior_size = prior, int(prior_size)
        self.top_latent_dim = int(top_latent_dim)
        self.top_hidden_dims = tuple(int(h) for h in top_hidden_dims)
        self.dreg = bool(dreg)
        self.prior = StandardNormal()
        # The tutorial's epsilon_std scales the posterior's std; its log adds
        # to the log-variance so that KL and importance weights use the q(z|x)
        # that is actually sampled.
        self._log_eps_var = 2.0 * math.log(self.epsilon_std)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.loss_tracker = RowWeightedMean(name="row_weighted_loss")
        self.encoder = self.decoder = None
        self.conditional = bool(self.condition_kind)
        self.transform = self.condition_transform = self.decoder_log_var = None
        self.data_shape = self.condition_shape = None
        self.latent_dim = latent_dim
        if encoder is not None:
            self._attach(encoder, decoder)

    # -- networks ---------------------------------------------------------

    def _attach(self, encoder, decoder):
        """Takes `encoder` and `decoder` as the model's networks, checks that
        they fit each other, and creates the model's own weights."""
        check_networks(encoder, decoder)
        self.conditional = len(encoder.inputs) == 2
        self.transform, self.condition_transform = network_transforms(encoder)
        if self.transform is not None and self.likelihood != "gaussian":
            raise InvalidArgument(
                "A DataTransform (standardised or categorical features) needs the "
                f"gaussian likelihood. Received: likelihood={self.likelihood!r}"
            )
        self.data_shape = tuple(int(s) for s in encoder.inputs[0].shape[1:])
        model_shape = self.transform.model_shape if self.transform else self.data_shape
        if tuple(decoder.outputs[0].shape[1:]) != tuple(model_shape):
            raise InvalidArgument(
                "The decoder's output must have the encoder's input shape (after "
                f"its DataTransform). Received: expected shape={tuple(model_shape)}"
                f", decoder output shape={tuple(decoder.outputs[0].shape[1:])}"
            )
        # Tracked in this order (networks, then sampling layers), which is the
        # order of `variables`, and so of every checkpoint's arrays.
        self.encoder, self.decoder = encoder, decoder
        self.sampling = Sampling(
            epsilon_std=self.epsilon_std, seed=self.seed, name="sampling"
        )
        # Inference (validation, predict) draws from its own stream, so that
        # evaluating never moves the training stream: a run resumed after an
        # extra validation pass trains on exactly the same noise.
        self.inference_sampling = Sampling(
            epsilon_std=self.epsilon_std,
            seed=None if self.seed is None else self.seed + 1,
            name="inference_sampling",
        )
        self.latent_dim = int(encoder.outputs[0].shape[-1])
        self.condition_shape = (
            tuple(int(s) for s in encoder.inputs[1].shape[1:])
            if self.conditional
            else None
        )
        self.distribution = self._make_distribution()
        # After the sampling layers, so that files of models of the standard
        # prior (which has no weights) keep the order of their arrays.
        self.prior = make_prior(self)
        self.train_steps = None
        if self.kl_warmup_steps:
            self.train_steps = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="train_steps"
            )
        self.built = True

    def _make_distribution(self):
        """The likelihood object; creates the learned log-variance."""
        self.decoder_log_var = None
        if self.likelihood == "bernoulli":
            return Bernoulli()
        scale = {"std": self.decoder_std}
        if isinstance(self.decoder_std, str):
            shape = ()
            if self.decoder_std == "learned-per-feature":
                shape = (
                    self.transform.numeric_shape if self.transform else self.data_shape
                )
            self.decoder_log_var = self.add_weight(
                shape=shape, initializer="zeros", name="decoder_log_var"
            )
            scale = {"log_var": self.decoder_log_var}
        gaussian = (
            StudentT(self.decoder_df, **scale) if self.decoder_df else Gaussian(**scale)
        )
        return (
            gaussian
            if self.transform is None
            else InDataUnits(self.transform, gaussian)
        )

    @property
    def networks_built(self):
        """True once the model has its encoder and decoder."""
        return self.encoder is not None

    def adapt(self, x, condition=None, label_names=None, schema=None):
        """Fits the model's preprocessing to training data and builds its
        networks for it (see the class docstring), as
        `keras.layers.Normalization.adapt` fits its statistics. `fit` calls
        it when the model has no networks yet.

        Args:
            x: Training examples: an array `(n, *shape)`, a
                `vaekit.data.DiskArray`, or a pandas DataFrame.
            condition: The labels of a conditional model: numbers, text, or
                indices into `label_names`.
            label_names: The class names of labels given as indices.
            schema: The columns and categories of a table already read into
                numbers (`vaekit.data.Dataset.schema`), kept by the model to
                read and write tables; a DataFrame brings its own.

        Returns:
            The model.

        Raises:
            InvalidArgument: if the model has networks already.
            DataError: if the data does not suit the likelihood.
        """
        if self.networks_built:
            raise InvalidArgument(
                "This VAE has its networks already; adapt builds them once."
            )
        preprocessing.adapt(self, x, condition, label_names, schema)
        return self

    def build(self, input_shape=None):
        self._require_networks()

    def _require_networks(self):
        if not self.networks_built:
            raise InvalidArgument(
                "This VAE has no networks yet: they are built for the data by "
                "adapt(x) or the first fit(x)."
            )

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
        return self.distribution.mean(self._decode_params(z, condition, training))

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        # `y_pred` (the call's output) is not needed: the terms are computed
        # afresh from `x`. Under jit, XLA drops the unused forward pass.
        x, condition = self._split(x)
        x = ops.cast(x, self.compute_dtype)
        seed = None if training else self.inference_sampling.seed_generator
        reconstruction, kl, per_example = self._objective(
            x, condition, seed, training, sample_weight
        )
        extra = sum(ops.sum(e) for e in self.losses)
        tracked = weighted_mean(per_example, sample_weight) + extra
        loss = self._step_loss(per_example, sample_weight, training) + extra
        self.reconstruction_tracker.update_state(reconstruction, sample_weight)
        self.kl_tracker.update_state(kl, sample_weight)
        rows = ops.shape(x)[0] if sample_weight is None else ops.sum(sample_weight)
        self.loss_tracker.update_state(tracked, rows)
        return loss

    def get_metrics_result(self):
        result = super().get_metrics_result()
        result["loss"] = result.pop(self.loss_tracker.name)
        return result

    def compute_output_shape(self, input_shape):
        return input_shape[0] if self.conditional else input_shape

    def get_config(self):
        base_config = super().get_config()
        networks = {
            name: None if net is None else keras.saving.serialize_keras_object(net)
            for name, net in (("encoder", self.encoder), ("decoder", self.decoder))
        }
        config = {
            **networks,
            **{name: getattr(self, name) for name in _PLAIN_CONFIG},
            **{
                k: list(v) if isinstance(v, tuple) else v
                for k, v in self.network_settings.items()
            },
            "conditional": self.condition_kind,
            "prior": self.prior_name,
            "top_hidden_dims": list(self.top_hidden_dims),
        }
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("encoder", "decoder"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        for key in ("trainable", "dtype"):
            config.pop(key, None)
        return cls(**config)
