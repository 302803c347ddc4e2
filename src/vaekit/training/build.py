"""The model and optimizer a config describes."""

import keras

from vaekit.model import VAE

__all__ = ["build_model", "make_optimizer"]


def build_model(
    config, x_train, y_train=None, steps_per_epoch=1, label_names=None, schema=None
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

    Raises:
        VaekitError: if the networks cannot be built for the data.
    """
    model = VAE(
        likelihood=config.likelihood,
        beta=config.beta,
        epsilon_std=config.epsilon_std,
        decoder_std=config.decoder_std,
        iw_samples=config.iw_samples,
        kl_warmup_steps=config.kl_warmup_epochs * steps_per_epoch,
        seed=config.seed,
        free_bits=config.free_bits,
        latent_dim=config.latent_dim,
        hidden_dims=config.hidden_dims,
        architecture=config.architecture,
        activation=config.activation,
        dropout=config.dropout,
        conditional=config.conditional,
        output_bias=config.output_bias,
    )
    model.adapt(x_train, y_train if config.conditional else None, label_names, schema)
    model.compile(optimizer=make_optimizer(config, steps_per_epoch))
    model.optimizer.build(model.trainable_variables)
    return model


def make_optimizer(config, steps_per_epoch=1):
    """The optimizer of a config. `lr_schedule="cosine"` decays the learning
    rate to 0 over `epochs * steps_per_epoch` steps, after a linear warm-up
    from 0 over the first `warmup_epochs` (a function of the step count
    alone, so a resumed run follows the same schedule)."""
    classes = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "adamw": keras.optimizers.AdamW,
        "sgd": keras.optimizers.SGD,
    }
    learning_rate = config.learning_rate
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if warmup:
        # Linear from 0 to the learning rate over `warmup` steps, then a
        # cosine decay to 0 (alpha 0) or the constant rate (alpha 1).
        learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(total - warmup, 1),
            alpha=0.0 if config.lr_schedule == "cosine" else 1.0,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    elif config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=total
        )
    kwargs = {"learning_rate": learning_rate}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    return classes[config.optimizer](**kwargs)
