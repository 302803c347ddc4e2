"""Run configuration: a frozen dataclass, read from and written to TOML.

A run's settings come in layers, each replacing what it names: the default
preset, then a named preset, then a config file, then command-line flags
(`resolve`). Every run folder holds the `config.toml` that produced it,
backend included; `vaekit train --config RUN/config.toml` runs it again.
"""

import dataclasses
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from vaekit import VaekitError, checks

__all__ = [
    "FIELDS",
    "PRESET_DIR",
    "Config",
    "choose_backend",
    "from_dict",
    "preset",
    "preset_names",
    "read_toml",
    "resolve",
    "to_toml",
]

PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that defines a training run.

    Attributes mirror `vaekit train`'s options; see `vaekit train --help`.
    """

    data: str = "mnist5k"
    label_column: str | None = None
    columns: tuple[str, ...] | None = None
    missing: str = "error"
    conditional: bool = False
    binarize: str = "dynamic"
    validation_split: float = 0.02
    architecture: str = "mlp"
    hidden_dims: tuple[int, ...] = (512,)
    latent_dim: int = 32
    activation: str = "relu"
    dropout: float = 0.0
    likelihood: str = "bernoulli"
    decoder_std: str | float = "learned"
    output_bias: str = "zeros"
    beta: float = 1.0
    epsilon_std: float = 1.0
    iw_samples: int = 5
    kl_warmup_epochs: int = 0
    free_bits: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    warmup_epochs: float = 0.0
    clipnorm: float | None = None
    batch_size: int = 100
    epochs: int = 400
    early_stopping: int = 0
    seed: int = 0
    eval_iw_samples: int = 1000
    backend: str = "jax"
    distribute: bool = False

    def __post_init__(self):
        for name in ("hidden_dims", "columns"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    def validate(self):
        """Checks every setting with `vaekit.checks`.

        Raises:
            VaekitError: for a value no run can use, naming the setting.
        """
        for name, rule in _RULES.items():
            try:
                rule(getattr(self, name), name, self)
            except ValueError as exc:
                raise _InvalidSetting(name, exc) from None

    def replace(self, **changes):
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


class _InvalidSetting(VaekitError):
    """A setting that fails its check; `field` names it, so that `from_dict`
    can name the file or flag it came from."""

    def __init__(self, field, error):
        super().__init__(str(error))
        self.field = field


def _choice(choices):
    return lambda value, name, config: checks.one_of(value, name, choices)


def _count(minimum):
    return lambda value, name, config: checks.integer(value, name, minimum)


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


def _binarize(value, name, config):
    checks.one_of(value, name, checks.BINARIZE)
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
    if value >= config.epochs:
        raise checks.invalid(
            name, f"less than the run's epochs ({config.epochs})", value
        )


def _clipnorm(value, name, config):
    if value is not None:
        checks.number(value, name, minimum=0, exclusive=("minimum",))


def _distribute(value, name, config):
    if not isinstance(value, bool):
        raise checks.invalid(name, "true or false", value)
    if value and config.backend != "jax":
        raise checks.invalid(name, "false unless the backend is jax", value)


# One check per field, in the order of the messages a user sees first.
_RULES = {
    "epochs": _count(1),
    "batch_size": _count(1),
    "latent_dim": _count(1),
    "iw_samples": _count(1),
    "eval_iw_samples": _count(1),
    "kl_warmup_epochs": _count(0),
    "early_stopping": _count(0),
    "seed": _count(0),
    "hidden_dims": _hidden_dims,
    "likelihood": _choice(checks.LIKELIHOODS),
    "binarize": _binarize,
    "architecture": _choice(checks.ARCHITECTURES),
    "backend": _choice(checks.BACKENDS),
    "distribute": _distribute,
    "lr_schedule": _choice(checks.LR_SCHEDULES),
    "warmup_epochs": _warmup_epochs,
    "output_bias": _choice(checks.OUTPUT_BIASES),
    "activation": _choice(checks.ACTIVATIONS),
    "optimizer": _choice(checks.OPTIMIZERS),
    "learning_rate": _number(minimum=0, exclusive=("minimum",)),
    "epsilon_std": _number(minimum=0, exclusive=("minimum",)),
    "beta": _number(minimum=0),
    "free_bits": _free_bits,
    "clipnorm": _clipnorm,
    "dropout": _number(0, 1, exclusive=("maximum",)),
    "validation_split": _number(0, 1, exclusive=("maximum",)),
    "decoder_std": _decoder_std,
    "columns": _columns,
    "missing": _choice(checks.MISSING),
    "conditional": _flag,
}

FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _where(source, key):
    return source.get(key, "config") if isinstance(source, dict) else source


def from_dict(values, source="config"):
    """Builds a Config from a mapping of settings.

    Args:
        values: Settings by field name.
        source: What the settings came from, for the messages: a name
            (e.g. a file), or a dict of one name per setting.

    Raises:
        VaekitError: for an unknown setting or a bad value, naming its source.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        where = _where(source, unknown[0])
        names = [key for key in unknown if _where(source, key) == where]
        raise VaekitError(
            f"{where}: unknown setting(s) {', '.join(names)}; known: "
            f"{', '.join(FIELDS)}"
        )
    values = dict(values)
    for key in ("hidden_dims", "columns"):
        if key in values and isinstance(values[key], list):
            values[key] = tuple(values[key])
    try:
        return Config(**values)
    except _InvalidSetting as exc:
        raise VaekitError(f"{_where(source, exc.field)}: {exc}") from None
    except TypeError as exc:
        raise VaekitError(f"{_where(source, None)}: {exc}") from None


def choose_backend(flag=None, file_backend=None, environment=None, file="config"):
    """The Keras backend of a run: `--backend` beats the config file, which
    beats the environment; a file and an environment that disagree are
    refused rather than one silently replacing the other.

    Args:
        flag: The `--backend` flag, or None.
        file_backend: The `backend` the config file sets, or None.
        environment: `KERAS_BACKEND` as the user set it, or None.
        file: The config file, for the message.

    Returns:
        The backend, or None when nothing chooses one (the default applies).

    Raises:
        VaekitError: if the file and the environment disagree.
    """
    if flag is not None:
        return flag
    if file_backend is not None:
        if environment is not None and environment != file_backend:
            raise VaekitError(
                f"KERAS_BACKEND={environment} conflicts with backend = "
                f"{file_backend!r} in {file!r}: pass --backend {file_backend} or "
                f"--backend {environment} to choose"
            )
        return file_backend
    return environment


def resolve(preset=None, file=None, overrides=None, backend=None, environment=None):
    """The Config of a run: the default preset, then `preset`, then `file`,
    then `overrides`, each replacing the settings it names. A Gaussian
    likelihood with no `binarize` from any layer gets `binarize = "none"`.

    Args:
        preset: A preset name (see `preset_names`), or None.
        file: A TOML config file (e.g. a run's `config.toml`), or None.
        overrides: Settings given as command-line flags, by field name.
        backend: The `--backend` flag (or `overrides["backend"]`), or None.
        environment: `KERAS_BACKEND` as the user set it, or None. The backend
            follows `choose_backend`.

    Returns:
        A validated Config.

    Raises:
        VaekitError: for an unknown preset, an unreadable file, an unknown
            setting or a bad value, naming where it came from.
    """
    overrides = dict(overrides or {})
    if backend is None:
        backend = overrides.pop("backend", None)
    file = None if file is None else os.fspath(file)
    file_values = read_toml(file) if file is not None else {}
    layers = [("the default settings", read_toml(_preset_file("default")))]
    if preset is not None:
        layers.append((f"preset {preset!r}", read_toml(_preset_file(preset))))
    if file is not None:
        layers.append((f"config file {file!r}", file_values))
    layers += [
        ("--" + key.replace("_", "-"), {key: overrides[key]}) for key in overrides
    ]
    values, source = {}, {}
    for name, layer in layers:
        values.update(layer)
        source.update(dict.fromkeys(layer, name))
    if values.get("likelihood") == "gaussian" and "binarize" not in values:
        # Binarizing is for the Bernoulli likelihood: continuous data stays
        # continuous unless a layer says otherwise.
        values["binarize"] = "none"
        source["binarize"] = source["likelihood"]
    chosen = choose_backend(backend, file_values.get("backend"), environment, file)
    if chosen is not None:
        values["backend"] = chosen
        if backend is not None:
            source["backend"] = "--backend"
        elif "backend" not in file_values:
            source["backend"] = "KERAS_BACKEND"
    return from_dict(values, source)


def read_toml(path):
    """The settings of a TOML file (a flat table), as a dict.

    Raises:
        VaekitError: if the file is missing, unreadable or not valid TOML.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise VaekitError(f"config file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VaekitError(f"config file {path!r} cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise VaekitError(f"config file {path!r} is not valid TOML ({exc})") from None
    return values


def _preset_file(name):
    path = os.path.join(PRESET_DIR, f"{name}.toml")
    if not os.path.isfile(path):
        raise VaekitError(
            f"unknown preset {name!r}: choose one of {', '.join(preset_names())}"
        )
    return path


def preset(name):
    """The settings of a named preset (`default`, `tutorial`, ...)."""
    return read_toml(_preset_file(name))


def preset_names():
    """The names of the presets, sorted."""
    return sorted(f[:-5] for f in os.listdir(PRESET_DIR) if f.endswith(".toml"))


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    # TOML basic strings may not hold raw control characters (a newline in a
    # path would end the string): write them as \uXXXX escapes.
    text = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text
    )
    return f'"{text}"'


def to_toml(config):
    """Serialises a Config as TOML; `None` values are left out (TOML has no
    null), which reads back as the default `None`."""
    lines = ["# vaekit run configuration: `vaekit train --config` reruns it"]
    for key, value in config.to_dict().items():
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
