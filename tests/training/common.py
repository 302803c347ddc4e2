"""Helpers of the training tests: small data, runs trained in this process
by the library's pieces, and `vaekit` started in a fresh process.

A whole `train` ends with the held-out evaluation, seven pictures and the
report (seconds of matplotlib); tests whose subject is training itself call
`setup` and `fit` alone (`fit_run`), or leave the pictures out
(`no_pictures` in conftest.py).
"""

import importlib
import os
import subprocess
import sys

import numpy as np

from vaekit import runs

# `vaekit.training.train` the module: the package exports the function
# `train` under the same name, so `import vaekit.training.train` finds that.
TRAIN = importlib.import_module("vaekit.training.train")
WORKERS = os.path.dirname(os.path.abspath(__file__))

# The settings of the session's tiny run (tests.helpers.TINY_RUN_ARGS): a
# run with them compiles nothing the session has not compiled already.
TINY = {
    "data": "digits",
    "epochs": 2,
    "hidden_dims": (8,),
    "latent_dim": 2,
    "iw_samples": 1,
    "eval_iw_samples": 5,
    "validation_split": 0.1,
}
# The same with a constant learning rate, which is a variable of the
# optimizer (a cosine schedule's length is a constant of the compiled
# step): runs of any length and learning rate share one compiled step.
FAST = dict(TINY, lr_schedule="constant")


def prototypes(n, d, seed=0, kinds=4):
    """`(n, d)` float32 values in [0.05, 0.95]: noisy copies of a few
    prototypes, something a VAE with two latent units can learn fast."""
    rng = np.random.default_rng(seed)
    centres = rng.random((kinds, d))
    x = centres[rng.integers(0, kinds, n)] * 0.9 + 0.05
    return x.astype(np.float32)


def fit_run(
    config,
    output,
    dataset=None,
    resume=None,
    verbose=0,
    overwrite=False,
    callbacks=(),
):
    """`setup` and `fit` (no final evaluation, pictures or scores): the
    training `Session`, its model trained and its folder written as far as
    training writes it (config, history, checkpoint). `callbacks` are
    called after the run's own (after each epoch's checkpoint)."""
    from vaekit import data as data_lib
    from vaekit.training import setup
    from vaekit.training.signals import SignalGuard

    if dataset is not None and not isinstance(dataset, data_lib.Dataset):
        dataset = data_lib.load(dataset)
    session = setup(
        config,
        output=None if resume is not None else str(output),
        resume=resume,
        dataset=dataset,
        overwrite=overwrite,
        verbose=verbose,
    )
    session.callbacks.extend(callbacks)
    with SignalGuard() as signals:
        TRAIN.fit(session, signals)
    return session


def weights(run):
    """The weights of `RUN/model.keras`."""
    from vaekit.model import load_model

    return load_model(runs.path(run, runs.MODEL)).get_weights()


def assert_same_weights(a, b, **tolerance):
    """Equal weight lists: bit for bit, or within `rtol`/`atol`."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if tolerance:
            np.testing.assert_allclose(x, y, **tolerance)
        else:
            np.testing.assert_array_equal(x, y)


def history_rows(run):
    """`RUN/history.csv` as a list of dicts of strings (exact text)."""
    import csv

    with open(runs.path(run, runs.HISTORY), newline="") as handle:
        return list(csv.DictReader(handle))


def start_worker(script, *args, **env):
    """`python tests/training/SCRIPT ARGS` in a fresh process (the test
    session's environment: its backend and JAX compilation cache), its
    output piped as text."""
    return subprocess.Popen(
        [sys.executable, os.path.join(WORKERS, script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, KERAS_BACKEND="jax", **env),
    )


def stop_all(procs):
    """Kills what is still running of `procs` (one failed process of a
    cluster leaves the others waiting for it)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
