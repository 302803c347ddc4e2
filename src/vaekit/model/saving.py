"""Loading a saved VAE: the file and the archive checked first, then Keras'
own loader with `safe_mode=True`.

Keras finds vaekit's classes by their registered names (`vaekit>VAE`), not
by module paths, so files saved by earlier releases, whose classes lived in
other modules, load too.
"""

import os

import keras

from vaekit.archive import check_archive, check_model_file
from vaekit.errors import ModelFileError
from vaekit.model.vae import VAE

__all__ = ["load_model"]


def load_model(path):
    """Loads a vaekit model with Keras' `safe_mode=True`.

    Before Keras reads anything, `vaekit.archive.check_archive` refuses an
    archive unless it names only Keras' own layers, initializers,
    optimizers, schedules, dtype policies and activations and vaekit's
    classes, and no member path leaves the archive.

    Args:
        path: A `.keras` file, or a `VAE` (returned as it is).

    Returns:
        The `VAE`.

    Raises:
        ModelFileError: if the file is missing, is not a `.keras` archive,
            holds code (a `Lambda` layer, a serialized function) or classes
            vaekit does not know, or is not a vaekit VAE.
    """
    if isinstance(path, VAE):
        return path
    path = os.fspath(path)
    check_model_file(path)
    check_archive(path)
    try:
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
