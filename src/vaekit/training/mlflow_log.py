"""`MLflowLogger`: a Keras callback that logs training to an MLflow run
(see `vaekit.training.tracking`, which starts one for a run of `train`).

It logs parameters once (a `Config`'s settings, as text of at most
`PARAM_LENGTH` characters), then each epoch's metrics at step `epoch + 1`:
the row of the run's `history.csv` (`loss`, `val_loss`, `active_units`,
`kl_0`, ...), or Keras' `logs` in a plain `fit`. `log_final` adds the
held-out metrics (`eval_elbo`, ...) and the run folder's files as
artifacts. It talks to MLflow through `mlflow.tracking.MlflowClient` (no
global active run), imported when it starts.
"""

import contextlib
import io
import logging
import os
import time
import warnings

import keras

from vaekit import runs
from vaekit.errors import InvalidArgument, VaekitWarning
from vaekit.io import quiet_loggers
from vaekit.training.callbacks import eval_metrics, row_metrics

__all__ = ["ARTIFACTS", "EXPERIMENT", "MLflowLogger", "params_of"]

EXPERIMENT = "vaekit"  # the MLflow experiment of vaekit's runs
ARTIFACT_STORE = "mlartifacts"  # a local SQLite store's artifacts, beside it
PARAM_LENGTH = 500  # the longest parameter value older MLflow servers take
# The run folder's files logged as artifacts at the end (and PLOTS).
ARTIFACTS = (
    runs.CONFIG,
    runs.HISTORY,
    runs.METRICS,
    runs.MODEL,
    runs.TRAIN_SCORES,
    runs.REPORT,
)


def _text(value):
    """A parameter value as MLflow stores it: text, at most PARAM_LENGTH."""
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    elif isinstance(value, bool):
        value = "true" if value else "false"
    value = "none" if value is None else str(value)
    return value if len(value) <= PARAM_LENGTH else value[: PARAM_LENGTH - 3] + "..."


def params_of(config):
    """Every setting of a `Config` (or a dict) as MLflow parameter text."""
    if config is None:
        return {}
    values = config if isinstance(config, dict) else config.to_dict()
    return {str(k): _text(v) for k, v in values.items()}


def _quiet_store():
    """MLflow's INFO lines while it creates a SQLite store's tables go."""
    names = ("mlflow.store.db.utils", "alembic.runtime.migration", "alembic")
    return quiet_loggers(names, logging.WARNING)


def _artifact_location(uri):
    """Where a new experiment of a local SQLite store keeps its artifacts
    (beside the store, not in the current folder); None elsewhere."""
    if not uri or not uri.startswith("sqlite:///"):
        return None
    folder = os.path.dirname(os.path.abspath(uri[len("sqlite:///") :]))
    return "file://" + os.path.join(folder, ARTIFACT_STORE)


class MLflowLogger(keras.callbacks.Callback):
    """Logs training to an MLflow run: parameters once, each epoch's
    metrics at step `epoch + 1`.

    Args:
        tracking_uri: The tracking server or store (default: MLflow's,
            `$MLFLOW_TRACKING_URI` or `sqlite:///mlflow.db`).
        params: A `Config` or a dict, logged as parameters.
        run_name: The MLflow run's name.
        experiment: The MLflow experiment (made if missing).
        run_id: An MLflow run to continue instead of starting one.
        history: A `vaekit.training.callbacks.HistoryFile` whose rows are
            logged (with the latent diagnostics) instead of `logs`.
        end_run: End the MLflow run when `fit` ends (`train` ends it after
            its final phase instead).
    """

    def __init__(
        self,
        tracking_uri=None,
        params=None,
        run_name=None,
        experiment=EXPERIMENT,
        run_id=None,
        history=None,
        end_run=True,
    ):
        super().__init__()
        self.tracking_uri = tracking_uri
        self.run_params = params_of(params)  # (Keras' callbacks have `params`)
        self.run_name, self.experiment = run_name, experiment
        self.run_id, self.history, self.end_run = run_id, history, end_run
        self.client = None
        self.experiment_id = None
        self.logged = set()  # the steps (epochs) logged
        self.failed = False

    def start(self):
        """Connects, starts (or continues) the MLflow run and logs the
        parameters it lacks; returns the run's id.

        Raises:
            InvalidArgument: if MLflow refuses (naming the tracking URI).
        """
        if self.client is not None:
            return self.run_id
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            with _quiet_store():
                client = MlflowClient(self.tracking_uri)
                run = self._continued(client) or self._new(client)
                self.run_id = run.info.run_id
                self.experiment_id = run.info.experiment_id
                self._log_params(client, run)
                history = client.get_metric_history(self.run_id, "loss")
        except MlflowException as exc:
            where = self.tracking_uri or "the default tracking URI"
            raise InvalidArgument(
                f"MLflow at {where!r} refused the run: {exc.message}"
            ) from None
        self.logged = {metric.step for metric in history}
        self.client = client
        return self.run_id

    def _continued(self, client):
        """The MLflow run `run_id`, set running again; None if there is
        none (or it was deleted)."""
        from mlflow.exceptions import MlflowException

        if self.run_id is None:
            return None
        try:
            run = client.get_run(self.run_id)
        except MlflowException:
            return None
        if run.info.lifecycle_stage != "active":
            return None
        if run.info.status != "RUNNING":
            client.update_run(self.run_id, status="RUNNING")
        return run

    def _new(self, client):
        from mlflow.exceptions import MlflowException

        found = client.get_experiment_by_name(self.experiment)
        if found is None:
            location = _artifact_location(client.tracking_uri)
            try:
                experiment_id = client.create_experiment(self.experiment, location)
            except MlflowException:  # made by another run meanwhile
                experiment_id = client.get_experiment_by_name(self.experiment)
                experiment_id = experiment_id.experiment_id
        else:
            experiment_id = found.experiment_id
        return client.create_run(experiment_id, run_name=self.run_name)

    def _log_params(self, client, run):
        """Logs the parameters the run lacks; a setting a resume changed
        (epochs) keeps its first value and gets the tag `config.<name>`
        (MLflow's parameters cannot change)."""
        from mlflow.entities import Param, RunTag

        have = run.data.params
        params = [Param(k, v) for k, v in self.run_params.items() if k not in have]
        tags = [
            RunTag(f"config.{k}", v)
            for k, v in self.run_params.items()
            if k in have and have[k] != v
        ]
        if params or tags:
            client.log_batch(self.run_id, params=params, tags=tags)

    def _safely(self, what, log):
        """Runs `log()`; a failure warns once and stops the logging."""
        if self.failed or self.client is None:
            return
        try:
            log()
        except Exception as exc:  # a tracker never stops the training
            self.failed = True
            warnings.warn(
                f"MLflow logging stopped ({what}: {type(exc).__name__}: {exc}); "
                "training goes on and the run folder holds everything: resume it "
                "with --mlflow to log what is missing",
                VaekitWarning,
                stacklevel=3,
            )

    def _log_rows(self, rows):
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        metrics = [
            Metric(key, value, stamp, int(row["epoch"]))
            for row in rows
            if int(row["epoch"]) not in self.logged
            for key, value in row_metrics(row).items()
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)
        self.logged.update(int(row["epoch"]) for row in rows)

    def on_train_begin(self, logs=None):
        self.start()
        if self.history is not None:
            self._safely(
                "the earlier epochs", lambda: self._log_rows(self.history.rows)
            )

    def on_epoch_end(self, epoch, logs=None):
        if self.history is not None and self.history.rows:
            row = self.history.rows[-1]
        else:
            row = dict(logs or {}, epoch=epoch + 1)
        self._safely(f"epoch {epoch + 1}", lambda: self._log_rows([row]))

    def on_train_end(self, logs=None):
        if self.end_run:
            self.end()

    def log_final(self, run, metrics):
        """Logs the held-out `metrics` (at the step of the last epoch) and
        the run folder's files as artifacts."""
        self.start()
        rows = self.history.rows if self.history is not None else []
        self._safely("the earlier epochs", lambda: self._log_rows(rows))
        step = int(rows[-1]["epoch"]) if rows else 0
        self._safely("the held-out metrics", lambda: self._log_eval(metrics, step))
        self._safely("the run's files", lambda: self._log_files(run))

    def _log_eval(self, metrics, step):
        from mlflow.entities import Metric, RunTag

        values = eval_metrics(metrics)
        if not values:
            return
        first = next(iter(values))
        if any(
            m.step == step for m in self.client.get_metric_history(self.run_id, first)
        ):
            return  # logged by the final phase of an earlier try
        stamp = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, v, stamp, step) for k, v in values.items()],
            tags=[RunTag("eval_split", str(metrics.get("split", "")))],
        )

    def _log_files(self, run):
        for name in ARTIFACTS:
            if runs.is_own(run, name, (name,)):
                self.client.log_artifact(self.run_id, runs.path(run, name))
        plots = runs.path(run, runs.PLOTS)
        if os.path.isdir(plots) and not os.path.islink(plots):
            self.client.log_artifacts(self.run_id, plots, runs.PLOTS)

    def end(self, status="FINISHED"):
        """Ends the MLflow run with `status` (FINISHED, FAILED, KILLED).
        MLflow's line with the run's address on stdout is kept for a plain
        `fit` (`end_run`); `train` names the run on stderr as it starts."""

        def terminate():
            quiet = contextlib.nullcontext() if self.end_run else _no_stdout()
            with quiet:
                self.client.set_terminated(self.run_id, status)

        self._safely("the run's end", terminate)

    def address(self):
        """The run's page on an http(s) tracking server, else None."""
        uri = self.tracking_uri or ""
        if not uri.startswith(("http://", "https://")) or self.run_id is None:
            return None
        return (
            f"{uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"
        )


@contextlib.contextmanager
def _no_stdout():
    with contextlib.redirect_stdout(io.StringIO()):
        yield
