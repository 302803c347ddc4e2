"""vaekit.training.checkpoint: `RUN/checkpoint.npz` restores every model and
optimizer variable and the callbacks' arrays, refuses what does not match,
is written atomically, and reads the checkpoints of the previous release.
Resuming whole runs is tested in test_train.py and test_signals.py."""

import json
import os
import shutil

import numpy as np
import pytest

from tests.helpers import FIXTURES
from vaekit import VaekitError, runs
from vaekit.config import Config
from vaekit.errors import RunFolderError
from vaekit.training import build_model, make_optimizer
from vaekit.training.checkpoint import load_checkpoint, save_checkpoint

OLD_RUN = os.path.join(FIXTURES, "runs", "digits")  # written by the previous release
# The shapes of the session's tiny run (64 -> 8 -> 2): its variables'
# initializers are compiled already.
X = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float32)


def _config(hidden_dims=(8,)):
    return Config(hidden_dims=hidden_dims, latent_dim=2, epochs=2)


def _model(hidden_dims=(8,)):
    return build_model(_config(hidden_dims), X, steps_per_epoch=3)


def _values(variables):
    return [np.array(v) for v in variables]


def test_a_checkpoint_restores_model_optimizer_and_arrays(tmp_path):
    model = _model()
    rng = np.random.default_rng(0)
    for var in model.variables + model.optimizer.variables:
        var.assign(rng.normal(size=var.shape).astype(var.dtype))
    best = {f"best_{i}": rng.normal(size=(3, i + 1)) for i in range(2)}
    meta = {"epoch": 3, "step": 2, "rows": [{"epoch": 1, "loss": 1.5}]}
    save_checkpoint(str(tmp_path), model, meta, best)
    saved = _values(model.variables), _values(model.optimizer.variables)
    other = _model()  # fresh weights, fresh optimizer
    loaded_meta, arrays = load_checkpoint(str(tmp_path), other)
    assert loaded_meta == dict(
        meta, n_model=len(model.variables), n_optimizer=len(model.optimizer.variables)
    )
    for a, b in zip(_values(other.variables), saved[0], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(other.optimizer.variables), saved[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(arrays) == sorted(best)
    for key, value in best.items():
        np.testing.assert_array_equal(arrays[key], value)
    # Without arrays there are none to restore; no temporary file is left.
    save_checkpoint(str(tmp_path), model, meta)
    assert load_checkpoint(str(tmp_path), other)[1] == {}
    assert os.listdir(tmp_path) == [runs.CHECKPOINT]


def test_an_unbuilt_optimizer_is_built_to_take_the_checkpoint(tmp_path):
    model = _model()
    fresh = _model()
    fresh.compile(optimizer=make_optimizer(_config(), 3))  # not built yet
    assert not fresh.optimizer.built
    model.optimizer.iterations.assign(7)
    save_checkpoint(str(tmp_path), model, {"epoch": 1})
    load_checkpoint(str(tmp_path), fresh)
    assert int(fresh.optimizer.iterations) == 7
    for a, b in zip(
        _values(fresh.optimizer.variables),
        _values(model.optimizer.variables),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def test_missing_corrupt_and_mismatched_checkpoints_are_refused(tmp_path):
    model = _model()
    with pytest.raises(RunFolderError, match=f"holds no {runs.CHECKPOINT}"):
        load_checkpoint(str(tmp_path), model)
    path = tmp_path / runs.CHECKPOINT
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RunFolderError, match="is corrupt"):
        load_checkpoint(str(tmp_path), model)
    np.savez(path, meta=np.frombuffer(b"[1, 2]", np.uint8))
    with pytest.raises(RunFolderError, match="corrupt.*not a JSON object"):
        load_checkpoint(str(tmp_path), model)
    save_checkpoint(str(tmp_path), _model(hidden_dims=(8, 4)), {"epoch": 1})
    with pytest.raises(RunFolderError, match="does not match the model"):
        load_checkpoint(str(tmp_path), model)
    # The same number of variables, other shapes.
    save_checkpoint(str(tmp_path), _model(hidden_dims=(4,)), {"epoch": 1})
    with pytest.raises(VaekitError, match="does not match the model"):
        load_checkpoint(str(tmp_path), model)


def test_the_previous_releases_checkpoint_loads(tmp_path, digits_x):
    """The fixture run folder was written by the release before the package
    redesign: its checkpoint restores into the model its config describes
    (resuming it is in test_train.py)."""
    run = tmp_path / "old"
    shutil.copytree(OLD_RUN, run)
    config = runs.load_config(run)
    model = build_model(config, digits_x, steps_per_epoch=17)
    meta, arrays = load_checkpoint(str(run), model)
    assert (meta["epoch"], meta["step"]) == (2, 0)
    assert meta["n_model"] == len(model.variables) and arrays == {}
    with np.load(run / runs.CHECKPOINT) as archive:
        stored = [archive[f"model_{i}"] for i in range(meta["n_model"])]
        recorded = json.loads(archive["meta"].tobytes().decode())
    for value, var in zip(stored, model.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(var), value)
    assert [row["epoch"] for row in recorded["rows"]] == [1, 2]


# -- a hand-edited meta record (issue 18) --------------------------------------


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"epoch": "2"}, "'epoch' is \"2\", not a number of epochs"),
        ({"epoch": True}, "'epoch' is true, not a number of epochs"),
        ({"step": -1}, "'step' is -1, not a number of steps"),
        ({"n_model": 1.5}, "'n_model' is 1.5, not a number of variables"),
        ({"n_optimizer": None}, "'n_optimizer' is null, not a number of variables"),
        ({"rows": {"epoch": 1}}, "'rows' is {\"epoch\": 1}, not a list of history"),
        ({"rows": [1]}, "'rows' entry 0 is 1, not a history row"),
        ({"rows": [{"unit_kl": "x"}]}, '\'rows\' entry 0 is {"unit_kl": "x"}'),
        ({"best": "low"}, "'best' is \"low\", not a number"),
        ({"best_epoch": -2}, "'best_epoch' is -2, not an epoch or null"),
        ({"wait": [1]}, "'wait' is [1], not a number of epochs"),
        ({"early_stopped": 1}, "'early_stopped' is 1, not true or false"),
        ({"collapse_warned": "no"}, "'collapse_warned' is \"no\", not true or false"),
        ({"collapsed": 2.5}, "'collapsed' is 2.5, not a number of epochs"),
        ({"n_model": "drop"}, "'n_model' is missing"),
    ],
)
def test_a_hand_edited_meta_record_is_refused_naming_the_key(tmp_path, change, problem):
    """Each key the callbacks read back, of the wrong kind (or a required one
    missing): a RunFolderError naming the file and the key, not a TypeError
    deep in the resumed run."""
    model = _model()
    meta = {
        "epoch": 1,
        "step": 0,
        "rows": [{"epoch": 1, "loss": 2.5, "unit_kl": [0.1]}],
    }
    save_checkpoint(str(tmp_path), model, meta)
    path = tmp_path / runs.CHECKPOINT
    with np.load(path) as archive:
        arrays = dict(archive)
    stored = json.loads(arrays["meta"].tobytes().decode())
    stored.update(change)
    stored = {k: v for k, v in stored.items() if v != "drop"}
    arrays["meta"] = np.frombuffer(json.dumps(stored).encode(), np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(RunFolderError) as info:
        load_checkpoint(str(tmp_path), model)
    assert str(info.value).startswith(
        f"checkpoint {str(path)!r} is damaged: its meta record's {problem}"
    )
    assert str(info.value).endswith("; it cannot be resumed: train a new run")


def test_a_resume_needs_the_epoch_and_step(tmp_path):
    model = _model()
    save_checkpoint(str(tmp_path), model, {"rows": []})
    assert load_checkpoint(str(tmp_path), model)[0]["rows"] == []
    with pytest.raises(RunFolderError, match="'epoch' is missing"):
        load_checkpoint(str(tmp_path), model, required=("epoch", "step"))


def test_the_previous_releases_meta_record_passes_the_checks():
    from vaekit.training.checkpoint import check_meta

    with np.load(os.path.join(OLD_RUN, runs.CHECKPOINT)) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
    assert check_meta(meta, required=("epoch", "step")) is None
