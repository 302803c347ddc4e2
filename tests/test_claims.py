"""vaekit.claims: claiming a folder for a run (atomically, replacing only
vaekit's own files)."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import FIXTURES
from vaekit import __version__, claims, runs
from vaekit.config import Config
from vaekit.errors import DataError, RunFolderError


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
    assert claims.claim(new) == new
    assert os.listdir(new) == [runs.MARKER]
    assert marker(new)["vaekit"] == __version__
    # an existing empty folder is claimed as it is
    empty = tmp_path / "empty"
    empty.mkdir()
    assert claims.claim(str(empty)) == str(empty)
    assert os.listdir(empty) == [runs.MARKER]


def test_claim_refuses_what_it_may_not_replace(tmp_path):
    new = claims.claim(str(tmp_path / "new"))
    (tmp_path / "new" / runs.CONFIG).write_text("epochs = 1\n")
    before = tree(new)
    with pytest.raises(RunFolderError, match="already exists.*overwrite"):
        claims.claim(new)
    assert tree(new) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="not a folder"):
        claims.claim(str(tmp_path / "file"), overwrite=True)
    assert (tmp_path / "file").read_text() == "x"


def test_claim_default_names_are_unique(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = claims.claim()
    second = claims.claim()  # in the same second: a suffix
    assert first != second
    assert os.path.dirname(first) == os.path.dirname(second) == "runs"
    assert os.listdir(first) == os.listdir(second) == [runs.MARKER]


def own_run(folder):
    """A marked run folder holding every file vaekit writes, and temporaries
    of its atomic writes that a crash left behind."""
    claims.claim(str(folder))
    for name in runs.OWN_FILES:
        if name != runs.MARKER:
            (folder / name).write_text(f"old {name}")
    (folder / ".model.x2k_9q0a.tmp.keras").write_text("half a model")
    plots = folder / runs.PLOTS
    plots.mkdir()
    for name in runs.OWN_PICTURES:
        (plots / name).write_text(f"old {name}")
    (plots / ".samples.abc123_x.tmp.png").write_text("half a picture")
    events = folder / runs.TENSORBOARD
    events.mkdir()
    (events / "events.out.tfevents.1700000000.host.42.0a1b2c3d").write_text("old")
    return str(folder)


def test_overwrite_removes_only_vaekits_own_files(tmp_path):
    folder = own_run(tmp_path / "RUN")
    (tmp_path / "RUN" / runs.MARKER).write_text('{"old": true}')
    assert claims.claim(folder, overwrite=True) == folder
    assert os.listdir(folder) == [runs.MARKER]  # a fresh marker alone
    assert marker(folder)["vaekit"] == __version__


def test_overwrite_of_a_real_run_folder(tiny_run, copy_run):
    """Every file `vaekit train` writes is one `claim` knows as its own."""
    run = copy_run(tiny_run)
    names = set(os.listdir(run))
    assert {runs.MARKER, runs.MODEL, runs.CONFIG, runs.PLOTS} <= names
    assert claims.claim(run, overwrite=True) == run
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
        "tensorboard/notes.txt",
        "link:tensorboard",
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
        folder_link = name in runs.OWN_FOLDERS
        target.symlink_to(outside if folder_link else outside / "precious.png")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("user's own")
    before, kept = tree(folder), tree(outside)
    with pytest.raises(RunFolderError) as info:
        claims.claim(folder, overwrite=True)
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
            claims.claim(str(folder), overwrite=True)
        assert repr(str(folder)) in str(info.value)
        assert tree(folder) == before


def test_overwrite_of_the_current_folder(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "config.toml").write_text('title="site"\n')
    before = tree(project)
    monkeypatch.chdir(project)
    with pytest.raises(RunFolderError, match="'.' is not a folder vaekit made"):
        claims.claim(".", overwrite=True)
    assert tree(project) == before
    # a run folder of vaekit's is replaced from inside too
    run = own_run(tmp_path / "RUN")
    monkeypatch.chdir(run)
    assert claims.claim(".", overwrite=True) == "."
    assert os.listdir(run) == [runs.MARKER]


def test_claim_through_a_link(tmp_path):
    """An output that is a link to a run folder of vaekit's is replaced in
    the folder it leads to (the link stays, nothing beside it is touched);
    a link to a folder that is not a run is refused; a dangling one is not
    a folder."""
    run = own_run(tmp_path / "RUN")
    (tmp_path / "keep.txt").write_text("mine")
    (tmp_path / "link").symlink_to(run)
    assert claims.claim(str(tmp_path / "link"), overwrite=True) == str(
        tmp_path / "link"
    )
    assert os.path.islink(tmp_path / "link")
    assert os.listdir(run) == [runs.MARKER]
    assert (tmp_path / "keep.txt").read_text() == "mine"
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("keep\n")
    (tmp_path / "plink").symlink_to(project)
    before = tree(project)
    with pytest.raises(RunFolderError, match="'.*plink' is not a folder vaekit"):
        claims.claim(str(tmp_path / "plink"), overwrite=True)
    assert tree(project) == before
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(RunFolderError, match="exists and is not a folder"):
        claims.claim(str(tmp_path / "dangling"), overwrite=True)
    assert not os.path.exists(tmp_path / "nowhere")


def test_claim_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    for output in ("file/run", "file/a/b/run"):
        with pytest.raises(RunFolderError) as info:
            claims.claim(str(tmp_path / output))
        assert str(info.value) == (
            f"output {str(tmp_path / output)!r} is under "
            f"{str(tmp_path / 'file')!r}, not a folder"
        )
    assert os.listdir(tmp_path) == ["file"]


def test_is_own(tmp_path):
    (tmp_path / "model.keras").write_text("m")
    (tmp_path / ".model.ab12_x.tmp.keras").write_text("half")
    (tmp_path / "notes.txt").write_text("n")
    (tmp_path / "metrics.json").mkdir()
    (tmp_path / "report.html").symlink_to(tmp_path / "notes.txt")
    own = [
        n
        for n in sorted(os.listdir(tmp_path))
        if runs.is_own(str(tmp_path), n, runs.OWN_FILES)
    ]
    assert own == [".model.ab12_x.tmp.keras", "model.keras"]


def test_a_freshly_claimed_folder_is_not_replaced(tmp_path):
    """A folder holding the marker alone is one another training has just
    claimed: `overwrite` does not take it over."""
    folder = claims.claim(str(tmp_path / "RUN"))
    with pytest.raises(RunFolderError, match="claimed by another training"):
        claims.claim(folder, overwrite=True)
    assert os.listdir(folder) == [runs.MARKER]


RACE = """
    import json, os, sys, time
    from vaekit import claims, runs
    from vaekit.errors import RunFolderError
    root, count, overwrite, go = sys.argv[1:]
    while not os.path.exists(go):
        time.sleep(0.0005)
    won = []
    for i in range(int(count)):
        try:
            claims.claim(os.path.join(root, str(i)), overwrite=overwrite == "1")
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
    folder = claims.claim(str(tmp_path / "RUN"))
    claims.release(folder)
    assert not os.path.exists(folder)
    claims.release(folder)  # gone already: nothing to do
    written = claims.claim(str(tmp_path / "written"))
    (tmp_path / "written" / runs.CONFIG).write_text("epochs = 1\n")
    claims.release(written)
    assert sorted(os.listdir(written)) == sorted([runs.MARKER, runs.CONFIG])


def test_a_failed_run_setup_leaves_the_output_as_it_was(tmp_path):
    """Data that cannot be read is refused before the output is claimed: a
    new folder is not made, and a run that was to be replaced is kept."""
    from vaekit.training import train

    missing = str(tmp_path / "no-such-data.npy")
    kept = tmp_path / "replaced"
    own_run(kept)
    before = {p.name: p.read_bytes() for p in kept.iterdir() if p.is_file()}
    for output in (tmp_path / "new", kept):
        with pytest.raises(DataError, match="neither a known name"):
            train(Config(data=missing, epochs=1), output=str(output), overwrite=True)
    assert not (tmp_path / "new").exists()
    assert {p.name: p.read_bytes() for p in kept.iterdir() if p.is_file()} == before


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
