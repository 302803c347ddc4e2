"""Examples read from a `.npy` file on disk, a batch at a time.

`DiskArray` stands for the float32 array of examples that `vaekit.data`
would load from a `.npy` file, without loading it: `len`, `shape`, slicing
and indexing with an integer array (a shuffled batch) read just the rows
asked for, scaled to float32 as `vaekit.data.to_float` scales them. Training
batches, evaluation and scoring index it a batch at a time, so data larger
than memory trains, evaluates and scores in memory that does not grow with
it (benchmarks/memory.py).

Rows are read with `os.pread` rather than through a memory map: pages of a
map that have been read count toward the process's resident memory until
the kernel needs them back, so a map of a file larger than memory looks,
and can act, like loading it; the page cache that `pread` fills is the
kernel's, shared and dropped first.
"""

import math
import os

import numpy as np

from vaekit.errors import DataError, InvalidArgument

__all__ = ["CHUNK_BYTES", "DiskArray", "check_npy_size", "npy_header", "open_npy"]

CHUNK_BYTES = 1 << 25  # bytes per read of a pass over the whole file


def npy_header(path):
    """The header of the `.npy` file at `path`: `(shape, fortran_order,
    dtype, data_offset)`, or None where numpy cannot parse it (then
    `numpy.load` names what is wrong).

    Raises:
        DataError: if the file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            offset = handle.tell()
    except OSError as exc:
        raise DataError(f"{path}: cannot read .npy file ({exc})") from None
    except Exception:  # noqa: BLE001  numpy raises many types on a bad header
        return None
    return tuple(int(s) for s in shape), fortran, dtype, offset


def check_npy_size(path, header):
    """Refuses a `.npy` file shorter than the array its header declares
    (before anything is allocated for it).

    Raises:
        DataError: naming the declared shape and both sizes.
    """
    shape, _, dtype, offset = header
    if dtype.hasobject:
        return  # numpy.load refuses it (vaekit never unpickles)
    size = os.path.getsize(path)
    needed = offset + math.prod(shape) * dtype.itemsize
    if size < needed:
        raise DataError(
            f"{path}: corrupt or truncated (its header declares {shape} "
            f"{dtype} values, {needed} bytes, but the file holds {size})"
        )


def open_npy(path):
    """A `DiskArray` of the `.npy` file at `path`, or None where the file
    cannot be read row by row (Fortran order, a non-numeric or object dtype,
    a single row or value): those are loaded whole by `numpy.load`, which
    also gives their errors.

    Raises:
        DataError: if the file is shorter than its header says.
    """
    header = npy_header(path)
    if header is None:
        return None  # numpy.load names what is wrong
    shape, fortran, dtype, offset = header
    if (
        fortran
        or dtype.hasobject
        or dtype.kind not in "biuf"
        or len(shape) < 2
        or 0 in shape
    ):
        return None
    check_npy_size(path, header)
    return DiskArray(path, offset, shape, dtype)


class DiskArray:
    """The examples of a `.npy` file as float32, read on demand.

    Indexing (`x[i]`, `x[a:b]`, `x[indices]`) returns float32 numpy arrays
    scaled as `vaekit.data.to_float` scales the file's dtype (integers
    0..255 by 1/255); `take` and `binarized` return other `DiskArray`s (a
    subset of rows, a seeded Bernoulli draw of every value) without reading
    anything. `np.asarray(x)` reads it all.

    Args:
        path: The `.npy` file.
        offset: Byte offset of the data after the header.
        shape: The stored shape, `(n, ...)`.
        dtype: The stored numpy dtype.
        rows: The file's rows this array holds, in order (default: all).
        shape_: The shape of one example as seen (default: as stored).
        binarize_seed: None, or the seed of a Bernoulli draw of each value
            (each row's draw is seeded by `(seed, row in the file)`, so it
            does not depend on which other rows are read with it).
    """

    def __init__(
        self, path, offset, shape, dtype, rows=None, shape_=None, binarize_seed=None
    ):
        self.path = os.fspath(path)
        self.offset = int(offset)
        self.stored_shape = tuple(shape)
        self.stored_dtype = np.dtype(dtype)
        self.rows = rows
        self.example_shape = tuple(shape_ or self.stored_shape[1:])
        self.binarize_seed = binarize_seed
        self.row_bytes = math.prod(self.stored_shape[1:]) * self.stored_dtype.itemsize
        self._range = None

    def _with(self, **changes):
        fields = {
            "rows": self.rows,
            "shape_": self.example_shape,
            "binarize_seed": self.binarize_seed,
        }
        fields.update(changes)
        array = DiskArray(
            self.path, self.offset, self.stored_shape, self.stored_dtype, **fields
        )
        if changes.keys() <= {"shape_"}:
            array._range = self._range
        return array

    # -- array-like ------------------------------------------------------

    dtype = np.dtype("float32")

    def __len__(self):
        return self.stored_shape[0] if self.rows is None else len(self.rows)

    @property
    def shape(self):
        return (len(self), *self.example_shape)

    @property
    def ndim(self):
        return 1 + len(self.example_shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __repr__(self):
        return f"DiskArray({self.path!r}, shape={self.shape})"

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            index = int(key)
            if not -len(self) <= index < len(self):
                raise IndexError(f"row {index} out of range for {len(self)} rows")
            return self._read(np.array([index % len(self)]))[0]
        if isinstance(key, slice):
            return self._read(np.arange(*key.indices(len(self))))
        if isinstance(key, tuple):  # rows first, then numpy on what was read
            if not key or key[0] is Ellipsis:
                return self[:][key]
            rows = self[key[0]]
            if isinstance(key[0], (int, np.integer)):
                return rows[key[1:]]
            return rows[(slice(None), *key[1:])]
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.dtype.kind not in "iu":
            raise TypeError(f"rows must be integers, got {index.dtype}")
        index = index.astype(np.int64)
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(f"rows out of range for {len(self)} rows")
        return self._read(index % max(len(self), 1))

    def __array__(self, dtype=None, copy=None):
        x = self[:]
        return x if dtype is None else x.astype(dtype)

    def chunks(self, rows=None):
        """Yields `(start, x[start:start + rows])` over the whole array; by
        default rows of about `CHUNK_BYTES` bytes."""
        rows = rows or max(1, CHUNK_BYTES // max(self.row_bytes, 1))
        for start in range(0, len(self), rows):
            yield start, self[start : start + rows]

    # -- views -----------------------------------------------------------

    def take(self, indices):
        """The rows `indices` (ints) as a `DiskArray`, read later."""
        indices = np.asarray(indices, dtype=np.int64)
        rows = indices if self.rows is None else self.rows[indices]
        return self._with(rows=rows)

    def reshape(self, shape):
        """The same rows with examples of shape `shape[1:]` (same size)."""
        shape = tuple(shape)
        if shape[0] not in (-1, len(self)) or math.prod(shape[1:]) != math.prod(
            self.example_shape
        ):
            raise InvalidArgument(f"cannot reshape {self.shape} to {shape}")
        return self._with(shape_=shape[1:])

    def binarized(self, seed):
        """A Bernoulli draw of every value, seeded by `(seed, file row)`."""
        if self.binarize_seed is not None:
            raise InvalidArgument("already binarized")
        return self._with(binarize_seed=int(seed))

    # -- checks ----------------------------------------------------------

    def check(self, source):
        """Reads the whole file once, in chunks, and refuses what
        `vaekit.data.to_float` refuses: integers outside 0..255, NaN or
        infinite floats. Keeps the range for `min` and `max`.

        Raises:
            DataError: naming `source`.
        """
        low, high, bad = math.inf, -math.inf, 0
        for _, chunk in self._raw_chunks():
            if chunk.size == 0:
                continue
            if self.stored_dtype.kind == "f":
                finite = np.isfinite(chunk)
                bad += int(chunk.size - finite.sum())
                chunk = chunk[finite]
                if chunk.size == 0:
                    continue
            low = min(low, float(chunk.min()))
            high = max(high, float(chunk.max()))
        kind = self.stored_dtype.kind
        if bad:
            raise DataError(
                f"{source}: {bad} values are NaN or infinite; remove or impute them"
            )
        if kind in "iu" and (low < 0 or high > 255):
            raise DataError(
                f"{source}: integer data must lie in 0..255 (8-bit images), got "
                f"{low:g}..{high:g}; scale it to floats yourself"
            )
        if kind == "f" and max(-low, high) > float(np.finfo(np.float32).max):
            raise DataError(
                f"{source}: values beyond float32's range ({low:g}..{high:g}); "
                "rescale them"
            )
        scale = 1 / 255 if kind in "iu" else 1.0
        self._range = (np.float32(low * scale), np.float32(high * scale))
        return self

    def min(self):
        return self._checked_range()[0]

    def max(self):
        return self._checked_range()[1]

    def _checked_range(self):
        if self._range is None:
            self.check(self.path)
        if self.binarize_seed is not None:
            return (np.float32(0.0), np.float32(1.0))
        return self._range

    # -- reading ---------------------------------------------------------

    def _raw_chunks(self):
        """`(start, raw stored values)` over the file's rows, in chunks."""
        rows = max(1, CHUNK_BYTES // max(self.row_bytes, 1))
        count = len(self)
        for start in range(0, count, rows):
            index = np.arange(start, min(start + rows, count))
            yield start, self._read_raw(self._file_rows(index))

    def _file_rows(self, index):
        return index if self.rows is None else self.rows[index]

    def _read_raw(self, file_rows):
        """The stored values of `file_rows` (in that order), one `pread` per
        run of consecutive rows."""
        out = np.empty((len(file_rows), *self.stored_shape[1:]), self.stored_dtype)
        if len(file_rows) == 0:
            return out
        flat = out.reshape(len(file_rows), -1).view(np.uint8)
        order = np.argsort(file_rows, kind="stable")
        wanted = file_rows[order]
        # Runs of consecutive (sorted) rows: one read each.
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        starts = np.concatenate([[0], breaks])
        stops = np.concatenate([breaks, [len(wanted)]])
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
                nbytes = (b - a) * self.row_bytes
                start = self.offset + int(wanted[a]) * self.row_bytes
                data = os.pread(fd, nbytes, start)
                if len(data) != nbytes:
                    raise DataError(f"{self.path}: truncated while reading")
                flat[order[a:b]] = np.frombuffer(data, np.uint8).reshape(b - a, -1)
        finally:
            os.close(fd)
        return out

    def _read(self, index):
        file_rows = self._file_rows(index)
        raw = self._read_raw(file_rows)
        kind = self.stored_dtype.kind
        if kind in "iu":
            x = (raw.astype(np.float32) / 255.0).astype(np.float32)
        else:
            x = raw.astype(np.float32)
        x = x.reshape((len(index), *self.example_shape))
        if self.binarize_seed is not None:
            for i, row in enumerate(file_rows.tolist()):
                rng = np.random.default_rng([self.binarize_seed, row])
                x[i] = rng.random(self.example_shape, dtype=np.float32) < x[i]
        return x
