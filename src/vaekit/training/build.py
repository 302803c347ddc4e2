"""The model and optimizer a config describes."""

import keras

from vaekit.model import VAE, preprocessing
from vaekit.model.footprint import TRAINING_COPIES, check_model_fits

__all__ = ["build_model", "check_model_memory", "learning_rate", "make_optimizer"]


def check_model_memory(config, shape):
    """Refuses, from a config's settings and the shape of one training
    example alone, a model that cannot be trained in this machine's memory:
    its weights, their gradients and the optimizer's state
    (`vaekit.model.footprint`). A lower bound, cheap enough to check before
    the run folder is touched: one-hot columns and a condition widen the
    model further, and `build_model` checks its exact size again.

    Raises:
        InvalidArgument: saying how much memory it would need.
    """
    check_model_fits(
        tuple(shape),
        config.hidden_dims,
        config.latent_dim,
        config.architecture,
        copies=TRAINING_COPIES[config.optimizer],
    )


def build_model(
    config,
    x_train,
    y_train=None,
    steps_per_epoch=1,
    label_names=None,
    schema=None,
    jit_compile="auto",
):
    """The VAE a config describes, adapted to the training data (see
    `VAE.adapt`), compiled, its optimizer built (so that every checkpoint,
    the first one too, holds the optimizer's state).

    Args:
        config: A `vaekit.config.Config`.
        x_train: The training examples (numpy or a `DiskArray`).
        y_train: The training labels of a conditional model, or None.
        steps_per_epoch: Training steps per epoch (for schedules and the KL
            warm-up).
        label_names: The class names of text labels, or None.
        schema: The columns and categories of a table read into numbers
            (`vaekit.data.Dataset.schema`), kept by the model; or None.
        jit_compile: Keras' `compile` argument (False trains a tiny model
            on a few rows sooner than compiling its step would).

    Raises:
        InvalidArgument: if the model, its gradients and its optimizer's
            state cannot fit in this machine's memory (estimated from the
            settings and the data's shape before anything is built).
        VaekitError: if the networks cannot be built for the data.
    """
    model = VAE(
        likelihood=config.likelihood,
        beta=config.beta,
        epsilon_std=config.epsilon_std,
        decoder_std=config.decoder_std,
        decoder_df=config.decoder_df,
        iw_samples=config.iw_samples,
        kl_warmup_steps=config.kl_warmup_epochs * steps_per_epoch,
        seed=config.seed,
        free_bits=config.free_bits,
        trim_fraction=config.trim_fraction,
        latent_dim=config.latent_dim,
        hidden_dims=config.hidden_dims,
        architecture=config.architecture,
        activation=config.activation,
        dropout=config.dropout,
        conditional=config.conditional and config.condition_kind,
        output_bias=config.output_bias,
        prior=config.prior,
        prior_size=config.prior_size,
        top_latent_dim=config.top_latent_dim,
        top_hidden_dims=config.top_hidden_dims,
        dreg=config.dreg,
    )
    preprocessing.adapt(  # VAE.adapt, with the weights' copies training holds
        model,
        x_train,
        y_train if config.conditional else None,
        label_names,
        schema,
        copies=TRAINING_COPIES[config.optimizer],
        label_column=config.label_column,
    )
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch), jit_compile=jit_compile
    )
    model.optimizer.build(model.trainable_variables)
    return model


def learning_rate(config, steps_per_epoch=1):
    """The learning rate of a config: a number, or a Keras schedule (a
    function of the optimizer's step count). `lr_schedule="cosine"` decays
    the learning rate to 0 over `epochs * steps_per_epoch` steps, after a
    linear warm-up from 0 over the first `warmup_epochs` (a function of the
    step count alone, so a resumed run follows the same schedule)."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if warmup:
        # Linear from 0 to the learning rate over `warmup` steps, then a
        # cosine decay to 0 (alpha 0) or the constant rate (alpha 1).
        return keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(total - warmup, 1),
            alpha=0.0 if config.lr_schedule == "cosine" else 1.0,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=total
        )
    return config.learning_rate


def make_optimizer(config, steps_per_epoch=1):
    """The optimizer of a config, with its `learning_rate`."""
    classes = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    kwargs = {"learning_rate": learning_rate(config, steps_per_epoch)}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    return classes[config.optimizer](**kwargs)
