"""vaekit: Variational Autoencoders for Keras 3.

Importing vaekit selects the JAX backend unless the user chose one (the
``KERAS_BACKEND`` environment variable) or keras was imported already. The
public names are loaded on first use, so ``import vaekit`` costs less than
importing keras itself, and the CLI can still choose the backend after
``import vaekit``.

Keras finds vaekit's serializable classes (`VAE`, `Sampling`) once
`vaekit.model.vae` is imported, and vaekit makes sure that happens as soon as
keras is loaded: at once if keras was imported before vaekit, else through
an import hook that imports `vaekit.model.vae` right after keras itself has
finished loading. So ``import vaekit; import keras;
keras.saving.load_model("model.keras")`` works in a fresh process, and
``import vaekit`` alone still does not import keras.
"""

import importlib
import importlib.abc
import os
import sys
import threading
import warnings

__version__ = "0.1.0"

# The backend the user chose, if any, before vaekit's default below: a run's
# config.toml may name another one, and the CLI must tell the two apart.
_USER_BACKEND = os.environ.get("KERAS_BACKEND")
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
    "Sampling": "vaekit.model.layers",
    "build_encoder": "vaekit.model.vae",
    "build_decoder": "vaekit.model.vae",
    "VAE": "vaekit.model.vae",
    "load_model": "vaekit.model.vae",
    "losses": "vaekit.model.losses",
    "evaluate": "vaekit.evaluation.likelihood",
    "score": "vaekit.evaluation.scores",
    "data": "vaekit.data",
    "plots": "vaekit.viz.figures",
    "config": "vaekit.config",
    "train": "vaekit.training.train",
    "Config": "vaekit.config",
}

__all__ = ["VaekitError", "__version__", *_PUBLIC]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'vaekit' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    value = getattr(module, name, module) if hasattr(module, name) else module
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


# -- registration with keras -------------------------------------------------
#
# Keras resolves `"registered_name": "vaekit>VAE"` in a `.keras` file only if
# the decorator `register_keras_serializable` has run, i.e. once
# `vaekit.model.vae` is imported. Importing it here would import keras (seconds,
# and it fixes the backend before the CLI has read `--backend`), so instead a
# finder on `sys.meta_path` waits for keras: it wraps the loader of the
# top-level `keras` module and, once keras' own `exec_module` has finished,
# imports `vaekit.model.vae` and removes itself.
#
# It also wraps the loaders of vaekit's own submodules, for one reason: when a
# vaekit module that imports keras (say `vaekit.model.losses`) is itself loaded
# first, keras finishes loading while that module is half-initialized, and
# importing `vaekit.model.vae` then (which does `from vaekit.model.losses import ...`)
# would fail. Registration waits until no wrapped module is still loading.


class _RegisterWithKeras(importlib.abc.MetaPathFinder):
    """Imports `vaekit.model.vae` as soon as keras is loaded (see above)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._loading = 0  # wrapped modules whose exec_module has not returned
        self._searching = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("vaekit."):
            return None
        if getattr(self._searching, "active", False):
            return None  # a finder below asked the import system again
        self._searching.active = True
        try:
            spec = self._find_with_other_finders(fullname, path, target)
        finally:
            self._searching.active = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec  # not found, or a legacy loader: leave it alone
        # Only the loader changes: origin, submodule_search_locations,
        # loader_state and the rest of the spec stay as the real finder made them.
        spec.loader = _NotifyingLoader(loader, self)
        return spec

    def _find_with_other_finders(self, fullname, path, target):
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def loading(self, delta):
        with self._lock:
            self._loading += delta

    def maybe_register(self):
        """Imports `vaekit.model.vae` if keras is loaded and no wrapped module
        is half-initialized; then uninstalls the finder."""
        with self._lock:
            if self._loading or "keras" not in sys.modules:
                return
            self.uninstall()
        if "vaekit.model.vae" in sys.modules:
            return
        try:
            importlib.import_module("vaekit.model.vae")
        except Exception as exc:  # never break the user's `import keras`
            warnings.warn(
                f"vaekit could not register its classes with keras "
                f"({type(exc).__name__}: {exc}); `keras.saving.load_model` will "
                "not find vaekit's VAE until `vaekit.model.vae` imports",
                RuntimeWarning,
                stacklevel=2,
            )

    def uninstall(self):
        # A list comprehension, not `remove`: idempotent, and safe if the
        # finder was somehow inserted twice.
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]


class _NotifyingLoader(importlib.abc.Loader):
    """Runs the real loader, then tells the finder the module is loaded."""

    def __init__(self, loader, finder):
        self._loader = loader
        self._finder = finder

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # The module sees its own loader, never this wrapper.
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._finder.loading(+1)
        try:
            self._loader.exec_module(module)
        finally:
            self._finder.loading(-1)
        self._finder.maybe_register()


if "keras" in sys.modules:
    # Keras is loaded already (its backend fixed): register vaekit's classes
    # with it now, at no import cost.
    importlib.import_module("vaekit.model.vae")
elif not any(type(f).__name__ == "_RegisterWithKeras" for f in sys.meta_path):
    # (Compared by name: `importlib.reload(vaekit)` makes a new class.)
    sys.meta_path.insert(0, _RegisterWithKeras())
