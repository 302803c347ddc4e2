"""The run folder's pictures and report.html: `vaekit train` writes every
picture that fits the data and a self-contained page; `vaekit report`
rebuilds it; a real browser renders it where one is installed."""

import base64
import csv
import html.parser
import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError, runs
from vaekit.cli.main import main
from vaekit.viz import report
from vaekit.viz import run_pictures as pictures

IMAGE_PICTURES = {
    "training_curves.png",
    "kl_per_unit.png",
    "latent.png",
    "manifold.png",
    "samples.png",
    "reconstructions.png",
    "interpolation.png",
}


def _train(folder, latent_dim):
    argv = [
        "train",
        "--data",
        "digits",
        "--hidden-dims",
        "32",
        "--latent-dim",
        str(latent_dim),
        "--epochs",
        "1",
        "--eval-iw-samples",
        "2",
        "--binarize",
        "none",
        "--output",
        str(folder),
        "--quiet",
    ]
    assert main(argv) == 0
    return str(folder)


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """A real `vaekit train` run with a 2-D latent space."""
    return _train(tmp_path_factory.mktemp("runs") / "latent2", 2)


@pytest.fixture(scope="module")
def run20(tmp_path_factory):
    """A real run with 20 latent units."""
    return _train(tmp_path_factory.mktemp("runs") / "latent20", 20)


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action"):
                self.refs.append((tag, value))

    def handle_data(self, data):
        self.text.append(data)


def _parse(text):
    parser = _Refs()
    parser.feed(text)
    parser.close()
    return parser


def _png(data):
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return np.asarray(img.convert("RGB"))


def _index(run):
    with open(os.path.join(run, "plots", runs.PLOTS_INDEX)) as handle:
        return {e["file"]: e for e in json.load(handle)["pictures"]}


def _assert_embeds_every_picture(run):
    with open(os.path.join(run, "report.html"), encoding="utf-8") as handle:
        text = handle.read()
    parsed = _parse(text)
    assert "script" not in parsed.tags and "link" not in parsed.tags
    assert "http://" not in text and "https://" not in text
    embedded = []
    for tag, ref in parsed.refs:
        if ref.startswith("data:"):
            assert ref.startswith("data:image/png;base64,")
            embedded.append(base64.b64decode(ref.split(",", 1)[1], validate=True))
        else:  # a relative link must name a file that exists
            assert os.path.isfile(os.path.join(run, ref)), (tag, ref)
    pictures = sorted(os.listdir(os.path.join(run, "plots")))
    expected = []
    for name in pictures:
        if name.endswith(".png"):
            with open(os.path.join(run, "plots", name), "rb") as handle:
                expected.append(handle.read())
    assert sorted(embedded) == sorted(expected)
    return text, parsed


def test_train_writes_every_picture_and_the_report(run2):
    names = set(os.listdir(os.path.join(run2, "plots")))
    assert IMAGE_PICTURES <= names
    index = _index(run2)
    assert set(index) == IMAGE_PICTURES
    for name in IMAGE_PICTURES:
        with Image.open(os.path.join(run2, "plots", name)) as img:
            pixels = np.asarray(img.convert("L"), dtype=np.float64)
        assert pixels.std() > 5, f"{name} is blank"
    # A 2-D latent space: the Kingma & Welling grid, 15x15 tiles of 8x8 digits.
    assert index["manifold.png"]["title"] == "Latent manifold"
    with Image.open(os.path.join(run2, "plots", "manifold.png")) as img:
        scale = img.width // (15 * 9 + 1)
        assert img.size == ((15 * 9 + 1) * scale, (15 * 9 + 1) * scale)
    assert "two units" in index["latent.png"]["caption"]
    text, parsed = _assert_embeds_every_picture(run2)
    page = " ".join(parsed.text)
    for title in ("Final metrics", "Configuration", "Latent manifold", "Samples"):
        assert title in page
    with open(os.path.join(run2, "metrics.json")) as handle:
        metrics = json.load(handle)
    assert f"{metrics['elbo']:.4f}" in page
    assert "latent_dim" in page and "hidden_dims" in page
    # The collapse diagnostics: the picture after the training curves and
    # the last epoch's active units as a count.
    assert list(index)[:2] == ["training_curves.png", "kl_per_unit.png"]
    assert index["kl_per_unit.png"]["title"] in page
    assert re.search(r"active units \(training subset\), last epoch [0-2] ", page)


def test_run_with_20_units_draws_pca_and_traversals(run20):
    index = _index(run20)
    assert "principal components of the 20 units" in index["latent.png"]["caption"]
    assert index["manifold.png"]["title"] == "Latent traversals"
    caption = index["manifold.png"]["caption"]
    assert "10 most active of 20 units" in caption
    with Image.open(os.path.join(run20, "plots", "manifold.png")) as img:
        scale = img.width // (15 * 9 + 1)
        assert img.width == (15 * 9 + 1) * scale
        assert img.height == (10 * 9 + 1) * scale  # one row per unit, 10 rows
    _assert_embeds_every_picture(run20)


def test_traversal_caption_names_the_rows_in_order_of_activity(run20):
    """The caption lists the units top to bottom, ranked by the variance of
    z_mean over the run's held-out data."""
    import re

    from vaekit import data
    from vaekit.training import train

    model = runs.load_model(run20)
    settings = runs.load_config(run20)
    _, _, (x_eval, _, _) = train.prepare(data.load("digits"), settings)
    variance = model.encode(x_eval)[0].var(axis=0)
    caption = _index(run20)["manifold.png"]["caption"]
    units = [int(u) for u in re.findall(r"z\[(\d+)\] \(", caption)]
    assert units == list(np.argsort(-variance, kind="stable")[:10])


def test_report_command_rebuilds_the_page(run2, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(run2, copy)
    os.remove(os.path.join(copy, "report.html"))
    assert main(["report", copy]) == 0
    _assert_embeds_every_picture(copy)
    other = tmp_path / "elsewhere" / "page.html"
    assert main(["report", copy, "--output", str(other)]) == 0
    assert other.read_text().count("data:image/png;base64,") == len(IMAGE_PICTURES)
    # --redraw draws the pictures again from model.keras and config.toml.
    shutil.rmtree(os.path.join(copy, "plots"))
    assert main(["report", copy, "--redraw"]) == 0
    assert IMAGE_PICTURES <= set(os.listdir(os.path.join(copy, "plots")))
    _assert_embeds_every_picture(copy)


def test_report_of_a_bare_folder_and_bad_folders(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss,kl\n1,10.5,2.0\n2,9.5,2.5\n")
    text = report.build_report(str(run))
    assert "No pictures" in text and "training loss, last epoch" in text
    assert "9.5000" in text
    with pytest.raises(VaekitError, match="does not exist"):
        report.build_report(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(VaekitError, match="not a vaekit run folder"):
        report.build_report(str(tmp_path / "empty"))
    assert main(["report", str(run), "--output", str(tmp_path / "x.pdf")]) == 2
    assert not (tmp_path / "x.pdf").exists()


def test_tabular_runs_get_the_pictures_that_fit(tmp_path):
    import keras

    from vaekit.model.vae import VAE, build_decoder, build_encoder

    keras.utils.set_random_seed(0)
    model = VAE(
        build_encoder((5,), (16,), 3),
        build_decoder((5,), (16,), 3),
        likelihood="gaussian",
    )
    run = str(tmp_path / "tabular")
    rows = [{"epoch": 1, "loss": 8.0, "val_loss": 8.5}, {"epoch": 2, "loss": 7.0}]
    with open(os.path.join(tmp_path, "h.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "loss", "val_loss"])
        writer.writeheader()
        writer.writerows(rows)
    os.makedirs(run)
    shutil.copy(os.path.join(tmp_path, "h.csv"), os.path.join(run, "history.csv"))
    x = np.random.default_rng(0).normal(size=(50, 5)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=50)  # a continuous target
    entries = pictures.write_run_pictures(run, model, x, y, grid=5)
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
    report.write_report(run)
    _assert_embeds_every_picture(run)


def _browser():
    for name in (
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no chromium installed")
def test_report_renders_in_a_headless_browser(run2, tmp_path):
    shot = tmp_path / "shot.png"
    command = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        "file://" + os.path.abspath(os.path.join(run2, "report.html")),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    pixels = _png(shot.read_bytes()).astype(np.int64)
    assert pixels.shape[:2] == (2000, 1200)
    not_white = (pixels < 230).any(axis=2).mean()
    assert not_white > 0.02, "the page rendered (almost) empty"
    # The embedded training curves are drawn in matplotlib's first two
    # colours: they appear only if the pictures decoded and rendered.
    for colour in ((31, 119, 180), (255, 127, 14)):
        close = (np.abs(pixels - colour).sum(axis=2) < 40).sum()
        assert close > 200, f"no pixels of colour {colour}: pictures not rendered"
