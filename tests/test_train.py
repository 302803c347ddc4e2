"""Training runs: the run folder, determinism, checkpoints, resume after
SIGINT and SIGKILL, divergence, and the refusal to overwrite."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit.checkpoint import load_checkpoint
from vaekit.config import Config
from vaekit.runs import CHECKPOINT
from vaekit.train import build_model, train

# Small but with enough steps per epoch that a signal lands mid-epoch.
ARGS = [
    "--hidden-dims",
    "32",
    "--latent-dim",
    "3",
    "--batch-size",
    "5",
    "--epochs",
    "4",
    "--eval-iw-samples",
    "4",
    "--validation-split",
    "0.1",
    "--binarize",
    "dynamic",
    "--iw-samples",
    "1",
    "--quiet",
]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    prototypes = rng.random((4, 48))
    x = prototypes[rng.integers(0, 4, 2000)] * 0.9 + 0.05
    path = tmp_path_factory.mktemp("data") / "x.npy"
    np.save(path, x.astype(np.float32))
    return str(path)


def _run_cli(args, **kwargs):
    env = dict(os.environ, KERAS_BACKEND="jax")
    return subprocess.Popen(
        [sys.executable, "-m", "vaekit.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def _weights(run):
    from vaekit.models import load_model

    return load_model(os.path.join(run, "model.keras")).get_weights()


@pytest.fixture(scope="module")
def reference_run(data_file, tmp_path_factory):
    run = str(tmp_path_factory.mktemp("ref") / "run")
    proc = _run_cli(["train", "--data", data_file, "--output", run, *ARGS])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return run


def test_run_folder_contents(reference_run):
    names = set(os.listdir(reference_run))
    assert {
        "model.keras",
        "config.toml",
        "history.csv",
        "metrics.json",
        "plots",
        CHECKPOINT,
    } <= names
    with open(os.path.join(reference_run, "history.csv")) as handle:
        lines = handle.read().splitlines()
    assert lines[0].split(",") == [
        "epoch",
        "loss",
        "reconstruction",
        "kl",
        "val_loss",
        "val_reconstruction",
        "val_kl",
        "seconds",
    ]
    assert len(lines) == 1 + 4
    rows = [
        dict(zip(lines[0].split(","), map(float, line.split(",")), strict=True))
        for line in lines[1:]
    ]
    for row in rows:
        # loss = reconstruction + kl for the plain ELBO (beta 1, one sample).
        assert row["loss"] == pytest.approx(row["reconstruction"] + row["kl"], rel=1e-4)
        assert row["seconds"] > 0
    assert rows[-1]["loss"] < rows[0]["loss"]
    metrics = json.load(open(os.path.join(reference_run, "metrics.json")))
    assert metrics["split"] == "validation" and metrics["n"] == 200
    assert metrics["elbo"] <= metrics["log_likelihood"] < 0


def test_same_seed_same_weights(data_file, tmp_path, reference_run):
    config = Config(
        data=data_file,
        hidden_dims=(32,),
        latent_dim=3,
        batch_size=5,
        epochs=4,
        eval_iw_samples=4,
        binarize="dynamic",
        iw_samples=1,
        validation_split=0.1,
    )
    run, metrics = train(config, output=str(tmp_path / "again"), verbose=0)
    assert run == str(tmp_path / "again")
    for a, b in zip(_weights(run), _weights(reference_run), strict=True):
        np.testing.assert_array_equal(a, b)
    # train() returns the metrics it wrote.
    assert metrics == json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["split"] == "validation" and metrics["n"] == 200


def test_sigint_then_resume_matches_uninterrupted(data_file, tmp_path, reference_run):
    run = str(tmp_path / "run")
    proc = _run_cli(["train", "--data", data_file, "--output", run, *ARGS])
    # Interrupt once the first epoch is done, somewhere inside a later epoch.
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(run, "history.csv")):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"--resume {run}" in lines[0]
    assert "Traceback" not in err
    proc = _run_cli(["train", "--resume", run, "--quiet"])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    for a, b in zip(_weights(run), _weights(reference_run), strict=True):
        np.testing.assert_array_equal(a, b)
    with open(os.path.join(run, "history.csv")) as handle:
        assert len(handle.read().splitlines()) == 1 + 4


def test_sigterm_exits_143(data_file, tmp_path):
    run = str(tmp_path / "run")
    proc = _run_cli(["train", "--data", data_file, "--output", run, *ARGS])
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(run, CHECKPOINT)):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "SIGTERM" in err and "--resume" in err


def _checkpoint_loads(run):
    """The checkpoint opens and restores into the run's model."""
    from vaekit import config as config_lib

    config = config_lib.from_dict(
        config_lib.read_toml(os.path.join(run, "config.toml"))
    )
    model = build_model(config, (48,), 90)
    meta, _ = load_checkpoint(run, model)
    assert 0 <= meta["epoch"] <= config.epochs
    return meta


def test_sigkill_at_random_moments_keeps_a_loadable_checkpoint(
    data_file, tmp_path, reference_run
):
    run = str(tmp_path / "run")
    rng = random.Random(1)
    proc = _run_cli(["train", "--data", data_file, "--output", run, *ARGS])
    epochs_seen = []
    for _ in range(3):
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(run, CHECKPOINT)):
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.kill()
        proc.communicate()
        epochs_seen.append(_checkpoint_loads(run)["epoch"])
        leftovers = [n for n in os.listdir(run) if n.startswith(".")]
        # A temporary file may survive a SIGKILL; it never replaces the checkpoint.
        assert all(".tmp" in n for n in leftovers)
        proc = _run_cli(["train", "--resume", run, "--quiet"])
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert epochs_seen == sorted(epochs_seen)
    for a, b in zip(_weights(run), _weights(reference_run), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_of_finished_run_can_extend_epochs(data_file, tmp_path):
    config = Config(
        data=data_file,
        hidden_dims=(16,),
        latent_dim=2,
        batch_size=50,
        epochs=1,
        eval_iw_samples=2,
    )
    run, _ = train(config, output=str(tmp_path / "run"), verbose=0)
    train(config.replace(epochs=2), resume=run, verbose=0)
    with open(os.path.join(run, "history.csv")) as handle:
        assert len(handle.read().splitlines()) == 1 + 2


def test_divergence_restores_last_good_weights(data_file, tmp_path):
    config = Config(
        data=data_file,
        hidden_dims=(16,),
        latent_dim=2,
        batch_size=50,
        epochs=3,
        optimizer="sgd",
        learning_rate=1e12,
        eval_iw_samples=2,
        binarize="none",
    )
    with pytest.raises(VaekitError, match="diverged.*--learning-rate.*--clipnorm"):
        train(config, output=str(tmp_path / "run"), verbose=0)
    weights = _weights(str(tmp_path / "run"))
    assert all(np.isfinite(w).all() for w in weights)


def test_existing_run_folder_is_refused(data_file, tmp_path):
    config = Config(
        data=data_file,
        hidden_dims=(16,),
        latent_dim=2,
        batch_size=50,
        epochs=1,
        eval_iw_samples=2,
    )
    run, _ = train(config, output=str(tmp_path / "run"), verbose=0)
    before = sorted(os.listdir(run))
    with pytest.raises(VaekitError, match="already exists.*--overwrite"):
        train(config, output=run, verbose=0)
    assert sorted(os.listdir(run)) == before
    train(config, output=run, overwrite=True, verbose=0)
    other = tmp_path / "not_a_run"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(VaekitError, match="not a vaekit run folder"):
        train(config, output=str(other), overwrite=True, verbose=0)
    assert (other / "precious.txt").read_text() == "keep me"


def _history(run):
    with open(os.path.join(run, "history.csv")) as handle:
        lines = handle.read().splitlines()
    keys = lines[0].split(",")
    return [dict(zip(keys, line.split(","), strict=True)) for line in lines[1:]]


def test_a_log_file_gets_one_line_per_epoch(data_file, tmp_path, capsys):
    """Under pytest, as in a log file or CI, stdout is not a terminal: no
    redrawn progress bar, one plain line per epoch."""
    config = Config(
        data=data_file,
        hidden_dims=(16,),
        latent_dim=2,
        batch_size=100,
        epochs=3,
        eval_iw_samples=2,
    )
    run, _ = train(config, output=str(tmp_path / "run"))  # verbose="auto"
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 and "\r" not in out and "\x08" not in out
    for epoch, (line, row) in enumerate(zip(lines, _history(run), strict=True)):
        fields = line.split(" - ")
        assert fields[0] == f"epoch {epoch + 1}/3"
        assert fields[1] == f"{float(row['seconds']):.2f}s"
        values = dict(field.split(": ") for field in fields[2:])
        assert list(values) == [
            "loss",
            "reconstruction",
            "kl",
            "val_loss",
            "val_reconstruction",
            "val_kl",
        ]
        for key, text in values.items():
            assert float(text) == pytest.approx(float(row[key]), abs=1e-4)


def test_auto_verbosity_draws_the_bar_only_on_a_terminal():
    from vaekit.train import _verbosity

    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    import unittest.mock

    with unittest.mock.patch("sys.stdout", Stream(True)):
        assert _verbosity("auto") == (1, False)
    with unittest.mock.patch("sys.stdout", Stream(False)):
        assert _verbosity("auto") == (0, True)
        assert _verbosity(2) == (2, False) and _verbosity(0) == (0, False)


def test_a_batch_larger_than_the_data_is_one_batch(tmp_path, capsys):
    """50-row tables are common: a batch size of 500 trains on all the rows
    at once, says so on one line, and checkpoints and resumes as usual."""
    rng = np.random.default_rng(3)
    path = str(tmp_path / "small.npy")
    np.save(path, rng.random((50, 6)).astype(np.float32))
    config = Config(
        data=path,
        hidden_dims=(8,),
        latent_dim=2,
        batch_size=500,
        epochs=3,
        eval_iw_samples=2,
        validation_split=0.1,
        binarize="dynamic",
        lr_schedule="constant",  # cosine decays over `epochs`, which changes below
    )
    full, _ = train(config, output=str(tmp_path / "full"), verbose=0)
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "vaekit: batch size 500 is larger than the 45 training examples: each "
        "epoch is one batch of all 45"
    ]
    assert [row["epoch"] for row in _history(full)] == ["1", "2", "3"]
    meta, _ = load_checkpoint(full, build_model(config, (6,), 1))
    assert (meta["epoch"], meta["step"]) == (3, 0)
    # One epoch, then resumed to three: the same weights as straight through.
    part, _ = train(config.replace(epochs=1), output=str(tmp_path / "part"), verbose=0)
    train(config, resume=part, verbose=0)
    for a, b in zip(_weights(part), _weights(full), strict=True):
        np.testing.assert_array_equal(a, b)


DISTRIBUTED = """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["KERAS_BACKEND"] = "jax"
import jax
import keras
from vaekit.config import Config
from vaekit.train import build_model, train
config = Config(data=sys.argv[1], hidden_dims=(16,), latent_dim=2, batch_size=50,
                epochs=2, eval_iw_samples=2, distribute=sys.argv[3] == "1")
train(config, output=sys.argv[2], verbose=0)
assert len(jax.devices()) == 2
dist = keras.distribution.distribution()
print(type(dist).__name__ if dist else "none", dist.device_mesh.shape if dist else "")
"""


def test_distribute_data_parallel_matches_one_device(data_file, tmp_path):
    script = tmp_path / "dist.py"
    script.write_text(DISTRIBUTED)
    outputs = []
    for flag in ("1", "0"):
        run = str(tmp_path / f"run{flag}")
        out = subprocess.run(
            [sys.executable, str(script), data_file, run, flag],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout.split())
    assert outputs[0] == ["DataParallel", "(2,)"] and outputs[1] == ["none"]
    # Splitting each batch over two devices is the same computation.
    for a, b in zip(
        _weights(str(tmp_path / "run1")), _weights(str(tmp_path / "run0")), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_distribute_needs_divisible_batch(tmp_path, data_file):
    script = tmp_path / "dist.py"
    script.write_text(DISTRIBUTED.replace("batch_size=50", "batch_size=25"))
    out = subprocess.run(
        [sys.executable, str(script), data_file, str(tmp_path / "run"), "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0 and "divisible by 2" in out.stderr


def _tutorial_run(tmp_path, epochs):
    from vaekit import cli

    run = str(tmp_path / "tutorial")
    args = [
        "train",
        "--preset",
        "tutorial",
        # The preset trains on the full MNIST (a download); CI has mnist5k.
        "--data",
        "mnist5k",
        "--validation-split",
        "0.02",
        "--output",
        run,
        "--quiet",
        "--eval-iw-samples",
        "10",
    ]
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    assert cli.main(args) == 0
    return run


def _latent_class_separation(run):
    """Nearest-centroid accuracy of the digit classes in the 2-D z_mean space
    of the validation digits (chance: 0.1)."""
    from vaekit.data import load, train_validation_split
    from vaekit.models import load_model

    model = load_model(os.path.join(run, "model.keras"))
    data = load("mnist5k")
    _, (x_val, y_val) = train_validation_split(data.x_train, data.y_train, 0.1, 0)
    z, _ = model.encode(x_val)
    assert z.shape == (len(x_val), 2)
    centroids = np.stack([z[y_val == c].mean(axis=0) for c in range(10)])
    nearest = np.argmin(((z[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    return float((nearest == y_val).mean())


def test_tutorial_preset_small(tmp_path):
    """CI's short version of the tutorial preset: 2 of its 50 epochs."""
    run = _tutorial_run(tmp_path, epochs=2)
    assert os.path.isfile(os.path.join(run, "plots", "manifold.png"))
    assert _latent_class_separation(run) > 0.3


@pytest.mark.slow
def test_tutorial_preset_full(tmp_path):
    """The whole tutorial preset (50 epochs): the ten digits form distinct
    regions of the 2-D latent space."""
    run = _tutorial_run(tmp_path, epochs=None)
    with open(os.path.join(run, "history.csv")) as handle:
        assert len(handle.read().splitlines()) == 1 + 50
    # Measured 0.52-0.56 (chance 0.1): 0, 1, 6 and the 4/7/9 group stand
    # apart, 2/3/5/8 share the centre, as in the Keras blog's figure.
    assert _latent_class_separation(run) > 0.45


@pytest.mark.slow
def test_default_run_full(tmp_path):
    """`vaekit train` with no arguments (about 5 minutes): a real held-out
    log-likelihood on binarized digits."""
    from vaekit import cli

    run = str(tmp_path / "default")
    assert cli.main(["train", "--output", run, "--quiet"]) == 0
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["binarize"] in ("static", "dynamic")
    assert metrics["elbo"] <= metrics["log_likelihood"]
    assert metrics["log_likelihood"] > -110
