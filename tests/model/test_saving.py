"""vaekit.model.saving: `load_model` of a `.keras` path (checked before
Keras reads it, loaded with `safe_mode=True`) or of a `VAE`.

What `vaekit.archive` refuses inside an archive is tested in
tests/test_archive.py; files saved by the previous release in
tests/model/test_backends.py (`saved_models`). Here: what `load_model`
itself answers, one clear line naming the file.
"""

import pathlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

from vaekit import VaekitError
from vaekit.errors import ModelFileError
from vaekit.model.saving import load_model
from vaekit.model.vae import VAE


def test_loads_a_saved_vae(tiny_model_path, tiny_model, digits_x):
    for path in (tiny_model_path, pathlib.Path(tiny_model_path)):
        model = load_model(path)
        assert isinstance(model, VAE) and model is not tiny_model
        assert model.data_shape == (8, 8, 1) and model.latent_dim == 2
        for a, b in zip(model.get_weights(), tiny_model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        model.encode(digits_x[:5])[0], tiny_model.encode(digits_x[:5])[0]
    )


def test_a_vae_is_returned_as_it_is(tiny_model):
    assert load_model(tiny_model) is tiny_model


def _refused(path, *fragments):
    """The ModelFileError of loading `path`: one line naming the file."""
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert isinstance(info.value, VaekitError)
    assert repr(str(path)) in message and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_missing_folder_or_other_file_is_refused(tmp_path):
    _refused(tmp_path / "missing.keras", "does not exist")
    _refused(tmp_path, "is a folder")
    (tmp_path / "text.keras").write_text("not a model")
    _refused(tmp_path / "text.keras", "is not a .keras archive")
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("notes.txt", "a zip, but not of a model")
    _refused(tmp_path / "other.keras", "has no config.json")


def test_a_keras_model_that_is_not_a_vae_is_refused(tmp_path):
    inputs = keras.Input((3,))
    path = tmp_path / "dense.keras"
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    _refused(path, "holds a Functional, not a vaekit VAE")


def test_a_lambda_layer_is_refused_before_keras_runs_it(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    path = tmp_path / "lambda.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own "this is unsafe"
        keras.Model(inputs, outputs).save(path)
    _refused(path, "refused", "Lambda layer")


def test_an_archive_keras_cannot_load_is_one_line(tiny_model_path, tmp_path):
    """A genuine config without its weights: Keras' own error, in one line
    of at most a few hundred characters, after the file's name."""
    path = tmp_path / "no_weights.keras"
    with zipfile.ZipFile(tiny_model_path) as source:
        with zipfile.ZipFile(path, "w") as target:
            for item in source.infolist():
                if not item.filename.endswith(".h5"):
                    target.writestr(item, source.read(item))
    message = _refused(path)
    assert message.startswith(f"cannot load model file {str(path)!r}: ")
    assert len(message) < 400
