"""A trained model and the data to apply it to, loaded together.

The commands that apply a model to data (evaluate, encode, reconstruct,
plot, interpolate) start here: the model file and the data are checked
before keras is imported (which takes seconds), and the data is reshaped to
the model's input.
"""

import os

from vaekit import VaekitError, files, safety

__all__ = ["load_model", "load_model_and_data"]


def load_model(path):
    """Loads a vaekit model with Keras' `safe_mode=True`.

    The file is checked before keras is imported (which takes seconds):
    `vaekit.safety.check_archive` reads the archive and refuses it unless it
    names only Keras' own layers, initializers, optimizers, schedules, dtype
    policies and activations and vaekit's classes, and no member path leaves
    the archive.

    Raises:
        VaekitError: if the file is missing, is not a `.keras` archive,
            holds code (a `Lambda` layer, a serialized function) or classes
            vaekit does not know, or is not a vaekit VAE.
    """
    path = os.fspath(path)
    files.check_model_file(path)
    safety.check_archive(path)
    import keras

    from vaekit.models import VAE

    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types; all mean "cannot load"
        message = " ".join(str(exc).split())
        if "lambda" in message.lower() or "safe_mode" in message:
            raise VaekitError(
                f"model file {path!r} holds a Lambda layer (arbitrary code); vaekit "
                "loads models with safe_mode=True and refuses it"
            ) from None
        raise VaekitError(f"cannot load model file {path!r}: {message[:300]}") from None
    if not isinstance(model, VAE):
        raise VaekitError(
            f"model file {path!r} holds a {type(model).__name__}, not a vaekit VAE"
        )
    return model


def load_model_and_data(model_path, data_spec, label_column=None, split=None):
    """Loads a model and the matching split of a dataset.

    Args:
        model_path: A `.keras` file written by vaekit.
        data_spec: A dataset name or path (see `vaekit.data.load`).
        label_column: The CSV column of the labels, or None.
        split: "train", "test" or "all" (default: "test" if the data has a
            test split, else "all").

    Returns:
        `(model, x, y, split)`: `x` reshaped to the model's input when the
        sizes agree (flat vectors of an image model, say), `y` the labels or
        None, `split` the split used.

    Raises:
        VaekitError: for a bad model file, bad data, a missing split or data
            that does not fit the model.
    """
    from vaekit import data as data_lib

    files.check_model_file(model_path)
    dataset = data_lib.load(data_spec, label_column)
    if split is None:
        split = "test" if dataset.x_test is not None else "all"
    x, y = dataset.split(split)
    model = load_model(model_path)
    x = data_lib.fit_to_shape(
        x, model.data_shape, f"data {data_spec!r} (model {model_path!r})"
    )
    return model, x, y, split
