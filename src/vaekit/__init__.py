"""vaekit: Variational Autoencoders for Keras 3.

Importing vaekit selects the JAX backend unless the user chose one (the
``KERAS_BACKEND`` environment variable) or keras was imported already. The
public names are loaded on first use, so ``import vaekit`` costs less than
importing keras itself, and the CLI can still choose the backend after
``import vaekit``.

Keras finds vaekit's serializable classes once `vaekit.models` is imported:
at once if keras was imported before vaekit, else on first use of a vaekit
name. To load a `.keras` file with `keras.saving.load_model` in a fresh
process, use `vaekit.load_model(path)` or `import vaekit.models` first.
"""

import importlib
import os
import sys

__version__ = "0.1.0"

if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "jax")
# TensorFlow, when installed, logs C++ chatter on import (keras.saving loads it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SET_ONEDNN = False


def quiet_tensorflow():
    """Keeps an installed TensorFlow from writing to stderr when keras
    imports it (its serializer does, on every backend).

    TensorFlow 2.21 logs "oneDNN custom operations are on" through absl
    before `TF_CPP_MIN_LOG_LEVEL` takes effect; only turning the oneDNN
    kernels off silences it. Under the JAX and PyTorch backends TensorFlow
    runs no model code, so this costs nothing; under the TensorFlow backend
    (or when the user set `TF_ENABLE_ONEDNN_OPTS`) it is left alone. Call
    again after changing `KERAS_BACKEND` (the CLI does); it has no effect
    once TensorFlow is imported.
    """
    global _SET_ONEDNN
    if "tensorflow" in sys.modules:
        return
    if os.environ.get("KERAS_BACKEND", "jax") == "tensorflow":
        if _SET_ONEDNN:
            os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
            _SET_ONEDNN = False
    elif "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        _SET_ONEDNN = True


quiet_tensorflow()


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


if "keras" in sys.modules:
    # Keras is loaded already (its backend fixed): register vaekit's classes
    # with it now, at no import cost.
    importlib.import_module("vaekit.models")
