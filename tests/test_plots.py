"""Pictures: tiling, samples, reconstructions, latent scatter, manifold,
traversals, interpolation, and the CLI commands that write them.

Every test checks the pictures' content (tile positions, pixel values, the
points of the scatter), not only that a file exists. The models are tiny
VAEs fitted for an epoch or two, so the whole file takes seconds.
"""

import io
import os

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError
from vaekit import io as files
from vaekit.cli.main import main
from vaekit.viz import figures as plots
from vaekit.viz import latent
from vaekit.viz import tiles as images


def _fit(x, latent_dim, likelihood="bernoulli", epochs=2, seed=0):
    import keras

    from vaekit.model.vae import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(seed)
    shape = x.shape[1:]
    model = VAE(
        build_encoder(shape, (32,), latent_dim),
        build_decoder(shape, (32,), latent_dim),
        likelihood=likelihood,
        seed=seed,
    )
    if epochs:
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        model.fit(x, epochs=epochs, batch_size=128, verbose=0)
    return model


@pytest.fixture(scope="module")
def digits():
    from vaekit import data

    dataset = data.load("digits")
    return dataset.x_train, dataset.y_train


@pytest.fixture(scope="module")
def model2(digits):
    """2-D latent space on the 8x8 digits."""
    return _fit(digits[0], 2, epochs=1)


@pytest.fixture(scope="module")
def model5(digits):
    """5 latent units: PCA scatter and traversals (untrained: the pictures'
    geometry does not need a good model)."""
    return _fit(digits[0], 5, epochs=0)


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, model2, model5):
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, model in (("m2", model2), ("m5", model5)):
        paths[name] = str(folder / f"{name}.keras")
        files.save_model(model, paths[name])
    # Data of another shape than the models': 7 features, not 8x8 images.
    paths["wrong_shape"] = str(folder / "wrong.npy")
    np.save(paths["wrong_shape"], np.zeros((4, 7), np.float32))
    return paths


def _u8(x):
    return images.to_uint8(x, (0.0, 1.0))


def _tile(grid, index, ncols, tile_shape, padding=1):
    top, left = images.tile_position(index, ncols, tile_shape, padding)
    return grid[top : top + tile_shape[0], left : left + tile_shape[1]]


def _not_blank(image):
    image = np.asarray(image, dtype=np.float64)
    assert image.std() > 5, "picture is blank (one flat colour)"


def _read_png(path):
    with Image.open(path) as img:
        img.load()
        return np.asarray(img), img.mode


def _downscale(png, grid):
    """Undo save_picture's integer nearest-neighbour upscaling."""
    scale = png.shape[1] // grid.shape[1]
    assert scale >= 1 and png.shape[0] == grid.shape[0] * scale
    assert png.shape[1] == grid.shape[1] * scale
    return png[::scale, ::scale]


# -- samples and reconstructions ----------------------------------------------


def test_sample_grid_tiles_the_decoded_prior_samples(model2):
    grid = plots.sample_grid(model2, n=10, seed=3)
    samples = model2.sample(10, seed=3)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 9 + 1, 4 * 9 + 1)
    for i in range(10):
        np.testing.assert_array_equal(_tile(grid, i, 4, (8, 8)), _u8(samples[i]))
    _not_blank(grid)
    # Temperature 0 decodes z = 0 in every tile.
    cold = plots.sample_grid(model2, n=4, temperature=0.0)
    centre = _u8(model2.decode(np.zeros((1, 2), np.float32))[0])
    for i in range(4):
        np.testing.assert_array_equal(_tile(cold, i, 2, (8, 8)), centre)


def test_reconstruction_grid_pairs_originals_with_reconstructions(model2, digits):
    x = digits[0][:6]
    grid = plots.reconstruction_grid(model2, x, n=6, pairs_per_row=1)
    recon = model2.reconstruct(x)
    pair = (8, 17)
    assert grid.shape == (6 * (8 + 3) + 3, 17 + 6)
    for i in range(6):
        top, left = images.tile_position(i, 1, pair, images.PAIR_GAP)
        # The left column holds the inputs, the right their reconstructions.
        np.testing.assert_array_equal(grid[top : top + 8, left : left + 8], _u8(x[i]))
        np.testing.assert_array_equal(
            grid[top : top + 8, left + 9 : left + 17], _u8(recon[i])
        )
    # The default layout: ceil(sqrt(n)) pairs per row.
    wide = plots.reconstruction_grid(model2, digits[0], n=16)
    assert wide.shape == (4 * 11 + 3, 4 * 20 + 3)
    top, left = images.tile_position(5, 4, pair, images.PAIR_GAP)
    np.testing.assert_array_equal(wide[top : top + 8, left : left + 8], _u8(x[5]))
    _not_blank(wide)


def test_rgb_images_keep_their_colours():
    rng = np.random.default_rng(0)
    # Red squares and blue squares: a two-class RGB set.
    x = np.zeros((256, 8, 8, 3), np.float32)
    x[:128, 2:6, 2:6, 0] = 1.0
    x[128:, 1:7, 1:7, 2] = 1.0
    x = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    model = _fit(x, 2, epochs=0)
    grid = plots.sample_grid(model, n=9)
    assert grid.shape == (28, 28, 3)
    pairs = plots.reconstruction_grid(model, x[[0, 200]], n=2, pairs_per_row=2)
    top, left = images.tile_position(1, 2, (8, 17), images.PAIR_GAP)
    np.testing.assert_array_equal(pairs[top : top + 8, left : left + 8], _u8(x[200]))
    png = images.png_bytes(pairs)
    with Image.open(io.BytesIO(png)) as img:
        assert img.mode == "RGB"
        assert np.asarray(img)[:, :, 2].max() > 200  # the blue square survives


# -- the latent space -----------------------------------------------------------


def test_latent_scatter_points_are_the_encoder_outputs(model2, digits):
    x, y = digits[0][:300], digits[1][:300]
    fig = plots.latent_scatter(model2, x, y)
    ax = fig.axes[0]
    offsets = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_allclose(offsets, model2.encode(x)[0], rtol=1e-5, atol=1e-6)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [str(d) for d in range(10)]
    # Points of one class share the colour of their legend entry.
    colours = ax.collections[0].get_facecolors()[:, :3]
    for label, handle in zip(range(10), legend.legend_handles, strict=True):
        expected = np.asarray(
            __import__("matplotlib").colors.to_rgb(handle.get_color())
        )
        np.testing.assert_allclose(
            colours[y == label], np.tile(expected, (np.sum(y == label), 1))
        )
    assert ax.get_xlabel() == "z_mean[0]" and ax.get_ylabel() == "z_mean[1]"
    plots._pyplot().close(fig)


def test_latent_scatter_projects_more_units_on_principal_components(model5, digits):
    x = digits[0][:400]
    fig = plots.latent_scatter(model5, x, digits[1][:400])
    ax = fig.axes[0]
    offsets = np.asarray(ax.collections[0].get_offsets(), np.float64)
    z = model5.encode(x)[0].astype(np.float64)
    centred = z - z.mean(axis=0)
    # An independent reference: eigenvectors of the covariance matrix.
    values, vectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    top = vectors[:, np.argsort(values)[::-1][:2]]
    expected = centred @ top
    for k in range(2):  # eigenvectors are defined up to sign
        sign = np.sign(np.dot(offsets[:, k], expected[:, k]))
        np.testing.assert_allclose(offsets[:, k], sign * expected[:, k], atol=1e-4)
    share = values[np.argsort(values)[::-1]] / values.sum()
    assert ax.get_xlabel().startswith("PC 1") and ax.get_ylabel().startswith("PC 2")
    assert f"{100 * share[0]:.0f}% of variance" in ax.get_xlabel()
    assert "principal components" in ax.get_title()
    plots._pyplot().close(fig)


def test_latent_scatter_continuous_labels_get_a_colour_bar(model2, digits):
    x = digits[0][:100]
    fig = plots.latent_scatter(model2, x, np.linspace(0, 1, 100))
    assert len(fig.axes) == 2  # the scatter and its colour bar
    assert fig.axes[0].get_legend() is None
    np.testing.assert_allclose(
        fig.axes[0].collections[0].get_array(), np.linspace(0, 1, 100)
    )
    plots._pyplot().close(fig)
    fig = plots.latent_scatter(model2, x)  # no labels at all
    assert len(fig.axes[0].collections[0].get_offsets()) == 100
    plots._pyplot().close(fig)


def test_manifold_decodes_the_inverse_cdf_grid(model2):
    from scipy.stats import norm

    grid = plots.manifold(model2, grid=7)
    values = norm.ppf(np.linspace(0.05, 0.95, 7))
    np.testing.assert_allclose(latent.grid_values(7), values, rtol=1e-5)
    assert grid.shape == (7 * 9 + 1, 7 * 9 + 1)
    for row in range(7):
        for col in range(7):
            # z[0] rises to the right, z[1] upward.
            z = np.array([[values[col], values[6 - row]]], np.float32)
            expected = _u8(model2.decode(z)[0])
            np.testing.assert_array_equal(
                _tile(grid, row * 7 + col, 7, (8, 8)), expected
            )
    _not_blank(grid)


def test_traversal_rows_follow_the_most_active_units(model5, digits):
    x = digits[0][:500]
    layout = latent.manifold_layout(model5, grid=5, x=x)
    variance = model5.encode(x)[0].var(axis=0)
    assert layout["kind"] == "traversal"
    assert list(layout["units"]) == list(np.argsort(-variance, kind="stable"))
    picture = plots.manifold(model5, layout=layout)
    assert picture.shape == (5 * 9 + 1, 5 * 9 + 1)
    values = latent.grid_values(5)
    for row, unit in enumerate(layout["units"]):
        for col in range(5):
            z = np.zeros((1, 5), np.float32)
            z[0, unit] = values[col]
            expected = _u8(model5.decode(z)[0])
            np.testing.assert_array_equal(
                _tile(picture, row * 5 + col, 5, (8, 8)), expected
            )
    # Without data the decoder's sensitivity ranks the units; rows limit them.
    short = latent.manifold_layout(model5, grid=5, rows=2)
    assert len(short["units"]) == 2 and short["z"].shape == (2, 5, 5)
    assert plots.manifold(model5, layout=short).shape == (2 * 9 + 1, 5 * 9 + 1)


def test_interpolation_runs_between_the_two_encodings(model2, digits):
    x = digits[0]
    picture = plots.interpolation(model2, x[0], x[7], steps=5)
    assert picture.shape == (9 + 1, 7 * 9 + 1)
    z = model2.encode(x[[0, 7]])[0]
    np.testing.assert_array_equal(_tile(picture, 0, 7, (8, 8)), _u8(x[0]))
    np.testing.assert_array_equal(_tile(picture, 6, 7, (8, 8)), _u8(x[7]))
    for step, t in enumerate(np.linspace(0, 1, 5)):
        code = ((1 - t) * z[0] + t * z[1])[None].astype(np.float32)
        np.testing.assert_array_equal(
            _tile(picture, step + 1, 7, (8, 8)), _u8(model2.decode(code)[0])
        )
    spherical = plots.interpolation(model2, x[0], x[7], steps=5, method="slerp")
    np.testing.assert_array_equal(spherical[:, :19], picture[:, :19])  # same start


def test_vectors_get_heatmaps_instead_of_image_grids():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    model = _fit(x, 2, likelihood="gaussian", epochs=0)
    fig = plots.reconstruction_grid(model, x, n=5)
    arrays = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    np.testing.assert_allclose(arrays[0], x[:5])
    np.testing.assert_allclose(arrays[1], model.reconstruct(x[:5]), rtol=1e-5)
    plots._pyplot().close(fig)
    fig = plots.manifold(model, grid=4)  # 2-D latent but vectors: traversals
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] in (
        ["moving z[0]", "moving z[1]"],
        ["moving z[1]", "moving z[0]"],
    )
    assert panels[0].images[0].get_array().shape == (4, 6)
    plots._pyplot().close(fig)
    assert hasattr(plots.sample_grid(model, n=3), "savefig")
    assert hasattr(plots.interpolation(model, x[0], x[1], 3), "savefig")


def test_python_api_rejects_bad_input(model2, model5, digits):
    # Bad arguments: ValueError naming them; data that does not fit: VaekitError.
    with pytest.raises(ValueError, match="Received: n=0"):
        plots.sample_grid(model2, n=0)
    with pytest.raises(ValueError, match="Received: temperature=-1"):
        plots.sample_grid(model2, n=4, temperature=-1)
    with pytest.raises(VaekitError, match="expects"):
        plots.reconstruction_grid(model2, np.zeros((3, 5)), n=2)
    with pytest.raises(ValueError, match="Received: steps=1"):
        plots.interpolation(model2, digits[0][0], digits[0][1], steps=1)
    with pytest.raises(ValueError, match="Received: method='cubic'"):
        plots.interpolation(model2, digits[0][0], digits[0][1], method="cubic")
    with pytest.raises(ValueError, match="Received: grid=1"):
        plots.manifold(model2, grid=1)
    with pytest.raises(ValueError, match="Received: rows=0"):
        plots.manifold(model5, grid=3, rows=0)


def test_save_picture_writes_pixel_exact_upscaled_png(tmp_path, model2):
    grid = plots.sample_grid(model2, n=16)
    path = tmp_path / "grid.png"
    plots.save_picture(str(path), grid)
    png, mode = _read_png(path)
    assert mode == "L"
    assert png.shape[1] == grid.shape[1] * images.picture_scale(grid) >= 500
    np.testing.assert_array_equal(_downscale(png, grid), grid)


# -- the CLI ----------------------------------------------------------------


def test_cli_sample_png_npy_csv(tmp_path, model_files, model2):
    out = tmp_path / "s.png"
    assert (
        main(
            [
                "sample",
                model_files["m2"],
                "-n",
                "9",
                "--seed",
                "4",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    png, _ = _read_png(out)
    grid = plots.sample_grid(model2, 9, seed=4)
    np.testing.assert_array_equal(_downscale(png, grid), grid)
    _not_blank(png)
    npy = tmp_path / "s.npy"
    args = ["sample", model_files["m2"], "-n", "5", "--temperature", "0.5"]
    assert main([*args, "--output", str(npy)]) == 0
    samples = np.load(npy)
    assert samples.shape == (5, 8, 8, 1)
    np.testing.assert_allclose(
        samples, model2.sample(5, seed=0, temperature=0.5), atol=1e-6
    )
    csv_path = tmp_path / "s.csv"
    assert main([*args, "--output", str(csv_path)]) == 0
    table = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table, samples.reshape(5, -1), rtol=1e-5, atol=1e-6)


def test_cli_reconstruct_left_column_is_the_input(
    tmp_path, model_files, model2, digits
):
    out = tmp_path / "r.png"
    argv = ["reconstruct", model_files["m2"], "--data", "digits", "-n", "9"]
    assert main([*argv, "--output", str(out)]) == 0
    png, _ = _read_png(out)
    grid = plots.reconstruction_grid(model2, digits[0], 9)
    small = _downscale(png, grid)
    np.testing.assert_array_equal(small, grid)
    for i in range(9):
        top, left = images.tile_position(i, 3, (8, 17), images.PAIR_GAP)
        np.testing.assert_array_equal(
            small[top : top + 8, left : left + 8], _u8(digits[0][i])
        )
    _not_blank(png)


def test_cli_plot_latent_and_manifold(tmp_path, model_files, model5):
    latent = tmp_path / "latent.png"
    argv = [
        "plot",
        "latent",
        model_files["m5"],
        "--data",
        "digits",
        "--output",
        str(latent),
    ]
    assert main(argv) == 0
    png, _ = _read_png(latent)
    assert png.shape[0] > 400 and png.shape[1] > 500
    _not_blank(png)
    manifold = tmp_path / "manifold.png"
    argv = [
        "plot",
        "manifold",
        model_files["m5"],
        "--grid",
        "6",
        "--output",
        str(manifold),
    ]
    assert main(argv) == 0
    png, _ = _read_png(manifold)
    expected = plots.manifold(model5, grid=6)  # 5 rows: every unit
    assert expected.shape == (5 * 9 + 1, 6 * 9 + 1)
    np.testing.assert_array_equal(_downscale(png, expected), expected)
    argv += ["--data", "digits", "--rows", "3"]
    assert main(argv) == 0
    png, _ = _read_png(manifold)
    assert png.shape[0] // images.picture_scale(expected) == 3 * 9 + 1


def test_cli_interpolate(tmp_path, model_files, model2, digits):
    out = tmp_path / "i.png"
    argv = [
        "interpolate",
        model_files["m2"],
        "--data",
        "digits",
        "--from",
        "3",
        "--to",
        "8",
    ]
    assert main([*argv, "--steps", "6", "--slerp", "--output", str(out)]) == 0
    png, _ = _read_png(out)
    expected = plots.interpolation(model2, digits[0][3], digits[0][8], 6, "slerp")
    np.testing.assert_array_equal(_downscale(png, expected), expected)
    _not_blank(png)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "MISSING", "--output", "OUT.png"], "does not exist"),
        (["sample", "M2", "-n", "0", "--output", "OUT.png"], "Received: -n=0"),
        (["sample", "M2", "--temperature", "-1", "--output", "OUT.png"], "temperature"),
        (["sample", "M2", "--output", "OUT.gif"], "unknown suffix"),
        (
            [
                "reconstruct",
                "M2",
                "--data",
                "digits",
                "-n",
                "-3",
                "--output",
                "OUT.png",
            ],
            "-n",
        ),
        (["reconstruct", "M2", "--data", "WRONG", "--output", "OUT.png"], "expects"),
        (["plot", "latent", "M2", "--data", "digits", "--output", "OUT.jpg"], "suffix"),
        (["plot", "manifold", "M2", "--grid", "1", "--output", "OUT.png"], "--grid"),
        (["plot", "manifold", "MISSING", "--output", "OUT.png"], "does not exist"),
        (
            [
                "interpolate",
                "M2",
                "--data",
                "digits",
                "--from",
                "0",
                "--to",
                "1797",
                "--output",
                "OUT.png",
            ],
            "--to 1797 is out of range",
        ),
        (
            [
                "interpolate",
                "M2",
                "--data",
                "digits",
                "--from",
                "-1",
                "--to",
                "2",
                "--output",
                "OUT.png",
            ],
            "--from -1 is out of range",
        ),
        (
            [
                "interpolate",
                "M2",
                "--data",
                "digits",
                "--from",
                "0",
                "--to",
                "2",
                "--steps",
                "1",
                "--output",
                "OUT.png",
            ],
            "--steps",
        ),
        (["report", "MISSINGRUN"], "does not exist"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(
    tmp_path, model_files, capsys, argv, message
):
    replace = {
        "M2": model_files["m2"],
        "WRONG": model_files["wrong_shape"],
        "MISSING": str(tmp_path / "missing.keras"),
        "MISSINGRUN": str(tmp_path / "no-run"),
    }
    argv = [replace.get(a, a.replace("OUT", str(tmp_path / "out"))) for a in argv]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaekit: error: ") and err.count("\n") == 1
    assert message in err
    assert os.listdir(tmp_path) == []
