"""The checks of `Config`'s settings: `check(value, name, config)` raising
`InvalidArgument` for a value no run can use (`vaekit.config.settings`
declares which setting has which)."""

from vaekit import checks
from vaekit.errors import InvalidArgument

# Seeds reach JAX's 32-bit keys with offsets of up to 1000 added.
MAX_SEED = 2**31 - 1001


class InvalidSetting(InvalidArgument):
    """A setting that fails its check; `field` names it, so that the message
    can name the file or flag it came from."""

    def __init__(self, field, error):
        super().__init__(str(error))
        self.field = field


def count(minimum, maximum=None):
    def check(value, name, config):
        checks.integer(value, name, minimum)
        if maximum is not None and value > maximum:
            raise checks.invalid(name, f"an integer in [{minimum}, {maximum}]", value)

    return check


def number(minimum=None, maximum=None, exclusive=()):
    return lambda value, name, config: checks.number(
        value, name, minimum, maximum, exclusive
    )


def hidden_dims(value, name, config):
    if not isinstance(value, tuple) or not value:
        raise checks.invalid(name, "a non-empty list of integers >= 1", value)
    for size in value:
        checks.integer(size, name)


def columns(value, name, config):
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise checks.invalid(name, "a non-empty list of column names", value)


def numeric_columns(value, name, config):
    columns(value, name, config)
    both = set(value or ()) & set(config.categorical_columns or ())
    if both:
        raise checks.invalid(
            name,
            f"names not in categorical_columns too ({sorted(both)[0]!r} is)",
            value,
        )


def sep(value, name, config):
    checks.separator(value, name)


def flag(value, name, config):
    if not isinstance(value, bool):
        raise checks.invalid(name, "true or false", value)


def condition_kind(value, name, config):
    if value != "auto" and not config.conditional:
        raise checks.invalid(
            name, "auto unless conditional is true (labels condition nothing)", value
        )


def text(value, name, config):
    if not isinstance(value, str) or not value:
        raise checks.invalid(name, "a non-empty string", value)


def optional_text(value, name, config):
    if value is not None:
        text(value, name, config)


def binarize(value, name, config):
    if config.likelihood == "gaussian" and value != "none":
        raise checks.invalid(name, "none with the gaussian likelihood", value)


def decoder_std(value, name, config):
    if value not in checks.DECODER_STDS and not (checks.is_number(value) and value > 0):
        raise checks.invalid(
            name, "'learned', 'learned-per-feature' or a number > 0", value
        )


def top_hidden_dims(value, name, config):
    if not isinstance(value, tuple):
        raise checks.invalid(name, "a list of integers >= 1", value)
    for size in value:
        checks.integer(size, name)


def top_latent_dim(value, name, config):
    checks.integer(value, name, minimum=0)
    if value and config.prior == "vamp":
        raise checks.invalid(
            name,
            "0 with prior vamp (the VampPrior mixes the encoder's posteriors of "
            "the first layer; give a second layer prior standard, mog or flow)",
            value,
        )
    if config.prior == "vamp" and config.conditional:
        raise checks.invalid(
            "prior",
            "standard, mog or flow for a conditional model (the VampPrior's "
            "pseudo-inputs have no label)",
            config.prior,
        )


def dreg(value, name, config):
    if not isinstance(value, bool):
        raise checks.invalid(name, "true or false", value)
    if value and config.iw_samples < 2:
        raise checks.invalid(
            name,
            "false unless iw_samples is 2 or more (DReG is a gradient of "
            "the importance-weighted bound)",
            value,
        )
    if value and config.top_latent_dim:
        raise checks.invalid(
            name, "false with a second stochastic layer (top_latent_dim > 0)", value
        )


def free_bits(value, name, config):
    checks.number(value, name, minimum=0)
    if value > 0 and (config.prior != "standard" or config.top_latent_dim):
        raise checks.invalid(
            name,
            "0 unless the prior is standard with one stochastic layer (free bits "
            "need each unit's KL in closed form)",
            value,
        )
    if value > 0 and config.iw_samples > 1:
        raise checks.invalid(
            name,
            "0 unless iw_samples is 1 (free bits act on the ELBO's KL term, which "
            "the importance-weighted bound has not)",
            value,
        )


def warmup_epochs(value, name, config):
    checks.number(value, name, minimum=0)
    try:
        checks.integer(config.epochs, "epochs")
    except InvalidArgument:
        return  # epochs (a later field) is refused by its own check
    if value >= config.epochs:
        raise checks.invalid(
            name, f"less than the run's epochs ({config.epochs})", value
        )


def clipnorm(value, name, config):
    if value is not None:
        checks.number(value, name, minimum=0, exclusive=("minimum",))


def early_stopping(value, name, config):
    count(0)(value, name, config)
    if value and config.validation_split == 0:
        raise checks.invalid(
            name,
            "0 when validation_split is 0 (early stopping watches the validation "
            "loss, and there is no validation data)",
            value,
        )


def distribute(value, name, config):
    flag(value, name, config)
    if value and config.backend != "jax":
        raise checks.invalid(name, "false unless the backend is jax", value)


COUNT = count(1)
