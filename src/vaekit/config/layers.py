"""Run configurations in layers, and their TOML files.

A run's settings come in layers, each replacing what it names: the default
preset, then a named preset, then a config file, then command-line flags
(`resolve`). Every run folder holds the `config.toml` that produced it,
backend included; `vaekit train --config RUN/config.toml` runs it again.
"""

import logging
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from vaekit import checks
from vaekit.config.settings import FIELDS, Config, InvalidSetting
from vaekit.errors import ConfigError

__all__ = [
    "PRESET_DIR",
    "choose_backend",
    "default_backend",
    "from_dict",
    "preset",
    "preset_names",
    "read_toml",
    "require_backend",
    "resolve",
    "to_toml",
]

PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")


def _where(source, key):
    return source.get(key, "config") if isinstance(source, dict) else source


def from_dict(values, source="config"):
    """Builds a Config from a mapping of settings.

    Args:
        values: Settings by field name.
        source: What the settings came from, for the messages: a name
            (e.g. a file), or a dict of one name per setting.

    Raises:
        ConfigError: for an unknown setting or a bad value, naming its source.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        where = _where(source, unknown[0])
        names = [key for key in unknown if _where(source, key) == where]
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(names)}; known: "
            f"{', '.join(FIELDS)}"
        )
    values = dict(values)
    for key, value in values.items():  # TOML lists are tuple fields
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return Config(**values)
    except InvalidSetting as exc:
        raise ConfigError(f"{_where(source, exc.field)}: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"{_where(source, None)}: {exc}") from None


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
        ConfigError: if the file and the environment disagree.
    """
    if flag is not None:
        return flag
    if file_backend is not None:
        if file_backend not in checks.BACKENDS:  # before naming it in a message
            error = checks.invalid(
                "backend", "one of jax, tensorflow, torch", file_backend
            )
            raise ConfigError(f"config file {file!r}: {error}")
        if environment is not None and environment != file_backend:
            raise ConfigError(
                f"KERAS_BACKEND={environment} conflicts with backend = "
                f"{file_backend!r} in {file!r}: pass --backend {file_backend} or "
                f"--backend {environment} to choose"
            )
        return file_backend
    return environment


# JAX's accelerator plugins: with one installed, JAX runs on a GPU or TPU,
# where XLA's convolutions are the fast ones.
_JAX_ACCELERATORS = (
    "jax_cuda12_plugin",
    "jax_cuda13_plugin",
    "jax_rocm7_plugin",
    "libtpu",
)


def default_backend(values):
    """The backend of a run that nothing chooses (no `--backend`, no
    `backend` in its config file, no `KERAS_BACKEND`): jax, except for the
    conv architecture on a CPU with TensorFlow installed, which gets
    tensorflow.

    Chosen by measurement (`benchmarks/conv.py`, docs/results.md): on CPU,
    TensorFlow's oneDNN convolutions train the conv VAE about twice as fast
    as XLA:CPU does, at k=1 and k=5, vaekit's matmul forms of its layers
    included; on the MLP, JAX is the faster. `distribute` needs jax.

    Args:
        values: The run's settings by name, as layered so far.

    Returns:
        `"jax"` or `"tensorflow"`.
    """
    if (
        values.get("architecture") == "conv"
        and not values.get("distribute")
        and checks.installed("tensorflow")
        and not any(checks.installed(name) for name in _JAX_ACCELERATORS)
    ):
        return "tensorflow"
    return "jax"


# The package each Keras backend needs, and the extra of vaekit's that
# installs it.
_BACKEND_PACKAGES = {
    "jax": ("jax", "JAX", "pip install jax"),
    "tensorflow": ("tensorflow", "TensorFlow", 'pip install "vaekit[tensorflow]"'),
    "torch": ("torch", "PyTorch", 'pip install "vaekit[torch]"'),
}


def require_backend(name):
    """Checks that the package of Keras backend `name` is installed, without
    importing it (a backend Keras knows but vaekit does not is left to
    Keras).

    Raises:
        ConfigError: if it is not installed, saying how to install it.
    """
    if name not in _BACKEND_PACKAGES:
        return
    module, package, install = _BACKEND_PACKAGES[name]
    if not checks.installed(module):
        raise ConfigError(
            f"the {name} backend needs {package}, which is not installed: "
            f"{install}, or choose another backend (jax is vaekit's default)"
        )


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
        ConfigError: for an unknown preset, an unreadable file, an unknown
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
    elif "backend" not in values:  # no layer names one
        values["backend"] = default_backend(values)
        if values["backend"] != "jax":
            logging.getLogger("vaekit").info(
                "backend: %s, the conv architecture's default on a CPU where "
                "TensorFlow is installed (about twice JAX's speed there); "
                "--backend jax chooses JAX",
                values["backend"],
            )
    return from_dict(values, source)


def read_toml(path):
    """The settings of a TOML file (a flat table), as a dict.

    Raises:
        ConfigError: if the file is missing, unreadable or not valid TOML.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path!r} cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path!r} is not valid TOML ({exc})") from None
    return values


def _preset_file(name):
    path = os.path.join(PRESET_DIR, f"{name}.toml")
    if not os.path.isfile(path):
        raise ConfigError(
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
