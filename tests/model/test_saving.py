"""vaekit.model.saving: `load_model` of a `.keras` path (checked before
Keras reads it, loaded with `safe_mode=True`) or of a `VAE`.

What `vaekit.archive` refuses inside an archive is tested in
tests/test_archive.py; files saved by the previous release in
tests/model/test_backends.py (`saved_models`). Here: what `load_model`
itself answers, one clear line naming the file.
"""

import contextlib
import errno
import os
import pathlib
import resource
import shutil
import signal
import tempfile
import warnings
import zipfile

import keras
import numpy as np
import pytest

from tests.helpers import FIXTURES
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


# -- what Keras unpacks -------------------------------------------------------

MLP = os.path.join(FIXTURES, "models", "mlp_bernoulli.keras")


def _with_asset(tmp_path, size):
    """The genuine MLP fixture with a stored `size`-byte asset: an archive of
    more than three members, which Keras unpacks whole into a folder of
    `tempfile.mkdtemp()` before it reads the weights."""
    path = tmp_path / "asset.keras"
    with zipfile.ZipFile(MLP) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("assets/blob.bin", os.urandom(size))
    return path


@contextlib.contextmanager
def _file_size_limit(limit):
    """Writes past `limit` bytes fail (EFBIG) as on a full disk: the
    process's RLIMIT_FSIZE, lowered for the duration (SIGXFSZ ignored, so
    that the write fails instead of killing the process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


@pytest.fixture
def temporary(tmp_path, monkeypatch):
    """An empty folder as Python's temporary folder (what Keras unpacks
    into), for the test to look into afterwards."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_what_keras_unpacks_is_removed(tmp_path, temporary):
    path = _with_asset(tmp_path, 100_000)
    model = load_model(path)
    assert isinstance(model, VAE) and model.latent_dim > 0
    assert os.listdir(temporary) == []
    assert tempfile.tempdir == str(temporary)  # restored


def test_a_failed_unpack_leaves_no_temporary_folder(tmp_path, temporary):
    """The issue's case: unpacking fails midway (here the asset's write
    fails, as when $TMPDIR fills). Keras alone leaves its folder behind;
    vaekit's load_model removes it and answers one line."""
    path = _with_asset(tmp_path, 2**20)
    with _file_size_limit(256 * 1024), pytest.raises(OSError) as info:
        keras.saving.load_model(path)
    assert info.value.errno == errno.EFBIG
    left = os.listdir(temporary)
    assert len(left) == 1  # what the issue saw: Keras' folder stays
    shutil.rmtree(temporary / left[0])
    with _file_size_limit(256 * 1024):
        message = _refused(path, "cannot load model file", "File too large")
    assert os.listdir(temporary) == [] and "\n" not in message
    assert tempfile.tempdir == str(temporary)
    assert isinstance(load_model(path), VAE)  # with room, the same file loads
