"""vaekit.viz.figures: the latent scatter, the heatmaps drawn for vectors,
labels as legends show them, reading a model and its examples, and
`save_picture`.

The scatter's points are checked against the encoder's outputs (and, for
more than two units, against an eigendecomposition of their covariance);
pictures are read back pixel by pixel.
"""

import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from tests.viz.conftest import close, downscale, read_png, untrained
from vaekit.errors import DataError, InvalidArgument
from vaekit.viz import figures
from vaekit.viz import tiles as tiles_lib


def _offsets(fig):
    return np.asarray(fig.axes[0].collections[0].get_offsets(), np.float64)


def test_pyplot_draws_without_a_screen():
    plt = figures.pyplot()
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    assert plt is __import__("matplotlib.pyplot").pyplot


def test_latent_scatter_points_are_the_encoder_outputs(tiny_model, digits_x, digits_y):
    x, y = digits_x[:300], digits_y[:300]
    fig = figures.latent_scatter(tiny_model, x, y)
    ax = fig.axes[0]
    np.testing.assert_allclose(
        _offsets(fig), tiny_model.encode(x)[0], rtol=1e-5, atol=1e-6
    )
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [str(d) for d in range(10)]
    # Points of one class share the colour of their legend entry.
    colours = ax.collections[0].get_facecolors()[:, :3]
    for label, handle in zip(range(10), legend.legend_handles, strict=True):
        expected = np.asarray(matplotlib.colors.to_rgb(handle.get_color()))
        np.testing.assert_allclose(
            colours[y == label], np.tile(expected, (np.sum(y == label), 1))
        )
    assert ax.get_xlabel() == "z_mean[0]" and ax.get_ylabel() == "z_mean[1]"
    assert ax.get_title() == "z_mean of 300 examples: 2-D latent space"
    close(fig)


def test_latent_scatter_reads_a_model_path_and_a_data_spec(
    tiny_model, tiny_model_path, digits_x, digits_y
):
    """The model as a `.keras` path and the data as a spec give the same
    points as the model and the arrays; the data's labels colour them."""
    fig = figures.latent_scatter(tiny_model_path, "digits", title="digits")
    np.testing.assert_allclose(
        _offsets(fig), tiny_model.encode(digits_x)[0], rtol=1e-5, atol=1e-6
    )
    ax = fig.axes[0]
    assert ax.get_title() == "digits"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        str(d) for d in range(10)
    ]
    close(fig)
    with pytest.raises(DataError, match="no test split"):
        figures.latent_scatter(tiny_model, "digits", split="test")


def test_latent_scatter_of_a_dataframe(table_run, table_csv):
    """A DataFrame is read as the model reads one; the label column colours
    the points."""
    from vaekit.model import load_model

    model = load_model(f"{table_run}/model.keras")
    frame = pd.read_csv(table_csv)
    fig = figures.latent_scatter(model, frame, label_column="kind")
    expected = model.encode(frame.drop(columns="kind"))[0]
    np.testing.assert_allclose(_offsets(fig), expected, rtol=1e-5, atol=1e-6)
    # The legend names the classes as the table does.
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y"]
    colours = ax.collections[0].get_facecolors()[:, :3]
    is_y = (frame["kind"] == "y").to_numpy()
    assert len(np.unique(colours[is_y], axis=0)) == 1
    assert not np.allclose(colours[is_y][0], colours[~is_y][0])
    close(fig)


def test_latent_scatter_projects_more_units_on_principal_components(
    model5, digits_x, digits_y
):
    x = digits_x[:400]
    fig = figures.latent_scatter(model5, x, digits_y[:400])
    ax = fig.axes[0]
    offsets = _offsets(fig)
    z = np.asarray(model5.encode(x)[0], np.float64)
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
    assert f"{100 * share[1]:.0f}% of variance" in ax.get_ylabel()
    assert "principal components" in ax.get_title()
    close(fig)
    # A single example has one component; the picture still draws.
    fig = figures.latent_scatter(model5, x[:1])
    assert _offsets(fig).shape == (1, 2)
    close(fig)


def test_latent_scatter_of_one_unit_draws_a_seeded_jitter(digits_x):
    model = untrained((8, 8, 1), 1)
    x = digits_x[:50]
    fig = figures.latent_scatter(model, x)
    offsets = _offsets(fig)
    np.testing.assert_allclose(offsets[:, 0], model.encode(x)[0][:, 0], rtol=1e-5)
    assert (np.abs(offsets[:, 1]) <= 0.5).all() and offsets[:, 1].std() > 0.1
    assert fig.axes[0].get_ylabel() == "random jitter (no meaning)"
    again = figures.latent_scatter(model, x)
    np.testing.assert_array_equal(_offsets(again), offsets)
    close(fig)
    close(again)


def test_latent_scatter_continuous_labels_get_a_colour_bar(tiny_model, digits_x):
    x = digits_x[:100]
    fig = figures.latent_scatter(tiny_model, x, np.linspace(0, 1, 100))
    assert len(fig.axes) == 2  # the scatter and its colour bar
    assert fig.axes[0].get_legend() is None
    np.testing.assert_allclose(
        fig.axes[0].collections[0].get_array(), np.linspace(0, 1, 100)
    )
    close(fig)
    # More than 20 whole-number classes: a colour bar too.
    fig = figures.latent_scatter(tiny_model, x, np.arange(100))
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is None
    close(fig)
    fig = figures.latent_scatter(tiny_model, x)  # no labels at all
    assert len(fig.axes) == 1 and len(_offsets(fig)) == 100
    close(fig)


def test_latent_scatter_refuses_labels_that_do_not_fit(tiny_model, digits_x):
    with pytest.raises(InvalidArgument, match="3 labels for 5 examples"):
        figures.latent_scatter(tiny_model, digits_x[:5], np.zeros(3))
    with pytest.raises(DataError, match="expects"):
        figures.latent_scatter(tiny_model, np.zeros((3, 5)))


def test_examples_reads_arrays_specs_and_frames(tiny_model, digits_x, digits_y):
    model, x, y, condition = figures.examples(tiny_model, digits_x[:4].reshape(4, -1))
    assert model is tiny_model and y is None and condition is None
    np.testing.assert_array_equal(x, digits_x[:4])
    _, x, y, _ = figures.examples(tiny_model, "digits")
    np.testing.assert_array_equal(x, digits_x)
    np.testing.assert_array_equal(y, digits_y)
    _, _, y, _ = figures.examples(tiny_model, "digits", y=np.ones(len(digits_x)))
    assert (y == 1).all()  # labels given beside the data win


@pytest.mark.parametrize(
    "value, text", [(3.0, "3"), (np.float32(2.0), "2"), (2.5, "2.5"), ("x", "x")]
)
def test_label_text(value, text):
    assert figures.label_text(value) == text


def test_vector_heatmaps_share_one_colour_scale():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = -np.ones((4, 3), np.float32)
    fig = figures.vector_heatmaps(
        [("a", a, "row"), ("b", b, "row")], title="T", row_labels=None
    )
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    for panel, array in zip(panels, (a, b), strict=True):
        np.testing.assert_array_equal(panel.images[0].get_array(), array)
        assert panel.images[0].get_clim() == (-1.0, 5.0)
    assert fig._suptitle.get_text() == "T"
    close(fig)
    fig = figures.vector_heatmaps(
        [("a", a, "")], value_range=(0.0, 1.0), row_labels=["first", "second"]
    )
    ax = fig.axes[0]
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["first", "second"]
    close(fig)


def test_save_picture_writes_pixel_exact_upscaled_png(tmp_path):
    grid = np.random.default_rng(0).integers(0, 256, (37, 37), dtype=np.uint8)
    path = tmp_path / "grid.png"
    assert figures.save_picture(str(path), grid) == str(path)
    png, mode = read_png(path)
    assert mode == "L"
    assert png.shape[1] == grid.shape[1] * tiles_lib.picture_scale(grid) >= 500
    np.testing.assert_array_equal(downscale(png, grid), grid)
    figures.save_picture(str(path), grid, scale=1)
    np.testing.assert_array_equal(read_png(path)[0], grid)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]


def test_save_picture_saves_and_closes_a_figure(tmp_path):
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], color="red")
    path = tmp_path / "fig.png"
    figures.save_picture(str(path), fig, dpi=50)
    png, _ = read_png(path)
    assert png.shape[:2] == (100, 150)
    red = (png[..., 0] > 200) & (png[..., 1] < 60) & (png[..., 2] < 60)
    assert red.sum() > 20
    assert not plt.fignum_exists(fig.number)
