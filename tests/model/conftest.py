"""Fixtures of the model package's tests.

`jax_trained`: the saved-model fixtures of `saved_models.CROSS`, loaded in
this (JAX) process, measured, trained one more epoch and measured again.

`cross_backend`: the same on TensorFlow and PyTorch, in one worker process
per backend (`backend_worker.py`, started together; a third, tiny one
checks which backend `import vaekit` chooses), with the fixtures' outputs
on each backend and the copies each backend saved loaded on the other two,
and the learned priors' models (`saved_models.LATENTS`) saved here, loaded
and trained there.
Under pytest-xdist the processes run once for all test workers: the first
to ask runs them under a file lock, in a folder the others read.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.model import saved_models

BACKENDS = ("jax", "tensorflow", "torch")
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend_worker.py")
TIMEOUT = 300  # seconds for all workers together


@pytest.fixture(scope="session")
def jax_trained(tmp_path_factory):
    """`{name: {"path", "loss", "before", "after"}}` for each model of
    `saved_models.CROSS`: loaded from its fixture, measured (`before`),
    trained one epoch (`loss`), saved (`path`) and measured again."""
    from vaekit.model import load_model

    folder = tmp_path_factory.mktemp("jax_trained")
    result = {}
    for name in saved_models.CROSS:
        model = load_model(saved_models.path(name))
        before = saved_models.measure(model, name)
        loss = saved_models.fit_one_epoch(model, name)
        path = str(folder / f"{name}.keras")
        model.save(path)
        after = saved_models.measure(model, name)
        result[name] = {"path": path, "loss": loss, "before": before, "after": after}
    return result


class CrossBackend:
    """What the workers and this process measured: `info[backend]` (dicts)
    and `load(backend, name)` (a dict of arrays)."""

    def __init__(self, root):
        self.root = root
        self.info = {
            b: json.loads((root / f"info_{b}.json").read_text())
            for b in (*BACKENDS, "import")
        }
        self.wall_seconds = json.loads((root / "done.json").read_text())["seconds"]

    def load(self, backend, name):
        with np.load(self.root / f"{backend}__{name}.npz") as arrays:
            return dict(arrays)


def _start(root, role):
    """Starts one worker; role `import` leaves KERAS_BACKEND unset."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if role == "torch":
        env["KERAS_BACKEND"] = "torch"
    # A keras home per worker: keras writes its keras.json on first import.
    home = root / f"keras_home_{role}"
    home.mkdir()
    if role == "tensorflow":
        (home / "keras.json").write_text('{"backend": "tensorflow"}')
    env["KERAS_HOME"] = str(home)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # The workers share the CPUs with this process: thread pools of their
    # own would oversubscribe them.
    env.update(
        OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1"
    )
    # CPU only: on a GPU, JAX and cuDNN compute float32 matmuls and
    # convolutions in TF32 by default, far coarser than the tolerances here.
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["JAX_PLATFORMS"] = "cpu"
    config = {"dir": str(root), "role": role, "timeout": TIMEOUT}
    log = root / f"log_{role}.txt"
    with open(log, "w") as stream:
        process = subprocess.Popen(
            [sys.executable, WORKER, json.dumps(config)],
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    return process, log


def _wait(workers, deadline):
    """Waits for all workers; kills the rest as soon as one fails."""
    while any(p.poll() is None for p, _ in workers):
        if time.monotonic() > deadline or any(p.poll() for p, _ in workers):
            break
        time.sleep(0.1)
    for p, _ in workers:
        if p.poll() is None:
            p.kill()
            p.wait()
    if any(p.returncode for p, _ in workers):
        report = [
            f"--- {log.name} (exit {p.returncode}):\n{log.read_text()[-3000:]}"
            for p, log in workers
        ]
        raise RuntimeError(
            "a backend worker failed or timed out:\n" + "\n".join(report)
        )


def _run(root, request):
    """Runs the workers and this process's share (JAX) into `root`."""
    from vaekit.model import load_model

    started = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT
    workers = [_start(root, role) for role in ("import", "tensorflow", "torch")]
    try:
        trained = request.getfixturevalue("jax_trained")
        for name, result in trained.items():
            partial = root / f"jax_{name}.part.keras"
            shutil.copyfile(result["path"], partial)
            os.replace(partial, root / f"jax_{name}.keras")
        info = {}
        for name, result in trained.items():
            ref = dict(result["before"])
            ref["evaluate"] = saved_models.measure(
                load_model(saved_models.path(name)), name, evaluate=True
            )["evaluate"]
            np.savez(root / f"jax__ref_{name}.npz", **ref)
            np.savez(root / f"jax__own_{name}.npz", **result["after"])
            info[f"loss_{name}"] = result["loss"]
        saved_models.save_latent_models(str(root / "latents"))
        _wait(workers, deadline)
        for other in BACKENDS[1:]:
            for name in saved_models.CROSS:
                model = load_model(root / f"{other}_{name}.keras")
                arrays = saved_models.measure(model, name)
                np.savez(root / f"jax__from_{other}_{name}.npz", **arrays)
        (root / "info_jax.json").write_text(json.dumps(info))
    finally:
        for process, _ in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.perf_counter() - started
    (root / "done.json").write_text(json.dumps({"seconds": seconds}))


@pytest.fixture(scope="session")
def cross_backend(tmp_path_factory, request):
    """The cross-backend measurements (see the module docstring), a
    `CrossBackend`."""
    if not all(importlib.util.find_spec(m) for m in ("tensorflow", "torch")):
        pytest.skip(
            "needs the tensorflow and torch extras: pip install -e .[tensorflow,torch]"
        )
    from filelock import FileLock  # a dependency of torch

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the session's test workers
    root = base / "cross_backend"
    with FileLock(str(root) + ".lock"):
        if (root / "failed.txt").exists():
            pytest.fail((root / "failed.txt").read_text())
        if not (root / "done.json").exists():
            if root.exists():
                shutil.rmtree(root)
            root.mkdir()
            try:
                _run(root, request)
            except Exception as exc:
                (root / "failed.txt").write_text(f"{type(exc).__name__}: {exc}")
                raise
    return CrossBackend(root)


# -- small trained models the test modules share ----------------------------


@pytest.fixture(scope="session")
def binary_x():
    from tests.model.common import binary_data

    return binary_data()


@pytest.fixture(scope="session")
def trained(binary_x):
    """`(vae, history)`: the tiny Bernoulli VAE, 3 epochs with a validation
    split (read it, do not change it)."""
    from tests.model.common import fit, make_vae

    vae = make_vae(seed=1)
    history = fit(vae, binary_x, epochs=3, validation_split=0.2)
    return vae, history


@pytest.fixture(scope="session")
def conditional():
    """`(vae, history, x, y)`: a VAE conditioned on K class labels, built by
    hand with condition layers of any name, trained 15 epochs."""
    from tests.model.common import class_condition, class_data, conditional_vae, fit

    x, y = class_data()
    vae = conditional_vae(class_condition(y, name="labels"))
    history = fit(vae, (x, y), epochs=15)
    return vae, history, x, y


@pytest.fixture(scope="session")
def numeric_conditional():
    """`(vae, x, y)`: a numeric condition (standardised, not classes) on a
    Gaussian model of a table in its own units: the encoder holds both
    transforms. Untrained."""
    from tests.model.common import conditional_vae, table
    from vaekit.model import DataTransform

    x = table(n=60)
    y = np.random.default_rng(3).normal(50.0, 10.0, 60).astype("float32")
    transform = DataTransform((4,), categorical=[[1, 3]], name="scaler")
    transform.adapt(x)
    condition = DataTransform((1,), name="temperature")
    condition.adapt(y.reshape(-1, 1))
    vae = conditional_vae(
        condition,
        data_shape=(4,),
        transform=transform,
        likelihood="gaussian",
        decoder_std="learned-per-feature",
    )
    vae.decoder_log_var.assign(np.array([-0.02, 0.03, 0.01], "float32"))
    return vae, x, y


@pytest.fixture(scope="session")
def breast_cancer():
    """scikit-learn's breast-cancer table as a raw pandas DataFrame (30
    numeric columns on very different scales)."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.drop(columns="target")


@pytest.fixture(scope="session")
def table_vae(breast_cancer):
    """`(vae, history)`: `VAE(likelihood="gaussian")` without networks,
    compiled and fitted on the breast-cancer DataFrame as it is."""
    from vaekit.model import VAE

    vae = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[8], seed=0)
    vae.compile(optimizer="adam")
    history = vae.fit(breast_cancer, epochs=2, batch_size=64, verbose=0)
    return vae, history.history


@pytest.fixture(scope="session")
def mixed_frame():
    """The mixed table of tests/helpers.py as a DataFrame: numeric `age` and
    `income`, text `colour` and `size`."""
    import pandas as pd

    from tests.helpers import TABLE_FEATURES, table_rows

    frame = pd.DataFrame(
        [row[:4] for row in table_rows()], columns=list(TABLE_FEATURES)
    )
    return frame.astype({"age": float, "income": float})


@pytest.fixture(scope="session")
def mixed_vae(mixed_frame):
    """A Gaussian VAE adapted (not trained) to `mixed_frame`."""
    from vaekit.model import VAE

    return VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[8], seed=4).adapt(
        mixed_frame
    )
