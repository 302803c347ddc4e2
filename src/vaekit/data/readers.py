"""Readers of the user's data files: `.npy`, `.npz`, `.csv`, a folder of
MNIST-style IDX files, a folder of PNG/JPEG images.

Each reader returns the raw arrays it found, as a dict that maps the parts
of a dataset (`x_train`, `y_train`, `x_test`, `y_test`) to `(array,
source)`, where `source` names the file (or archive member) for messages;
`vaekit.data.datasets` scales and checks them. CSV tables are read by
`vaekit.data.tables`. Every way a file can be unreadable, truncated or
corrupt ends in a `DataError` that names it; nothing is ever unpickled.
"""

import gzip
import math
import os
import zipfile
import zlib

import numpy as np

from vaekit.data.csvfile import read_csv
from vaekit.data.diskarray import open_npy
from vaekit.errors import DataError

__all__ = [
    "IDX_NAMES",
    "IMAGE_SUFFIXES",
    "read_idx",
    "read_idx_folder",
    "read_image_folder",
    "read_npy",
    "read_npz",
    "read_path",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_NPY_MAGIC = b"\x93NUMPY"


# -- IDX ------------------------------------------------------------------


def _open_maybe_gz(path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Reads one IDX file (optionally gzipped) into a numpy array."""
    try:
        with _open_maybe_gz(path) as handle:
            raw = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(dims)
    if len(raw) - header != size:
        raise DataError(
            f"{path}: IDX payload has {len(raw) - header} bytes, header says {size} "
            f"(shape {dims}); the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


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


# -- image folders ------------------------------------------------------------


def _read_image(path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = "L" if img.mode in ("L", "1", "I;16", "I", "LA") else "RGB"
            return np.asarray(img.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read image ({exc})") from None
    # Pillow's decoders raise many other types on corrupt bytes
    # (DecompressionBombError, struct.error, zlib.error, ...)
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{path}: cannot read image ({type(exc).__name__}: {exc})"
        ) from None


def read_image_folder(folder):
    """A folder of PNG/JPEG images, flat or with one sub-folder per class
    (labels 0, 1, ... in the sorted order of the sub-folders). All images
    must have the same size; greyscale stays one channel unless mixed with
    colour. None if it holds no images."""
    entries = sorted(os.listdir(folder))
    classes = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    paths, labels = [], []
    if classes:
        for label, cls in enumerate(classes):
            for name in sorted(os.listdir(os.path.join(folder, cls))):
                if name.lower().endswith(IMAGE_SUFFIXES):
                    paths.append(os.path.join(folder, cls, name))
                    labels.append(label)
    else:
        paths = [
            os.path.join(folder, e)
            for e in entries
            if e.lower().endswith(IMAGE_SUFFIXES)
        ]
    if not paths:
        return None
    images = [_read_image(path) for path in paths]
    if any(im.ndim == 3 for im in images):
        images = [
            np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im for im in images
        ]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise DataError(
            f"{folder}: images have different sizes {sorted(shapes)[:3]}; resize them "
            "to one size first"
        )
    parts = {"x_train": (np.stack(images), folder)}
    if classes:
        parts["y_train"] = (np.asarray(labels, dtype=np.int64), folder)
    return parts


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
    """A `.npy` file: one array of examples."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise DataError(f"{path}: cannot read .npy file ({exc})") from None
    if magic != _NPY_MAGIC:
        raise DataError(
            f"{path}: not a .npy file (no NUMPY magic bytes); save arrays with "
            "numpy.save"
        )
    x = open_npy(path)  # read a batch at a time, never whole
    if x is None:
        x = _read_array(
            lambda: np.load(path, allow_pickle=False), path, "a numeric array"
        )
    return {"x_train": (x, path)}


def read_npz(path):
    """A `.npz` archive with `x_train` (and `x_test`, `y_train`, `y_test`),
    or `x` (and `y`)."""
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
    with archive:
        keys = set(archive.files)
        if "x_train" in keys:
            names = {k: k for k in IDX_NAMES if k in keys}
        elif "x" in keys:
            names = (
                {"x_train": "x", "y_train": "y"} if "y" in keys else {"x_train": "x"}
            )
        else:
            raise DataError(
                f"{path}: expected arrays x_train (and x_test, y_train, y_test) or "
                f"x (and y); found {sorted(keys)}"
            )
        parts = {}
        for key, name in names.items():
            source = f"{path}[{name}]"
            member = _read_array(
                lambda name=name: archive[name], source, "numeric arrays"
            )
            parts[key] = (member, source)
    return parts


# -- any path -----------------------------------------------------------------


def _not_a_table(path):
    return DataError(f"columns apply to tables (CSV files); {path} is not one")


def read_path(path, label_column=None, columns=None, missing="error", schema=None):
    """Reads an existing file or folder by its kind (see the module
    docstring). `label_column`, `columns`, `missing` and `schema` are
    `read_csv`'s; other formats ignore `missing` and refuse the others
    (`label_column` aside).

    Raises:
        DataError: if it is unreadable, of an unknown kind, or corrupt, or
            if `columns` or `schema` is given for something else than a CSV
            file.
    """
    table_only = columns is not None or schema is not None
    if os.path.isdir(path):
        if table_only:
            raise _not_a_table(path)
        parts = read_idx_folder(path) or read_image_folder(path)
        if parts is None:
            raise DataError(
                f"folder {path!r} holds neither MNIST-style IDX files "
                "(train-images-idx3-ubyte[.gz], ...) nor PNG/JPEG images"
            )
        return parts
    if not os.access(path, os.R_OK):
        raise DataError(f"data file {path!r} is not readable (permissions)")
    if os.path.getsize(path) == 0:
        raise DataError(f"data file {path!r} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".csv":
        return read_csv(path, label_column, columns, missing, schema)
    if table_only:
        raise _not_a_table(path)
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        return read_npz(path)
    if suffix in IMAGE_SUFFIXES or suffix == ".gz" or "idx" in os.path.basename(path):
        raise DataError(
            f"data {path!r}: pass the folder that holds the images or IDX files"
        )
    raise DataError(
        f"data file {path!r} has an unknown format: use .npy, .npz, .csv, a folder of "
        "IDX files or a folder of images"
    )
