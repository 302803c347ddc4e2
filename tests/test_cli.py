"""End-to-end tests of the `vaekit` command line, and its bad-input matrix.

One tiny run (digits, 1 hidden layer of 32, 2 latent units) is trained once
per module and reused. The bad-input matrix checks what a user sees: exit
status 2, exactly one line on stderr (`vaekit: error: ...`), no traceback, no
warning, and no output left behind. Its cases run `main` in this process with
the file descriptors captured (starting Python and Keras for each would cost
seconds a case); `test_bad_input_in_a_subprocess` runs a sample of them as a
user does, through the installed script.
"""

import csv
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit.cli.main import main

LATENT = 2
HIDDEN = 32


def _vaekit_command():
    """The installed `vaekit` script beside this interpreter, else `-m`."""
    script = os.path.join(os.path.dirname(sys.executable), "vaekit")
    if os.path.isfile(script):
        return [script]
    found = shutil.which("vaekit")
    return [found] if found else [sys.executable, "-m", "vaekit.cli.main"]


def _run(args, cwd=None):
    env = dict(os.environ, KERAS_BACKEND="jax")
    return subprocess.run(
        [sys.executable, "-m", "vaekit.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


def _run_here(args, cwd, capfd, monkeypatch):
    """`main(args)` in this process, from the folder `cwd`, as `_run` reports
    a subprocess: `returncode`, `stdout` and `stderr` (file descriptors 1
    and 2, so that what Keras, JAX or C++ code writes is seen too). A warning
    fails the test: a user's terminal would show it."""
    monkeypatch.chdir(cwd)
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(args)
    out, err = capfd.readouterr()
    shown = [
        w
        for w in caught
        if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))
    ]
    assert not shown, [str(w.message) for w in shown]
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


# -- one tiny trained run ---------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "RUN"
    code = main(
        [
            "train",
            "--data",
            "digits",
            "--epochs",
            "2",
            "--hidden-dims",
            str(HIDDEN),
            "--latent-dim",
            str(LATENT),
            "--eval-iw-samples",
            "5",
            "--iw-samples",
            "1",
            "--validation-split",
            "0.1",
            "--output",
            str(run),
            "--quiet",
        ]
    )
    assert code == 0
    return run


@pytest.fixture(scope="module")
def model_path(run_dir):
    return str(run_dir / "model.keras")


@pytest.fixture(scope="module")
def digits_x():
    from vaekit import data

    return data.load("digits").x_train


def test_train_writes_a_complete_run_folder(run_dir):
    for name in ("model.keras", "config.toml", "history.csv", "metrics.json"):
        assert (run_dir / name).is_file(), name
    assert zipfile.is_zipfile(run_dir / "model.keras")
    assert any(p.suffix == ".png" for p in (run_dir / "plots").iterdir())

    with open(run_dir / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    keys = ("loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl")
    for row in rows:
        values = {k: float(row[k]) for k in (*keys, "seconds")}
        assert all(np.isfinite(v) for v in values.values())
        assert values["seconds"] > 0
        # the loss is the negative ELBO: reconstruction + KL (beta = 1)
        assert values["loss"] == pytest.approx(
            values["reconstruction"] + values["kl"], rel=1e-4
        )
        assert values["val_loss"] == pytest.approx(
            values["val_reconstruction"] + values["val_kl"], rel=1e-4
        )

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["iw_samples"] == 5
    assert metrics["n"] == 180  # 10% of the 1797 digits held out
    assert metrics["elbo"] <= metrics["log_likelihood"] + 1e-6 < 0

    from vaekit import config

    values = config.read_toml(run_dir / "config.toml")
    assert values["data"] == "digits"
    assert values["hidden_dims"] == [HIDDEN]
    assert values["latent_dim"] == LATENT
    assert values["epochs"] == 2
    assert values["eval_iw_samples"] == 5


def test_train_from_its_config_reproduces_the_run(run_dir, tmp_path):
    rerun = tmp_path / "RUN2"
    code = main(
        ["train", "--config", str(run_dir / "config.toml"), "--output", str(rerun)]
        + ["--quiet"]
    )
    assert code == 0
    assert (rerun / "config.toml").read_text() == (run_dir / "config.toml").read_text()
    from vaekit.runs import read_history

    first = read_history(run_dir)
    second = read_history(rerun)
    assert len(first["loss"]) == len(second["loss"]) == 2
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(second[key], first[key], rtol=1e-4)


def test_evaluate_json(model_path, capsys):
    code = main(
        ["evaluate", model_path, "--data", "digits", "--split", "all"]
        + ["--iw-samples", "5", "--json"]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    for key in (
        "elbo",
        "log_likelihood",
        "log_likelihood_stderr",
        "reconstruction",
        "kl",
        "active_units",
        "n",
        "iw_samples",
        "binarize",
    ):
        assert key in result, key
    assert result["n"] == 1797
    assert result["iw_samples"] == 5
    assert result["binarize"] == "dynamic"  # the run's config.toml says so
    assert result["elbo"] < 0 and result["log_likelihood"] < 0
    assert result["elbo"] <= result["log_likelihood"] + 1e-6
    assert result["elbo"] == pytest.approx(-(result["reconstruction"] + result["kl"]))
    assert result["log_likelihood_stderr"] >= 0
    assert 0 <= result["active_units"] <= LATENT


def test_evaluate_table(model_path, capsys):
    code = main(
        ["evaluate", model_path, "--data", "digits", "--iw-samples", "5"]
        + ["--binarize", "none"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "n=1797" in out and "binarize=none" in out
    assert "ELBO" in out and "log p(x) (k=5)" in out and "nats" in out
    assert f"of {LATENT}" in out.splitlines()[-1]


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_encode_matches_model_encode(model_path, digits_x, tmp_path, suffix, capsys):
    out = tmp_path / f"z{suffix}"
    code = main(["encode", model_path, "--data", "digits", "--output", str(out)])
    assert code == 0
    assert "1797 rows" in capsys.readouterr().out
    if suffix == ".npy":
        table = np.load(out)
    else:
        with open(out) as handle:
            header = handle.readline().strip().split(",")
        assert header == ["z_mean_0", "z_mean_1", "z_log_var_0", "z_log_var_1"]
        table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (1797, 2 * LATENT)

    from vaekit.model.vae import load_model

    z_mean, z_log_var = load_model(model_path).encode(digits_x)
    expected = np.concatenate([z_mean, z_log_var], axis=1)
    np.testing.assert_allclose(table, expected, rtol=1e-5, atol=1e-5)


def test_encode_reshapes_flat_data_to_the_model(model_path, digits_x, tmp_path):
    flat = tmp_path / "flat.npy"
    np.save(flat, digits_x.reshape(len(digits_x), -1)[:50])
    out = tmp_path / "z.npy"
    assert main(["encode", model_path, "--data", str(flat), "--output", str(out)]) == 0
    from vaekit.model.vae import load_model

    z_mean, _ = load_model(model_path).encode(digits_x[:50])
    np.testing.assert_allclose(np.load(out)[:, :LATENT], z_mean, rtol=1e-5, atol=1e-5)


def test_parser_errors_are_one_line(capsys):
    assert main(["train", "--backend", "theano"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("vaekit: error: argument --backend: invalid choice")


def test_help_in_a_subprocess():
    command = _vaekit_command()
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for name in ("train", "evaluate", "encode"):
        assert name in result.stdout
    result = subprocess.run(
        [*command, "train", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "number of epochs (default: 400)" in text
    assert "number of latent units (default: 32)" in text
    assert "--hidden-dims" in text and "(default: (512,))" in text
    # flags with a fixed set of values show them
    assert "--likelihood {bernoulli,gaussian}" in text
    assert "--binarize {none,static,dynamic}" in text
    assert "--optimizer {adam,rmsprop,adamw,sgd}" in text
    assert "--backend {jax,tensorflow,torch}" in text
    assert (
        "--decoder-std {learned,learned-per-feature,STD}" in text
        and "(default: 'learned')" in text
    )
    result = subprocess.run(
        [*command, "evaluate", "--help"], capture_output=True, text=True, timeout=120
    )
    text = " ".join(result.stdout.split())
    assert "--binarize {auto,none,static,dynamic}" in text
    assert "--split {train,test,all}" in text


def test_help_imports_neither_keras_nor_numpy():
    """`vaekit --help` answers at once: building every parser imports no heavy
    module (keras alone takes seconds)."""
    code = (
        "import sys\n"
        "from vaekit.cli.main import build_parser\n"
        "for argv in (['--help'], ['train', '--help'], ['plot', 'manifold', '-h']):\n"
        "    try:\n"
        "        build_parser().parse_args(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('keras', 'numpy', 'jax', 'matplotlib', 'tensorflow', 'torch')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- evaluate --binarize auto ------------------------------------------------


def test_evaluate_auto_binarize_of_a_bare_model_is_none(model_path, tmp_path, capsys):
    bare = tmp_path / "model.keras"  # no config.toml beside it
    shutil.copy(model_path, bare)
    argv = ["evaluate", str(bare), "--data", "digits", "--iw-samples", "2", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["binarize"] == "none"


def test_evaluate_auto_binarize_refuses_an_unreadable_config(
    model_path, tmp_path, capsys
):
    folder = tmp_path / "RUN"
    folder.mkdir()
    shutil.copy(model_path, folder / "model.keras")
    (folder / "config.toml").write_text("binarize = = static\n")
    argv = ["evaluate", str(folder / "model.keras"), "--data", "digits"]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaekit: error: ") and err.count("\n") == 1
    assert str(folder / "config.toml") in err
    assert "--binarize none or --binarize static" in err
    # the way out it names works
    assert main([*argv, "--binarize", "static", "--iw-samples", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["binarize"] == "static"


# -- the backend of train --config --------------------------------------------


def _user_backend(monkeypatch, value):
    """Pretends the user set KERAS_BACKEND=value (None: not set)."""
    import vaekit

    monkeypatch.setattr(vaekit, "_USER_BACKEND", value, raising=False)


def test_train_keeps_the_backend_of_its_config_file(tmp_path, monkeypatch, capsys):
    """The file's backend is used, not replaced by the environment's default.
    Keras is loaded in this process, so a file asking for another backend is
    refused here (a fresh process would switch to it)."""
    import keras

    loaded = keras.backend.backend()
    other = "tensorflow" if loaded != "tensorflow" else "jax"
    file = tmp_path / "other.toml"
    file.write_text(f'backend = "{other}"\nepochs = 1\n')
    argv = ["train", "--config", str(file), "--output", str(tmp_path / "RUN")]
    _user_backend(monkeypatch, None)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaekit: error: ") and err.count("\n") == 1
    assert f"already loaded with the {loaded} backend, not {other}" in err
    # an environment that contradicts the file is refused, naming the way out
    _user_backend(monkeypatch, loaded)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"KERAS_BACKEND={loaded} conflicts" in err
    assert f"--backend {other} or --backend {loaded}" in err and str(file) in err
    assert os.listdir(tmp_path) == ["other.toml"]


def test_flags_beat_the_config_file_and_config_toml_records_them(tmp_path, monkeypatch):
    import keras

    loaded = keras.backend.backend()
    other = "tensorflow" if loaded != "tensorflow" else "jax"
    file = tmp_path / "gaussian.toml"
    file.write_text(
        f'backend = "{other}"\ndata = "digits"\nlikelihood = "gaussian"\n'
        'binarize = "none"\nhidden_dims = [8]\nlatent_dim = 2\nepochs = 1\n'
        "iw_samples = 1\neval_iw_samples = 1\n"
    )
    _user_backend(monkeypatch, other)
    run = tmp_path / "RUN"
    argv = ["train", "--config", str(file), "--backend", loaded]
    argv += ["--decoder-std", "0.1", "--output", str(run), "--quiet"]
    assert main(argv) == 0
    from vaekit import config

    values = config.read_toml(run / "config.toml")
    assert values["backend"] == loaded  # the backend actually used
    assert values["decoder_std"] == 0.1
    assert (values["likelihood"], values["hidden_dims"]) == ("gaussian", [8])
    assert config.from_dict(values).decoder_std == 0.1


def test_resume_refuses_other_settings(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--latent-dim", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "drop --latent-dim (only --epochs may change)" in err


# -- the bad-input matrix ---------------------------------------------------


def _write_idx(path, array, gz=False):
    array = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 8, array.ndim])
    raw += b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()
    with (gzip.open if gz else open)(path, "wb") as handle:
        handle.write(raw)


def _png(path, array):
    from PIL import Image

    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


@pytest.fixture(scope="module")
def bad(tmp_path_factory, model_path):
    """A folder of broken inputs, made once; the tests never modify it."""
    import keras

    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    good = rng.random((20, 10)).astype(np.float32)

    def path(name):
        return str(root / name)

    # .npy
    open(path("empty.npy"), "wb").close()
    np.save(path("good10.npy"), good)  # 10 features: no model here expects that
    raw = open(path("good10.npy"), "rb").read()
    open(path("truncated.npy"), "wb").write(raw[: len(raw) - 100])
    open(path("garbage.npy"), "wb").write(rng.bytes(300))
    np.save(path("pickled.npy"), np.array([{"a": 1}, None], dtype=object))
    np.save(path("nan.npy"), np.where(np.arange(200).reshape(20, 10) == 7, np.nan, 0.5))
    np.save(path("inf.npy"), np.where(np.arange(200).reshape(20, 10) == 3, np.inf, 0.5))
    np.save(path("vector.npy"), np.zeros(20, np.float32))
    np.save(path("strings.npy"), np.array([["a", "b"], ["c", "d"]]))
    np.save(path("complex.npy"), np.ones((20, 10), np.complex64))
    np.save(path("negative_int.npy"), -np.ones((20, 10), np.int32))
    np.save(path("rank5.npy"), np.zeros((4, 2, 2, 2, 2), np.float32))
    np.save(path("no_rows.npy"), np.zeros((0, 10), np.float32))
    np.save(path("outside01.npy"), good * 5)
    # .npz
    np.savez(path("good.npz"), x=good)
    raw = open(path("good.npz"), "rb").read()
    open(path("truncated.npz"), "wb").write(raw[: len(raw) // 2])
    shutil.copy(path("good10.npy"), path("really_npy.npz"))
    np.savez(path("pickled.npz"), x=np.array([None, 1], dtype=object))
    np.savez(path("no_x.npz"), features=good)
    np.savez(path("label_count.npz"), x=good, y=np.zeros(7))
    np.savez(path("test_shape.npz"), x_train=good, x_test=good[:, :5])
    with zipfile.ZipFile(path("garbage_member.npz"), "w") as archive:
        archive.writestr("x.npy", rng.bytes(200))
    # .csv
    open(path("empty.csv"), "w").close()
    with open(path("header_only.csv"), "w") as handle:
        handle.write("a,b,c\n")
    with open(path("strings.csv"), "w") as handle:
        handle.write("a,b\n0.1,0.2\n0.3,high\n")
    with open(path("ragged.csv"), "w") as handle:
        handle.write("0.1,0.2,0.3\n0.4,0.5\n")
    with open(path("nan.csv"), "w") as handle:
        handle.write("a,b\n0.1,nan\n0.3,0.4\n")
    with open(path("good.csv"), "w") as handle:
        handle.write("a,b,label\n0.1,0.2,0\n0.3,0.4,1\n")
    open(path("binary.csv"), "wb").write(b"\x89PNG\r\n\x1a\n" + rng.bytes(100))
    # IDX folders
    images = rng.integers(0, 256, (6, 4, 4))
    for name in ("idx_truncated", "idx_magic", "idx_gz", "idx_labels"):
        os.mkdir(path(name))
    _write_idx(path("idx_truncated/train-images-idx3-ubyte"), images)
    with open(path("idx_truncated/train-images-idx3-ubyte"), "r+b") as handle:
        handle.truncate(30)
    _write_idx(path("idx_magic/train-images-idx3-ubyte"), images)
    with open(path("idx_magic/train-images-idx3-ubyte"), "r+b") as handle:
        handle.write(b"\x08\x03\x00\x00")
    open(path("idx_gz/train-images-idx3-ubyte.gz"), "wb").write(
        gzip.compress(b"\0\0\x08\x03" + bytes(40))[:25]
    )
    _write_idx(path("idx_labels/train-images-idx3-ubyte"), images)
    _write_idx(path("idx_labels/train-labels-idx1-ubyte"), np.arange(5))
    # image folders
    for name in ("img_mixed", "img_truncated", "img_garbage", "img_none"):
        os.mkdir(path(name))
    _png(path("img_mixed/a.png"), np.zeros((8, 8)))
    _png(path("img_mixed/b.png"), np.zeros((9, 8)))
    _png(path("img_truncated/a.png"), rng.integers(0, 256, (32, 32)))
    raw = open(path("img_truncated/a.png"), "rb").read()
    open(path("img_truncated/a.png"), "wb").write(raw[: len(raw) // 2])
    open(path("img_garbage/a.png"), "wb").write(rng.bytes(64))
    open(path("img_none/notes.txt"), "w").write("no images here\n")
    open(path("data.txt"), "w").write("0.1 0.2\n")
    # configs
    with open(path("broken.toml"), "w") as handle:
        handle.write("epochs = = 3\n")
    with open(path("unknown_key.toml"), "w") as handle:
        handle.write("epochs = 3\nlayers = 7\n")
    with open(path("wrong_type.toml"), "w") as handle:
        handle.write('epochs = "ten"\n')
    with open(path("torch.toml"), "w") as handle:
        handle.write('backend = "torch"\nepochs = 1\n')
    # a run folder whose config.toml cannot be read
    os.mkdir(path("broken_run"))
    shutil.copy(model_path, path("broken_run/model.keras"))
    with open(path("broken_run/config.toml"), "w") as handle:
        handle.write("binarize = = static\n")
    # model files
    open(path("empty.keras"), "wb").close()
    open(path("text.keras"), "w").write("this is not a model\n")
    raw = open(model_path, "rb").read()
    open(path("truncated.keras"), "wb").write(raw[: len(raw) * 2 // 3])
    corrupt = bytearray(raw)
    with zipfile.ZipFile(model_path) as archive:
        info = archive.getinfo("config.json")
    start = info.header_offset + 30 + len(info.filename) + 10
    corrupt[start : start + 40] = b"#" * 40  # a CRC error inside config.json
    open(path("corrupt.keras"), "wb").write(bytes(corrupt))
    os.mkdir(path("folder.keras"))
    lam = keras.Sequential(
        [keras.Input((64,)), keras.layers.Lambda(lambda t: t * 2.0, name="double")]
    )
    lam.save(path("lambda.keras"))
    plain = keras.Sequential([keras.Input((64,)), keras.layers.Dense(2)])
    plain.save(path("plain.keras"))
    return root


M = "{model}"  # the tiny run's model.keras
B = "{bad}"  # the folder of broken inputs
OUT = "{out}"  # an output path that must not exist afterwards

TRAIN = ["train", "--epochs", "1", "--hidden-dims", "8", "--latent-dim", "2"]


def _train(data, *extra):
    return [*TRAIN, "--data", f"{B}/{data}", *extra, "--output", OUT]


BAD_INPUTS = {
    # -- train: data files (all found before keras is imported) --
    "train-missing-file": _train("missing.npy"),
    "train-unknown-name": [*TRAIN, "--data", "mnist-5k", "--output", OUT],
    "train-unknown-format": _train("data.txt"),
    "train-image-file-not-folder": _train("img_mixed/a.png"),
    "train-empty-npy": _train("empty.npy"),
    "train-truncated-npy": _train("truncated.npy"),
    "train-garbage-npy": _train("garbage.npy"),
    "train-pickled-npy": _train("pickled.npy"),
    "train-nan-npy": _train("nan.npy"),
    "train-inf-npy": _train("inf.npy"),
    "train-1d-npy": _train("vector.npy"),
    "train-5d-npy": _train("rank5.npy"),
    "train-no-rows-npy": _train("no_rows.npy"),
    "train-string-dtype-npy": _train("strings.npy"),
    "train-complex-dtype-npy": _train("complex.npy"),
    "train-negative-int-npy": _train("negative_int.npy"),
    "train-bernoulli-outside-01": _train("outside01.npy"),
    "train-truncated-npz": _train("truncated.npz"),
    "train-npy-named-npz": _train("really_npy.npz"),
    "train-pickled-npz": _train("pickled.npz"),
    "train-npz-without-x": _train("no_x.npz"),
    "train-npz-label-count": _train("label_count.npz"),
    "train-npz-test-shape": _train("test_shape.npz"),
    "train-npz-garbage-member": _train("garbage_member.npz"),
    "train-empty-csv": _train("empty.csv"),
    "train-header-only-csv": _train("header_only.csv"),
    "train-strings-csv": _train("strings.csv"),
    "train-ragged-csv": _train("ragged.csv"),
    "train-nan-csv": _train("nan.csv"),
    "train-binary-csv": _train("binary.csv"),
    "train-csv-unknown-label": _train("good.csv", "--label-column", "class"),
    "train-csv-label-out-of-range": _train("good.csv", "--label-column", "9"),
    "train-idx-truncated": _train("idx_truncated"),
    "train-idx-bad-magic": _train("idx_magic"),
    "train-idx-corrupt-gzip": _train("idx_gz"),
    "train-idx-label-count": _train("idx_labels"),
    "train-images-mixed-sizes": _train("img_mixed"),
    "train-images-truncated-png": _train("img_truncated"),
    "train-images-garbage-png": _train("img_garbage"),
    "train-folder-without-data": _train("img_none"),
    # -- train: absurd settings --
    "train-negative-epochs": ["train", "--epochs", "-3", "--data", "digits"]
    + ["--output", OUT],
    "train-zero-epochs": ["train", "--epochs", "0", "--output", OUT],
    "train-latent-dim-0": ["train", "--latent-dim", "0", "--output", OUT],
    "train-zero-hidden-units": ["train", "--hidden-dims", "64,0", "--output", OUT],
    "train-hidden-dims-not-integers": [
        "train",
        "--hidden-dims",
        "wide",
        "--output",
        OUT,
    ],
    "train-negative-learning-rate": ["train", "--learning-rate", "-0.1"]
    + ["--output", OUT],
    "train-nan-beta": ["train", "--beta", "nan", "--output", OUT],
    "train-validation-split-1": ["train", "--validation-split", "1", "--output", OUT],
    "train-unknown-optimizer": ["train", "--optimizer", "adamax", "--output", OUT],
    "train-gaussian-binarized": ["train", "--likelihood", "gaussian"]
    + ["--binarize", "static", "--output", OUT],
    "train-unknown-backend": ["train", "--backend", "theano", "--output", OUT],
    "train-epochs-not-a-number": ["train", "--epochs", "ten", "--output", OUT],
    "train-unknown-flag": ["train", "--epoks", "3", "--output", OUT],
    "train-unknown-preset": ["train", "--preset", "huge", "--output", OUT],
    "train-missing-config": ["train", "--config", f"{B}/nope.toml", "--output", OUT],
    "train-broken-toml": ["train", "--config", f"{B}/broken.toml", "--output", OUT],
    "train-config-unknown-key": ["train", "--config", f"{B}/unknown_key.toml"]
    + ["--output", OUT],
    "train-config-wrong-type": ["train", "--config", f"{B}/wrong_type.toml"]
    + ["--output", OUT],
    "train-resume-not-a-run": ["train", "--resume", f"{B}/img_none"],
    "train-resume-with-other-flags": ["train", "--resume", f"{B}/img_none"]
    + ["--latent-dim", "3"],
    "train-decoder-std-negative": ["train", "--likelihood", "gaussian"]
    + ["--binarize", "none", "--decoder-std", "-1", "--output", OUT],
    "train-decoder-std-not-a-number": ["train", "--decoder-std", "fixed"]
    + ["--output", OUT],
    "train-unknown-likelihood": ["train", "--likelihood", "poisson", "--output", OUT],
    # the environment (KERAS_BACKEND=jax) contradicts the file's backend
    "train-config-backend-conflict": ["train", "--config", f"{B}/torch.toml"]
    + ["--output", OUT],
    # the data fits no conv net: found after keras is imported, before the
    # run folder is made
    "train-conv-shape": _train(
        "good10.npy", "--architecture", "conv", "--batch-size", "5"
    ),
    # -- evaluate --
    "evaluate-missing-model": ["evaluate", f"{B}/nope.keras", "--data", "digits"],
    "evaluate-empty-model": ["evaluate", f"{B}/empty.keras", "--data", "digits"],
    "evaluate-text-model": ["evaluate", f"{B}/text.keras", "--data", "digits"],
    "evaluate-truncated-model": ["evaluate", f"{B}/truncated.keras", "--data"]
    + ["digits"],
    "evaluate-model-is-folder": ["evaluate", f"{B}/folder.keras", "--data", "digits"],
    "evaluate-corrupt-model": ["evaluate", f"{B}/corrupt.keras", "--data", "digits"],
    "evaluate-lambda-model": ["evaluate", f"{B}/lambda.keras", "--data", "digits"],
    "evaluate-not-a-vae": ["evaluate", f"{B}/plain.keras", "--data", "digits"],
    "evaluate-shape-mismatch": ["evaluate", M, "--data", f"{B}/good10.npy"],
    "evaluate-no-test-split": ["evaluate", M, "--data", "digits", "--split", "test"],
    "evaluate-iw-samples-0": ["evaluate", M, "--data", "digits", "--iw-samples", "0"],
    "evaluate-max-memory-negative": ["evaluate", M, "--data", "digits"]
    + ["--max-memory", "-5"],
    "evaluate-nan-data": ["evaluate", M, "--data", f"{B}/nan.npy"],
    "evaluate-missing-data-flag": ["evaluate", M],
    "evaluate-bad-split": ["evaluate", M, "--data", "digits", "--split", "val"],
    "evaluate-auto-binarize-broken-config": ["evaluate", f"{B}/broken_run/model.keras"]
    + ["--data", "digits"],
    # -- encode --
    "encode-bad-suffix": ["encode", M, "--data", "digits", "--output", OUT + ".txt"],
    "encode-missing-model": ["encode", f"{B}/nope.keras", "--data", "digits"]
    + ["--output", OUT + ".npy"],
    "encode-mixed-images": ["encode", M, "--data", f"{B}/img_mixed"]
    + ["--output", OUT + ".npy"],
    "encode-ragged-csv": ["encode", M, "--data", f"{B}/ragged.csv"]
    + ["--output", OUT + ".csv"],
    # -- no or unknown command --
    "no-command": [],
    "unknown-command": ["fit", "--data", "digits"],
}

# Subcommands added beside train/evaluate/encode, tested when present.
OPTIONAL_BAD_INPUTS = {
    "sample": {
        "sample-n-0": ["sample", M, "-n", "0", "--output", OUT + ".png"],
        "sample-nan-temperature": ["sample", M, "--temperature", "nan"]
        + ["--output", OUT + ".png"],
        "sample-bad-suffix": ["sample", M, "--output", OUT + ".gif"],
        "sample-text-model": ["sample", f"{B}/text.keras", "--output", OUT + ".npy"],
    },
    "reconstruct": {
        "reconstruct-n-0": ["reconstruct", M, "--data", "digits", "-n", "0"]
        + ["--output", OUT + ".png"],
        "reconstruct-inf-data": ["reconstruct", M, "--data", f"{B}/inf.npy"]
        + ["--output", OUT + ".png"],
    },
    "plot": {
        "plot-no-kind": ["plot"],
        "plot-latent-bad-suffix": ["plot", "latent", M, "--data", "digits"]
        + ["--output", OUT + ".jpg"],
        "plot-latent-pickled-npz": ["plot", "latent", M, "--data"]
        + [f"{B}/pickled.npz", "--output", OUT + ".png"],
        "plot-manifold-grid-1": ["plot", "manifold", M, "--grid", "1", "--output"]
        + [OUT + ".png"],
    },
    "interpolate": {
        "interpolate-steps-1": ["interpolate", M, "--data", "digits", "--from", "0"]
        + ["--to", "1", "--steps", "1", "--output", OUT + ".png"],
    },
    "score": {
        "score-bad-suffix": ["score", M, "--data", "digits", "--output", OUT + ".txt"],
        "score-quantile-1": ["score", M, "--data", "digits"]
        + ["--threshold-quantile", "1", "--output", OUT + ".csv"],
        "score-two-thresholds": ["score", M, "--data", "digits", "--threshold", "3"]
        + ["--threshold-quantile", "0.9", "--output", OUT + ".csv"],
        "score-no-stored-scores": ["score", f"{B}/broken_run/model.keras", "--data"]
        + ["digits", "--binarize", "none", "--threshold-quantile", "0.9"]
        + ["--output", OUT + ".csv"],
    },
    "report": {
        "report-missing-run": ["report", f"{B}/no_run", "--output", OUT + ".html"],
        "report-bad-suffix": ["report", f"{B}/img_none", "--output", OUT + ".pdf"],
    },
}


def _commands():
    """The subcommands `vaekit --help` lists."""
    from vaekit.cli.main import build_parser

    actions = build_parser()._subparsers._group_actions
    return {name for action in actions for name in action.choices}


COMMANDS = _commands()
for _command, _cases in OPTIONAL_BAD_INPUTS.items():
    if _command in COMMANDS:
        BAD_INPUTS.update(_cases)


def _snapshot(path):
    """Every file under `path` with the hash of its bytes; None if absent."""
    if not os.path.exists(path):
        return None
    if os.path.isfile(path):
        return hashlib.sha256(open(path, "rb").read()).hexdigest()
    return {
        os.path.relpath(os.path.join(folder, name), path): _snapshot(
            os.path.join(folder, name)
        )
        for folder, _, names in os.walk(path)
        for name in names
    }


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2(case, bad, model_path, tmp_path, capfd, monkeypatch):
    _check_bad_input(
        case,
        bad,
        model_path,
        tmp_path,
        lambda args: _run_here(args, tmp_path, capfd, monkeypatch),
    )


# One case per command, through the installed script in a fresh process.
SUBPROCESS_CASES = [
    "train-unknown-name",
    "evaluate-not-a-vae",
    "encode-ragged-csv",
    "train-pickled-npz",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_in_a_subprocess(case, bad, model_path, tmp_path):
    def run(args):
        return subprocess.run(
            [*_vaekit_command(), *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env=dict(os.environ, KERAS_BACKEND="jax"),
        )

    _check_bad_input(case, bad, model_path, tmp_path, run)


def _check_bad_input(case, bad, model_path, tmp_path, run):
    out = str(tmp_path / "out")
    fill = {"model": model_path, "bad": str(bad), "out": out}
    args = [a.format(**fill) for a in BAD_INPUTS[case]]
    before = _snapshot(str(bad))
    result = run(args)
    print("vaekit", *args, "\n" + result.stderr)
    line = _refused(result, tmp_path)
    assert len(line) > len("vaekit: error: ") + 10
    assert _snapshot(str(bad)) == before


def _refused(result, cwd):
    """The one error line of a refused command: exit status 2, one line on
    stderr, no traceback, and nothing half-written (no output, no default run
    folder in `cwd`)."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vaekit: error: ")
    assert sorted(os.listdir(cwd)) == [], os.listdir(cwd)
    return lines[0]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their permissions",
)
@pytest.mark.parametrize("name", ["x.npy", "x.csv", "model.keras"])
def test_unreadable_file_exits_2(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"0.5,0.5\n")
    path.chmod(0)
    if name == "model.keras":
        args = ["encode", str(path), "--data", "digits", "--output", "z.npy"]
    else:
        args = ["train", "--data", str(path), "--output", "RUN"]
    result = _run(args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: ")
    assert sorted(os.listdir(tmp_path)) == [name]


def test_bad_input_matrix_is_large():
    assert len(BAD_INPUTS) >= 40


def test_errors_in_process_do_not_raise(capsys, tmp_path):
    """`main` returns 2 for a VaekitError rather than raising it."""
    from vaekit import data

    with pytest.raises(VaekitError):
        data.load(str(tmp_path / "missing.npy"))
    assert main(["train", "--data", str(tmp_path / "missing.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaekit: error: data ") and err.count("\n") == 1


# -- tables: mixed numeric and text columns ---------------------------------
#
# One small mixed table (numbers, two text columns, a text label), written
# once per module with the variants the tests need; two runs trained on it
# once per module (plain and conditional, `--preset tabular`); every other
# test applies them, or fails before training.

TABLE_ROWS = 200
TABLE_FEATURES = ["age", "colour", "income", "size"]
TABLE_CATEGORIES = {"colour": {"red", "green", "blue"}, "size": {"S", "M", "L"}}
TABLE_TRAIN = ["train", "--preset", "tabular", "--eval-iw-samples", "20", "--quiet"]


def _write_rows(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _read_table(path):
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def _edited(rows, row, column, value):
    """A copy of `rows` with one cell replaced (`column`: a feature name or
    `kind`)."""
    rows = [list(r) for r in rows]
    rows[row][[*TABLE_FEATURES, "kind"].index(column)] = value
    return rows


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """The paths of the table and its variants, and its rows (strings)."""
    root = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    header = [*TABLE_FEATURES, "kind"]
    rows = [
        [
            f"{rng.uniform(20, 70):.1f}",
            str(rng.choice(["red", "green", "blue"])),
            f"{rng.normal(40000, 8000):.2f}",
            str(rng.choice(["S", "M", "L"])),
            "x" if i % 2 else "y",
        ]
        for i in range(TABLE_ROWS)
    ]
    paths = {"rows": rows, "root": root}
    paths["t"] = _write_rows(root / "t.csv", header, rows)
    # the same rows, the columns in another order and an unused text column
    order = [2, 4, 3, 0, 1]
    paths["shuffled"] = _write_rows(
        root / "shuffled.csv",
        ["income", "note", "kind", "size", "age", "colour"],
        [
            [row[order[0]], f"n{i}", *(row[j] for j in order[1:])]
            for i, row in enumerate(rows)
        ],
    )
    # data row 3 (line 5: the header is line 1) has a colour never seen
    paths["unknown"] = _write_rows(
        root / "unknown.csv", header, _edited(rows, 3, "colour", "purple")
    )
    # missing values: age on data row 5 (line 7), income on row 9 (line 11),
    # and colour on row 12, a column that --columns age,income leaves out
    na = _edited(rows, 5, "age", "NA")
    na = _edited(na, 9, "income", "")
    paths["na"] = _write_rows(root / "na.csv", header, _edited(na, 12, "colour", "NA"))
    # data row 7 (line 9) has one cell too many
    ragged = [list(r) for r in rows]
    ragged[7].append("7")
    paths["ragged"] = _write_rows(root / "ragged.csv", header, ragged)
    paths["single"] = _write_rows(
        root / "single.csv", [*header, "const"], [[*r, "a"] for r in rows]
    )
    return paths


@pytest.fixture(scope="module")
def table_run(table, tmp_path_factory):
    run = tmp_path_factory.mktemp("table_runs") / "RUN"
    argv = [*TABLE_TRAIN, "--data", table["t"], "--label-column", "kind"]
    assert main([*argv, "--epochs", "5", "--output", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def conditional_run(table, tmp_path_factory):
    run = tmp_path_factory.mktemp("table_runs") / "C"
    argv = [*TABLE_TRAIN, "--data", table["t"], "--label-column", "kind"]
    argv += ["--conditional", "--epochs", "3", "--output", str(run)]
    assert main(argv) == 0
    return run


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vaekit: error: ")
    assert "Traceback" not in err
    return lines[0]


def _check_table_csv(path, n, columns=TABLE_FEATURES, training_rows=None):
    """A CSV of examples written by the table model: `n` rows, the feature
    header, valid categories, finite numbers in a plausible range."""
    header, rows = _read_table(path)
    assert header == list(columns)
    assert len(rows) == n
    for j, name in enumerate(columns):
        cells = [row[j] for row in rows]
        if name in TABLE_CATEGORIES:
            assert set(cells) <= TABLE_CATEGORIES[name], (name, set(cells))
            continue
        values = np.array([float(c) for c in cells])
        assert np.isfinite(values).all()
        if training_rows is not None:
            train = np.array(
                [float(r[TABLE_FEATURES.index(name)]) for r in training_rows]
            )
            low, high = train.min(), train.max()
            spread = high - low
            assert (values > low - spread).all() and (values < high + spread).all(), (
                name,
                values.min(),
                values.max(),
            )
    return rows


def test_table_train_records_the_tabular_settings(table_run):
    from vaekit import config

    for name in ("model.keras", "config.toml", "history.csv", "metrics.json"):
        assert (table_run / name).is_file(), name
    values = config.read_toml(table_run / "config.toml")
    assert values["likelihood"] == "gaussian"
    assert values["decoder_std"] == "learned-per-feature"
    assert values["label_column"] == "kind"
    assert values["epochs"] == 5
    assert config.from_dict(values).decoder_std == "learned-per-feature"


def test_table_score_one_row_per_input_row(table, table_run, tmp_path, capsys):
    out = tmp_path / "s.csv"
    argv = ["score", str(table_run / "model.keras"), "--data", table["t"]]
    argv += ["--label-column", "kind", "--output", str(out)]
    assert main([*argv, "--threshold-quantile", "0.9"]) == 0
    assert f"{TABLE_ROWS} rows" in capsys.readouterr().out
    header, rows = _read_table(out)
    assert header == [
        "index",
        "label",
        "neg_elbo",
        "neg_log_likelihood",
        "reconstruction_error",
        "is_outlier",
    ]
    assert len(rows) == TABLE_ROWS
    table_values = np.array(rows, dtype=float)
    np.testing.assert_array_equal(table_values[:, 0], np.arange(TABLE_ROWS))
    # text labels as the indices of the sorted class names: x 0, y 1
    expected = [float(r[4] == "y") for r in table["rows"]]
    np.testing.assert_array_equal(table_values[:, 1], expected)
    assert np.isfinite(table_values[:, 2:5]).all()
    assert set(np.unique(table_values[:, 5])) <= {0.0, 1.0}
    assert (table_values[:, 4] >= 0).all()


def test_table_sample_writes_column_names_and_categories(table, table_run, tmp_path):
    out = tmp_path / "samples.csv"
    argv = ["sample", str(table_run / "model.keras"), "-n", "20", "--output", str(out)]
    assert main(argv) == 0
    assert open(out).readline().strip() == "age,colour,income,size"
    _check_table_csv(out, 20, training_rows=table["rows"])


def test_table_reconstruct_writes_every_row(table, table_run, tmp_path):
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", str(table_run / "model.keras"), "--data", table["t"]]
    argv += ["--label-column", "kind", "--output", str(out)]
    assert main(argv) == 0
    _check_table_csv(out, TABLE_ROWS, training_rows=table["rows"])


def test_table_score_reads_columns_by_name(table, table_run, tmp_path):
    """Another column order and an unused text column: the model reads its
    own columns by name, so the scores of the same rows are the same."""
    model = str(table_run / "model.keras")
    scores = []
    for name in ("t", "shuffled"):
        out = tmp_path / f"{name}.csv"
        argv = ["score", model, "--data", table[name], "--label-column", "kind"]
        assert main([*argv, "--iw-samples", "10", "--output", str(out)]) == 0
        header, rows = _read_table(out)
        assert len(rows) == TABLE_ROWS
        scores.append(np.array(rows, dtype=float))
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-5, atol=1e-6)


def test_table_unknown_category_exits_2(table, table_run, tmp_path, capsys):
    out = tmp_path / "s.csv"
    argv = ["score", str(table_run / "model.keras"), "--data", table["unknown"]]
    argv += ["--label-column", "kind", "--output", str(out)]
    capsys.readouterr()
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "line 5" in line and "'colour'" in line and "'purple'" in line
    assert not out.exists()


def test_table_columns_and_missing_drop(table, tmp_path, capsys):
    """--columns age,income trains on just those; --missing drop drops the 2
    rows with a missing value in them (not the one missing a colour, a
    column left out), and says so on stderr."""
    run = tmp_path / "M"
    argv = [*TABLE_TRAIN, "--data", table["na"], "--label-column", "kind"]
    argv += ["--columns", "age,income", "--epochs", "3", "--output", str(run)]
    capsys.readouterr()
    assert main(argv) == 2  # without --missing drop: the first missing value
    line = _one_error_line(capsys)
    assert "line 7" in line and "'age'" in line and "--missing drop" in line
    assert not run.exists()

    assert main([*argv, "--missing", "drop"]) == 0
    assert f"dropped 2 of {TABLE_ROWS} rows" in capsys.readouterr().err
    from vaekit import config

    values = config.read_toml(run / "config.toml")
    assert values["columns"] == ["age", "income"]
    assert values["missing"] == "drop"
    out = tmp_path / "samples.csv"
    assert (
        main(["sample", str(run / "model.keras"), "-n", "5", "--output", str(out)]) == 0
    )
    _check_table_csv(out, 5, columns=["age", "income"])
    # applied to the whole table, the model reads just its two columns
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", str(run / "model.keras"), "--data", table["t"]]
    assert main([*argv, "--output", str(out)]) == 0
    _check_table_csv(out, TABLE_ROWS, columns=["age", "income"])


def test_table_score_missing_drop(table, table_run, tmp_path, capsys):
    """A model's command reads a table with --missing too: every column the
    model uses counts (colour too)."""
    out = tmp_path / "s.csv"
    argv = ["score", str(table_run / "model.keras"), "--data", table["na"]]
    argv += ["--iw-samples", "2", "--output", str(out)]
    capsys.readouterr()
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "line 7" in line and "'age'" in line
    assert main([*argv, "--missing", "drop"]) == 0
    assert f"dropped 3 of {TABLE_ROWS} rows" in capsys.readouterr().err
    assert len(_read_table(out)[1]) == TABLE_ROWS - 3


def test_table_conditional_sample_and_evaluate(
    table, table_run, conditional_run, tmp_path, capsys
):
    model = str(conditional_run / "model.keras")
    out = tmp_path / "s.csv"
    assert main(["sample", model, "--label", "x", "-n", "5", "--output", str(out)]) == 0
    assert "label x" in capsys.readouterr().out
    _check_table_csv(out, 5, training_rows=table["rows"])

    other = tmp_path / "z.csv"
    assert (
        main(["sample", model, "--label", "z", "-n", "5", "--output", str(other)]) == 2
    )
    line = _one_error_line(capsys)
    assert "'z'" in line and "x, y" in line
    assert not other.exists()

    plain = str(table_run / "model.keras")
    assert (
        main(["sample", plain, "--label", "x", "-n", "5", "--output", str(other)]) == 2
    )
    assert "conditional" in _one_error_line(capsys)
    assert not other.exists()

    argv = ["evaluate", model, "--data", table["t"], "--iw-samples", "10", "--json"]
    assert main([*argv, "--label-column", "kind"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == TABLE_ROWS and result["iw_samples"] == 10
    assert np.isfinite(result["elbo"]) and np.isfinite(result["log_likelihood"])
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "conditional" in line and "--label-column" in line


def test_table_decoder_std_round_trips_through_config(table_run, tmp_path):
    from vaekit import config

    rerun = tmp_path / "R2"
    argv = ["train", "--config", str(table_run / "config.toml")]
    assert main([*argv, "--output", str(rerun), "--epochs", "1", "--quiet"]) == 0
    first = config.read_toml(table_run / "config.toml")
    second = config.read_toml(rerun / "config.toml")
    assert second["decoder_std"] == "learned-per-feature"
    assert second["epochs"] == 1
    first.pop("epochs"), second.pop("epochs")
    assert second == first


TABLE_BAD_INPUTS = {
    # case: (train arguments, {table} filled in, what the message must name)
    "missing-value": (
        ["--data", "{na}", "--label-column", "kind"],
        ["line 7", "'age'"],
    ),
    "ragged-row": (["--data", "{ragged}"], ["line 9", "ragged"]),
    "single-value-text-column": (["--data", "{single}"], ["'const'", "single value"]),
    "unknown-label-column": (
        ["--data", "{t}", "--label-column", "nope"],
        ["'nope'"],
    ),
    "unknown-feature-column": (
        ["--data", "{t}", "--label-column", "kind", "--columns", "age,height"],
        ["'height'"],
    ),
    "label-also-feature": (
        ["--data", "{t}", "--label-column", "kind", "--columns", "age,kind"],
        ["'kind'", "label column"],
    ),
    "conditional-without-labels": (
        ["--data", "{t}", "--conditional"],
        ["--conditional", "--label-column"],
    ),
    "bernoulli-with-text-columns": (
        ["--data", "{t}", "--label-column", "kind", "--likelihood", "bernoulli"],
        ["colour", "size", "--likelihood gaussian"],
    ),
}


@pytest.mark.parametrize("case", sorted(TABLE_BAD_INPUTS))
def test_bad_table_exits_2(case, table, tmp_path, capfd, monkeypatch):
    extra, named = TABLE_BAD_INPUTS[case]
    fill = {k: v for k, v in table.items() if isinstance(v, str)}
    args = ["train", "--preset", "tabular", "--epochs", "1"]
    args += [a.format(**fill) for a in extra] + ["--output", str(tmp_path / "out")]
    before = _snapshot(str(table["root"]))
    result = _run_here(args, tmp_path, capfd, monkeypatch)
    print("vaekit", *args, "\n" + result.stderr)
    line = _refused(result, tmp_path)
    for text in named:
        assert text in line, text
    assert _snapshot(str(table["root"])) == before
