"""vaekit.training.tracking and mlflow_log: `vaekit train --mlflow [URI]`
against a real MLflow tracking server (started once for this module, as a
subprocess on a free port) and the local default store, read back with
MLflow's own client: the settings as parameters, one metric per epoch,
the held-out metrics, the run folder's files as artifacts, and a resume
that continues the same MLflow run. A server that does not answer, or
mlflow not installed, is one line and exit status 2 before anything is
written. (TensorBoard's event files are test_tensorboard_log.py's.)
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from tests.cli.conftest import refused
from tests.helpers import TINY_RUN_ARGS
from vaekit import config as config_lib
from vaekit import runs
from vaekit.training import mlflow_log, tracking

pytest.importorskip("mlflow")

SERVER_START_SECONDS = 120


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URI of an MLflow tracking server of this module (a SQLite store
    and served artifacts in a temporary folder), stopped at its end."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{root}/mlflow.db"]
    command += ["--artifacts-destination", str(root / "artifacts")]
    log = open(root / "server.log", "w")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: uvicorn dies with it
        env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(uri + "/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((root / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _client(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def _steps(client, run_id, key):
    return [metric.step for metric in client.get_metric_history(run_id, key)]


def _artifacts(client, run_id, folder=None):
    return sorted(a.path for a in client.list_artifacts(run_id, folder))


def _train(cli, *args):
    """`vaekit train` of the session's tiny run (a resume: of `args` alone)."""
    tiny = [] if "--resume" in args else TINY_RUN_ARGS
    result = cli(["train", *tiny, *args, "--quiet"])
    assert result.returncode == 0, result.stderr
    return result


def test_a_run_is_logged_to_a_server_and_a_resume_continues_it(cli, server, tmp_path):
    run = tmp_path / "R"
    result = _train(cli, "--output", run, "--mlflow", server)
    record = json.loads((run / runs.MLFLOW).read_text())
    assert record["tracking_uri"] == server
    run_id = record["run_id"]
    client = _client(server)
    logged = client.get_run(run_id)
    page = f"{server}/#/experiments/{logged.info.experiment_id}/runs/{run_id}"
    assert f"vaekit: MLflow run {run_id} in {page}\n" in result.stderr
    assert "View run" not in result.stdout  # MLflow's own line
    assert logged.info.status == "FINISHED" and logged.info.run_name == "R"
    # every setting, as config.toml has it
    assert set(logged.data.params) == set(config_lib.FIELDS)
    assert logged.data.params["hidden_dims"] == "8"
    assert logged.data.params["latent_dim"] == "2"
    assert logged.data.params["tensorboard"] == "false"
    # one value per epoch of every history column; the held-out metrics
    history = runs.read_history(run)
    assert _steps(client, run_id, "loss") == [1, 2]
    values = [m.value for m in client.get_metric_history(run_id, "val_loss")]
    np.testing.assert_allclose(values, history["val_loss"], rtol=1e-6)
    columns = set(history) - {"epoch"}
    assert columns >= {"loss", "kl", "val_kl", "active_units", "kl_0", "kl_1"}
    metrics = json.loads((run / runs.METRICS).read_text())
    final = {k for k, v in metrics.items() if not isinstance(v, str)}
    assert set(logged.data.metrics) == columns | {f"eval_{k}" for k in final}
    assert logged.data.metrics["eval_elbo"] == pytest.approx(metrics["elbo"])
    assert _steps(client, run_id, "eval_elbo") == [2]
    assert logged.data.tags["eval_split"] == "validation"
    # the run folder's files
    files = sorted([*mlflow_log.ARTIFACTS, runs.PLOTS])
    assert _artifacts(client, run_id) == files
    assert "plots/samples.png" in _artifacts(client, run_id, "plots")

    # resumed to 4 epochs: the same MLflow run, epochs 3 and 4 added
    _train(cli, "--resume", run, "--epochs", "4", "--mlflow", server)
    assert json.loads((run / runs.MLFLOW).read_text())["run_id"] == run_id
    resumed = client.get_run(run_id)
    assert resumed.info.status == "FINISHED"
    assert _steps(client, run_id, "loss") == [1, 2, 3, 4]
    assert _steps(client, run_id, "kl_1") == [1, 2, 3, 4]
    assert _steps(client, run_id, "eval_elbo") == [2, 4]
    # parameters cannot change: the new epochs is a tag
    assert resumed.data.params["epochs"] == "2"
    assert resumed.data.tags["config.epochs"] == "4"
    assert len(client.search_runs([logged.info.experiment_id])) == 1


def test_the_callback_logs_a_plain_fit(server, digits_x):
    """`MLflowLogger` in a notebook's `VAE.fit`: its parameters once, the
    epoch's logs at steps 1 and 2, and the MLflow run ended with `fit`."""
    import keras

    from vaekit import VAE

    keras.utils.set_random_seed(0)
    model = VAE(latent_dim=2, hidden_dims=[8], seed=0)
    model.compile(optimizer="adam")
    logger = mlflow_log.MLflowLogger(
        server, params={"latent_dim": 2, "hidden_dims": (8,)}, run_name="notebook"
    )
    model.fit(digits_x[:256], epochs=2, batch_size=64, verbose=0, callbacks=[logger])
    client = _client(server)
    logged = client.get_run(logger.run_id)
    assert logged.info.status == "FINISHED" and logged.info.run_name == "notebook"
    assert logged.data.params == {"latent_dim": "2", "hidden_dims": "8"}
    assert _steps(client, logger.run_id, "loss") == [1, 2]
    assert set(logged.data.metrics) == {"loss", "reconstruction", "kl"}


def test_an_unreachable_server_is_one_line_before_anything_is_written(cli, tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"
    line = refused(cli(["train", *TINY_RUN_ARGS, "--mlflow", uri]), cwd=tmp_path)
    assert f"--mlflow '{uri}': no MLflow tracking server answers there" in line
    line = refused(
        cli(["train", *TINY_RUN_ARGS, "--mlflow", "http://no-such-host.invalid"])
    )
    assert "no MLflow tracking server answers there" in line
    assert os.listdir(tmp_path) == []


def test_without_mlflow_installed_it_says_how_to_install_it(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    line = refused(cli(["train", *TINY_RUN_ARGS, "--mlflow"]), cwd=tmp_path)
    assert line.endswith(
        'needs the mlflow package, which is not installed: pip install "vaekit[track]"'
    )


def test_without_a_uri_runs_go_to_a_local_store_beside_the_run_folder(cli, tmp_path):
    _train(cli, "--output", "runs/R", "--mlflow")
    store = tmp_path / "runs" / "mlflow.db"
    record = json.loads((tmp_path / "runs" / "R" / runs.MLFLOW).read_text())
    assert record["tracking_uri"] == f"sqlite:///{store}"
    client = _client(record["tracking_uri"])
    assert _steps(client, record["run_id"], "loss") == [1, 2]
    experiment = client.get_experiment_by_name(mlflow_log.EXPERIMENT)
    assert experiment.artifact_location == f"file://{tmp_path}/runs/mlartifacts"
    stored = tmp_path / "runs" / "mlartifacts" / record["run_id"] / "artifacts"
    assert (stored / runs.MODEL).is_file() and (stored / "plots").is_dir()
    # nothing in the folder it ran from but the runs
    assert sorted(os.listdir(tmp_path)) == ["runs"]
    assert sorted(os.listdir(tmp_path / "runs")) == ["R", "mlartifacts", "mlflow.db"]


def test_the_tracking_uri_of_a_run(tmp_path):
    (tmp_path / "R").mkdir()
    local = f"sqlite:///{tmp_path}/mlflow.db"
    assert tracking.tracking_uri("http://h:5000", tmp_path / "R") == "http://h:5000"
    assert tracking.tracking_uri(True, str(tmp_path / "R")) == local
    assert tracking.tracking_uri("", resume=str(tmp_path / "R")) == local
    default = "sqlite:///" + os.path.abspath(os.path.join("runs", "mlflow.db"))
    assert tracking.tracking_uri(True) == default
    (tmp_path / "R" / runs.MLFLOW).write_text('{"tracking_uri": "http://h:1"}')
    assert tracking.tracking_uri(True, resume=str(tmp_path / "R")) == "http://h:1"


def test_parameters_are_text_of_at_most_500_characters():
    params = mlflow_log.params_of(
        config_lib.Config(hidden_dims=(64, 32), data="x" * 600, clipnorm=None)
    )
    assert set(params) == set(config_lib.FIELDS)
    assert params["hidden_dims"] == "64,32" and params["clipnorm"] == "none"
    assert params["distribute"] == "false" and params["epochs"] == "400"
    assert len(params["data"]) == 500 and params["data"].endswith("...")
