"""Readers of binary array files: MNIST-style IDX files (optionally
gzipped), `.npy` and `.npz`, each bounded before it is read.

A file's header declares the size of its array. Before anything is
allocated for it, that size is checked against the bytes the file can
hold and against this machine's memory (`vaekit.resources`), and the
payload is then read into an array of exactly that size, never past it:

- an IDX file must hold exactly the bytes its header declares; a gzipped
  one is decompressed as a stream into the declared array, so a file that
  expands past its header (a decompression bomb) is refused after reading
  one byte more than declared, and one that declares more than a `.gz` of
  its size can hold (deflate expands at most `MAX_DEFLATE_RATIO`-fold) is
  refused before anything is read;
- a `.npy` file must be at least as long as its header says (it is read a
  batch at a time where it can be, see `vaekit.data.diskarray`);
- a `.npz` member's header must match the uncompressed size the archive
  declares for it, which its stored bytes must be able to hold.

An array read whole is scaled to a float32 copy afterwards, so it needs
`1 + 4 / itemsize` times its size in memory (`SCALED_COPY` for bytes); a
file that would need more than this machine has is refused with one line
that says how much. Every other way a file is corrupt ends in a
`DataError` that names it; nothing is ever unpickled.
"""

import gzip
import math
import os
import zipfile
import zlib

import numpy as np

from vaekit import resources
from vaekit.data.diskarray import check_npy_size, npy_header, open_npy
from vaekit.errors import DataError

__all__ = [
    "IDX_NAMES",
    "MAX_DEFLATE_RATIO",
    "read_idx",
    "read_idx_folder",
    "read_npy",
    "read_npz",
]

IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
NPY_MAGIC = b"\x93NUMPY"
# DEFLATE (gzip, zip) expands at most about 1032-fold: a file of n
# compressed bytes holds at most this many times n.
MAX_DEFLATE_RATIO = 1032
_SLACK = 1024  # headers and trailers of a compressed stream
_READ_BYTES = 1 << 20  # bytes decompressed per step


def _check_memory(path, shape, dtype, already=0):
    """Refuses an array of `shape` and `dtype` (read whole, then scaled to
    float32) that cannot fit in memory beside `already` bytes."""
    count = math.prod(shape)
    nbytes = count * dtype.itemsize + count * resources.FLOAT_BYTES
    shown = "x".join(map(str, shape)) or "scalar"
    others = ", with the arrays before it," if already else ""
    resources.check_fits(
        already + nbytes,
        f"{path}: the {shown} {dtype} array its header declares "
        f"({resources.size_text(count * dtype.itemsize)}){others} read and "
        "scaled to float32,",
        hint="use a smaller file, or save the examples as a .npy file, which "
        "is read a batch at a time",
        error=DataError,
    )
    return already + nbytes


# -- IDX ------------------------------------------------------------------


def _idx_header(handle, path):
    """Reads the magic number and the dimensions; returns the shape."""
    magic = handle.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = magic[3]
    raw = handle.read(4 * ndim)
    if ndim == 0 or len(raw) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    return tuple(int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in range(ndim))


def _check_idx_size(path, shape, gz):
    """Refuses a declared payload the file cannot hold, before reading."""
    size = math.prod(shape)
    stored = os.path.getsize(path) - 4 - 4 * len(shape)
    if gz and size > MAX_DEFLATE_RATIO * stored + _SLACK:
        raise DataError(
            f"{path}: its header declares {shape} ({size} bytes), more than a "
            f".gz file of {stored + 4 + 4 * len(shape)} bytes can hold; the file "
            "is truncated or corrupt"
        )
    if not gz and stored != size:
        raise DataError(
            f"{path}: IDX payload has {stored} bytes, header says {size} "
            f"(shape {shape}); the file is truncated or corrupt"
        )


def _read_payload(handle, path, shape):
    """Reads exactly the declared bytes into a new array, then one more to
    refuse a file that holds (or expands to) more."""
    out = np.empty(math.prod(shape), dtype=np.uint8)
    view, done = memoryview(out), 0
    while done < len(out):
        got = handle.readinto(view[done : done + _READ_BYTES])
        if not got:
            raise DataError(
                f"{path}: IDX payload has {done} bytes, header says {len(out)} "
                f"(shape {shape}); the file is truncated or corrupt"
            )
        done += got
    if handle.read(1):
        raise DataError(
            f"{path}: holds more than the {len(out)} bytes its header declares "
            f"(shape {shape}); the file is corrupt (or a decompression bomb)"
        )
    return out.reshape(shape)


def read_idx(path):
    """Reads one IDX file of unsigned bytes (optionally gzipped) into a
    numpy array, bounded as the module docstring says.

    Raises:
        DataError: if the file is unreadable, not IDX, truncated, holds
            more than its header declares, or would not fit in memory.
    """
    try:
        with open(path, "rb") as probe:
            gz = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gz else open(path, "rb") as handle:
            shape = _idx_header(handle, path)
            _check_idx_size(path, shape, gz)
            _check_memory(path, shape, np.dtype(np.uint8))
            return _read_payload(handle, path, shape)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile: OSError
        raise DataError(f"{path}: cannot read IDX file ({exc})") from None


def _find_idx(folder, stem):
    # Some mirrors spell the names with a dot: train-images.idx3-ubyte.
    for base in (stem, stem.replace("-idx", ".idx")):
        for name in (base, base + ".gz"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def read_idx_folder(folder):
    """A folder with MNIST-style IDX files: train images (required), train
    labels, t10k images and labels (optional). None if it has no train
    images."""
    paths = {key: _find_idx(folder, stem) for key, stem in IDX_NAMES.items()}
    if paths["x_train"] is None:
        return None
    return {key: (read_idx(path), path) for key, path in paths.items() if path}


# -- numpy files --------------------------------------------------------------


def _read_array(read, path, what):
    """Runs `read()` (an `np.load` or an npz member access) and turns every
    way a corrupt file fails inside numpy into a DataError."""
    try:
        x = read()
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"{path}: holds pickled Python objects, which vaekit never loads "
                f"(unsafe); save {what} instead"
            ) from None
        raise DataError(f"{path}: corrupt or truncated ({exc})") from None
    except MemoryError:
        raise DataError(
            f"{path}: the header declares an array too large for memory; the file "
            "is corrupt"
        ) from None
    # numpy's header parser and zlib raise many types on corrupt bytes
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{path}: corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(x, np.ndarray):
        raise DataError(f"{path}: corrupt: a member is not a .npy array")
    return x


def read_npy(path):
    """A `.npy` file: one array of examples, read a batch at a time where
    it can be (see `vaekit.data.diskarray`), else whole once its header
    has been checked against the file's size and this machine's memory.

    Raises:
        DataError: if it is not a `.npy` file, is shorter than its header
            says, holds Python objects, or would not fit in memory.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
    except OSError as exc:
        raise DataError(f"{path}: cannot read .npy file ({exc})") from None
    if magic != NPY_MAGIC:
        raise DataError(
            f"{path}: not a .npy file (no NUMPY magic bytes); save arrays with "
            "numpy.save"
        )
    x = open_npy(path)  # read a batch at a time, never whole
    if x is None:
        header = npy_header(path)
        if header is not None:  # else numpy.load names what is wrong
            check_npy_size(path, header)
            if not header[2].hasobject:
                _check_memory(path, header[0], header[2])
        x = _read_array(
            lambda: np.load(path, allow_pickle=False), path, "a numeric array"
        )
    return {"x_train": (x, path)}


def _member_header(archive, name, source):
    """The `(shape, fortran, dtype)` a `.npz` member's header declares,
    checked against the uncompressed size the archive declares for it and
    the bytes it stores; None where numpy cannot parse it."""
    names = archive.zip.namelist()
    info = archive.zip.getinfo(name + ".npy" if name + ".npy" in names else name)
    with archive.zip.open(info) as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        except Exception:  # noqa: BLE001  numpy raises many types on a bad header
            return None
        offset = handle.tell()
    if dtype.hasobject:
        return None  # numpy refuses it (vaekit never unpickles)
    shape = tuple(int(s) for s in shape)
    declared = offset + math.prod(shape) * dtype.itemsize
    if info.compress_type == zipfile.ZIP_STORED:
        most = info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        most = MAX_DEFLATE_RATIO * info.compress_size + _SLACK
    else:
        most = math.inf  # bzip2, lzma: no useful bound
    if declared != info.file_size or declared > most:
        raise DataError(
            f"{source}: corrupt or truncated (its header declares {shape} "
            f"{dtype} values, {declared} bytes; the archive declares "
            f"{info.file_size} bytes and stores {info.compress_size})"
        )
    return shape, fortran, dtype


def _open_npz(path):
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{path}: not a .npz file (not a zip archive, or truncated); save "
            "arrays with numpy.savez"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    # zipfile raises many types on corrupt archives (NotImplementedError for
    # a garbled version field, ...)
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{path}: not a valid .npz file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: not a valid .npz file (no archive of arrays)")
    return archive


def _npz_names(archive, path):
    keys = set(archive.files)
    if "x_train" in keys:
        return {k: k for k in IDX_NAMES if k in keys}
    if "x" in keys:
        return {"x_train": "x", "y_train": "y"} if "y" in keys else {"x_train": "x"}
    raise DataError(
        f"{path}: expected arrays x_train (and x_test, y_train, y_test) or "
        f"x (and y); found {sorted(keys)}"
    )


def read_npz(path):
    """A `.npz` archive with `x_train` (and `x_test`, `y_train`, `y_test`),
    or `x` (and `y`). Each member's header is checked against the sizes the
    archive declares for it, and all of them together against this
    machine's memory, before any is read.

    Raises:
        DataError: if it is not a `.npz` archive, lacks the arrays, a
            member is corrupt, truncated or pickled, or they would not fit
            in memory.
    """
    archive = _open_npz(path)
    with archive:
        names = _npz_names(archive, path)
        needed = 0
        for name in names.values():
            source = f"{path}[{name}]"
            try:
                header = _member_header(archive, name, source)
            except DataError:
                raise
            # zipfile raises many types on a corrupt member (NotImplementedError
            # for an unknown compression, RuntimeError if encrypted, ...)
            except Exception as exc:  # noqa: BLE001
                raise DataError(
                    f"{source}: corrupt or truncated ({type(exc).__name__}: {exc})"
                ) from None
            if header is not None:
                needed = _check_memory(source, header[0], header[2], needed)
        parts = {}
        for key, name in names.items():
            source = f"{path}[{name}]"
            member = _read_array(
                lambda name=name: archive[name], source, "numeric arrays"
            )
            parts[key] = (member, source)
    return parts
