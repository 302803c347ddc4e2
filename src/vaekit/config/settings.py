"""`Config`: every setting of a training run, each declared once.

A field's declaration (`setting`) carries its default, its help text, its
allowed values and its check; the command line's flags, the TOML reading
and writing, the validation and the documentation's table of settings are
all built from it (`vaekit.cli.train`, `vaekit.config.layers`).
"""

import dataclasses

from vaekit import checks
from vaekit.errors import InvalidArgument

__all__ = ["FIELDS", "GROUPS", "Config", "InvalidSetting", "setting"]

# The sections of the settings table, in order.
GROUPS = ("data", "model", "objective", "optimization", "evaluation", "run")
# Seeds reach JAX's 32-bit keys with offsets of up to 1000 added.
MAX_SEED = 2**31 - 1001


def setting(default, help, group, check=None, choices=None, recipe=True, metavar=None):
    """A `Config` field and everything known about it.

    Args:
        default: The default value.
        help: One sentence for `--help` and the settings table.
        group: Its section, one of `GROUPS`.
        check: Optional `check(value, name, config)` raising
            `InvalidArgument` (`choices` are checked without it).
        choices: Optional tuple of the allowed values.
        recipe: Whether it defines a training recipe, so that a named preset
            must state it (data sources, seeds and launch settings do not).
        metavar: The value's name in `--help`.
    """
    metadata = {
        "help": help,
        "group": group,
        "check": check,
        "choices": choices,
        "recipe": recipe,
        "metavar": metavar,
    }
    return dataclasses.field(default=default, metadata=metadata)


def _count(minimum, maximum=None):
    def check(value, name, config):
        checks.integer(value, name, minimum)
        if maximum is not None and value > maximum:
            raise checks.invalid(name, f"an integer in [{minimum}, {maximum}]", value)

    return check


def _number(minimum=None, maximum=None, exclusive=()):
    return lambda value, name, config: checks.number(
        value, name, minimum, maximum, exclusive
    )


def _hidden_dims(value, name, config):
    if not isinstance(value, tuple) or not value:
        raise checks.invalid(name, "a non-empty list of integers >= 1", value)
    for size in value:
        checks.integer(size, name)


def _columns(value, name, config):
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise checks.invalid(name, "a non-empty list of column names", value)


def _flag(value, name, config):
    if not isinstance(value, bool):
        raise checks.invalid(name, "true or false", value)


def _text(value, name, config):
    if not isinstance(value, str) or not value:
        raise checks.invalid(name, "a non-empty string", value)


def _optional_text(value, name, config):
    if value is not None:
        _text(value, name, config)


def _binarize(value, name, config):
    if config.likelihood == "gaussian" and value != "none":
        raise checks.invalid(name, "none with the gaussian likelihood", value)


def _decoder_std(value, name, config):
    if value not in checks.DECODER_STDS and not (checks.is_number(value) and value > 0):
        raise checks.invalid(
            name, "'learned', 'learned-per-feature' or a number > 0", value
        )


def _free_bits(value, name, config):
    checks.number(value, name, minimum=0)
    if value > 0 and config.iw_samples > 1:
        raise checks.invalid(
            name,
            "0 unless iw_samples is 1 (free bits act on the ELBO's KL term, which "
            "the importance-weighted bound has not)",
            value,
        )


def _warmup_epochs(value, name, config):
    checks.number(value, name, minimum=0)
    try:
        checks.integer(config.epochs, "epochs")
    except InvalidArgument:
        return  # epochs (a later field) is refused by its own check
    if value >= config.epochs:
        raise checks.invalid(
            name, f"less than the run's epochs ({config.epochs})", value
        )


def _clipnorm(value, name, config):
    if value is not None:
        checks.number(value, name, minimum=0, exclusive=("minimum",))


def _early_stopping(value, name, config):
    _count(0)(value, name, config)
    if value and config.validation_split == 0:
        raise checks.invalid(
            name,
            "0 when validation_split is 0 (early stopping watches the validation "
            "loss, and there is no validation data)",
            value,
        )


def _distribute(value, name, config):
    _flag(value, name, config)
    if value and config.backend != "jax":
        raise checks.invalid(name, "false unless the backend is jax", value)


_COUNT = _count(1)


@dataclasses.dataclass(frozen=True)
class Config:
    """Every setting of a training run; `vaekit train --help` and the
    documentation's table of settings (both built from these fields) say
    what each one means."""

    # -- data
    data: str = setting(
        "mnist5k",
        "dataset: mnist5k, digits, mnist, fashion_mnist, or a path to .npy, .npz, "
        ".csv, a folder of IDX files or a folder of images",
        "data",
        check=_text,
        recipe=False,
        metavar="SPEC",
    )
    label_column: str | None = setting(
        None,
        "CSV column (name or index) holding labels",
        "data",
        check=_optional_text,
        recipe=False,
        metavar="NAME",
    )
    columns: tuple[str, ...] | None = setting(
        None,
        "CSV feature columns, by header name (default: all but the label)",
        "data",
        check=_columns,
        recipe=False,
        metavar="NAME,...",
    )
    missing: str = setting(
        "error",
        "a CSV row with a missing value (empty, NA, N/A, NaN, null): an error "
        "naming it, or drop such rows",
        "data",
        choices=checks.MISSING,
        recipe=False,
    )
    conditional: bool = setting(
        False,
        "a conditional VAE, q(z|x,y) and p(x|z,y), on the labels (integer labels: "
        "classes, one-hot; other numbers: a numeric condition)",
        "data",
        check=_flag,
        recipe=False,
    )
    binarize: str = setting(
        "dynamic",
        "binarize the data: once (static) or a fresh draw every epoch (dynamic)",
        "data",
        check=_binarize,
        choices=checks.BINARIZE,
    )
    validation_split: float = setting(
        0.02,
        "fraction of the training data held out",
        "data",
        check=_number(0, 1, exclusive=("maximum",)),
    )
    # -- model
    architecture: str = setting(
        "mlp", "network kind", "model", choices=checks.ARCHITECTURES
    )
    hidden_dims: tuple[int, ...] = setting(
        (512,),
        "hidden layer sizes (or conv filters), e.g. 512,256",
        "model",
        check=_hidden_dims,
        metavar="N,...",
    )
    latent_dim: int = setting(32, "number of latent units", "model", check=_COUNT)
    activation: str = setting(
        "relu", "activation of the hidden layers", "model", choices=checks.ACTIVATIONS
    )
    dropout: float = setting(
        0.0,
        "dropout rate after each hidden MLP layer",
        "model",
        check=_number(0, 1, exclusive=("maximum",)),
    )
    likelihood: str = setting(
        "bernoulli", "decoder distribution p(x|z)", "model", choices=checks.LIKELIHOODS
    )
    decoder_std: str | float = setting(
        "learned",
        "std of the gaussian decoder: learned (one), learned-per-feature, or a fixed "
        "number > 0 (in units of each feature's standard deviation)",
        "model",
        check=_decoder_std,
        metavar="{learned,learned-per-feature,STD}",
    )
    output_bias: str = setting(
        "zeros",
        "initial bias of the bernoulli decoder's output: zeros, or the logit of the "
        "training data's mean (a better start)",
        "model",
        choices=checks.OUTPUT_BIASES,
    )
    epsilon_std: float = setting(
        1.0,
        "std of the reparameterization noise (tutorial)",
        "model",
        check=_number(minimum=0, exclusive=("minimum",)),
    )
    # -- objective
    beta: float = setting(
        1.0, "weight of the KL term", "objective", check=_number(minimum=0)
    )
    iw_samples: int = setting(
        5,
        "importance samples of the training objective (1: ELBO)",
        "objective",
        check=_COUNT,
    )
    kl_warmup_epochs: int = setting(
        0,
        "epochs over which the KL weight rises from 0 to beta",
        "objective",
        check=_count(0),
    )
    free_bits: float = setting(
        0.0,
        "free bits: each latent unit's KL term is max(LAMBDA, its batch mean) in the "
        "objective (Kingma et al. 2016); needs iw_samples 1 (0: off)",
        "objective",
        check=_free_bits,
        metavar="LAMBDA",
    )
    # -- optimization
    optimizer: str = setting(
        "adam", "optimizer", "optimization", choices=checks.OPTIMIZERS
    )
    learning_rate: float = setting(
        1e-3,
        "optimizer learning rate",
        "optimization",
        check=_number(minimum=0, exclusive=("minimum",)),
    )
    lr_schedule: str = setting(
        "cosine",
        "constant, or cosine: decay to 0 over the run's steps",
        "optimization",
        choices=checks.LR_SCHEDULES,
    )
    warmup_epochs: float = setting(
        0.0,
        "epochs (a fraction too) over which the learning rate rises linearly from 0 "
        "before the schedule (0: off)",
        "optimization",
        check=_warmup_epochs,
    )
    clipnorm: float | None = setting(
        None,
        "clip each gradient to this norm",
        "optimization",
        check=_clipnorm,
        recipe=False,
    )
    batch_size: int = setting(100, "examples per step", "optimization", check=_COUNT)
    epochs: int = setting(400, "number of epochs", "optimization", check=_COUNT)
    early_stopping: int = setting(
        0,
        "stop after this many epochs without a better validation loss, keeping the "
        "best weights (0: off)",
        "optimization",
        check=_early_stopping,
    )
    # -- evaluation
    eval_iw_samples: int = setting(
        1000, "importance samples of the final evaluation", "evaluation", check=_COUNT
    )
    # -- run
    seed: int = setting(
        0, "random seed", "run", check=_count(0, MAX_SEED), recipe=False
    )
    backend: str = setting(
        "jax", "Keras backend", "run", choices=checks.BACKENDS, recipe=False
    )
    distribute: bool = setting(
        False,
        "data-parallel training over every JAX device (keras.distribution."
        "DataParallel)",
        "run",
        check=_distribute,
        recipe=False,
    )

    def __post_init__(self):
        for name in ("hidden_dims", "columns"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    def validate(self):
        """Checks every setting, in field order.

        Raises:
            InvalidSetting: for a value no run can use, naming the setting.
        """
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            try:
                if field.metadata["choices"] is not None:
                    checks.one_of(value, field.name, field.metadata["choices"])
                if field.metadata["check"] is not None:
                    field.metadata["check"](value, field.name, self)
            except InvalidArgument as exc:
                raise InvalidSetting(field.name, exc) from None

    def replace(self, **changes):
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


class InvalidSetting(InvalidArgument):
    """A setting that fails its check; `field` names it, so that the message
    can name the file or flag it came from."""

    def __init__(self, field, error):
        super().__init__(str(error))
        self.field = field


FIELDS = {f.name: f for f in dataclasses.fields(Config)}
