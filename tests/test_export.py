"""Tests of vaekit.export: the exported parts give vaekit's own outputs
where users serve them (onnxruntime in a process without keras, jax,
tensorflow or torch; a SavedModel reloaded by TensorFlow)."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from vaekit import VAE
from vaekit.errors import InvalidArgument, RunFolderError
from vaekit.evaluation import score
from vaekit.export import PARTS, SCHEMA, export, export_schema
from vaekit.model import load_model

SERVE = os.path.join(os.path.dirname(__file__), "serve_export.py")
# float32 arithmetic in another order (onnxruntime's kernels, not XLA's)
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def run_python(args, out, env):
    """The arrays a fresh Python process (`python ARGS OUT`) saved in
    `out`."""
    done = subprocess.run(
        [sys.executable, *args, str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with np.load(out) as saved:
        return dict(saved)


def serve(folder, source, tmp_path):
    """The outputs of an ONNX export served in a fresh process that refuses
    to import keras, jax, tensorflow and torch."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    args = [SERVE, str(folder), str(source)]
    return run_python(args, tmp_path / "served.npz", env)


def expected(model_path, data, **options):
    """vaekit's own encoder, decoder (at z_mean) and deterministic score."""
    model = load_model(model_path)
    scores = score(model_path, data, iw_samples=1, binarize="none", **options)
    x = model.as_array(np.load(data)) if str(data).endswith(".npy") else None
    if x is None:
        import pandas as pd

        frame = pd.read_csv(data).drop(columns=options.get("label_column") or [])
        x = model.as_array(frame)
    z_mean, z_log_var = model.encode(x)
    return {
        "encoder/z_mean": z_mean,
        "encoder/z_log_var": z_log_var,
        "decoder/x_mean": model.decode(z_mean),
        "scorer/score": scores["reconstruction_error"].to_numpy(),
    }


def assert_same(served, wanted):
    assert sorted(served) == sorted(wanted)
    for name, value in wanted.items():
        got = served[name].reshape(value.shape)
        np.testing.assert_allclose(got, value, err_msg=name, **TOLERANCE)


@pytest.fixture(scope="module")
def digits_npy(digits_x, tmp_path_factory):
    path = tmp_path_factory.mktemp("digits") / "x.npy"
    np.save(path, digits_x[:300])
    return path


def test_onnx_export_of_a_digits_model_serves_vaekits_outputs(
    tiny_run, digits_npy, tmp_path
):
    folder = tmp_path / "onnx"
    schema = export(tiny_run, folder)
    assert sorted(os.listdir(folder)) == sorted([SCHEMA, *(f"{p}.onnx" for p in PARTS)])
    assert schema["input"]["shape"] == [8, 8, 1]
    assert "255" in schema["input"]["scale"]
    served = serve(folder, digits_npy, tmp_path)
    wanted = expected(os.path.join(tiny_run, "model.keras"), digits_npy)
    assert_same(served, wanted)  # the score of vaekit's z_mean: deterministic


def test_onnx_export_of_a_table_with_text_columns_takes_the_rows_of_its_csv(
    table_run, table_csv, tmp_path
):
    folder = tmp_path / "onnx"
    schema = export(table_run, folder)
    columns = {c["name"]: c for c in schema["input"]["columns"]}
    assert columns["colour"]["kind"] == "categorical"
    assert sorted(columns["colour"]["categories"]) == ["blue", "green", "red"]
    assert columns["age"]["kind"] == "numeric"
    served = serve(folder, table_csv, tmp_path)  # the CSV as a user has it
    wanted = expected(
        os.path.join(table_run, "model.keras"), table_csv, label_column="kind"
    )
    assert_same(served, wanted)
    # The decoder gives category codes: each one of the column's codes.
    decoded = served["decoder/x_mean"]
    names = [c["name"] for c in schema["input"]["columns"]]
    codes = set(columns["colour"]["codes"])
    assert set(decoded[:, names.index("colour")].tolist()) <= codes


def test_saved_model_reloads_in_tensorflow_with_vaekits_outputs(
    table_run, table_csv, tmp_path
):
    folder = tmp_path / "saved"
    with warnings.catch_warnings():  # Keras' call of jax2tf, deprecated there
        warnings.simplefilter("ignore", DeprecationWarning)
        export(table_run, folder, format="tf_saved_model")
    wanted = expected(
        os.path.join(table_run, "model.keras"), table_csv, label_column="kind"
    )
    import pandas as pd

    model = load_model(os.path.join(table_run, "model.keras"))
    x = model.as_array(pd.read_csv(table_csv).drop(columns=["kind"]))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "z.npy", wanted["encoder/z_mean"])
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(folder)!r})\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"z = np.load({str(tmp_path / 'z.npy')!r})\n"
        "z_mean, z_log_var = m.encoder(x)\n"
        "np.savez(sys.argv[1], **{'encoder/z_mean': z_mean.numpy(), "
        "'encoder/z_log_var': z_log_var.numpy(), 'decoder/x_mean': "
        "m.decoder(z).numpy(), 'scorer/score': m.scorer(x).numpy()})\n"
    )
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    assert_same(run_python(["-c", script], tmp_path / "tf.npz", env), wanted)


def test_a_conditional_model_exports_with_a_condition_input(tmp_path):
    import onnxruntime

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = np.array(["a", "b"] * 32)
    vae = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=(8,), conditional=True)
    vae.compile(optimizer="adam")
    vae.fit(x, y, epochs=1, verbose=0)
    schema = export(vae, tmp_path / "onnx", parts=("encoder", "decoder"))
    assert schema["parts"]["encoder"]["inputs"] == ["x", "condition"]
    classes = schema["condition"]["classes"]
    condition = np.array([[classes[label]] for label in y], "float32")
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "encoder.onnx"))
    z_mean, z_log_var = session.run(None, {"x": x, "condition": condition})
    want_mean, want_log_var = vae.encode(x, condition=y)
    np.testing.assert_allclose(z_mean, want_mean, **TOLERANCE)
    np.testing.assert_allclose(z_log_var, want_log_var, **TOLERANCE)
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "decoder.onnx"))
    (decoded,) = session.run(None, {"z": z_mean, "condition": condition})
    np.testing.assert_allclose(decoded, vae.decode(want_mean, condition=y), **TOLERANCE)


def test_schema_names_the_parts_and_the_scorer(tiny_model):
    schema = export_schema(tiny_model, "onnx", ("scorer",))
    assert schema["parts"] == {"scorer": {"inputs": ["x"], "outputs": ["score"]}}
    assert "reconstruction_error" in schema["scorer"]
    assert "not binarized" in schema["scorer"]  # a Bernoulli model's data
    json.dumps(schema)  # JSON as it is


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"format": "pickle"}, "format"),
        ({"parts": ()}, "parts"),
        ({"parts": ("encoder", "loss")}, "parts"),
        ({"parts": ("encoder", "encoder")}, "each part once"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tiny_model, tmp_path, options, match
):
    with pytest.raises(InvalidArgument, match=match):
        export(tiny_model, tmp_path / "out", **options)
    assert os.listdir(tmp_path) == []


def test_an_existing_output_is_replaced_only_with_overwrite_and_only_an_export(
    tiny_model, tmp_path
):
    folder = tmp_path / "out"
    export(tiny_model, folder, parts=("encoder",))
    with pytest.raises(RunFolderError, match="--overwrite"):
        export(tiny_model, folder, parts=("scorer",))
    export(tiny_model, folder, parts=("scorer",), overwrite=True)
    assert sorted(os.listdir(folder)) == [SCHEMA, "scorer.onnx"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(RunFolderError, match="not a vaekit export"):
        export(tiny_model, other, overwrite=True)
    assert os.listdir(other) == ["notes.txt"]
    assert sorted(os.listdir(tmp_path)) == ["mine", "out"]  # no staging left


def test_a_conv_model_exports_to_onnx(digits_x, tmp_path):
    import onnxruntime

    x = digits_x[:64]
    vae = VAE(architecture="conv", latent_dim=2, hidden_dims=(16,))
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=32, verbose=0)
    export(vae, tmp_path / "onnx", parts=("encoder", "decoder"))
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "encoder.onnx"))
    z_mean, _ = session.run(None, {"x": x})
    np.testing.assert_allclose(z_mean, vae.encode(x)[0], **TOLERANCE)
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "decoder.onnx"))
    (decoded,) = session.run(None, {"z": z_mean})
    np.testing.assert_allclose(decoded, vae.decode(z_mean), **TOLERANCE)
