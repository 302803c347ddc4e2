"""vaekit.model.inputs: a model and the data to apply it to, loaded together."""

import sys

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit.model import inputs


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """An untrained VAE for 8x8 images (the shape of the `digits` data)."""
    import keras

    from vaekit.model.vae import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(0)
    model = VAE(build_encoder((8, 8), (16,), 2), build_decoder((8, 8), (16,), 2))
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    model.save(path)
    return path


def test_loads_the_model_and_the_split(model_file):
    model, x, y, split = inputs.load_model_and_data(model_file, "digits")
    assert split == "all"  # digits has no test split
    assert x.shape == (1797, 8, 8) and y.shape == (1797,)
    assert model.data_shape == (8, 8) and model.latent_dim == 2
    with pytest.raises(VaekitError, match="no test split"):
        inputs.load_model_and_data(model_file, "digits", split="test")


def test_flat_data_is_reshaped_to_the_model(model_file, tmp_path):
    from vaekit import data

    images = data.load("digits").x_train[:30]
    flat = tmp_path / "flat.npy"
    np.save(flat, images.reshape(30, 64))
    _, x, y, split = inputs.load_model_and_data(model_file, str(flat))
    assert (x.shape, y, split) == ((30, 8, 8), None, "all")
    np.testing.assert_array_equal(x, images.reshape(30, 8, 8))
    np.save(flat, images.reshape(30, 64)[:, :10])
    with pytest.raises(VaekitError, match="flat.npy"):
        inputs.load_model_and_data(model_file, str(flat))


def test_a_bad_model_file_fails_before_the_data_is_read(tmp_path, monkeypatch):
    from vaekit import data

    def refuse(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(data, "load", refuse)
    with pytest.raises(VaekitError, match="does not exist"):
        inputs.load_model_and_data(str(tmp_path / "missing.keras"), "digits")
    (tmp_path / "text.keras").write_text("not a model")
    with pytest.raises(VaekitError, match="not a .keras archive"):
        inputs.load_model(str(tmp_path / "text.keras"))


def test_load_model_checks_the_file_before_importing_keras(tmp_path):
    import subprocess

    code = (
        "import sys\n"
        "from vaekit import VaekitError\nfrom vaekit.model import inputs\n"
        "try:\n"
        f"    inputs.load_model({str(tmp_path / 'missing.keras')!r})\n"
        "except VaekitError:\n"
        "    print('keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "False", result.stderr
