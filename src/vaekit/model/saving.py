"""Loading a saved VAE: the file and the archive checked first, then Keras'
own loader with `safe_mode=True`.

Keras finds vaekit's classes by their registered names (`vaekit>VAE`), not
by module paths, so files saved by earlier releases, whose classes lived in
other modules, load too.

Keras unpacks an archive of more than three members into a folder of
`tempfile.mkdtemp()`, and leaves it behind when unpacking fails (a full
disk). So Keras loads with Python's temporary folder pointed at a folder
of vaekit's own (inside the usual one), removed with all it holds
afterwards, whatever happened; loads are serialized while it is pointed
there.
"""

import contextlib
import os
import shutil
import tempfile
import threading

import keras

from vaekit.archive import check_archive, check_model_file
from vaekit.errors import ModelFileError
from vaekit.model.vae import VAE

__all__ = ["load_model"]

_TEMPORARY = threading.Lock()


@contextlib.contextmanager
def _own_temporary_folder():
    """Points `tempfile` at a new folder for the duration, then removes it
    with whatever it holds and restores the previous setting."""
    with _TEMPORARY:
        folder = tempfile.mkdtemp(prefix="vaekit-load-")
        previous, tempfile.tempdir = tempfile.tempdir, folder
        try:
            yield folder
        finally:
            tempfile.tempdir = previous
            shutil.rmtree(folder, ignore_errors=True)


def load_model(path):
    """Loads a vaekit model with Keras' `safe_mode=True`.

    Before Keras reads anything, `vaekit.archive.check_archive` refuses an
    archive unless it names only Keras' own layers, initializers,
    optimizers, schedules, dtype policies and activations and vaekit's
    classes, no member path leaves the archive, and its sizes are bounded
    (no decompression bomb, nothing beyond memory or the temporary
    folder's free space). Whatever Keras unpacks is removed afterwards,
    also when loading fails.

    Args:
        path: A `.keras` file, or a `VAE` (returned as it is).

    Returns:
        The `VAE`.

    Raises:
        ModelFileError: if the file is missing, is not a `.keras` archive,
            holds code (a `Lambda` layer, a serialized function) or classes
            vaekit does not know, is too large to unpack, cannot be unpacked
            (a full disk), or is not a vaekit VAE.
    """
    if isinstance(path, VAE):
        return path
    path = os.fspath(path)
    check_model_file(path)
    check_archive(path)
    try:
        with _own_temporary_folder():
            model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types; all mean "cannot load"
        message = " ".join(str(exc).split())
        if "lambda" in message.lower() or "safe_mode" in message:
            raise ModelFileError(
                f"model file {path!r} holds a Lambda layer (arbitrary code); vaekit "
                "loads models with safe_mode=True and refuses it"
            ) from None
        raise ModelFileError(
            f"cannot load model file {path!r}: {message[:300]}"
        ) from None
    if not isinstance(model, VAE):
        raise ModelFileError(
            f"model file {path!r} holds a {type(model).__name__}, not a vaekit VAE"
        )
    return model
