"""Pictures as numpy arrays: tiling a batch into a grid, grey levels, PNG bytes.

Pure numpy (and Pillow for PNG encoding), no matplotlib: one reshape and
transpose tile thousands of images in milliseconds, and the `uint8` grids
show in a notebook with `plt.imshow`. `vaekit.viz.figures` fills them with a
model's samples, reconstructions and traversals.
"""

import io
import math

import numpy as np

from vaekit.errors import InvalidArgument

__all__ = [
    "MAX_SCALE",
    "MIN_PICTURE_WIDTH",
    "PAD_VALUE",
    "PAIR_GAP",
    "display_range",
    "image_batch",
    "image_grid",
    "is_image_shape",
    "pair_grid",
    "picture_scale",
    "png_bytes",
    "rescale",
    "tile_images",
    "tile_position",
    "to_uint8",
]

PAD_VALUE = 0.5  # grey lines between tiles: visible on dark and light images
PAIR_GAP = 3  # pixels between original-reconstruction pairs
MIN_PICTURE_WIDTH = 500  # grids narrower than this are upscaled (nearest)
MAX_SCALE = 16


def is_image_shape(shape):
    """True for `(H, W)` and `(H, W, C)` with 1, 3 or 4 channels: data that
    can be drawn as pictures. Anything else is drawn as vectors."""
    shape = tuple(shape)
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3, 4))


def image_batch(images):
    """`images` as float32 `(n, H, W, C)`; `(n, H, W)` gets one channel.

    Raises:
        InvalidArgument: for any other number of dimensions.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise InvalidArgument(
            "Invalid value for argument `images`: expected a batch of shape "
            f"(n, H, W) or (n, H, W, C). Received: images.shape={images.shape}"
        )
    return images


def tile_position(index, ncols, tile_shape, padding=1):
    """`(top, left)` pixel of tile `index` in a grid made by `tile_images`."""
    row, col = divmod(int(index), int(ncols))
    height, width = tile_shape[:2]
    return padding + row * (height + padding), padding + col * (width + padding)


def tile_images(images, ncols=None, padding=1, pad_value=PAD_VALUE):
    """Tiles a batch of images into one image, row by row.

    Pure numpy (one reshape and transpose), so it is fast for thousands of
    tiles. Tile `i` sits at `tile_position(i, ncols, (H, W), padding)`;
    `padding` pixels of `pad_value` separate the tiles and frame the grid.

    Args:
        images: `(n, H, W)` or `(n, H, W, C)` floats, `n >= 1`.
        ncols: Tiles per row (default: `ceil(sqrt(n))`).
        padding: Pixels between tiles.
        pad_value: Value of the padding (and of empty cells).

    Returns:
        A float32 array `(rows * (H + p) + p, ncols * (W + p) + p, C)`.

    Raises:
        InvalidArgument: if `images` is not a non-empty batch of images.
    """
    images = image_batch(images)
    n, height, width, channels = images.shape
    if n == 0:
        raise InvalidArgument(
            "Invalid value for argument `images`: expected at least one image. "
            f"Received: images.shape={images.shape}"
        )
    ncols = int(ncols or math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    cells = np.full(
        (nrows * ncols, height + padding, width + padding, channels),
        pad_value,
        dtype=np.float32,
    )
    cells[:n, padding:, padding:] = images
    grid = (
        cells.reshape(nrows, ncols, height + padding, width + padding, channels)
        .transpose(0, 2, 1, 3, 4)
        .reshape(nrows * (height + padding), ncols * (width + padding), channels)
    )
    return np.pad(grid, ((0, padding), (0, padding), (0, 0)), constant_values=pad_value)


def display_range(*arrays):
    """`(low, high)` used to map data values to grey levels: `(0, 1)` when
    every value lies in [0, 1] (scaled images, Bernoulli means), else the
    joint minimum and maximum, so originals and reconstructions share one
    scale."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    if low >= -1e-6 and high <= 1 + 1e-6:
        return 0.0, 1.0
    if high <= low:
        return low, low + 1.0
    return low, high


def rescale(images, value_range):
    """Maps `value_range` to [0, 1] (float32, not clipped)."""
    low, high = value_range
    return (np.asarray(images, dtype=np.float32) - low) / (high - low)


def to_uint8(image, value_range=(0.0, 1.0)):
    """Maps floats in `value_range` to 0..255 (clipping); one channel becomes
    a 2-D greyscale array."""
    out = np.round(np.clip(rescale(image, value_range), 0.0, 1.0) * 255.0)
    out = out.astype(np.uint8)
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return out


def image_grid(images, ncols=None, value_range=None):
    """A `uint8` grid of a batch: `tile_images` on one grey scale,
    `value_range` (default: `display_range(images)`)."""
    value_range = value_range or display_range(images)
    return to_uint8(tile_images(rescale(images, value_range), ncols))


def pair_grid(left, right, pairs_per_row=None, value_range=None):
    """A `uint8` grid of image pairs: `left[i]`, a 1-pixel line, `right[i]`.

    Each pair is one tile of shape `(H, 2 W + 1)`, tiled `pairs_per_row` to a
    row (default `ceil(sqrt(n))`) with `PAIR_GAP` pixels between pairs, so
    `left[i]` sits at `tile_position(i, pairs_per_row, (H, 2 W + 1),
    PAIR_GAP)` and `right[i]` `W + 1` pixels to its right. Both share one
    grey scale, `value_range` (default: their joint `display_range`).
    """
    value_range = value_range or display_range(left, right)
    left = image_batch(rescale(left, value_range))
    right = image_batch(rescale(right, value_range))
    line = np.full((*left.shape[:2], 1, left.shape[3]), PAD_VALUE, np.float32)
    pairs = int(pairs_per_row or math.ceil(math.sqrt(len(left))))
    tiles = np.concatenate([left, line, right], axis=2)
    return to_uint8(tile_images(tiles, pairs, padding=PAIR_GAP))


def picture_scale(image, min_width=MIN_PICTURE_WIDTH):
    """The integer upscaling `png_bytes` applies to a grid of this size."""
    width = np.asarray(image).shape[1]
    return int(min(MAX_SCALE, max(1, math.ceil(min_width / max(width, 1)))))


def png_bytes(image, scale=None):
    """PNG bytes of a `uint8` image, upscaled by an integer factor with
    nearest-neighbour repetition (default: `picture_scale`).

    Raises:
        InvalidArgument: if `image` is not `uint8`.
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InvalidArgument(
            "Invalid value for argument `image`: expected a uint8 array. "
            f"Received: image.dtype={image.dtype}"
        )
    scale = picture_scale(image) if scale is None else int(scale)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()
