"""A trained model and the data to apply it to, loaded together.

The commands that apply a model to data (evaluate, encode, reconstruct,
plot, interpolate) start here: the model file and the data are checked
before keras is imported (which takes seconds), and the data is reshaped to
the model's input.
"""

import os

from vaekit import VaekitError
from vaekit import io as files
from vaekit.model import safety

__all__ = ["load_model", "load_model_and_data"]


def load_model(path):
    """Loads a vaekit model with Keras' `safe_mode=True`.

    The file is checked before keras is imported (which takes seconds):
    `vaekit.model.safety.check_archive` reads the archive and refuses it unless it
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

    from vaekit.model.vae import VAE

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


def load_model_and_data(
    model_path, data_spec, label_column=None, split=None, missing="error", rows=False
):
    """Loads a model and the matching split of a dataset.

    A CSV table is read in the model's terms: the columns it was trained on,
    in its order, text columns mapped to its categories (see
    `vaekit.data.readers.read_csv`'s `schema`). A conditional model's text labels
    are mapped to its classes.

    Args:
        model_path: A `.keras` file written by vaekit.
        data_spec: A dataset name or path (see `vaekit.data.load`).
        label_column: The CSV column of the labels, or None.
        split: "train", "test" or "all" (default: "test" if the data has a
            test split, else "all").
        missing: What to do with a CSV row with a missing value: "error" or
            "drop".
        rows: Also return each example's place among the data's rows.

    Returns:
        `(model, x, y, split)`: `x` reshaped to the model's input when the
        sizes agree (flat vectors of an image model, say), `y` the labels or
        None, `split` the split used; with `rows`, `(model, x, y, split,
        index)`, `index` the 0-based row of each example in the data (a CSV
        row dropped for a missing value leaves a gap).

    Raises:
        VaekitError: for a bad model file, bad data, a missing split, data
            that does not fit the model, or a conditional model without
            labels.
    """

    from vaekit import data as data_lib

    model = load_model(model_path)
    schema = None
    transform = model.transform
    if (
        transform is not None
        and transform.column_names is not None
        and (str(data_spec).lower().endswith(".csv"))
    ):
        names = transform.column_names
        schema = {
            "columns": list(names),
            "categories": {
                names[column]: list(categories)
                for (column, _), categories in zip(
                    transform.categorical, transform.category_names or [], strict=False
                )
            },
        }
    dataset = data_lib.load(data_spec, label_column, missing=missing, schema=schema)
    if split is None:
        split = "test" if dataset.x_test is not None else "all"
    x, y = dataset.split(split)
    x = data_lib.fit_to_shape(
        x, model.data_shape, f"data {data_spec!r} (model {model_path!r})"
    )
    if model.conditional:
        if y is None:
            raise VaekitError(
                f"model {model_path!r} is a conditional VAE: it needs the labels of "
                f"data {data_spec!r} (for a CSV file, name the column with "
                "--label-column)"
            )
        y = class_indices(model, y, dataset.label_names, data_spec)
    if not rows:
        return model, x, y, split
    import numpy as np

    index = dataset.rows if dataset.rows is not None and split != "test" else None
    return model, x, y, split, np.arange(len(x)) if index is None else index


def class_indices(model, y, label_names=None, source="labels"):
    """The labels `y` as a conditional model's condition values: text labels
    (indices into `label_names`) mapped to the model's class names.

    Raises:
        VaekitError: for a label the model does not know.
    """
    import numpy as np

    y = np.asarray(y)
    classes = model.class_names
    if label_names is not None:
        if classes is None:
            raise VaekitError(
                f"{source}: text labels, but model's condition is numeric"
            )
        unknown = sorted(set(label_names) - set(classes))
        if unknown:
            raise VaekitError(
                f"{source}: label {unknown[0]!r} is not a class of the model "
                f"(classes: {', '.join(classes)})"
            )
        lookup = np.array([classes.index(name) for name in label_names])
        return lookup[y.astype(int)].astype(np.float32)
    y = y.astype(np.float32)
    if model.num_classes is not None:
        bad = (y != np.round(y)) | (y < 0) | (y >= model.num_classes)
        if bad.any():
            raise VaekitError(
                f"{source}: label {y[bad][0]:g} is not a class of the model "
                f"(0..{model.num_classes - 1})"
            )
    return y
