"""Atomic file output: every file vaekit writes appears whole or not at all.

A writer fills a temporary file in the destination's folder, which is
flushed and fsync'ed, then renamed over the destination (`os.replace` is
atomic on POSIX and Windows), so a crash or Ctrl-C at any instant leaves
either the old file or the new one. `quiet_loggers` keeps what other
libraries log while they write for vaekit (converters, tracking stores) from
reaching the user.
"""

import contextlib
import csv
import json
import logging
import math
import os
import re
import tempfile

__all__ = [
    "atomic_path",
    "create_new",
    "is_temporary",
    "json_text",
    "quiet_loggers",
    "save_figure",
    "save_model",
    "save_npy",
    "save_npz",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success renames it to
    `path`, on any exception removes it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(path)
    stem, suffix = os.path.splitext(base)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    # mkstemp makes the file private (0600); give it the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if exc.errno is not None and exc.filename in (None, tmp):
            # A full disk or a quota names no file, or the temporary one:
            # say which file could not be written.
            raise OSError(exc.errno, exc.strerror or str(exc), path) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def is_temporary(name, of):
    """Whether file name `name` is a temporary file that `atomic_path` makes
    for one of the file names `of` (`.config.k2j4x8_q.tmp.toml` for
    `config.toml`), which a crash may leave behind."""
    for file in of:
        stem, suffix = os.path.splitext(file)
        pattern = rf"\.{re.escape(stem)}\.[a-z0-9_]+\.tmp{re.escape(suffix)}\Z"
        if re.match(pattern, name):
            return True
    return False


def create_new(path, text):
    """Creates file `path` holding `text` if no file of that name exists, in
    one step (`O_EXCL`): of several processes doing so at once, one alone
    succeeds. Returns False if it existed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def _fsync_dir(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes(path, data):
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def write_csv(path, header, rows):
    """Writes a table as CSV: the `header` line, then one line per row, each
    number with 7 significant digits (all of a float32), strings as they are.

    Args:
        path: The file to write.
        header: The column names.
        rows: An iterable of rows (e.g. a 2-D array), each as long as `header`.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(
            [value if isinstance(value, str) else f"{value:.7g}" for value in row]
            for row in rows
        )


def _finite(value, where, not_finite):
    """`value` with every float that is not finite replaced by None, its
    text recorded in `not_finite` under its place (`key`, `key.inner`,
    `key[0]`)."""
    if isinstance(value, float) and not math.isfinite(value):
        not_finite[where] = repr(value)
        return None
    if isinstance(value, dict):
        return {
            k: _finite(v, f"{where}.{k}" if where else str(k), not_finite)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_finite(v, f"{where}[{i}]", not_finite) for i, v in enumerate(value)]
    return value


def json_text(obj, indent=None):
    """`obj` as strict JSON text, which has no NaN or infinity: such a
    value becomes null and, when `obj` is a dict, its text is added under
    `not_finite` (`{"elbo": "nan"}`), the reason of the null.

    Raises:
        ValueError: if `obj` is not a dict and holds a value that is not
            finite (there is no place to say why it became null).
    """
    not_finite = {}
    clean = _finite(obj, "", not_finite)
    if not_finite:
        if not isinstance(clean, dict):
            raise ValueError(f"values that are not finite: {not_finite}")
        clean["not_finite"] = not_finite
    return json.dumps(clean, indent=indent, sort_keys=True, allow_nan=False)


def write_json(path, obj):
    """Writes `obj` as strict JSON (see `json_text`)."""
    write_text(path, json_text(obj, indent=2) + "\n")


def save_npy(path, array):
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def save_npz(path, **arrays):
    """`numpy.savez` of `arrays` through a temporary file.

    Raises:
        ValueError: for an array of Python objects, which only a pickle
            could store (readers load with `allow_pickle=False`).
    """
    import numpy as np

    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"Cannot store objects without pickle. Received: {name}")
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def save_model(model, path):
    """`model.save` through a temporary `.keras` file."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def save_figure(figure, path, **kwargs):
    """Saves a matplotlib figure atomically, in the format of `path`."""
    fmt = os.path.splitext(path)[1].lstrip(".") or "png"
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=fmt, **kwargs)


@contextlib.contextmanager
def quiet_loggers(names, level=logging.ERROR):
    """While it lasts, the loggers `names` pass only records of `level` and
    above; their levels are restored after."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(level)
    try:
        yield
    finally:
        for each, saved in zip(loggers, levels, strict=True):
            each.setLevel(saved)
