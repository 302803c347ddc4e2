"""A trained model and the data to apply it to, loaded together.

The commands that apply a model to data (evaluate, encode, reconstruct,
plot, interpolate) start here: the model file and the data are checked
before keras is imported (which takes seconds), and the data is reshaped to
the model's input.
"""

from vaekit import files, safety

__all__ = ["load_model", "load_model_and_data"]


def load_model(model_path):
    """Loads a vaekit model, checking the file before keras is imported.

    Raises:
        VaekitError: if the file is missing, unreadable, holds anything
            but Keras' own objects and vaekit's (see `vaekit.safety`), or is
            not a vaekit model.
    """
    files.check_model_file(model_path)
    safety.check_archive(model_path)
    from vaekit import models

    return models.load_model(model_path)


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
