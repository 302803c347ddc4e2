"""vaekit.viz.run_pictures: a run's pictures, drawn from the model and the
held-out data, and the index of titles and captions that the report reads.

Most tests draw with small untrained models (a picture's geometry does not
need a good model); the session's tiny run shows what `vaekit train`
draws, and a copy of it is redrawn.
"""

import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from tests.viz.conftest import downscale, not_blank, read_png, untrained
from vaekit import runs
from vaekit.viz import decoded, latent
from vaekit.viz import tiles as tiles_lib
from vaekit.viz.run_pictures import redraw_pictures, write_run_pictures

IMAGE_PICTURES = [
    "training_curves.png",
    "kl_per_unit.png",
    "latent.png",
    "manifold.png",
    "samples.png",
    "reconstructions.png",
    "interpolation.png",
]


@pytest.fixture(scope="module")
def model6():
    """A 2-D latent space on 6x6 images."""
    return untrained((6, 6, 1), 2, hidden=8)


def _index(run):
    with open(os.path.join(run, runs.PLOTS, runs.PLOTS_INDEX)) as handle:
        return json.load(handle)["pictures"]


def _picture(run, name):
    return read_png(os.path.join(run, runs.PLOTS, name))[0]


def _history(run, text):
    os.makedirs(run, exist_ok=True)
    with open(runs.path(run, runs.HISTORY), "w") as handle:
        handle.write(text)


def test_image_run_gets_every_picture_and_its_caption(tmp_path, model6):
    run = str(tmp_path / "run")
    _history(run, "epoch,loss,val_loss\n1,9.0,9.5\n2,8.0,8.6\n")
    rng = np.random.default_rng(0)
    x = rng.random((30, 36)).astype(np.float32)  # flat rows of the model's images
    y = np.array([4] * 5 + [7] * 25)
    entries = write_run_pictures(run, model6, x, y, grid=5, n_samples=9, n_pairs=4)
    assert entries == _index(run)
    assert [e["file"] for e in entries] == [
        name for name in IMAGE_PICTURES if name != "kl_per_unit.png"
    ]
    pixels = {e["file"]: e["pixels"] for e in entries}
    assert pixels == {
        "training_curves.png": False,
        "latent.png": False,
        "manifold.png": True,
        "samples.png": True,
        "reconstructions.png": True,
        "interpolation.png": True,
    }
    captions = {e["file"]: e["caption"] for e in entries}
    assert "5x5 grid" in captions["manifold.png"]
    assert "coloured by label" in captions["latent.png"]
    assert "30 held-out examples" in captions["latent.png"]
    assert "4 held-out examples" in captions["reconstructions.png"]
    # The interpolation runs from example 0 to the first with another label.
    assert "#0 (label 4)" in captions["interpolation.png"]
    assert "#5 (label 7)" in captions["interpolation.png"]
    images = x.reshape(30, 6, 6, 1)
    expected = {
        "manifold.png": decoded.manifold(model6, grid=5),
        "samples.png": decoded.sample_grid(model6, 9, seed=0),
        "reconstructions.png": decoded.reconstruction_grid(model6, images, 4),
        "interpolation.png": decoded.interpolation(model6, images[0], images[5], 10),
    }
    for name, grid in expected.items():
        np.testing.assert_array_equal(downscale(_picture(run, name), grid), grid)


def test_without_labels_the_interpolation_joins_the_first_two(tmp_path, model6):
    run = str(tmp_path / "run")
    x = np.random.default_rng(1).random((3, 6, 6, 1)).astype(np.float32)
    entries = write_run_pictures(run, model6, x, None, grid=4, n_samples=4)
    captions = {e["file"]: e["caption"] for e in entries}
    assert captions["latent.png"].endswith(
        "z_mean of each of the 3 held-out examples, drawn on its two units."
    )
    assert "#0, then" in captions["interpolation.png"]
    assert "example #1 itself" in captions["interpolation.png"]
    expected = decoded.interpolation(model6, x[0], x[1], 10)
    picture = _picture(run, "interpolation.png")
    np.testing.assert_array_equal(downscale(picture, expected), expected)


def test_without_data_or_history_only_the_model_is_drawn(tmp_path, model6):
    run = str(tmp_path / "run")
    entries = write_run_pictures(run, model6, None, None, grid=4, n_samples=4)
    assert [e["file"] for e in entries] == ["manifold.png", "samples.png"]
    assert sorted(os.listdir(os.path.join(run, runs.PLOTS))) == [
        "index.json",
        "manifold.png",
        "samples.png",
    ]
    values = latent.grid_values(4)
    assert f"z = {values[0]:.2f}..{values[-1]:.2f}" in entries[0]["caption"]
    # Empty data counts as none.
    again = write_run_pictures(run, model6, np.zeros((0, 36), np.float32), None, 4)
    assert [e["file"] for e in again] == ["manifold.png", "samples.png"]


def test_a_history_with_unit_kl_gets_the_kl_per_unit_picture(tmp_path, model6):
    run = str(tmp_path / "run")
    _history(
        run,
        "epoch,loss,kl,seconds,active_units,kl_0,kl_1\n"
        "1,9.0,1.5,0.1,2,0.5,1.0\n2,8.0,1.2,0.1,1,0.01,1.19\n",
    )
    entries = write_run_pictures(run, model6, None, None, grid=4, n_samples=4)
    assert entries == _index(run)
    assert [e["file"] for e in entries][:2] == [
        "training_curves.png",
        "kl_per_unit.png",
    ]
    entry = entries[1]
    assert entry["title"] == "KL per latent unit" and not entry["pixels"]
    assert "each of the 2 latent units" in entry["caption"]
    assert "0.1 nats" in entry["caption"] and "active units" in entry["caption"]
    with Image.open(os.path.join(run, runs.PLOTS, "kl_per_unit.png")) as img:
        assert img.size[0] > 500
    # The report shows it with its title and caption.
    from vaekit.viz.report import build_report

    html = build_report(run)
    assert "KL per latent unit" in html and "posterior collapse" in html


def test_a_history_without_unit_kl_gets_no_kl_per_unit_picture(tmp_path, model6):
    run = str(tmp_path / "run")
    _history(run, "epoch,loss,kl\n1,9.0,1.5\n2,8.0,1.2\n")
    entries = write_run_pictures(run, model6, None, None, grid=4, n_samples=4)
    assert "kl_per_unit.png" not in [e["file"] for e in entries]
    assert entries[0]["file"] == "training_curves.png"


def test_twenty_units_get_a_projection_and_traversals(tmp_path, digits_x, digits_y):
    """More than two units: the scatter on principal components and one
    traversal row per unit, the 10 most active by the variance of z_mean
    over the held-out data, named in that order in the caption."""
    model = untrained((8, 8, 1), 20)
    x, y = digits_x[:300], digits_y[:300]
    run = str(tmp_path / "run")
    entries = {e["file"]: e for e in write_run_pictures(run, model, x, y, n_pairs=4)}
    assert "principal components of the 20 units" in entries["latent.png"]["caption"]
    assert entries["manifold.png"]["title"] == "Latent traversals"
    caption = entries["manifold.png"]["caption"]
    assert "10 most active of 20 units" in caption
    assert "variance of z_mean over the held-out data" in caption
    variance = np.asarray(model.encode(x)[0], np.float64).var(axis=0)
    units = [int(u) for u in re.findall(r"z\[(\d+)\] \(", caption)]
    assert units == list(np.argsort(-variance, kind="stable")[:10])
    with Image.open(os.path.join(run, runs.PLOTS, "manifold.png")) as img:
        scale = img.width // (15 * 9 + 1)
        assert img.width == (15 * 9 + 1) * scale
        assert img.height == (10 * 9 + 1) * scale  # one row per unit, 10 rows
    # Without data, the decoder's sensitivity ranks the units.
    other = str(tmp_path / "bare")
    (entry,) = [
        e
        for e in write_run_pictures(other, model, None, None, grid=3, n_samples=4)
        if e["file"] == "manifold.png"
    ]
    assert "by the decoder's sensitivity" in entry["caption"]


def test_tabular_runs_get_the_pictures_that_fit(tmp_path):
    model = untrained((5,), 3, likelihood="gaussian")
    run = str(tmp_path / "tabular")
    _history(run, "epoch,loss,val_loss\n1,8.0,8.5\n2,7.0,\n")
    x = np.random.default_rng(0).normal(size=(50, 5)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=50)  # a continuous target
    entries = write_run_pictures(run, model, x, y, grid=5)
    assert [e["file"] for e in entries] == [
        "training_curves.png",
        "latent.png",
        "manifold.png",
        "samples.png",
        "reconstructions.png",
        "interpolation.png",
    ]
    assert not any(e["pixels"] for e in entries)  # all matplotlib charts
    assert "each panel moves one latent unit" in entries[2]["caption"]
    assert "(left) and their reconstructions (right)" in entries[4]["caption"]
    # The report embeds the charts; none is drawn as a pixel grid.
    from tests.viz.test_report import assert_embeds_every_picture
    from vaekit.viz.report import write_report

    write_report(run)
    text, _ = assert_embeds_every_picture(run)
    assert 'class="pixels"' not in text


def test_a_trained_run_has_every_picture(tiny_run):
    """What `vaekit train` draws for the tiny run (2 latent units, 8x8
    digits, 10% held out)."""
    index = {e["file"]: e for e in _index(tiny_run)}
    assert list(index) == IMAGE_PICTURES
    for name in IMAGE_PICTURES:
        with Image.open(os.path.join(tiny_run, runs.PLOTS, name)) as img:
            pixels = np.asarray(img.convert("L"), dtype=np.float64)
        not_blank(pixels)
    # A 2-D latent space: the Kingma & Welling grid, 15x15 tiles of 8x8 digits.
    assert index["manifold.png"]["title"] == "Latent manifold"
    with Image.open(os.path.join(tiny_run, runs.PLOTS, "manifold.png")) as img:
        scale = img.width // (15 * 9 + 1)
        assert img.size == ((15 * 9 + 1) * scale, (15 * 9 + 1) * scale)
    assert "two units" in index["latent.png"]["caption"]
    assert "180 held-out examples" in index["latent.png"]["caption"]


def test_redraw_draws_the_run_again_on_its_held_out_data(tiny_run, copy_run):
    from vaekit import data
    from vaekit.model import load_model

    run = copy_run(tiny_run)
    for name in os.listdir(os.path.join(run, runs.PLOTS)):
        os.remove(os.path.join(run, runs.PLOTS, name))
    redraw_pictures(run)
    assert [e["file"] for e in _index(run)] == IMAGE_PICTURES
    for name in ("manifold.png", "samples.png", "interpolation.png"):
        # The same model and data as training drew them with.
        np.testing.assert_array_equal(
            _picture(run, name), _picture(tiny_run, name), err_msg=name
        )
    model = load_model(runs.path(run, runs.MODEL))
    config = runs.load_config(run)
    splits = data.split_for_training(
        data.load("digits"),
        config.likelihood,
        config.binarize,
        config.validation_split,
        config.seed,
    )
    x, _ = splits.evaluation[:2]
    assert len(x) == 180
    expected = decoded.reconstruction_grid(model, x, 16)
    picture = _picture(run, "reconstructions.png")
    np.testing.assert_array_equal(downscale(picture, expected), expected)
    assert tiles_lib.picture_scale(expected) > 1
