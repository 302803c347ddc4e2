"""Atomic file output: every file vaekit writes appears whole or not at all.

A writer fills a temporary file in the destination's folder, which is
flushed and fsync'ed, then renamed over the destination (`os.replace` is
atomic on POSIX and Windows), so a crash or Ctrl-C at any instant leaves
either the old file or the new one.
"""

import contextlib
import csv
import json
import os
import tempfile

__all__ = [
    "atomic_path",
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
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


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


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


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
