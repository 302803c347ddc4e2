"""vaekit.viz.run_pictures: a run's pictures, drawn from the model and the held-out
data, and the index of titles and captions that the report reads. The
tabular case is in test_report.py."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from vaekit import runs
from vaekit.viz import figures as plots
from vaekit.viz import latent
from vaekit.viz import tiles as images
from vaekit.viz.run_pictures import write_run_pictures


@pytest.fixture(scope="module")
def model2():
    """A 2-D latent space on 6x6 images (untrained: the pictures' geometry
    does not need a good model)."""
    import keras

    from vaekit.model.vae import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(0)
    shape = (6, 6, 1)
    return VAE(build_encoder(shape, (8,), 2), build_decoder(shape, (8,), 2), seed=0)


def _png(path):
    with Image.open(path) as img:
        return np.asarray(img)


def _index(run):
    with open(os.path.join(run, runs.PLOTS, runs.PLOTS_INDEX)) as handle:
        return json.load(handle)["pictures"]


def test_image_run_gets_every_picture_and_its_caption(tmp_path, model2):
    run = str(tmp_path / "run")
    os.makedirs(run)
    with open(runs.path(run, runs.HISTORY), "w") as handle:
        handle.write("epoch,loss,val_loss\n1,9.0,9.5\n2,8.0,8.6\n")
    rng = np.random.default_rng(0)
    x = rng.random((30, 36)).astype(np.float32)  # flat rows of the model's images
    y = np.array([4] * 5 + [7] * 25)
    entries = write_run_pictures(run, model2, x, y, grid=5, n_samples=9, n_pairs=4)
    assert entries == _index(run)
    assert [e["file"] for e in entries] == [
        "training_curves.png",
        "latent.png",
        "manifold.png",
        "samples.png",
        "reconstructions.png",
        "interpolation.png",
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
    # The interpolation runs from example 0 to the first with another label.
    assert "#0 (label 4)" in captions["interpolation.png"]
    assert "#5 (label 7)" in captions["interpolation.png"]
    folder = os.path.join(run, runs.PLOTS)
    manifold = plots.manifold(model2, grid=5)
    png = _png(os.path.join(folder, "manifold.png"))
    scale = images.picture_scale(manifold)
    np.testing.assert_array_equal(png[::scale, ::scale], manifold)
    images_ = x.reshape(30, 6, 6, 1)
    expected = plots.interpolation(model2, images_[0], images_[5], 10)
    png = _png(os.path.join(folder, "interpolation.png"))
    scale = images.picture_scale(expected)
    np.testing.assert_array_equal(png[::scale, ::scale], expected)


def test_without_data_or_history_only_the_model_is_drawn(tmp_path, model2):
    run = str(tmp_path / "run")
    entries = write_run_pictures(run, model2, None, None, grid=4, n_samples=4)
    assert [e["file"] for e in entries] == ["manifold.png", "samples.png"]
    assert sorted(os.listdir(os.path.join(run, runs.PLOTS))) == [
        "index.json",
        "manifold.png",
        "samples.png",
    ]
    values = latent.grid_values(4)
    assert f"z = {values[0]:.2f}..{values[-1]:.2f}" in entries[0]["caption"]


def test_a_history_with_unit_kl_gets_the_kl_per_unit_picture(tmp_path, model2):
    run = str(tmp_path / "run")
    os.makedirs(run)
    with open(runs.path(run, runs.HISTORY), "w") as handle:
        handle.write(
            "epoch,loss,kl,seconds,active_units,kl_0,kl_1\n"
            "1,9.0,1.5,0.1,2,0.5,1.0\n2,8.0,1.2,0.1,1,0.01,1.19\n"
        )
    entries = write_run_pictures(run, model2, None, None, grid=4, n_samples=4)
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


def test_a_history_without_unit_kl_gets_no_kl_per_unit_picture(tmp_path, model2):
    run = str(tmp_path / "run")
    os.makedirs(run)
    with open(runs.path(run, runs.HISTORY), "w") as handle:
        handle.write("epoch,loss,kl\n1,9.0,1.5\n2,8.0,1.2\n")
    entries = write_run_pictures(run, model2, None, None, grid=4, n_samples=4)
    assert "kl_per_unit.png" not in [e["file"] for e in entries]
