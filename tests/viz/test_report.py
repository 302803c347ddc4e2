"""vaekit.viz.report: the run's self-contained report.html, the page
`vaekit train` writes beside its pictures (the session's tiny run), pages
of bare and broken folders, and a real browser rendering it where chromium
is installed."""

import base64
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

from vaekit import runs
from vaekit.errors import RunFolderError
from vaekit.viz import report


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


def assert_embeds_every_picture(run, page=None):
    """The page (default RUN/report.html) has no scripts, loads nothing from
    the network and embeds exactly the pictures of RUN/plots/. Returns its
    text and parse."""
    page = page or os.path.join(run, "report.html")
    with open(page, encoding="utf-8") as handle:
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
    expected = []
    for name in sorted(os.listdir(os.path.join(run, "plots"))):
        if name.endswith(".png"):
            with open(os.path.join(run, "plots", name), "rb") as handle:
                expected.append(handle.read())
    assert expected and sorted(embedded) == sorted(expected)
    return text, parsed


def test_train_writes_a_report_of_the_run(tiny_run):
    text, parsed = assert_embeds_every_picture(tiny_run)
    page = " ".join(parsed.text)
    for title in ("Final metrics", "Configuration", "Latent manifold", "Samples"):
        assert title in page
    with open(os.path.join(tiny_run, "metrics.json")) as handle:
        metrics = json.load(handle)
    assert f"{metrics['elbo']:.4f}" in page
    assert f"{metrics['log_likelihood']:.4f}" in page
    assert "latent_dim" in page and "hidden_dims" in page
    assert "vaekit run RUN" in page
    # The pictures in the order of plots/index.json: the collapse
    # diagnostics after the training curves.
    with open(os.path.join(tiny_run, "plots", runs.PLOTS_INDEX)) as handle:
        index = json.load(handle)["pictures"]
    titles = [e["title"] for e in index]
    assert titles[:2] == ["Training curves", "KL per latent unit"]
    places = [page.index(title) for title in titles]
    assert places == sorted(places)
    # The last epoch's active units as a count.
    assert re.search(r"active units \(training subset\), last epoch [0-2] ", page)
    assert "epochs trained 2 " in page


def test_write_report_elsewhere_and_after_a_redraw(tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    other = tmp_path / "elsewhere" / "page.html"
    assert report.write_report(run, str(other)) == str(other)
    assert_embeds_every_picture(run, str(other))
    shutil.rmtree(os.path.join(run, "plots"))
    os.remove(os.path.join(run, "report.html"))
    assert report.write_report(run, redraw=True) == os.path.join(run, "report.html")
    text, _ = assert_embeds_every_picture(run)
    assert text.count("data:image/png;base64,") == 7


def test_pictures_without_an_index_come_in_a_fixed_order(tmp_path):
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    names = ["zeta.png", "samples.png", "alpha.png", "latent.png", "notes.txt"]
    for name in names:
        Image.new("L", (4, 4), 200).save(run / "plots" / name, format="PNG")
    (run / "plots" / ".hidden.png").write_bytes(b"")
    text = report.build_report(str(run))
    order = re.findall(r"\(plots/([^)]+)\)", text)
    assert order == ["latent.png", "samples.png", "alpha.png", "zeta.png"]
    assert "<b>zeta</b>" in text  # the file name stands in for a title
    assert "No readable config.toml" in text


def test_report_of_a_bare_folder_and_bad_folders(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss,kl\n1,10.5,2.0\n2,9.5,2.5\n")
    text = report.build_report(str(run))
    assert "No pictures" in text and "training loss, last epoch" in text
    assert "9.5000" in text and "No metrics.json" not in text
    with pytest.raises(RunFolderError, match="does not exist"):
        report.build_report(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="not a vaekit run folder"):
        report.build_report(str(tmp_path / "empty"))
    with pytest.raises(RunFolderError, match="not a vaekit run folder"):
        report.write_report(str(tmp_path / "empty"))
    assert os.listdir(tmp_path / "empty") == []


# -- hostile run folders (issue 18) ---------------------------------------------


def _embedded(text):
    """The bytes of every picture a page embeds."""
    return [
        base64.b64decode(ref.split(",", 1)[1])
        for _, ref in _parse(text).refs
        if ref.startswith("data:")
    ]


def test_links_in_plots_are_never_embedded(tmp_path):
    """A link put in RUN/plots/ (to a picture elsewhere, or to one inside),
    and a RUN/plots that is itself a link: what they lead to is not in the
    page, which may be mailed."""
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    Image.new("L", (4, 4), 7).save(secret / "secret.png", format="PNG")
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    Image.new("L", (4, 4), 200).save(run / "plots" / "samples.png", format="PNG")
    (run / "plots" / "stolen.png").symlink_to(secret / "secret.png")
    (run / "plots" / "again.png").symlink_to(run / "plots" / "samples.png")
    (run / "plots" / "folder.png").mkdir()
    (run / "history.csv").write_text("epoch,loss\n1,2.0\n")
    text = report.build_report(str(run))
    assert re.findall(r"\(plots/([^)]+)\)", text) == ["samples.png"]
    assert _embedded(text) == [(run / "plots" / "samples.png").read_bytes()]
    shutil.rmtree(run / "plots")
    (run / "plots").symlink_to(secret)
    text = report.build_report(str(run))
    assert _embedded(text) == [] and "No pictures" in text


@pytest.mark.parametrize(
    "index",
    [
        {"pictures": [{"file": "samples.png", "title": 5, "caption": [7]}]},
        {"pictures": [3, None, {"file": 9}, {"file": ["samples.png"]}]},
        {"pictures": 5},
        {"pictures": [{"file": "samples.png", "title": None, "pixels": "yes"}]},
        [1, 2],
        "not json",
    ],
)
def test_a_hand_edited_plots_index_falls_back_to_the_defaults(tmp_path, index):
    """`plots/index.json` with a number where a title belongs, and other
    entries of the wrong kind: the defaults stand in for them (the title
    from the file name, no caption, not pixel-exact)."""
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    Image.new("L", (4, 4), 200).save(run / "plots" / "samples.png", format="PNG")
    text = index if isinstance(index, str) else json.dumps(index)
    (run / "plots" / "index.json").write_text(text)
    page = report.build_report(str(run))
    assert "<b>samples</b> (plots/samples.png). </figcaption>" in page
    assert 'class="pixels"' not in page


def test_an_incomplete_run_says_so(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss\n1,2.0\n")
    assert "This run is incomplete" not in report.build_report(str(run))
    (run / runs.INCOMPLETE).write_text("training\n")
    page = report.build_report(str(run))
    assert "<b>This run is incomplete</b>" in page
    assert f"vaekit train --resume {run}" in page


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
def test_report_renders_in_a_headless_browser(tiny_run, tmp_path):
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
        "file://" + os.path.abspath(os.path.join(tiny_run, "report.html")),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False, cwd=tmp_path)
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
