"""Claiming a run folder: creating one atomically, and replacing only what
vaekit wrote.

`claim` creates a folder and writes the marker (`vaekit.runs.MARKER`) in one
step that only one process can win; `--overwrite` empties only a folder that
holds the marker and nothing but vaekit's own files (`vaekit.runs.OWN_FILES`,
and in its `OWN_FOLDERS` the pictures and event files), naming the first foreign file otherwise. `check_output`
refuses, without touching anything, what `claim` would refuse, so that a run
refuses a bad output before reading its data; `release` removes a folder a
run claimed and never wrote to.
"""

import json
import os
import time

from vaekit import __version__, io
from vaekit.errors import RunFolderError
from vaekit.runs import MARKER, OWN_FILES, OWN_FOLDERS, is_own, is_own_in, path

__all__ = ["check_output", "claim", "release"]


def _new_folder(output):
    """Creates `output` (and its parents); False if it exists already."""
    above = parent = os.path.dirname(os.path.abspath(output))
    while not os.path.lexists(above):
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        raise RunFolderError(f"output {output!r} is under {above!r}, not a folder")
    os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(output)
    except FileExistsError:
        return False
    return True


def _mark(output):
    """Writes the marker, claiming `output`; False if another process has
    claimed it first (the marker exists)."""
    stamp = {"vaekit": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    return io.create_new(path(output, MARKER), json.dumps(stamp))


def _foreign(output):
    """The first entry of run folder `output` that vaekit did not write, or
    None."""
    for name in sorted(os.listdir(output)):
        full = path(output, name)
        if name in OWN_FOLDERS and os.path.isdir(full) and not os.path.islink(full):
            for inner in sorted(os.listdir(full)):
                if not is_own_in(name, full, inner):
                    return os.path.join(name, inner)
        elif not is_own(output, name, OWN_FILES):
            return name
    return None


def _check_replaceable(output):
    """Refuses marked run folder `output` unless vaekit may replace it: it
    holds the marker and nothing vaekit did not write."""
    if not os.path.isfile(path(output, MARKER)):
        raise RunFolderError(
            f"{output!r} is not a folder vaekit made for a run (it has no "
            f"{MARKER} marker; runs of vaekit before 0.2 lack it too), and vaekit "
            "replaces only its own run folders: delete it yourself or choose "
            "another output folder"
        )
    if os.listdir(output) == [MARKER]:
        # What `claim` makes: a training is setting up in it (or died doing
        # so). Replacing it would give two trainings one folder.
        raise RunFolderError(
            f"run folder {output!r} was claimed by another training, which has "
            "written nothing to it yet: choose another output folder (or, if no "
            "training is running, delete it)"
        )
    foreign = _foreign(output)
    if foreign is not None:
        raise RunFolderError(
            f"run folder {output!r} holds {foreign!r}, which vaekit did not write, "
            "so it is not replaced: move that file away or choose another output "
            "folder"
        )


def _empty(output):
    """Removes vaekit's own files from a marked run folder, refusing it
    whole (before removing anything) if it holds anything else."""
    _check_replaceable(output)
    for sub in OWN_FOLDERS:
        folder = path(output, sub)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
            os.rmdir(folder)
    for name in os.listdir(output):
        if name != MARKER:
            os.remove(path(output, name))
    os.remove(path(output, MARKER))


def check_output(output=None, overwrite=False):
    """Refuses, without touching anything, an `output` that `claim` would
    refuse now (so that a run can refuse it before reading its data).

    Raises:
        RunFolderError: as `claim` would.
    """
    if output is None or not os.path.lexists(output):
        return
    if not os.path.isdir(output):
        raise RunFolderError(f"output {output!r} exists and is not a folder")
    if not os.listdir(output):
        return
    if not overwrite:
        raise RunFolderError(
            f"run folder {output!r} already exists: choose another output "
            "folder, replace it (overwrite), or resume it"
        )
    _check_replaceable(output)


def claim(output=None, overwrite=False):
    """Creates a run folder and claims it for this process; returns its path.

    The claim is atomic: of two processes given the same `output`, one gets
    it and the other an error. A new folder gets the marker `MARKER`.

    Args:
        output: The folder (default `runs/<timestamp>`, made unique).
        overwrite: Replace an existing, non-empty run folder: only one that
            vaekit made (it holds `MARKER`), and only if it holds nothing but
            vaekit's own files, which alone are removed.

    Raises:
        RunFolderError: if `output` is a file, exists and is not to be
            replaced, is not vaekit's to replace, or was claimed by another
            process.
    """
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output, suffix = os.path.join("runs", stamp), 1
        while not _new_folder(output):
            output, suffix = os.path.join("runs", f"{stamp}-{suffix}"), suffix + 1
    elif not _new_folder(output):
        if not os.path.isdir(output):
            raise RunFolderError(f"output {output!r} exists and is not a folder")
        if os.listdir(output):
            check_output(output, overwrite)
            _empty(output)
    if not _mark(output):
        raise RunFolderError(
            f"run folder {output!r} was claimed by another training at the same "
            "time: choose another output folder"
        )
    return output


def release(output):
    """Removes a run folder that `claim` made and nothing has been written
    to since (it holds the marker alone), so that a run that failed before
    it started leaves nothing behind."""
    try:
        if os.listdir(output) == [MARKER]:
            os.remove(path(output, MARKER))
            os.rmdir(output)
    except OSError:
        pass
