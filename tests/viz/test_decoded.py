"""vaekit.viz.decoded: prior samples, reconstructions, the latent manifold
and traversals, interpolations.

Every test checks the pictures' content (tile positions and pixel values
against the model's own encode/decode), not only their shape. The models
are the session's tiny run (2 latent units) and small untrained ones.
"""

import os

import numpy as np
import pytest
from PIL import Image
from scipy.stats import norm

from tests.helpers import FIXTURES
from tests.viz.conftest import close, not_blank, tile, u8, untrained
from vaekit import VaekitError
from vaekit.errors import InvalidArgument
from vaekit.viz import decoded, latent
from vaekit.viz import tiles as tiles_lib


def _heatmaps(fig):
    """The arrays of a heatmap figure's panels."""
    return [ax.images[0].get_array() for ax in fig.axes if ax.images]


# -- samples and reconstructions ----------------------------------------------


def test_sample_grid_tiles_the_decoded_prior_samples(tiny_model):
    grid = decoded.sample_grid(tiny_model, n=10, seed=3)
    samples = tiny_model.sample(10, seed=3)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 9 + 1, 4 * 9 + 1)
    for i in range(10):
        np.testing.assert_array_equal(tile(grid, i, 4, (8, 8)), u8(samples[i]))
    # the frame is the padding grey
    assert grid[0, 0] == tiles_lib.to_uint8(tiles_lib.PAD_VALUE)
    # Temperature 0 decodes z = 0 in every tile.
    cold = decoded.sample_grid(tiny_model, n=4, temperature=0.0, ncols=4)
    assert cold.shape == (9 + 1, 4 * 9 + 1)
    centre = u8(tiny_model.decode(np.zeros((1, 2), np.float32))[0])
    for i in range(4):
        np.testing.assert_array_equal(tile(cold, i, 4, (8, 8)), centre)


def test_sample_grid_reads_a_model_path(tiny_model, tiny_model_path):
    np.testing.assert_array_equal(
        decoded.sample_grid(tiny_model_path, n=6, seed=2, temperature=0.5),
        decoded.sample_grid(tiny_model, n=6, seed=2, temperature=0.5),
    )


def test_reconstruction_grid_pairs_originals_with_reconstructions(tiny_model, digits_x):
    x = digits_x[:6]
    grid = decoded.reconstruction_grid(tiny_model, x, n=6, pairs_per_row=1)
    recon = tiny_model.reconstruct(x)
    pair = (8, 17)
    assert grid.shape == (6 * (8 + 3) + 3, 17 + 6)
    for i in range(6):
        top, left = tiles_lib.tile_position(i, 1, pair, tiles_lib.PAIR_GAP)
        # The left half holds the input, the right its reconstruction.
        np.testing.assert_array_equal(grid[top : top + 8, left : left + 8], u8(x[i]))
        np.testing.assert_array_equal(
            grid[top : top + 8, left + 9 : left + 17], u8(recon[i])
        )
    # The default layout: ceil(sqrt(n)) pairs per row.
    wide = decoded.reconstruction_grid(tiny_model, digits_x, n=16)
    assert wide.shape == (4 * 11 + 3, 4 * 20 + 3)
    top, left = tiles_lib.tile_position(5, 4, pair, tiles_lib.PAIR_GAP)
    np.testing.assert_array_equal(wide[top : top + 8, left : left + 8], u8(x[5]))
    not_blank(wide)


def test_reconstruction_grid_reads_a_model_path_and_a_data_spec(
    tiny_model, tiny_model_path, digits_x
):
    expected = decoded.reconstruction_grid(tiny_model, digits_x, n=9)
    for model in (tiny_model, tiny_model_path):
        np.testing.assert_array_equal(
            decoded.reconstruction_grid(model, "digits", n=9), expected
        )
    # Fewer examples than n: all of them.
    few = decoded.reconstruction_grid(tiny_model, digits_x[:2], n=9)
    np.testing.assert_array_equal(
        few, decoded.reconstruction_grid(tiny_model, digits_x[:2], n=2)
    )


def test_rgb_images_keep_their_colours():
    rng = np.random.default_rng(0)
    # Red squares and blue squares: a two-class RGB set.
    x = np.zeros((256, 8, 8, 3), np.float32)
    x[:128, 2:6, 2:6, 0] = 1.0
    x[128:, 1:7, 1:7, 2] = 1.0
    x = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    model = untrained((8, 8, 3), 2)
    grid = decoded.sample_grid(model, n=9)
    assert grid.shape == (28, 28, 3)
    pairs = decoded.reconstruction_grid(model, x[[0, 200]], n=2, pairs_per_row=2)
    top, left = tiles_lib.tile_position(1, 2, (8, 17), tiles_lib.PAIR_GAP)
    np.testing.assert_array_equal(pairs[top : top + 8, left : left + 8], u8(x[200]))
    png = tiles_lib.png_bytes(pairs)
    import io

    with Image.open(io.BytesIO(png)) as img:
        assert img.mode == "RGB"
        assert np.asarray(img)[:, :, 2].max() > 200  # the blue square survives


# -- the latent space -----------------------------------------------------------


def test_manifold_decodes_the_inverse_cdf_grid(tiny_model, tiny_model_path):
    grid = decoded.manifold(tiny_model, grid=7)
    values = norm.ppf(np.linspace(0.05, 0.95, 7))
    assert grid.shape == (7 * 9 + 1, 7 * 9 + 1)
    for row in range(7):
        for col in range(7):
            # z[0] rises to the right, z[1] upward.
            z = np.array([[values[col], values[6 - row]]], np.float32)
            expected = u8(tiny_model.decode(z)[0])
            np.testing.assert_array_equal(
                tile(grid, row * 7 + col, 7, (8, 8)), expected
            )
    np.testing.assert_array_equal(decoded.manifold(tiny_model_path, grid=7), grid)


def test_traversal_rows_follow_the_most_active_units(model5, digits_x):
    x = digits_x[:500]
    layout = latent.manifold_layout(model5, grid=5, x=x)
    picture = decoded.manifold(model5, layout=layout)
    assert picture.shape == (5 * 9 + 1, 5 * 9 + 1)
    values = latent.grid_values(5)
    for row, unit in enumerate(layout["units"]):
        for col in range(5):
            z = np.zeros((1, 5), np.float32)
            z[0, unit] = values[col]
            expected = u8(model5.decode(z)[0])
            np.testing.assert_array_equal(
                tile(picture, row * 5 + col, 5, (8, 8)), expected
            )
    # The data given to `manifold` ranks the units as the layout does.
    np.testing.assert_array_equal(decoded.manifold(model5, grid=5, data=x), picture)
    # Without data the decoder's sensitivity ranks them; rows limit them.
    short = latent.manifold_layout(model5, grid=5, rows=2)
    np.testing.assert_array_equal(
        decoded.manifold(model5, grid=5, rows=2), decoded.manifold(model5, layout=short)
    )
    assert decoded.manifold(model5, layout=short).shape == (2 * 9 + 1, 5 * 9 + 1)


def test_interpolation_runs_between_the_two_encodings(tiny_model, digits_x):
    x = digits_x
    picture = decoded.interpolation(tiny_model, x[0], x[7], steps=5)
    assert picture.shape == (9 + 1, 7 * 9 + 1)
    z = tiny_model.encode(x[[0, 7]])[0]
    np.testing.assert_array_equal(tile(picture, 0, 7, (8, 8)), u8(x[0]))
    np.testing.assert_array_equal(tile(picture, 6, 7, (8, 8)), u8(x[7]))
    for step, t in enumerate(np.linspace(0, 1, 5)):
        code = ((1 - t) * z[0] + t * z[1])[None].astype(np.float32)
        np.testing.assert_array_equal(
            tile(picture, step + 1, 7, (8, 8)), u8(tiny_model.decode(code)[0])
        )
    spherical = decoded.interpolation(tiny_model, x[0], x[7], steps=5, method="slerp")
    np.testing.assert_array_equal(spherical[:, :19], picture[:, :19])  # same start
    codes = latent.slerp(z[0], z[1], np.linspace(0, 1, 5)).astype(np.float32)
    np.testing.assert_array_equal(
        tile(spherical, 3, 7, (8, 8)), u8(tiny_model.decode(codes[2:3])[0])
    )


def test_interpolate_picks_two_examples_of_the_data(
    tiny_model, tiny_model_path, digits_x
):
    expected = decoded.interpolation(tiny_model, digits_x[3], digits_x[8], 6, "slerp")
    for model, data in ((tiny_model, digits_x), (tiny_model_path, "digits")):
        np.testing.assert_array_equal(
            decoded.interpolate(model, data, 3, 8, steps=6, method="slerp"), expected
        )
    for args, name in (((0, 1797), "index_to 1797"), ((-1, 2), "index_from -1")):
        with pytest.raises(InvalidArgument, match=f"{name} is out of range"):
            decoded.interpolate(tiny_model, digits_x, *args)
    with pytest.raises(InvalidArgument, match="conditional"):
        decoded.interpolate(tiny_model, digits_x, 0, 1, label="3")


def test_vectors_get_heatmaps_instead_of_image_grids():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    model = untrained((6,), 2, likelihood="gaussian")
    fig = decoded.reconstruction_grid(model, x, n=5)
    arrays = _heatmaps(fig)
    np.testing.assert_allclose(arrays[0], x[:5])
    np.testing.assert_allclose(arrays[1], model.reconstruct(x[:5]), rtol=1e-5)
    close(fig)
    fig = decoded.manifold(model, grid=4)  # 2-D latent but vectors: traversals
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] in (
        ["moving z[0]", "moving z[1]"],
        ["moving z[1]", "moving z[0]"],
    )
    assert panels[0].images[0].get_array().shape == (4, 6)
    unit = int(panels[0].get_title()[len("moving z[") : -1])
    z = np.zeros((4, 2), np.float32)
    z[:, unit] = latent.grid_values(4)
    np.testing.assert_allclose(
        panels[0].images[0].get_array(), model.decode(z), rtol=1e-5
    )
    close(fig)
    fig = decoded.sample_grid(model, n=3, seed=5)
    np.testing.assert_allclose(_heatmaps(fig)[0], model.sample(3, seed=5), rtol=1e-5)
    close(fig)
    fig = decoded.interpolation(model, x[0], x[1], 3)
    (path,) = _heatmaps(fig)
    assert path.shape == (5, 6)
    np.testing.assert_allclose(path[[0, -1]], x[[0, 1]])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["from", "t = 0.00", "t = 0.50", "t = 1.00", "to"]
    close(fig)


def test_a_conditional_model_decodes_its_labels(digits_x, digits_y):
    """The classes model of the fixtures (flat digits, labels 0..9):
    `label` picks the class every sample or tile is decoded with; the data's
    own labels encode the two ends of an interpolation."""
    from vaekit.model import load_model

    path = os.path.join(FIXTURES, "models", "conditional_classes.keras")
    model = load_model(path)
    fig = decoded.sample_grid(path, n=4, seed=1, label="3")
    expected = model.sample(4, seed=1, condition=3.0)
    np.testing.assert_allclose(_heatmaps(fig)[0], expected, rtol=1e-5, atol=1e-6)
    close(fig)
    fig = decoded.interpolate(model, "digits", 0, 5, steps=3, label="7")
    pair = digits_x[[0, 5]].reshape(2, -1)
    z = model.encode(pair, condition=digits_y[[0, 5]].astype(np.float32))[0]
    codes = latent.interpolation_codes(z[0], z[1], 3)
    path_ = model.decode(codes, condition=np.full(3, 7.0, np.float32))
    (drawn,) = _heatmaps(fig)
    np.testing.assert_allclose(drawn[1:-1], path_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(drawn[[0, -1]], pair)
    close(fig)
    with pytest.raises(VaekitError, match="'12' is not a class"):
        decoded.sample_grid(model, n=2, label="12")
    with pytest.raises(InvalidArgument, match="needs the labels of the two"):
        decoded.interpolation(model, pair[0], pair[1])


def test_python_api_rejects_bad_input(tiny_model, model5, digits_x):
    # Bad arguments: InvalidArgument (a ValueError) naming them; data that
    # does not fit: a VaekitError.
    with pytest.raises(InvalidArgument, match="Received: n=0"):
        decoded.sample_grid(tiny_model, n=0)
    with pytest.raises(InvalidArgument, match="Received: temperature=-1"):
        decoded.sample_grid(tiny_model, n=4, temperature=-1)
    with pytest.raises(InvalidArgument, match="Received: n=0"):
        decoded.reconstruction_grid(tiny_model, digits_x, n=0)
    with pytest.raises(VaekitError, match="expects"):
        decoded.reconstruction_grid(tiny_model, np.zeros((3, 5)), n=2)
    with pytest.raises(InvalidArgument, match="Received: steps=1"):
        decoded.interpolation(tiny_model, digits_x[0], digits_x[1], steps=1)
    with pytest.raises(InvalidArgument, match="Received: method='cubic'"):
        decoded.interpolation(tiny_model, digits_x[0], digits_x[1], method="cubic")
    with pytest.raises(InvalidArgument, match="Received: grid=1"):
        decoded.manifold(tiny_model, grid=1)
    with pytest.raises(InvalidArgument, match="Received: rows=0"):
        decoded.manifold(model5, grid=3, rows=0)
    with pytest.raises(VaekitError, match="does not exist"):
        decoded.sample_grid("missing.keras")
