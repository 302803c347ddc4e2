"""The bad-input matrix: every command refuses every kind of bad input as a
user sees it: exit status 2, exactly one line on stderr (`vaekit: error:
...`), no traceback, no warning, no output left behind, and the inputs
untouched.

The cases run `main` in this process with file descriptors 1 and 2
captured (starting Python and Keras for each would cost seconds a case);
`test_bad_input_in_a_subprocess` runs a sample of them as a user does,
through the installed script.
"""

import gzip
import os
import shutil
import zipfile

import numpy as np
import pytest

from tests.cli.conftest import refused, run_process, snapshot, vaekit_command


def _write_idx(path, array, gz=False):
    array = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 8, array.ndim])
    raw += b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()
    with (gzip.open if gz else open)(path, "wb") as handle:
        handle.write(raw)


def _png(path, array):
    from PIL import Image

    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def bad(tmp_path_factory, tiny_model_path):
    """A folder of broken inputs, made once; the tests never modify it."""
    import keras

    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    good = rng.random((20, 10)).astype(np.float32)

    def path(name):
        return str(root / name)

    # .npy
    _write(path("empty.npy"), b"")
    np.save(path("good10.npy"), good)  # 10 features: no model here expects that
    raw = _read(path("good10.npy"))
    _write(path("truncated.npy"), raw[: len(raw) - 100])
    _write(path("garbage.npy"), rng.bytes(300))
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
    np.save(path("outside01_64.npy"), rng.random((20, 64)).astype(np.float32) * 5)
    # .npz
    np.savez(path("good.npz"), x=good)
    raw = _read(path("good.npz"))
    _write(path("truncated.npz"), raw[: len(raw) // 2])
    shutil.copy(path("good10.npy"), path("really_npy.npz"))
    np.savez(path("pickled.npz"), x=np.array([None, 1], dtype=object))
    np.savez(path("no_x.npz"), features=good)
    np.savez(path("label_count.npz"), x=good, y=np.zeros(7))
    np.savez(path("test_shape.npz"), x_train=good, x_test=good[:, :5])
    with zipfile.ZipFile(path("garbage_member.npz"), "w") as archive:
        archive.writestr("x.npy", rng.bytes(200))
    # .csv
    _write(path("empty.csv"), "")
    _write(path("header_only.csv"), "a,b,c\n")
    _write(path("strings.csv"), "a,b\n0.1,0.2\n0.3,high\n")
    _write(path("ragged.csv"), "0.1,0.2,0.3\n0.4,0.5\n")
    _write(path("nan.csv"), "a,b\n0.1,nan\n0.3,0.4\n")
    _write(path("good.csv"), "a,b,label\n0.1,0.2,0\n0.3,0.4,1\n")
    _write(path("binary.csv"), b"\x89PNG\r\n\x1a\n" + rng.bytes(100))
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
    _write(
        path("idx_gz/train-images-idx3-ubyte.gz"),
        gzip.compress(b"\0\0\x08\x03" + bytes(40))[:25],
    )
    _write_idx(path("idx_labels/train-images-idx3-ubyte"), images)
    _write_idx(path("idx_labels/train-labels-idx1-ubyte"), np.arange(5))
    # image folders
    for name in ("img_mixed", "img_truncated", "img_garbage", "img_none"):
        os.mkdir(path(name))
    _png(path("img_mixed/a.png"), np.zeros((8, 8)))
    _png(path("img_mixed/b.png"), np.zeros((9, 8)))
    _png(path("img_truncated/a.png"), rng.integers(0, 256, (32, 32)))
    raw = _read(path("img_truncated/a.png"))
    _write(path("img_truncated/a.png"), raw[: len(raw) // 2])
    _write(path("img_garbage/a.png"), rng.bytes(64))
    _write(path("img_none/notes.txt"), "no images here\n")
    _write(path("data.txt"), "0.1 0.2\n")
    # configs
    _write(path("broken.toml"), "epochs = = 3\n")
    _write(path("unknown_key.toml"), "epochs = 3\nlayers = 7\n")
    _write(path("wrong_type.toml"), 'epochs = "ten"\n')
    _write(path("torch.toml"), 'backend = "torch"\nepochs = 1\n')
    # a run folder whose config.toml cannot be read
    os.mkdir(path("broken_run"))
    shutil.copy(tiny_model_path, path("broken_run/model.keras"))
    _write(path("broken_run/config.toml"), "binarize = = static\n")
    # model files
    _write(path("empty.keras"), b"")
    _write(path("text.keras"), "this is not a model\n")
    raw = _read(tiny_model_path)
    _write(path("truncated.keras"), raw[: len(raw) * 2 // 3])
    corrupt = bytearray(raw)
    with zipfile.ZipFile(tiny_model_path) as archive:
        info = archive.getinfo("config.json")
    start = info.header_offset + 30 + len(info.filename) + 10
    corrupt[start : start + 40] = b"#" * 40  # a CRC error inside config.json
    _write(path("corrupt.keras"), bytes(corrupt))
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
    # -- train: settings that have no meaning together --
    "train-dreg-with-the-elbo": [
        *TRAIN,
        "--data",
        "digits",
        "--iw-samples",
        "1",
        "--dreg",
        "--output",
        OUT,
    ],
    "train-vamp-over-two-layers": [
        *TRAIN,
        "--data",
        "digits",
        "--prior",
        "vamp",
        "--top-latent-dim",
        "4",
        "--output",
        OUT,
    ],
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
    # new config checks: early stopping watches the validation split; seeds
    # leave room for JAX's offsets
    "train-early-stopping-without-validation": ["train", "--early-stopping", "3"]
    + ["--validation-split", "0", "--output", OUT],
    "train-seed-too-large": ["train", "--seed", str(2**31), "--output", OUT],
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
    "evaluate-bernoulli-outside-01": ["evaluate", M, "--data"]
    + [f"{B}/outside01_64.npy", "--binarize", "none"],
    "evaluate-missing-data-flag": ["evaluate", M],
    "evaluate-bad-split": ["evaluate", M, "--data", "digits", "--split", "val"],
    "evaluate-auto-binarize-broken-config": ["evaluate", f"{B}/broken_run/model.keras"]
    + ["--data", "digits"],
    # -- score --
    "score-bad-suffix": ["score", M, "--data", "digits", "--output", OUT + ".txt"],
    "score-missing-model": ["score", f"{B}/nope.keras", "--data", "digits"]
    + ["--output", OUT + ".csv"],
    "score-corrupt-model": ["score", f"{B}/corrupt.keras", "--data", "digits"]
    + ["--output", OUT + ".csv"],
    "score-missing-data": ["score", M, "--data", f"{B}/missing.npy"]
    + ["--output", OUT + ".csv"],
    "score-shape-mismatch": ["score", M, "--data", f"{B}/good10.npy"]
    + ["--output", OUT + ".csv"],
    "score-iw-samples-0": ["score", M, "--data", "digits", "--iw-samples", "0"]
    + ["--output", OUT + ".csv"],
    "score-quantile-1": ["score", M, "--data", "digits"]
    + ["--threshold-quantile", "1", "--output", OUT + ".csv"],
    "score-nan-threshold": ["score", M, "--data", "digits", "--threshold", "nan"]
    + ["--output", OUT + ".csv"],
    "score-two-thresholds": ["score", M, "--data", "digits", "--threshold", "3"]
    + ["--threshold-quantile", "0.9", "--output", OUT + ".csv"],
    "score-no-stored-scores": ["score", f"{B}/broken_run/model.keras", "--data"]
    + ["digits", "--binarize", "none", "--threshold-quantile", "0.9"]
    + ["--output", OUT + ".csv"],
    # -- encode --
    "encode-bad-suffix": ["encode", M, "--data", "digits", "--output", OUT + ".txt"],
    "encode-missing-model": ["encode", f"{B}/nope.keras", "--data", "digits"]
    + ["--output", OUT + ".npy"],
    "encode-text-model": ["encode", f"{B}/text.keras", "--data", "digits"]
    + ["--output", OUT + ".npy"],
    "encode-mixed-images": ["encode", M, "--data", f"{B}/img_mixed"]
    + ["--output", OUT + ".npy"],
    "encode-ragged-csv": ["encode", M, "--data", f"{B}/ragged.csv"]
    + ["--output", OUT + ".csv"],
    "encode-no-test-split": ["encode", M, "--data", "digits", "--split", "test"]
    + ["--output", OUT + ".npy"],
    # -- sample --
    "sample-n-0": ["sample", M, "-n", "0", "--output", OUT + ".png"],
    "sample-nan-temperature": ["sample", M, "--temperature", "nan"]
    + ["--output", OUT + ".png"],
    "sample-negative-temperature": ["sample", M, "--temperature", "-1"]
    + ["--output", OUT + ".png"],
    "sample-bad-suffix": ["sample", M, "--output", OUT + ".gif"],
    "sample-missing-model": ["sample", f"{B}/nope.keras", "--output", OUT + ".png"],
    "sample-text-model": ["sample", f"{B}/text.keras", "--output", OUT + ".npy"],
    "sample-lambda-model": ["sample", f"{B}/lambda.keras", "--output", OUT + ".npy"],
    "sample-label-unconditional": ["sample", M, "--label", "3"]
    + ["--output", OUT + ".npy"],
    # -- reconstruct --
    "reconstruct-n-0": ["reconstruct", M, "--data", "digits", "-n", "0"]
    + ["--output", OUT + ".png"],
    "reconstruct-n-negative": ["reconstruct", M, "--data", "digits", "-n", "-3"]
    + ["--output", OUT + ".png"],
    "reconstruct-bad-suffix": ["reconstruct", M, "--data", "digits"]
    + ["--output", OUT + ".jpg"],
    "reconstruct-missing-model": ["reconstruct", f"{B}/nope.keras", "--data"]
    + ["digits", "--output", OUT + ".png"],
    "reconstruct-inf-data": ["reconstruct", M, "--data", f"{B}/inf.npy"]
    + ["--output", OUT + ".png"],
    "reconstruct-shape-mismatch": ["reconstruct", M, "--data", f"{B}/good10.npy"]
    + ["--output", OUT + ".csv"],
    # -- plot --
    "plot-no-kind": ["plot"],
    "plot-unknown-kind": ["plot", "scatter", M, "--output", OUT + ".png"],
    "plot-latent-bad-suffix": ["plot", "latent", M, "--data", "digits"]
    + ["--output", OUT + ".jpg"],
    "plot-latent-missing-model": ["plot", "latent", f"{B}/nope.keras", "--data"]
    + ["digits", "--output", OUT + ".png"],
    "plot-latent-pickled-npz": ["plot", "latent", M, "--data"]
    + [f"{B}/pickled.npz", "--output", OUT + ".png"],
    "plot-latent-no-test-split": ["plot", "latent", M, "--data", "digits"]
    + ["--split", "test", "--output", OUT + ".png"],
    "plot-manifold-grid-1": ["plot", "manifold", M, "--grid", "1", "--output"]
    + [OUT + ".png"],
    "plot-manifold-rows-0": ["plot", "manifold", M, "--rows", "0", "--output"]
    + [OUT + ".png"],
    "plot-manifold-bad-suffix": ["plot", "manifold", M, "--output", OUT + ".svg"],
    "plot-manifold-missing-model": ["plot", "manifold", f"{B}/nope.keras"]
    + ["--output", OUT + ".png"],
    "plot-manifold-shape-mismatch": ["plot", "manifold", M, "--data"]
    + [f"{B}/good10.npy", "--output", OUT + ".png"],
    # -- interpolate --
    "interpolate-steps-1": ["interpolate", M, "--data", "digits", "--from", "0"]
    + ["--to", "1", "--steps", "1", "--output", OUT + ".png"],
    "interpolate-to-out-of-range": ["interpolate", M, "--data", "digits"]
    + ["--from", "0", "--to", "1797", "--output", OUT + ".png"],
    "interpolate-from-negative": ["interpolate", M, "--data", "digits"]
    + ["--from", "-1", "--to", "2", "--output", OUT + ".png"],
    "interpolate-bad-suffix": ["interpolate", M, "--data", "digits", "--from"]
    + ["0", "--to", "1", "--output", OUT + ".npy"],
    "interpolate-missing-model": ["interpolate", f"{B}/nope.keras", "--data"]
    + ["digits", "--from", "0", "--to", "1", "--output", OUT + ".png"],
    "interpolate-without-to": ["interpolate", M, "--data", "digits", "--from"]
    + ["0", "--output", OUT + ".png"],
    "interpolate-nan-data": ["interpolate", M, "--data", f"{B}/nan.npy", "--from"]
    + ["0", "--to", "1", "--output", OUT + ".png"],
    # -- report --
    "report-missing-run": ["report", f"{B}/no_run", "--output", OUT + ".html"],
    "report-not-a-run": ["report", f"{B}/img_none", "--output", OUT + ".html"],
    "report-bad-suffix": ["report", f"{B}/img_none", "--output", OUT + ".pdf"],
    # -- export --
    "export-missing-run": ["export", f"{B}/no_run", "--output", OUT],
    "export-not-a-run": ["export", f"{B}/img_none", "--output", OUT],
    "export-bad-format": ["export", M, "--format", "pickle", "--output", OUT],
    "export-bad-parts": ["export", M, "--parts", "encoder,loss", "--output", OUT],
    "export-nan-model": ["export", f"{B}/nan.npy", "--output", OUT],
    # -- no or unknown command --
    "no-command": [],
    "unknown-command": ["fit", "--data", "digits"],
}

# What some messages must say.
MESSAGES = {
    "sample-missing-model": "does not exist",
    "sample-n-0": "Received: -n=0",
    "sample-negative-temperature": "--temperature",
    "sample-bad-suffix": "unknown suffix",
    "sample-label-unconditional": "conditional",
    "reconstruct-n-negative": "-n",
    "reconstruct-shape-mismatch": "expects",
    "plot-latent-bad-suffix": "suffix",
    "plot-manifold-grid-1": "--grid",
    "plot-manifold-rows-0": "--rows",
    "plot-manifold-missing-model": "does not exist",
    # The library's names of the two indices, not the flags'.
    "interpolate-to-out-of-range": "index_to 1797 is out of range",
    "interpolate-from-negative": "index_from -1 is out of range",
    "interpolate-steps-1": "--steps",
    "report-missing-run": "does not exist",
    "report-not-a-run": "not a vaekit run folder",
    "evaluate-not-a-vae": "not a vaekit VAE",
    "evaluate-lambda-model": "Lambda",
    "evaluate-auto-binarize-broken-config": "--binarize none or --binarize static",
    "train-early-stopping-without-validation": "validation",
    "train-seed-too-large": "seed",
    "score-nan-threshold": "--threshold",
    "score-quantile-1": "--threshold-quantile",
}

# Cases that fail for a bug found while porting (see the report of the
# port): a plain ValueError of vaekit.model.networks, which the CLI now
# treats as a bug (traceback, exit status 1).

COMMANDS = [
    "train",
    "evaluate",
    "score",
    "encode",
    "sample",
    "reconstruct",
    "plot",
    "interpolate",
    "report",
    "export",
]


def test_the_matrix_covers_every_command():
    from tests.cli.test_main import COMMANDS as LISTED

    assert COMMANDS == LISTED
    assert len(BAD_INPUTS) >= 130
    for command in COMMANDS:
        cases = [case for case in BAD_INPUTS if case.startswith(command + "-")]
        assert len(cases) >= 3, command
    assert set(MESSAGES) <= set(BAD_INPUTS)


def _check_bad_input(case, bad, model_path, tmp_path, run):
    out = str(tmp_path / "out")
    fill = {"model": model_path, "bad": str(bad), "out": out}
    args = [a.format(**fill) for a in BAD_INPUTS[case]]
    before = snapshot(str(bad))
    result = run(args)
    print("vaekit", *args, "\n" + result.stderr)
    line = refused(result, tmp_path)
    assert len(line) > len("vaekit: error: ") + 10
    if case in MESSAGES:
        assert MESSAGES[case] in line
    assert snapshot(str(bad)) == before
    return line


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2(case, bad, tiny_model_path, tmp_path, cli):
    _check_bad_input(
        case, bad, tiny_model_path, tmp_path, lambda args: cli(args, cwd=tmp_path)
    )


# One case of several kinds, through the installed script in a fresh process.
SUBPROCESS_CASES = [
    "train-unknown-name",
    "evaluate-not-a-vae",
    "encode-ragged-csv",
    "train-pickled-npz",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_in_a_subprocess(case, bad, tiny_model_path, tmp_path):
    def run(args):
        return run_process([*vaekit_command(), *args], cwd=tmp_path)

    _check_bad_input(case, bad, tiny_model_path, tmp_path, run)


@pytest.mark.parametrize("name", ["x.npy", "x.csv", "model.keras"])
def test_unreadable_file_exits_2(user_cli, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"0.5,0.5\n")
    path.chmod(0)
    if name == "model.keras":
        args = ["encode", str(path), "--data", "digits", "--output", "z.npy"]
    else:
        args = ["train", "--data", str(path), "--output", "RUN"]
    result = user_cli(args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: ")
    assert sorted(os.listdir(tmp_path)) == [name]


# -- tables: mixed numeric and text columns ---------------------------------

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
        ["conditional model needs labels", "label column"],
    ),
    "bernoulli-with-text-columns": (
        ["--data", "{t}", "--label-column", "kind", "--likelihood", "bernoulli"],
        ["colour", "size", "gaussian likelihood"],
    ),
}


@pytest.mark.parametrize("case", sorted(TABLE_BAD_INPUTS))
def test_bad_table_exits_2(case, table, tmp_path, cli):
    extra, named = TABLE_BAD_INPUTS[case]
    fill = {k: v for k, v in table.items() if isinstance(v, str)}
    args = ["train", "--preset", "tabular", "--epochs", "1"]
    args += [a.format(**fill) for a in extra] + ["--output", str(tmp_path / "out")]
    before = snapshot(str(table["root"]))
    result = cli(args, cwd=tmp_path)
    print("vaekit", *args, "\n" + result.stderr)
    line = refused(result, tmp_path)
    for text in named:
        assert text in line, text
    assert snapshot(str(table["root"])) == before
