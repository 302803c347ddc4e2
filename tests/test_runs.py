"""vaekit.runs: the run folder's names, reading a run back, and claiming a
folder for a run (atomically, replacing only vaekit's own files)."""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers import FIXTURES
from vaekit import VaekitError, __version__, io, runs
from vaekit.config import Config, to_toml
from vaekit.errors import DataError, RunFolderError


@pytest.fixture
def run(tmp_path):
    """A run folder with a config, a history and metrics (no model)."""
    folder = tmp_path / "RUN"
    folder.mkdir()
    (folder / runs.CONFIG).write_text(to_toml(Config(epochs=3, latent_dim=4)))
    (folder / runs.HISTORY).write_text(
        "epoch,loss,val_loss,seconds\n1,10.5,11.0,0.5\n2,9.5,,0.25\n"
    )
    (folder / runs.METRICS).write_text(json.dumps({"elbo": -90.5, "n": 10}))
    return str(folder)


def test_file_names():
    # Users, scripts and older runs rely on these names.
    assert (runs.CONFIG, runs.HISTORY, runs.METRICS) == (
        "config.toml",
        "history.csv",
        "metrics.json",
    )
    assert (runs.MODEL, runs.PLOTS, runs.REPORT, runs.CHECKPOINT) == (
        "model.keras",
        "plots",
        "report.html",
        "checkpoint.npz",
    )
    assert (runs.TRAIN_SCORES, runs.PLOTS_INDEX) == ("train_scores.npz", "index.json")
    assert runs.MARKER == ".vaekit-run"
    assert set(runs.OWN_FILES) == {
        runs.CONFIG,
        runs.HISTORY,
        runs.CHECKPOINT,
        runs.MODEL,
        runs.METRICS,
        runs.REPORT,
        runs.TRAIN_SCORES,
        runs.MARKER,
    }
    assert runs.path("RUN", runs.MODEL) == os.path.join("RUN", "model.keras")


def test_read_config(run, tmp_path):
    values = runs.read_config(run)
    assert (values["epochs"], values["latent_dim"]) == (3, 4)
    assert runs.load_config(run) == Config(epochs=3, latent_dim=4)
    assert runs.read_config(tmp_path, missing_ok=True) is None
    with pytest.raises(VaekitError, match="does not exist"):
        runs.read_config(tmp_path)
    (tmp_path / runs.CONFIG).write_text("epochs = = 1\n")
    with pytest.raises(VaekitError, match="not valid TOML"):
        runs.read_config(tmp_path, missing_ok=True)
    (tmp_path / runs.CONFIG).write_text("epochs = 0\n")
    with pytest.raises(VaekitError, match=r"config\.toml'?: .*epochs=0"):
        runs.load_config(tmp_path)


def test_read_history(run, tmp_path):
    history = runs.read_history(run)
    assert sorted(history) == ["epoch", "loss", "seconds", "val_loss"]
    np.testing.assert_array_equal(history["epoch"], [1, 2])
    np.testing.assert_array_equal(history["loss"], [10.5, 9.5])
    assert history["val_loss"][0] == 11.0 and math.isnan(history["val_loss"][1])
    assert runs.read_history(tmp_path) == {}  # no file
    (tmp_path / runs.HISTORY).write_text("epoch,loss\n")
    assert runs.read_history(tmp_path) == {}  # no rows


def test_read_metrics_and_plots_index(run, tmp_path):
    assert runs.read_metrics(run) == {"elbo": -90.5, "n": 10}
    assert runs.read_metrics(tmp_path) is None
    (tmp_path / runs.METRICS).write_text("{not json")
    assert runs.read_metrics(tmp_path) is None
    assert runs.read_plots_index(run) == {}
    plots = tmp_path / runs.PLOTS
    plots.mkdir()
    index = {"pictures": [{"file": "samples.png", "title": "Samples"}]}
    (plots / runs.PLOTS_INDEX).write_text(json.dumps(index))
    assert runs.read_plots_index(tmp_path) == index
    (plots / runs.PLOTS_INDEX).write_text("[1, 2]")  # not an index
    assert runs.read_plots_index(tmp_path) == {}


def test_read_train_scores(tmp_path):
    with pytest.raises(RunFolderError, match="no stored training scores.*--threshold"):
        runs.read_train_scores(tmp_path)
    neg_elbo = np.array([3.5, 1.25, 7.0], np.float32)
    io.save_npz(runs.path(tmp_path, runs.TRAIN_SCORES), neg_elbo=neg_elbo, iw_samples=5)
    scores = runs.read_train_scores(tmp_path)
    assert sorted(scores) == ["iw_samples", "neg_elbo"]
    assert type(scores["iw_samples"]) is int and scores["iw_samples"] == 5
    np.testing.assert_array_equal(scores["neg_elbo"], neg_elbo)
    for broken in (b"not a zip", b"PK\x03\x04broken"):
        (tmp_path / runs.TRAIN_SCORES).write_bytes(broken)
        with pytest.raises(RunFolderError, match="cannot be read") as info:
            runs.read_train_scores(tmp_path)
        assert "\n" not in str(info.value)
    io.save_npz(runs.path(tmp_path, runs.TRAIN_SCORES), neg_elbo=neg_elbo)
    with pytest.raises(RunFolderError, match="cannot be read"):  # no iw_samples
        runs.read_train_scores(tmp_path)


def test_resume_config(run, tmp_path):
    assert runs.resume_config(run) == Config(epochs=3, latent_dim=4)
    assert runs.resume_config(run, epochs=5) == Config(epochs=5, latent_dim=4)
    # the run's backend is kept, or the flag's used; the environment may not
    # silently replace it
    assert runs.resume_config(run, backend="torch").backend == "torch"
    assert runs.resume_config(run, environment="jax").backend == "jax"
    with pytest.raises(VaekitError, match="KERAS_BACKEND=torch.*--backend"):
        runs.resume_config(run, environment="torch")
    with pytest.raises(RunFolderError, match="not a run folder"):
        runs.resume_config(tmp_path)
    with pytest.raises(VaekitError, match="epochs"):
        runs.resume_config(run, epochs=0)


def test_training_binarize(tmp_path):
    model = tmp_path / runs.MODEL
    # a bare model file: nothing says how it was trained
    assert runs.training_binarize(str(model)) == "none"
    config = tmp_path / runs.CONFIG
    for binarize in ("none", "static", "dynamic"):
        config.write_text(f'binarize = "{binarize}"\n')
        assert runs.training_binarize(str(model)) == binarize
    config.write_text("epochs = 3\n")  # the default of the run
    assert runs.training_binarize(str(model)) == Config().binarize
    for text in ("binarize = = 1\n", 'binarize = "yes"\n', b"\xff\xfe"):
        if isinstance(text, bytes):
            config.write_bytes(text)
        else:
            config.write_text(text)
        with pytest.raises(RunFolderError) as info:
            runs.training_binarize(str(model))
        message = str(info.value)
        assert str(config) in message and "\n" not in message
        assert "--binarize none or --binarize static" in message


# -- claiming a run folder ---------------------------------------------------


def tree(folder):
    """Every entry under `folder`: relative path -> file bytes, link target
    or "<dir>" (what a refused claim must leave exactly as it was)."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            full = os.path.join(root, name)
            key = os.path.relpath(full, folder)
            if os.path.islink(full):
                found[key] = "-> " + os.readlink(full)
            elif os.path.isdir(full):
                found[key] = "<dir>"
            else:
                with open(full, "rb") as handle:
                    found[key] = handle.read()
    return found


def marker(folder):
    with open(runs.path(folder, runs.MARKER)) as handle:
        return json.load(handle)


def test_claim_makes_a_marked_folder(tmp_path):
    new = str(tmp_path / "a" / "b" / "new")  # parents are made
    assert runs.claim(new) == new
    assert os.listdir(new) == [runs.MARKER]
    assert marker(new)["vaekit"] == __version__
    # an existing empty folder is claimed as it is
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runs.claim(str(empty)) == str(empty)
    assert os.listdir(empty) == [runs.MARKER]


def test_claim_refuses_what_it_may_not_replace(tmp_path):
    new = runs.claim(str(tmp_path / "new"))
    (tmp_path / "new" / runs.CONFIG).write_text("epochs = 1\n")
    before = tree(new)
    with pytest.raises(RunFolderError, match="already exists.*overwrite"):
        runs.claim(new)
    assert tree(new) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="not a folder"):
        runs.claim(str(tmp_path / "file"), overwrite=True)
    assert (tmp_path / "file").read_text() == "x"


def test_claim_default_names_are_unique(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = runs.claim()
    second = runs.claim()  # in the same second: a suffix
    assert first != second
    assert os.path.dirname(first) == os.path.dirname(second) == "runs"
    assert os.listdir(first) == os.listdir(second) == [runs.MARKER]


def own_run(folder):
    """A marked run folder holding every file vaekit writes, and temporaries
    of its atomic writes that a crash left behind."""
    runs.claim(str(folder))
    for name in runs.OWN_FILES:
        if name != runs.MARKER:
            (folder / name).write_text(f"old {name}")
    (folder / ".model.x2k_9q0a.tmp.keras").write_text("half a model")
    plots = folder / runs.PLOTS
    plots.mkdir()
    for name in runs.OWN_PICTURES:
        (plots / name).write_text(f"old {name}")
    (plots / ".samples.abc123_x.tmp.png").write_text("half a picture")
    return str(folder)


def test_overwrite_removes_only_vaekits_own_files(tmp_path):
    folder = own_run(tmp_path / "RUN")
    (tmp_path / "RUN" / runs.MARKER).write_text('{"old": true}')
    assert runs.claim(folder, overwrite=True) == folder
    assert os.listdir(folder) == [runs.MARKER]  # a fresh marker alone
    assert marker(folder)["vaekit"] == __version__


def test_overwrite_of_a_real_run_folder(tiny_run, copy_run):
    """Every file `vaekit train` writes is one `claim` knows as its own."""
    run = copy_run(tiny_run)
    names = set(os.listdir(run))
    assert {runs.MARKER, runs.MODEL, runs.CONFIG, runs.PLOTS} <= names
    assert runs.claim(run, overwrite=True) == run
    assert os.listdir(run) == [runs.MARKER]


@pytest.mark.parametrize(
    "foreign",
    [
        "notes.txt",
        "src/main.py",  # a folder
        "plots/mine.png",
        "plots/sub/deep.png",
        "link:model.keras",  # a link where vaekit's file would be
        "link:plots",
        "link:plots/samples.png",
        ".notes.tmp",  # looks like a temporary, of no file of vaekit's
        ".data.abc123.tmp.csv",
        "plots/.mine.abc123.tmp.png",
    ],
)
def test_overwrite_refuses_a_folder_with_a_foreign_file(tmp_path, foreign):
    folder = own_run(tmp_path / "RUN")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.png").write_text("keep me")
    is_link = foreign.startswith("link:")
    name = foreign.removeprefix("link:")
    target = tmp_path / "RUN" / name
    if is_link:
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
        target.symlink_to(outside if name == runs.PLOTS else outside / "precious.png")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("user's own")
    before, kept = tree(folder), tree(outside)
    with pytest.raises(RunFolderError) as info:
        runs.claim(folder, overwrite=True)
    message = str(info.value)
    # the first foreign entry (in sorted order) is named: a folder by itself
    shown = name.split("/")[0] if name.startswith("src") else name
    if name == "plots/sub/deep.png":
        shown = os.path.join(runs.PLOTS, "sub")
    assert f"holds {shown!r}, which vaekit did not write" in message, message
    assert "\n" not in message
    assert tree(folder) == before  # nothing removed, not even vaekit's files
    assert tree(outside) == kept


def test_overwrite_refuses_a_folder_without_the_marker(tmp_path):
    # A run folder of vaekit before 0.2 (no marker), and a user's project.
    old = tmp_path / "old"
    shutil.copytree(os.path.join(FIXTURES, "runs", "digits"), old)
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "config.toml").write_text('title="site"\n')
    (project / "src" / "main.py").write_text("keep\n")
    for folder in (old, project):
        before = tree(folder)
        with pytest.raises(RunFolderError, match="has no .vaekit-run marker") as info:
            runs.claim(str(folder), overwrite=True)
        assert repr(str(folder)) in str(info.value)
        assert tree(folder) == before


def test_overwrite_of_the_current_folder(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "config.toml").write_text('title="site"\n')
    before = tree(project)
    monkeypatch.chdir(project)
    with pytest.raises(RunFolderError, match="'.' is not a folder vaekit made"):
        runs.claim(".", overwrite=True)
    assert tree(project) == before
    # a run folder of vaekit's is replaced from inside too
    run = own_run(tmp_path / "RUN")
    monkeypatch.chdir(run)
    assert runs.claim(".", overwrite=True) == "."
    assert os.listdir(run) == [runs.MARKER]


def test_a_freshly_claimed_folder_is_not_replaced(tmp_path):
    """A folder holding the marker alone is one another training has just
    claimed: `overwrite` does not take it over."""
    folder = runs.claim(str(tmp_path / "RUN"))
    with pytest.raises(RunFolderError, match="claimed by another training"):
        runs.claim(folder, overwrite=True)
    assert os.listdir(folder) == [runs.MARKER]


RACE = """
    import json, os, sys, time
    from vaekit import runs
    from vaekit.errors import RunFolderError
    root, count, overwrite, go = sys.argv[1:]
    while not os.path.exists(go):
        time.sleep(0.0005)
    won = []
    for i in range(int(count)):
        try:
            runs.claim(os.path.join(root, str(i)), overwrite=overwrite == "1")
            won.append(i)
        except RunFolderError:
            pass
    print(json.dumps(won))
"""


def test_processes_racing_for_the_same_folders_get_one_each(tmp_path):
    """Four processes claim the same 150 new folders, with and without
    `overwrite`: each folder is won by exactly one of them."""
    count, procs = 150, []
    go = tmp_path / "go"
    for overwrite in ("0", "1"):
        root = tmp_path / f"overwrite{overwrite}"
        root.mkdir()
        procs += [
            (
                root,
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        textwrap.dedent(RACE),
                        str(root),
                        str(count),
                        overwrite,
                        str(go),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for _ in range(4)
        ]
    go.touch()  # all start together
    wins = {}
    for root, proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        for i in json.loads(out):
            wins.setdefault((root.name, i), []).append(proc.pid)
    assert len(wins) == 2 * count
    assert all(len(pids) == 1 for pids in wins.values())
    for root in {root for root, _ in procs}:
        for i in range(count):
            assert os.listdir(root / str(i)) == [runs.MARKER]


def test_release_removes_only_a_folder_nothing_was_written_to(tmp_path):
    folder = runs.claim(str(tmp_path / "RUN"))
    runs.release(folder)
    assert not os.path.exists(folder)
    runs.release(folder)  # gone already: nothing to do
    written = runs.claim(str(tmp_path / "written"))
    (tmp_path / "written" / runs.CONFIG).write_text("epochs = 1\n")
    runs.release(written)
    assert sorted(os.listdir(written)) == sorted([runs.MARKER, runs.CONFIG])


def test_a_failed_run_setup_releases_the_folder_it_claimed(tmp_path):
    from vaekit.training import train

    missing = str(tmp_path / "no-such-data.npy")
    for output in (tmp_path / "new", tmp_path / "replaced"):
        if output.name == "replaced":
            own_run(output)
        with pytest.raises(DataError, match="neither a known name"):
            train(Config(data=missing, epochs=1), output=str(output), overwrite=True)
        assert not output.exists()
    assert os.listdir(tmp_path) == []


def test_the_command_line_refuses_a_project_folder(tmp_path, monkeypatch, capfd):
    """`vaekit train --output proj --overwrite` on a folder that is not a run:
    one line naming the problem, exit 2, nothing removed; from inside it with
    `--output .` too."""
    from vaekit.cli.main import main

    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "config.toml").write_text('title="site"\n')
    (project / "src" / "main.py").write_text("keep\n")
    before = tree(project)
    train = ["train", "--data", "digits", "--epochs", "1", "--overwrite"]
    for cwd, output in ((tmp_path, "proj"), (project, ".")):
        monkeypatch.chdir(cwd)
        capfd.readouterr()
        assert main([*train, "--output", output]) == 2
        out, err = capfd.readouterr()
        assert out == ""
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith(
            f"vaekit: error: {output!r} is not a folder vaekit made for a run (it "
            "has no .vaekit-run marker"
        ), err
        assert tree(project) == before
    assert os.listdir(tmp_path) == ["proj"]
