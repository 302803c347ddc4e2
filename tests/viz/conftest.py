"""Fixtures of the viz tests: small untrained models (a picture's geometry
does not need a good model) and helpers that read pictures back.

Tests that need a trained model use the session's `tiny_model` (digits, two
latent units) and `table_run`; none trains a model of its own.
"""

import numpy as np
import pytest
from PIL import Image


def untrained(shape, latent_dim, likelihood="bernoulli", hidden=16, seed=0):
    """A VAE with networks for `shape` and `latent_dim`, not fitted."""
    import keras

    from vaekit.model import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(seed)
    return VAE(
        build_encoder(shape, (hidden,), latent_dim, seed=seed),
        build_decoder(shape, (hidden,), latent_dim, seed=seed + 1),
        likelihood=likelihood,
        seed=seed,
    )


@pytest.fixture(scope="session")
def digits_y():
    """The labels of `digits_x`."""
    from vaekit import data

    return data.load("digits").y_train


@pytest.fixture(scope="session")
def model5():
    """Five latent units on the 8x8 digits: principal components and
    traversals."""
    return untrained((8, 8, 1), 5)


def u8(x):
    """Floats in [0, 1] as the grey levels of a picture."""
    from vaekit.viz.tiles import to_uint8

    return to_uint8(x, (0.0, 1.0))


def tile(grid, index, ncols, tile_shape, padding=1):
    """Tile `index` of a grid made by `tile_images`."""
    from vaekit.viz.tiles import tile_position

    top, left = tile_position(index, ncols, tile_shape, padding)
    return grid[top : top + tile_shape[0], left : left + tile_shape[1]]


def not_blank(image):
    image = np.asarray(image, dtype=np.float64)
    assert image.std() > 5, "picture is blank (one flat colour)"


def read_png(path):
    """`(pixels, mode)` of a PNG file."""
    with Image.open(path) as img:
        img.load()
        return np.asarray(img), img.mode


def downscale(png, grid):
    """Undoes save_picture's integer nearest-neighbour upscaling of `grid`."""
    scale = png.shape[1] // grid.shape[1]
    assert scale >= 1 and png.shape[0] == grid.shape[0] * scale
    assert png.shape[1] == grid.shape[1] * scale
    return png[::scale, ::scale]


def close(fig):
    from vaekit.viz.figures import pyplot

    pyplot().close(fig)
