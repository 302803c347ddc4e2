"""Experiment tracking: a training run logged to MLflow (`vaekit train
--mlflow [URI]`, `train(config, mlflow=URI)`) and to TensorBoard event files
(the `tensorboard` setting, see `vaekit.training.tensorboard_log`).

In a run of `train`, `vaekit.training.mlflow_log.MLflowLogger` logs the
run's settings as parameters, each epoch's row of `history.csv` as metrics
(step = the epoch, 1-based: `loss`, `val_loss`, `active_units`, `kl_0`,
...), then the held-out metrics (`eval_elbo`, `eval_log_likelihood`, ...)
and the run folder's files as artifacts (config.toml, history.csv,
metrics.json, model.keras, train_scores.npz, report.html, plots/).

`RUN/mlflow.json` records the tracking URI and the MLflow run's id, so that
`vaekit train --resume RUN --mlflow` continues the same MLflow run, logging
only the epochs it lacks. Without a URI, runs go to a local SQLite store
beside the run folder (`runs/mlflow.db`, artifacts in `runs/mlartifacts/`),
MLflow's own default kind of store (its plain file store is deprecated):
`mlflow ui --backend-store-uri sqlite:///runs/mlflow.db` shows them.

mlflow is an optional extra (`pip install "vaekit[track]"`), imported only
when a run is tracked; an http(s) server is asked once, with a short
timeout, before anything is trained or written. Logging that fails during
training warns once and stops, and training goes on (the run folder holds
everything; a resume with `--mlflow` logs what is missing).
"""

import http.client
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request

from vaekit import checks, io, runs
from vaekit.errors import InvalidArgument
from vaekit.training.mlflow_log import MLflowLogger
from vaekit.training.signals import TrainingInterrupted
from vaekit.training.tensorboard_log import TensorBoardLog, require_tensorboard

__all__ = ["end", "log_final", "prepare", "start", "tracking_uri"]

logger = logging.getLogger("vaekit")

STORE = "mlflow.db"  # the local default store, beside the run folder
TIMEOUT = 5.0  # seconds to wait for a tracking server's first answer
INSTALL = 'pip install "vaekit[track]"'


def _require_mlflow():
    if not checks.installed("mlflow"):
        raise InvalidArgument(
            f"--mlflow needs the mlflow package, which is not installed: {INSTALL}"
        )


def _record(run):
    """`RUN/mlflow.json` as a dict, or None."""
    try:
        with open(runs.path(run, runs.MLFLOW), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _local_store(folder):
    return "sqlite:///" + os.path.join(os.path.abspath(folder), STORE)


def tracking_uri(mlflow, output=None, resume=None):
    """The MLflow tracking URI of a run: `mlflow` if it is a URI; with True
    or "", the one resumed run `resume` recorded, else a SQLite store in the
    run folder's parent folder (`runs/mlflow.db` by default)."""
    if isinstance(mlflow, str) and mlflow:
        return mlflow
    if resume is not None:
        record = _record(resume) or {}
        if isinstance(record.get("tracking_uri"), str):
            return record["tracking_uri"]
        return _local_store(os.path.dirname(os.path.abspath(resume)))
    return _local_store(os.path.dirname(os.path.abspath(output)) if output else "runs")


def _check_server(uri, timeout=TIMEOUT):
    """Refuses an http(s) tracking URI where no server answers (any HTTP
    answer will do: the server is there)."""
    if urllib.parse.urlsplit(uri).scheme not in ("http", "https"):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InvalidArgument(
            f"--mlflow {uri!r}: no MLflow tracking server answers there ({reason}): "
            "start one (mlflow server --host HOST --port PORT), check the address, "
            "or pass --mlflow without a URI for a local store beside the run folder"
        ) from None


def prepare(config, mlflow=None, output=None, resume=None):
    """Checks the run's trackers before anything is read or written: the
    packages they need, and that an http(s) tracking server answers.

    Args:
        config: The run's `Config` (its `tensorboard` setting).
        mlflow: None (no MLflow), True or "" (the default store), or a
            tracking URI.
        output, resume: The run's output folder and resumed run folder.

    Returns:
        The MLflow tracking URI, or None.

    Raises:
        ConfigError: for the tensorboard setting without its package.
        InvalidArgument: for --mlflow without mlflow, or an unreachable URI.
    """
    if config.tensorboard:
        require_tensorboard()
    if mlflow is None or mlflow is False:
        return None
    _require_mlflow()
    uri = tracking_uri(mlflow, output, resume)
    _check_server(uri)
    return uri


def _mlflow_logger(run, uri, config, history):
    """The MLflow logger of run folder `run`, its MLflow run started (or
    continued, as `RUN/mlflow.json` says) and recorded there."""
    record = _record(run) or {}
    same = record.get("tracking_uri") == uri
    tracker = MLflowLogger(
        uri,
        config,
        run_name=os.path.basename(os.path.abspath(run)),
        run_id=record.get("run_id") if same else None,
        history=history,
        end_run=False,
    )
    run_id = tracker.start()
    io.write_json(runs.path(run, runs.MLFLOW), {"tracking_uri": uri, "run_id": run_id})
    logger.info("MLflow run %s in %s", run_id, tracker.address() or uri)
    return tracker


def start(run, config, uri, history):
    """The trackers of run folder `run` (Keras callbacks to run after its
    checkpoint), the MLflow run started: an `MLflowLogger` with a tracking
    URI `uri` (see `prepare`), a `TensorBoardLog` with the tensorboard
    setting. `history` is the run's `HistoryFile`."""
    trackers = []
    if uri is not None:
        trackers.append(_mlflow_logger(run, uri, config, history))
    if config.tensorboard:
        logdir = runs.path(run, runs.TENSORBOARD)
        trackers.append(TensorBoardLog(logdir, history))
    return trackers


def log_final(trackers, run, metrics):
    """Each tracker's last logs: the held-out metrics, the pictures, the
    files."""
    for tracker in trackers:
        tracker.log_final(run, metrics)


def end(trackers, error=None):
    """Ends the trackers: FINISHED, or KILLED on an interruption, FAILED on
    another `error`."""
    status = "FINISHED"
    if error is not None:
        interrupted = isinstance(error, (TrainingInterrupted, KeyboardInterrupt))
        status = "KILLED" if interrupted else "FAILED"
    for tracker in trackers:
        tracker.end(status)
