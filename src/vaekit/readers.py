"""Readers of the user's data files: `.npy`, `.npz`, `.csv`, a folder of
MNIST-style IDX files, a folder of PNG/JPEG images.

Each reader returns the raw arrays it found, as a dict that maps the parts
of a dataset (`x_train`, `y_train`, `x_test`, `y_test`) to `(array,
source)`, where `source` names the file (or archive member) for messages;
`vaekit.data` scales and checks them. Every way a file can be unreadable,
truncated or corrupt ends in a `VaekitError` that names it; nothing is ever
unpickled.
"""

import csv
import gzip
import math
import os
import zipfile
import zlib

import numpy as np

from vaekit import VaekitError

__all__ = [
    "IDX_NAMES",
    "IMAGE_SUFFIXES",
    "read_csv",
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
        raise VaekitError(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise VaekitError(
            f"{path}: not an IDX file of unsigned bytes (bad magic number)"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise VaekitError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(dims)
    if len(raw) - header != size:
        raise VaekitError(
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
        raise VaekitError(f"{path}: cannot read image ({exc})") from None
    # Pillow's decoders raise many other types on corrupt bytes
    # (DecompressionBombError, struct.error, zlib.error, ...)
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
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
        raise VaekitError(
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
    way a corrupt file fails inside numpy into a VaekitError."""
    try:
        x = read()
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise VaekitError(
                f"{path}: holds pickled Python objects, which vaekit never loads "
                f"(unsafe); save {what} instead"
            ) from None
        raise VaekitError(f"{path}: corrupt or truncated ({exc})") from None
    except MemoryError:
        raise VaekitError(
            f"{path}: the header declares an array too large for memory; the file "
            "is corrupt"
        ) from None
    # numpy's header parser and zlib raise many types on corrupt bytes
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
            f"{path}: corrupt or truncated ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(x, np.ndarray):
        raise VaekitError(f"{path}: corrupt: a member is not a .npy array")
    return x


def read_npy(path):
    """A `.npy` file: one array of examples."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise VaekitError(f"{path}: cannot read .npy file ({exc})") from None
    if magic != _NPY_MAGIC:
        raise VaekitError(
            f"{path}: not a .npy file (no NUMPY magic bytes); save arrays with "
            "numpy.save"
        )
    x = _read_array(lambda: np.load(path, allow_pickle=False), path, "a numeric array")
    return {"x_train": (x, path)}


def read_npz(path):
    """A `.npz` archive with `x_train` (and `x_test`, `y_train`, `y_test`),
    or `x` (and `y`)."""
    if not zipfile.is_zipfile(path):
        raise VaekitError(
            f"{path}: not a .npz file (not a zip archive, or truncated); save "
            "arrays with numpy.savez"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    # zipfile raises many types on corrupt archives (NotImplementedError for
    # a garbled version field, ...)
    except Exception as exc:  # noqa: BLE001
        raise VaekitError(
            f"{path}: not a valid .npz file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise VaekitError(f"{path}: not a valid .npz file (no archive of arrays)")
    with archive:
        keys = set(archive.files)
        if "x_train" in keys:
            names = {k: k for k in IDX_NAMES if k in keys}
        elif "x" in keys:
            names = (
                {"x_train": "x", "y_train": "y"} if "y" in keys else {"x_train": "x"}
            )
        else:
            raise VaekitError(
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


# -- CSV ----------------------------------------------------------------------


def _label_index(path, label_column, header, width):
    if header is not None and label_column in header:
        index = header.index(label_column)
    elif str(label_column).lstrip("-").isdigit():
        index = int(label_column)
    else:
        raise VaekitError(
            f"{path}: no label column {label_column!r}; columns are "
            f"{header if header else list(range(width))}"
        )
    if not -width <= index < width:
        raise VaekitError(f"{path}: label column {index} out of range 0..{width - 1}")
    return index


def read_csv(path, label_column=None):
    """A numeric CSV, with or without a header row. `label_column` (a header
    name or a 0-based index) is taken out as labels."""
    try:
        with open(path, newline="") as handle:
            rows = [
                row for row in csv.reader(handle) if row and any(c.strip() for c in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VaekitError(f"{path}: cannot read CSV ({exc})") from None
    if not rows:
        raise VaekitError(f"{path}: the CSV file is empty")
    header = None
    try:
        [float(c) for c in rows[0]]
    except ValueError:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    if not rows:
        raise VaekitError(f"{path}: the CSV file has a header but no data rows")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            line = i + (2 if header else 1)
            raise VaekitError(
                f"{path}: line {line} has {len(row)} columns, expected {width} "
                "(ragged rows)"
            )
    try:
        table = np.array([[float(c) for c in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise VaekitError(f"{path}: non-numeric value in CSV ({exc})") from None
    if label_column is None:
        return {"x_train": (table, path)}
    index = _label_index(path, label_column, header, width)
    labels = table[:, index]
    table = np.delete(table, index, axis=1)
    if table.shape[1] == 0:
        raise VaekitError(f"{path}: no feature columns besides the label")
    return {"x_train": (table, path), "y_train": (labels, path)}


# -- any path -----------------------------------------------------------------


def read_path(path, label_column=None):
    """Reads an existing file or folder by its kind (see the module
    docstring).

    Raises:
        VaekitError: if it is unreadable, of an unknown kind, or corrupt.
    """
    if os.path.isdir(path):
        parts = read_idx_folder(path) or read_image_folder(path)
        if parts is None:
            raise VaekitError(
                f"folder {path!r} holds neither MNIST-style IDX files "
                "(train-images-idx3-ubyte[.gz], ...) nor PNG/JPEG images"
            )
        return parts
    if not os.access(path, os.R_OK):
        raise VaekitError(f"data file {path!r} is not readable (permissions)")
    if os.path.getsize(path) == 0:
        raise VaekitError(f"data file {path!r} is empty")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        return read_npz(path)
    if suffix == ".csv":
        return read_csv(path, label_column)
    if suffix in IMAGE_SUFFIXES or suffix == ".gz" or "idx" in os.path.basename(path):
        raise VaekitError(
            f"data {path!r}: pass the folder that holds the images or IDX files"
        )
    raise VaekitError(
        f"data file {path!r} has an unknown format: use .npy, .npz, .csv, a folder of "
        "IDX files or a folder of images"
    )
