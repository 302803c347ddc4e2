"""vaekit.training.tensorboard_log: the `tensorboard` setting's event files,
read back with TensorBoard's own reader (`EventAccumulator`): a scalar per
history column per epoch, the held-out metrics and the run's pictures as
images, a resume that appends each epoch once, an event file cut short by
a crash, and the same files from every Keras backend without TensorFlow or
PyTorch loaded by the writer.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import TINY_RUN_ARGS
from tests.training.common import WORKERS
from vaekit import runs
from vaekit.training.callbacks import HistoryFile
from vaekit.training.tensorboard_log import TensorBoardLog, logged_steps

pytest.importorskip("tensorboard")


def _events(logdir):
    """TensorBoard's reader of `logdir`, every value kept."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    reader = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0})
    reader.Reload()
    return reader


def _steps(reader, tag):
    return [event.step for event in reader.Scalars(tag)]


def test_a_run_writes_its_history_metrics_and_pictures_and_a_resume_appends(
    cli, tmp_path
):
    run = tmp_path / "R"
    argv = ["train", *TINY_RUN_ARGS, "--tensorboard", "--output", run]
    assert cli(argv).returncode == 0
    logdir = run / runs.TENSORBOARD
    reader = _events(logdir)
    tags = reader.Tags()
    history = runs.read_history(run)
    columns = set(history) - {"epoch"}
    metrics = json.loads((run / runs.METRICS).read_text())
    final = {f"eval_{k}" for k, v in metrics.items() if not isinstance(v, str)}
    assert set(tags["scalars"]) == columns | final
    for column in columns:
        assert _steps(reader, column) == [1, 2], column
    assert [e.value for e in reader.Scalars("loss")] == pytest.approx(
        list(history["loss"]), rel=1e-6
    )
    assert _steps(reader, "eval_elbo") == [2]
    assert reader.Scalars("eval_elbo")[0].value == pytest.approx(metrics["elbo"])
    assert {"pictures/samples", "pictures/reconstructions"} <= set(tags["images"])
    samples = reader.Images("pictures/samples")
    assert [image.step for image in samples] == [2]
    with open(run / runs.PLOTS / "samples.png", "rb") as handle:
        assert samples[0].encoded_image_string == handle.read()
    assert samples[0].width > 0 and samples[0].height > 0

    # the setting is in config.toml: a resume keeps it and appends a file
    result = cli(["train", "--resume", run, "--epochs", "4", "--quiet"])
    assert result.returncode == 0, result.stderr
    assert len(os.listdir(logdir)) == 2
    reader = _events(logdir)
    assert _steps(reader, "loss") == [1, 2, 3, 4]
    assert _steps(reader, "kl_1") == [1, 2, 3, 4]
    assert _steps(reader, "eval_elbo") == [2, 4]
    assert [image.step for image in reader.Images("pictures/samples")] == [2, 4]
    # overwrite replaces a run folder with event files (vaekit's own)
    argv = ["train", *TINY_RUN_ARGS, "--epochs", "1", "--output", run, "--overwrite"]
    assert cli(argv).returncode == 0
    assert not os.path.exists(logdir)


def test_each_tag_is_logged_once_per_step_after_a_crash_mid_record(tmp_path):
    """A writer killed mid-record leaves a partial record: the next writer
    reads what came before it, and logs the rest once."""
    history = HistoryFile(str(tmp_path))
    history.rows = [{"epoch": 1, "loss": 3.0}, {"epoch": 2, "loss": 2.0}]
    first = TensorBoardLog(tmp_path / "tb", history)
    first.on_train_begin()
    first.end()
    (name,) = os.listdir(tmp_path / "tb")
    with open(tmp_path / "tb" / name, "ab") as handle:
        handle.write(b"\x30\x00\x00\x00\x00\x00\x00\x00\x01\x02")  # cut short
    assert logged_steps(tmp_path / "tb") == {("loss", 1), ("loss", 2)}
    history.rows.append({"epoch": 3, "loss": 1.0, "unit_kl": [0.5, 0.25]})
    second = TensorBoardLog(tmp_path / "tb", history)
    second.on_train_begin()
    second.end()
    assert logged_steps(tmp_path / "tb") == {
        ("loss", 1),
        ("loss", 2),
        ("loss", 3),
        ("kl_0", 3),
        ("kl_1", 3),
    }
    reader = _events(tmp_path / "tb")
    assert _steps(reader, "loss") == [1, 2, 3]
    assert [e.value for e in reader.Scalars("kl_1")] == [0.25]


@pytest.mark.backends
def test_every_backend_writes_them_without_tensorflow_or_torch(tmp_path):
    """A plain `fit` with `TensorBoardLog` and `MLflowLogger` on each
    backend (tracking_worker.py, one process each): two epochs of scalars
    and an MLflow run; on JAX, neither TensorFlow nor PyTorch is loaded."""
    from mlflow.tracking import MlflowClient

    processes = {
        backend: subprocess.Popen(
            [
                sys.executable,
                os.path.join(WORKERS, "tracking_worker.py"),
                tmp_path / backend,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, KERAS_BACKEND=backend),
        )
        for backend in ("jax", "tensorflow", "torch")
    }
    for backend, process in processes.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
        if backend == "jax":
            assert result["loaded"] == []
        reader = _events(tmp_path / backend / "tensorboard")
        assert set(reader.Tags()["scalars"]) == {"loss", "reconstruction", "kl"}
        assert _steps(reader, "loss") == [1, 2], backend
        client = MlflowClient(f"sqlite:///{tmp_path / backend}/mlflow.db")
        history = client.get_metric_history(result["run_id"], "loss")
        assert [metric.step for metric in history] == [1, 2], backend
        assert client.get_run(result["run_id"]).data.params == {"backend": backend}
