"""Folders of PNG/JPEG images, read at their full depth.

A folder holds images (flat), or one sub-folder per class (labels 0, 1,
... in the sorted order of the sub-folders, whose names are the class
names, `label_names`). Entries whose name starts with a dot are skipped; an
image beside the class sub-folders, or a class sub-folder without images,
is refused. 8-bit images come as uint8 (scaled by `vaekit.data.prepare`);
16-bit ones (greyscale, RGB, RGBA) are read at full depth, each image
scaled to [0, 1] by its own maximum (255 or 65535), and the whole folder
comes as float32 then. Greyscale stays one channel unless mixed with
colour; an alpha channel is dropped.
"""

import os

import numpy as np

from vaekit.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "read_image", "read_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY = ("L", "1", "LA")
_SIXTEEN_BITS = ("I;16", "I;16B", "I;16L", "I;16N")
_MAX_16 = np.float32(65535.0)


def _colour_16(path, img):
    """A 16-bit colour PNG at full depth: Pillow keeps only the high byte of
    each value (mode RGB or RGBA, raw mode `RGB;16B`), so the image is
    decoded a second time with the bytes swapped (`RGB;16L`) to get the low
    byte."""
    from PIL import Image

    tile = img.tile[0]
    img.load()
    high = np.asarray(img).astype(np.uint16)
    with Image.open(path) as again:
        again.tile = [tile._replace(args=tile.args[:-1] + "L")]
        again.load()
        low = np.asarray(again).astype(np.uint16)
    return (high << 8) | low


def _pixels(path, img):
    """The pixels of an open image: uint8, or uint16 for 16-bit images;
    `(H, W)` for greyscale, `(H, W, 3)` for colour."""
    rawmode = getattr(img.tile[0], "args", None) if img.tile else None
    if img.mode in _SIXTEEN_BITS:
        img.load()
        return np.asarray(img).astype(np.uint16)
    if img.mode == "I":  # 32-bit integers: read if they fit 16 bits
        img.load()
        x = np.asarray(img)
        if x.min() < 0 or x.max() > 65535:
            raise DataError(f"{path}: 32-bit pixel values outside 0..65535")
        return x.astype(np.uint16)
    if isinstance(rawmode, str) and rawmode.endswith(";16B"):
        if rawmode not in ("RGB;16B", "RGBA;16B"):
            raise DataError(
                f"{path}: a 16-bit image with raw mode {rawmode} is read at 8 bits "
                "only; save it as 16-bit greyscale or RGB without alpha"
            )
        return _colour_16(path, img)[..., :3]
    img.load()
    return np.asarray(img.convert("L" if img.mode in _GREY else "RGB"))


def read_image(path):
    """One image's pixels (see `_pixels`).

    Raises:
        DataError: if it cannot be read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return _pixels(path, img)
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read image ({exc})") from None
    # Pillow's decoders raise many other types on corrupt bytes
    # (DecompressionBombError, struct.error, zlib.error, ...)
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{path}: cannot read image ({type(exc).__name__}: {exc})"
        ) from None


def _is_image(name):
    return name.lower().endswith(IMAGE_SUFFIXES)


def _image_paths(folder):
    """`(paths, labels, classes)` of a folder (see the module docstring);
    labels and classes are None for a flat folder."""
    entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    loose = [e for e in entries if _is_image(e) and e not in classes]
    if not classes:
        return [os.path.join(folder, e) for e in loose], None, None
    if loose:
        raise DataError(
            f"{folder}: {len(loose)} image(s) beside the class sub-folders "
            f"{classes[:3]}{'...' if len(classes) > 3 else ''}, e.g. {loose[0]!r}; "
            "move each into its class folder, or remove it"
        )
    paths, labels = [], []
    for label, cls in enumerate(classes):
        names = sorted(
            name
            for name in os.listdir(os.path.join(folder, cls))
            if _is_image(name) and not name.startswith(".")
        )
        if not names:
            raise DataError(
                f"{folder}: class folder {cls!r} holds no PNG/JPEG images; add "
                "some, or remove the folder"
            )
        paths += [os.path.join(folder, cls, name) for name in names]
        labels += [label] * len(names)
    return paths, labels, classes


def _as_one_array(folder, images):
    """The images of a folder as one array: colour if any is, float32 in
    [0, 1] if any is 16-bit, else uint8."""
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
    if all(im.dtype == np.uint8 for im in images):
        return np.stack(images)
    x = np.empty((len(images), *images[0].shape), np.float32)
    for i, im in enumerate(images):
        scale = _MAX_16 if im.dtype == np.uint16 else np.float32(255.0)
        x[i] = im.astype(np.float32) / scale
    return x


def read_image_folder(folder):
    """The images of a folder (see the module docstring) as the parts of a
    dataset: `x_train`, and for class sub-folders `y_train` and
    `label_names`. None if it holds no images.

    Raises:
        DataError: for an unreadable image, images of different sizes, an
            image beside class sub-folders or a class folder without images.
    """
    paths, labels, classes = _image_paths(folder)
    if not paths:
        return None
    parts = {"x_train": (_as_one_array(folder, [read_image(p) for p in paths]), folder)}
    if classes:
        parts["y_train"] = (np.asarray(labels, dtype=np.int64), folder)
        parts["label_names"] = (tuple(classes), folder)
    return parts
