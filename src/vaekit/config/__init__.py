"""The settings of a training run: `Config` (each setting declared once,
with its help, allowed values and check), the layers a run's config is
resolved from (default < preset < file < flags), the named presets, and
TOML files."""

from vaekit.config.layers import (
    PRESET_DIR,
    choose_backend,
    default_backend,
    from_dict,
    preset,
    preset_names,
    read_toml,
    require_backend,
    resolve,
    to_toml,
)
from vaekit.config.settings import FIELDS, GROUPS, Config

__all__ = [
    "FIELDS",
    "GROUPS",
    "PRESET_DIR",
    "Config",
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
