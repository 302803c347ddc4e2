"""Run configuration: a frozen dataclass, read from and written to TOML.

Every run folder holds the `config.toml` that produced it; `vaekit train
--config RUN/config.toml` runs it again.
"""

import dataclasses
import math
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from vaekit import VaekitError

PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")
OPTIMIZERS = ("adam", "rmsprop", "adamw", "sgd")
BACKENDS = ("jax", "tensorflow", "torch")
ACTIVATIONS = (
    "relu",
    "tanh",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "softplus",
    "leaky_relu",
    "sigmoid",
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything that defines a training run.

    Attributes mirror `vaekit train`'s options; see `vaekit train --help`.
    """

    data: str = "mnist5k"
    label_column: str | None = None
    binarize: str = "dynamic"
    validation_split: float = 0.02
    architecture: str = "mlp"
    hidden_dims: tuple[int, ...] = (512,)
    latent_dim: int = 32
    activation: str = "relu"
    dropout: float = 0.0
    likelihood: str = "bernoulli"
    decoder_std: str | float = "learned"
    beta: float = 1.0
    epsilon_std: float = 1.0
    iw_samples: int = 5
    kl_warmup_epochs: int = 0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    clipnorm: float | None = None
    batch_size: int = 100
    epochs: int = 400
    early_stopping: int = 0
    seed: int = 0
    eval_iw_samples: int = 1000
    backend: str = "jax"
    distribute: bool = False

    def __post_init__(self):
        if isinstance(self.hidden_dims, (list, tuple)):
            object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))
        self.validate()

    def validate(self):
        """Raises VaekitError for a value no run can use."""

        def bad(name, expected):
            value = getattr(self, name)
            raise VaekitError(
                f"invalid {name.replace('_', '-')} {value!r}: expected {expected}"
            )

        def positive_int(name, minimum=1):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                bad(name, f"an integer >= {minimum}")

        for name in (
            "epochs",
            "batch_size",
            "latent_dim",
            "iw_samples",
            "eval_iw_samples",
        ):
            positive_int(name)
        for name in ("kl_warmup_epochs", "early_stopping", "seed"):
            positive_int(name, 0)
        if (
            not isinstance(self.hidden_dims, tuple)
            or not self.hidden_dims
            or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0
                for d in self.hidden_dims
            )
        ):
            bad("hidden_dims", "a comma-separated list of positive integers")
        if self.binarize not in ("none", "static", "dynamic"):
            bad("binarize", "none, static or dynamic")
        if self.likelihood not in ("bernoulli", "gaussian"):
            bad("likelihood", "bernoulli or gaussian")
        if self.architecture not in ("mlp", "conv"):
            bad("architecture", "mlp or conv")
        if not isinstance(self.distribute, bool):
            bad("distribute", "true or false")
        if self.distribute and self.backend != "jax":
            bad("distribute", "false unless the backend is jax")
        if self.lr_schedule not in ("constant", "cosine"):
            bad("lr_schedule", "constant or cosine")
        if self.activation not in ACTIVATIONS:
            bad("activation", " or ".join(ACTIVATIONS))
        if self.optimizer not in OPTIMIZERS:
            bad("optimizer", " or ".join(OPTIMIZERS))
        if self.backend not in BACKENDS:
            bad("backend", " or ".join(BACKENDS))
        if self.likelihood == "gaussian" and self.binarize != "none":
            bad("binarize", "none with the gaussian likelihood")
        for name in ("learning_rate", "epsilon_std"):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                bad(name, "a finite number > 0")
        if not _is_number(self.beta) or self.beta < 0:
            bad("beta", "a finite number >= 0")
        if self.clipnorm is not None and (
            not _is_number(self.clipnorm) or self.clipnorm <= 0
        ):
            bad("clipnorm", "a finite number > 0")
        if not _is_number(self.dropout) or not 0 <= self.dropout < 1:
            bad("dropout", "a rate in [0, 1)")
        if not _is_number(self.validation_split) or not 0 <= self.validation_split < 1:
            bad("validation_split", "a number in [0, 1)")
        if self.decoder_std != "learned" and (
            not _is_number(self.decoder_std) or self.decoder_std <= 0
        ):
            bad("decoder_std", "'learned' or a number > 0")

    def replace(self, **changes):
        """A copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


def _is_number(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def from_dict(values, source="config"):
    """Builds a Config from a mapping, refusing unknown keys."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise VaekitError(
            f"{source}: unknown setting(s) {', '.join(unknown)}; known: "
            f"{', '.join(FIELDS)}"
        )
    values = dict(values)
    if "hidden_dims" in values and isinstance(values["hidden_dims"], list):
        values["hidden_dims"] = tuple(values["hidden_dims"])
    try:
        return Config(**values)
    except TypeError as exc:
        raise VaekitError(f"{source}: {exc}") from None


def read_toml(path):
    """Reads a Config from a TOML file (a flat table of settings)."""
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


def preset(name):
    """The settings of a named preset (`default`, `tutorial`, ...)."""
    path = os.path.join(PRESET_DIR, f"{name}.toml")
    if not os.path.isfile(path):
        raise VaekitError(
            f"unknown preset {name!r}: choose one of {', '.join(preset_names())}"
        )
    return read_toml(path)


def preset_names():
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
