"""vaekit.viz.tiles: tiling, grey levels and PNG bytes, in numpy alone."""

import io

import numpy as np
import pytest
from PIL import Image

from vaekit.viz import tiles


def test_tile_images_places_every_tile():
    rng = np.random.default_rng(0)
    batch = rng.random((23, 5, 7, 3)).astype(np.float32)
    grid = tiles.tile_images(batch, ncols=6, padding=2, pad_value=-1.0)
    assert grid.shape == (4 * (5 + 2) + 2, 6 * (7 + 2) + 2, 3)
    mask = np.ones(grid.shape[:2], bool)
    for i in range(23):
        top, left = tiles.tile_position(i, 6, (5, 7), 2)
        np.testing.assert_array_equal(grid[top : top + 5, left : left + 7], batch[i])
        mask[top : top + 5, left : left + 7] = False
    # Padding and the empty last cell hold the pad value only.
    assert np.all(grid[mask] == -1.0)


def test_tile_images_is_fast_for_thousands_of_tiles():
    import time

    batch = np.random.default_rng(0).random((5000, 28, 28, 1), dtype=np.float32)
    start = time.perf_counter()
    grid = tiles.tile_images(batch)
    assert time.perf_counter() - start < 2.0
    assert grid.shape == (71 * 29 + 1, 71 * 29 + 1, 1)


def test_to_uint8_and_display_range():
    x = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(tiles.to_uint8(x), [[0, 128], [255, 255]])
    assert tiles.display_range(np.array([0.2, 0.9])) == (0.0, 1.0)
    assert tiles.display_range(np.array([-2.0, 1.0]), np.array([3.0])) == (-2.0, 3.0)
    assert tiles.to_uint8(np.zeros((4, 4, 1))).shape == (4, 4)


def test_image_grid_shares_one_grey_scale():
    x = np.stack([np.full((2, 3), -1.0), np.full((2, 3), 3.0)]).astype(np.float32)
    grid = tiles.image_grid(x, ncols=2)
    assert grid.dtype == np.uint8 and grid.shape == (2 + 2, 2 * 4 + 1)
    top, left = tiles.tile_position(1, 2, (2, 3))
    assert np.all(grid[1:3, 1:4] == 0) and np.all(
        grid[top : top + 2, left : left + 3] == 255
    )
    # A fixed range clips instead.
    clipped = tiles.image_grid(x, ncols=2, value_range=(0.0, 1.0))
    assert np.all(clipped[1:3, 1:4] == 0) and clipped[top, left] == 255


def test_pair_grid_puts_left_beside_right():
    rng = np.random.default_rng(2)
    left = rng.random((5, 4, 3)).astype(np.float32)
    right = rng.random((5, 4, 3)).astype(np.float32)
    grid = tiles.pair_grid(left, right, pairs_per_row=2)
    pair = (4, 2 * 3 + 1)
    assert grid.shape == (3 * (4 + 3) + 3, 2 * (7 + 3) + 3)
    for i in range(5):
        top, left_px = tiles.tile_position(i, 2, pair, tiles.PAIR_GAP)
        tile = grid[top : top + 4, left_px : left_px + 7]
        np.testing.assert_array_equal(tile[:, :3], tiles.to_uint8(left[i]))
        assert np.all(tile[:, 3] == tiles.to_uint8(tiles.PAD_VALUE))
        np.testing.assert_array_equal(tile[:, 4:], tiles.to_uint8(right[i]))


def test_png_bytes_are_pixel_exact_and_upscaled():
    grid = np.random.default_rng(3).integers(0, 256, (10, 20), dtype=np.uint8)
    scale = tiles.picture_scale(grid)
    assert scale == 16  # 500 / 20 rounds up to 25, at most MAX_SCALE
    with Image.open(io.BytesIO(tiles.png_bytes(grid))) as img:
        png = np.asarray(img)
        assert img.mode == "L"
    assert png.shape == (10 * scale, 20 * scale)
    np.testing.assert_array_equal(png[::scale, ::scale], grid)
    with Image.open(io.BytesIO(tiles.png_bytes(grid, scale=1))) as img:
        np.testing.assert_array_equal(np.asarray(img), grid)
    assert tiles.picture_scale(np.zeros((4, 600))) == 1


def test_is_image_shape():
    assert tiles.is_image_shape((8, 8)) and tiles.is_image_shape((8, 8, 3))
    assert not tiles.is_image_shape((64,)) and not tiles.is_image_shape((8, 8, 5))


def test_bad_arguments_raise_value_error_naming_them():
    with pytest.raises(ValueError, match=r"Received: images.shape=\(3, 4\)"):
        tiles.tile_images(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"Received: images.shape=\(0, 2, 2, 1\)"):
        tiles.tile_images(np.zeros((0, 2, 2, 1)))
    with pytest.raises(ValueError, match="Received: image.dtype=float64"):
        tiles.png_bytes(np.zeros((2, 2)))
