"""vaekit: Variational Autoencoders for Keras 3.

Importing vaekit selects the JAX backend unless the user chose one (the
``KERAS_BACKEND`` environment variable) or keras was imported already. The
public names are loaded on first use, so ``import vaekit`` costs less than
importing keras, and the command line can still choose the backend after
``import vaekit``.

Keras finds vaekit's classes in a `.keras` file by their registered names
(``"vaekit>VAE"``) once `vaekit.model` is imported. ``import vaekit`` makes
sure that happens as soon as keras is loaded: at once if keras is loaded
already, else right after keras finishes loading (a finder on
`sys.meta_path` watches for the one module ``keras``). So ``import vaekit;
import keras; keras.saving.load_model(path)`` works in a fresh process.
"""

import importlib
import importlib.abc
import os
import sys
import warnings

from vaekit.errors import VaekitError, VaekitWarning

__version__ = "0.2.0"

# The backend the user chose, if any, before vaekit's default below: a run's
# config.toml may name another one, and the CLI must tell the two apart.
_USER_BACKEND = os.environ.get("KERAS_BACKEND")
if "keras" not in sys.modules:
    os.environ.setdefault("KERAS_BACKEND", "jax")
# TensorFlow, when installed, logs C++ chatter on import (keras.saving loads it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Set beside TF_ENABLE_ONEDNN_OPTS=0 when vaekit sets it, so that this process
# and any process it starts (which inherits both) can tell vaekit's setting
# from a user's, and undo it for the TensorFlow backend.
_ONEDNN_MARK = "VAEKIT_SET_TF_ENABLE_ONEDNN_OPTS"


def quiet_tensorflow():
    """Keeps an installed TensorFlow from writing to stderr when keras
    imports it (its serializer does, on every backend).

    TensorFlow 2.21 logs "oneDNN custom operations are on" through absl
    before `TF_CPP_MIN_LOG_LEVEL` takes effect; only turning the oneDNN
    kernels off silences it. Under the JAX and PyTorch backends TensorFlow
    runs no model code, so this costs nothing. Under the TensorFlow backend
    the setting is undone, in a process vaekit started from one where it
    set it too (oneDNN's convolutions are twice as fast as TensorFlow's
    others; benchmarks/conv_layers.py); a `TF_ENABLE_ONEDNN_OPTS` the user
    set is left alone. Call again after changing `KERAS_BACKEND` (the CLI
    does); it has no effect once TensorFlow is imported.
    """
    if "tensorflow" in sys.modules:
        return
    if os.environ.get("KERAS_BACKEND", "jax") == "tensorflow":
        if os.environ.pop(_ONEDNN_MARK, None) is not None:
            os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
    elif "TF_ENABLE_ONEDNN_OPTS" not in os.environ:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        os.environ[_ONEDNN_MARK] = "1"


quiet_tensorflow()

# The curated public API: name -> (module, attribute), loaded on first use.
_PUBLIC = {
    "VAE": ("vaekit.model", "VAE"),
    "Sampling": ("vaekit.model", "Sampling"),
    "DataTransform": ("vaekit.model", "DataTransform"),
    "build_encoder": ("vaekit.model", "build_encoder"),
    "build_decoder": ("vaekit.model", "build_decoder"),
    "load_model": ("vaekit.model", "load_model"),
    "encode": ("vaekit.model", "encode"),
    "reconstruct": ("vaekit.model", "reconstruct"),
    "sample": ("vaekit.model", "sample"),
    "evaluate": ("vaekit.evaluation", "evaluate"),
    "score": ("vaekit.evaluation", "score"),
    "train": ("vaekit.training", "train"),
    "Config": ("vaekit.config", "Config"),
    "config": ("vaekit.config", None),
    "data": ("vaekit.data", None),
    "model": ("vaekit.model", None),
    "training": ("vaekit.training", None),
    "evaluation": ("vaekit.evaluation", None),
    "viz": ("vaekit.viz", None),
}

__all__ = ["VaekitError", "VaekitWarning", "__version__", *_PUBLIC]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    module_name, attribute = _PUBLIC[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


def _register():
    """Imports `vaekit.model`, whose classes register with keras; a failure
    warns instead of breaking the user's `import keras`."""
    try:
        importlib.import_module("vaekit.model")
    except Exception as exc:
        warnings.warn(
            f"vaekit could not register its classes with keras "
            f"({type(exc).__name__}: {exc}); `keras.saving.load_model` will "
            "not find vaekit's VAE until `vaekit.model` imports",
            RuntimeWarning,
            stacklevel=2,
        )


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Runs `_register` once the top-level module ``keras`` has loaded.

    It finds keras' spec with the other finders and wraps its loader's
    `exec_module`; then it leaves `sys.meta_path`. When a vaekit module is
    what imports keras, `vaekit.model` may be half-initialized at that
    moment: importing it returns it as it is, and it registers its classes
    as it finishes. Modules below `vaekit.model` (config, data, io, runs,
    errors) never import keras at import time, so they are never half
    loaded when `vaekit.model` needs them.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        load = loader.exec_module

        def exec_module(module):
            load(module)
            _register()

        loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    _register()  # keras is loaded (its backend fixed): register at no cost
elif not any(type(f).__name__ == "_RegisterAfterKeras" for f in sys.meta_path):
    # (Compared by name: `importlib.reload(vaekit)` makes a new class.)
    sys.meta_path.insert(0, _RegisterAfterKeras())
