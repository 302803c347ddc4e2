"""vaekit: Variational Autoencoders for Keras 3.

Importing vaekit selects the JAX backend unless the user chose one (the
``KERAS_BACKEND`` environment variable) or keras was imported already. The
public names are loaded on first use, so ``import vaekit`` costs less than
importing keras itself.
"""

import importlib
import os
import sys

__version__ = "0.1.0"

if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "jax")
# TensorFlow, when installed, logs C++ chatter on import (keras.saving loads it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class VaekitError(Exception):
    """An error the user can fix: a missing file, a wrong shape, a bad value.

    The message names the input and says what to do. The CLI prints it on one
    line and exits with status 2.
    """


_PUBLIC = {
    "Sampling": "vaekit.layers",
    "build_encoder": "vaekit.models",
    "build_decoder": "vaekit.models",
    "VAE": "vaekit.models",
    "load_model": "vaekit.models",
    "losses": "vaekit.losses",
    "evaluate": "vaekit.evaluate",
    "data": "vaekit.data",
    "plots": "vaekit.plots",
    "config": "vaekit.config",
    "train": "vaekit.train",
    "Config": "vaekit.config",
}

__all__ = ["VaekitError", "__version__", *_PUBLIC]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if module.__name__ == f"vaekit.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
