"""TensorBoard event files of a training run (the `tensorboard` setting):
`RUN/tensorboard/` gets each epoch's row of `history.csv` as scalars (step
= the epoch, 1-based, tags = the history's columns: `loss`, `val_loss`,
`kl_0`, ...) and, at the end, the held-out metrics (`eval_elbo`, ...) and
vaekit's pictures of the run (`pictures/samples`, `pictures/reconstructions`,
...) as images: `tensorboard --logdir RUN/tensorboard` shows them.

The files are written with TensorBoard's own protocol buffers
(`tensorboard.compat.proto`) in its record format, and nothing else: no
TensorFlow and no PyTorch, so they are written alike on every Keras backend,
and the `tensorboard` package (the `track` extra) is all they need.
(`keras.callbacks.TensorBoard` needs TensorFlow; `tensorboard.summary.Writer`
writes scalars only, through a file writer that imports TensorFlow where it
is installed; `torch.utils.tensorboard` needs PyTorch; tensorboardX would be
one more package.)

A resumed run appends a new event file to the same folder and logs only
what the folder lacks (each tag at each step once), read back from the
event files already there, so that the event files hold each epoch once
however the run was interrupted.
"""

import os
import socket
import struct
import time

import keras

from vaekit import checks, runs
from vaekit.errors import ConfigError
from vaekit.training.callbacks import eval_metrics, row_metrics

__all__ = ["PICTURES", "TensorBoardLog", "logged_steps", "require_tensorboard"]

# The run's pictures logged as images at the end (see vaekit.viz.run_pictures).
PICTURES = tuple(name for name in runs.OWN_PICTURES if name.endswith(".png"))
# PNG colour types (byte 25 of the file) -> TensorBoard's colorspace.
_COLORSPACES = {0: 1, 4: 2, 2: 3, 6: 4}


def require_tensorboard():
    """Checks that the `tensorboard` package is installed, without importing
    it.

    Raises:
        ConfigError: if it is not, saying how to install it.
    """
    if not checks.installed("tensorboard"):
        raise ConfigError(
            "the tensorboard setting needs the tensorboard package, which is not "
            'installed: pip install "vaekit[track]", or leave tensorboard off'
        )


def _crc(data):
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    return masked_crc32c(data)


def _records(path):
    """The records of a TFRecord file (an event file), up to the first
    incomplete one (a writer killed mid-record)."""
    with open(path, "rb") as handle:
        data = handle.read()
    at = 0
    while at + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        end = at + 12 + length + 4
        if end > len(data):
            return
        yield data[at + 12 : at + 12 + length]
        at = end


def logged_steps(logdir):
    """`{(tag, step)}`: every value the event files in `logdir` hold (an
    empty set without any)."""
    from tensorboard.compat.proto import event_pb2

    found = set()
    if not os.path.isdir(logdir):
        return found
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if not name.startswith(runs.EVENTS_PREFIX) or not os.path.isfile(path):
            continue
        for record in _records(path):
            try:
                event = event_pb2.Event.FromString(record)
            except Exception:  # a damaged record: what it held is not logged
                continue
            found.update((value.tag, event.step) for value in event.summary.value)
    return found


def _png_size(data):
    """`(height, width, colorspace)` of PNG bytes, from their header."""
    width, height = struct.unpack(">II", data[16:24])
    return height, width, _COLORSPACES.get(data[25], 4)


class TensorBoardLog(keras.callbacks.Callback):
    """Writes TensorBoard event files into `logdir`: each epoch's metrics as
    scalars, and (`log_final`) the held-out metrics and the run's pictures.

    Args:
        logdir: The folder of the event files (`RUN/tensorboard`).
        history: The run's `vaekit.training.callbacks.HistoryFile`, whose rows
            are logged (with the latent diagnostics); without one, each
            epoch's `logs`.
    """

    def __init__(self, logdir, history=None):
        super().__init__()
        self.logdir = os.fspath(logdir)
        self.history = history
        self.file = None
        self.logged = set()  # (tag, step)

    def open(self):
        """Opens a new event file in `logdir`, after reading what the
        folder's files hold already."""
        if self.file is not None:
            return
        from tensorboard.compat.proto import event_pb2

        os.makedirs(self.logdir, exist_ok=True)
        self.logged = logged_steps(self.logdir)
        # Readers take a folder's event files in the order of their names:
        # the time, then how many came before (a resume in the same second).
        earlier = sum(
            name.startswith(runs.EVENTS_PREFIX) for name in os.listdir(self.logdir)
        )
        name = (
            f"{runs.EVENTS_PREFIX}{int(time.time()):010d}.{earlier:04d}."
            f"{socket.gethostname()}.{os.getpid()}"
        )
        self.file = open(os.path.join(self.logdir, name), "ab")
        self._write(
            event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        )

    def _write(self, event):
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self.file.write(header + struct.pack("<I", _crc(header)))
        self.file.write(data + struct.pack("<I", _crc(data)))

    def _log(self, step, scalars=None, images=None):
        """Writes one event of the values not yet logged at `step`:
        `scalars` `{tag: number}`, `images` `{tag: PNG bytes}`."""
        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = []
        for tag, number in (scalars or {}).items():
            if (tag, step) not in self.logged:
                values.append(summary_pb2.Summary.Value(tag=tag, simple_value=number))
        for tag, png in (images or {}).items():
            if (tag, step) not in self.logged:
                height, width, colorspace = _png_size(png)
                image = summary_pb2.Summary.Image(
                    height=height,
                    width=width,
                    colorspace=colorspace,
                    encoded_image_string=png,
                )
                values.append(summary_pb2.Summary.Value(tag=tag, image=image))
        if values:
            summary = summary_pb2.Summary(value=values)
            self._write(
                event_pb2.Event(wall_time=time.time(), step=step, summary=summary)
            )
            self.logged.update((value.tag, step) for value in values)
        self.file.flush()

    def _catch_up(self):
        """Logs the history rows the event files lack (those of the epochs
        before a resume)."""
        for row in self.history.rows if self.history is not None else ():
            self._log(int(row["epoch"]), row_metrics(row))

    def on_train_begin(self, logs=None):
        self.open()
        self._catch_up()

    def on_epoch_end(self, epoch, logs=None):
        self.open()
        if self.history is not None and self.history.rows:
            row = self.history.rows[-1]
        else:
            row = dict(logs or {}, epoch=epoch + 1)
        self._log(int(row["epoch"]), row_metrics(row))

    def log_final(self, run, metrics):
        """Logs the held-out `metrics` and the pictures in `RUN/plots` at the
        step of the last epoch trained."""
        self.open()
        self._catch_up()
        rows = self.history.rows if self.history is not None else []
        step = int(rows[-1]["epoch"]) if rows else 0
        images = {}
        for name in PICTURES:
            path = os.path.join(runs.path(run, runs.PLOTS), name)
            if runs.is_own(runs.path(run, runs.PLOTS), name, PICTURES):
                with open(path, "rb") as handle:
                    images[f"pictures/{name[:-4]}"] = handle.read()
        self._log(step, eval_metrics(metrics), images)

    def end(self, status="FINISHED"):
        """Closes the event file (`status` is for the trackers' interface)."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.flush()
