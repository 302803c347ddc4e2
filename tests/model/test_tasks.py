"""vaekit.model.tasks: `encode`, `reconstruct` and `sample` as library calls
that take the model as a `VAE` or a `.keras` path and the data as a spec, a
DataFrame or an array. Each is the `VAE` method of the same inputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

import vaekit
from tests.model.common import CLASS_NAMES, class_condition, class_data
from tests.model.common import conditional_vae as make_conditional
from vaekit import data as data_lib
from vaekit.errors import DataError, InvalidArgument, ModelFileError
from vaekit.model.tasks import encode, reconstruct, sample


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """`(vae, x, y, path)`: an untrained VAE conditioned on the 4 classes
    `CLASS_NAMES`, 20 examples, their labels, and an `.npz` of both."""
    x, y = class_data(n=20)
    path = tmp_path_factory.mktemp("labelled") / "labelled.npz"
    np.savez(path, x_train=x, y_train=y.astype(int))
    return make_conditional(class_condition(y)), x, y, str(path)


def test_encode_a_spec_with_a_model_path(tiny_model_path, tiny_model, digits_x):
    result = vaekit.encode(tiny_model_path, "digits")
    assert sorted(result) == ["labels", "rows", "split", "z_log_var", "z_mean"]
    np.testing.assert_array_equal(result["labels"], load_digits().target)
    z_mean, z_log_var = tiny_model.encode(digits_x)
    np.testing.assert_array_equal(result["z_mean"], z_mean)
    np.testing.assert_array_equal(result["z_log_var"], z_log_var)
    assert result["z_mean"].shape == (1797, 2)
    np.testing.assert_array_equal(result["rows"], np.arange(1797))
    assert result["split"] == "all"


def test_encode_a_dataframe_and_every_split_by_default(tiny_model, digits_x, tmp_path):
    x = digits_x[:20]
    frame = pd.DataFrame(x.reshape(20, 64))
    result = encode(tiny_model, frame)
    np.testing.assert_array_equal(result["z_mean"], tiny_model.encode(x)[0])
    # Data with a test split: encode takes all of it unless told.
    path = tmp_path / "parts.npz"
    np.savez(path, x_train=x[:15], x_test=x[15:])
    every = encode(tiny_model, str(path))
    assert every["split"] == "all" and len(every["z_mean"]) == 20
    np.testing.assert_array_equal(every["z_mean"], tiny_model.encode(x)[0])
    test = encode(tiny_model, str(path), split="test")
    np.testing.assert_array_equal(test["z_mean"], tiny_model.encode(x[15:])[0])


def test_reconstruct_an_array_with_a_model_path(tiny_model_path, tiny_model, digits_x):
    x = digits_x[:12]
    result = reconstruct(tiny_model_path, x.reshape(12, 64))
    assert sorted(result) == ["condition", "reconstruction", "rows", "split", "x"]
    np.testing.assert_array_equal(result["x"], x)  # reshaped to the model
    np.testing.assert_array_equal(result["reconstruction"], tiny_model.reconstruct(x))
    assert result["reconstruction"].shape == (12, 8, 8, 1)
    assert result["condition"] is None and result["split"] == "all"
    np.testing.assert_array_equal(result["rows"], np.arange(12))


def test_reconstruct_reads_the_test_split_by_default(tiny_model, digits_x, tmp_path):
    path = tmp_path / "parts.npz"
    np.savez(path, x_train=digits_x[:15], x_test=digits_x[15:20])
    result = reconstruct(tiny_model, str(path))
    assert result["split"] == "test"
    np.testing.assert_array_equal(result["x"], digits_x[15:20])


def test_sample_with_a_model_path(tiny_model_path, tiny_model):
    samples = vaekit.sample(tiny_model_path, n=6, seed=2)
    assert samples.shape == (6, 8, 8, 1)
    np.testing.assert_array_equal(samples, tiny_model.sample(6, seed=2))
    assert not np.array_equal(samples, sample(tiny_model, n=6, seed=3))
    # Temperature 0: every draw is the prior's mean, z = 0.
    cold = sample(tiny_model, n=3, temperature=0.0)
    decoded = tiny_model.decode(np.zeros((1, 2), "float32"))
    np.testing.assert_allclose(cold, np.repeat(decoded, 3, axis=0), rtol=1e-6)
    with pytest.raises(InvalidArgument, match="conditional"):
        sample(tiny_model, n=2, label="3")


def test_sample_a_label_of_a_conditional_model(labelled):
    model, _, _, _ = labelled
    south = CLASS_NAMES.index("south")
    expected = model.sample(8, seed=1, condition=np.full(8, south, "float32"))
    np.testing.assert_array_equal(sample(model, 8, seed=1, label="south"), expected)
    np.testing.assert_array_equal(sample(model, 8, seed=1, label=str(south)), expected)
    # No label: the classes in turn.
    np.testing.assert_array_equal(
        sample(model, 8, seed=1),
        model.sample(8, seed=1, condition=np.arange(8) % 4),
    )
    with pytest.raises(InvalidArgument, match="not a class of the model"):
        sample(model, 2, label="up")


def test_encode_and_reconstruct_a_conditional_model_under_each_label(labelled):
    model, x, y, path = labelled
    result = encode(model, path)
    np.testing.assert_array_equal(result["z_mean"], model.encode(x, condition=y)[0])
    rebuilt = reconstruct(model, path)
    np.testing.assert_array_equal(rebuilt["condition"], y)
    np.testing.assert_array_equal(
        rebuilt["reconstruction"], model.reconstruct(x, condition=y)
    )
    with pytest.raises(DataError, match="needs the labels"):
        encode(model, x)


def test_a_bad_model_file_fails_before_the_data_is_read(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(data_lib, "load", refuse)
    (tmp_path / "text.keras").write_text("not a model")
    for call in (encode, reconstruct):
        with pytest.raises(ModelFileError, match="does not exist"):
            call(str(tmp_path / "missing.keras"), "digits")
        with pytest.raises(ModelFileError, match="not a .keras archive"):
            call(str(tmp_path / "text.keras"), "digits")
    with pytest.raises(ModelFileError, match="does not exist"):
        sample(str(tmp_path / "missing.keras"))
