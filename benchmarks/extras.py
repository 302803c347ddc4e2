"""What the optional extras cost: their install size and the time they add.

- Install size: for each extra (`export`, `track`), the files of the
  distributions it brings beyond vaekit's core install (its requirements and
  theirs, read from the installed packages' metadata, less what the core
  install already has), in MB.
- Time: `vaekit train` of a small run (digits, a few epochs) alone, with
  `--mlflow` (its offline default store) and with `--tensorboard`, each in a
  fresh process, the median of `--repeats`; and `vaekit export` of that run
  to ONNX and to a SavedModel.

Usage:
    python benchmarks/extras.py [--repeats 3] [--epochs 5] [--out benchmarks/out/extras.json]

Needs `pip install -e ".[export,track]"`.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL_RUN = ["--data", "digits", "--hidden-dims", "64", "--latent-dim", "2",
             "--eval-iw-samples", "10", "--quiet"]  # fmt: skip


def _name(requirement):
    return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower()


def _closure(names):
    """The installed distributions `names` need, themselves included."""
    seen, todo = set(), [n.lower() for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(_name(requirement))
    return seen


def _size_mb(names):
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            total += file.size or 0
    return total / 1e6


def install_sizes():
    vaekit = metadata.distribution("vaekit")
    core, extras = [], {}
    for requirement in vaekit.requires or []:
        match = re.search(r"extra == ['\"](\w+)['\"]", requirement)
        if match:
            extras.setdefault(match.group(1), []).append(_name(requirement))
        else:
            core.append(_name(requirement))
    base = _closure(core)
    sizes = {"core": round(_size_mb(base), 1)}
    for extra in ("export", "track"):
        added = _closure(extras.get(extra, [])) - base
        sizes[extra] = round(_size_mb(added), 1)
        sizes[f"{extra}_packages"] = len(added)
    return sizes


def _timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def timings(repeats, epochs):
    vaekit = [sys.executable, "-m", "vaekit.cli.main"]
    work = tempfile.mkdtemp(prefix="vaekit-extras-")
    variants = {"train": [], "train --mlflow": ["--mlflow"],
                "train --tensorboard": ["--tensorboard"]}  # fmt: skip
    seconds = {name: [] for name in variants}
    try:
        for i in range(repeats):
            for name, flags in variants.items():
                run = os.path.join(work, f"run{i}-{len(flags)}{flags[:1]}")
                command = [*vaekit, "train", *SMALL_RUN, "--epochs", str(epochs),
                           "--output", run, *flags]  # fmt: skip
                seconds[name].append(_timed(command, work))
        run = os.path.join(work, "run0-0[]")
        for fmt in ("onnx", "tf_saved_model"):
            seconds[f"export {fmt}"] = [
                _timed(
                    [
                        *vaekit,
                        "export",
                        run,
                        "--format",
                        fmt,
                        "--output",
                        os.path.join(work, f"{fmt}{i}"),
                    ],
                    work,
                )  # fmt: skip
                for i in range(repeats)
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {name: round(statistics.median(v), 2) for name, v in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "out", "extras.json"))
    args = parser.parse_args()
    result = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "versions": {
            name: metadata.version(name)
            for name in (
                "keras",
                "jax",
                "mlflow",
                "tensorboard",
                "onnxruntime",
                "jax2onnx",
                "tensorflow-cpu",
            )  # fmt: skip
        },
        "install_mb": install_sizes(),
        "median_seconds": timings(args.repeats, args.epochs),
    }
    base = result["median_seconds"]["train"]
    result["added_seconds"] = {
        name: round(value - base, 2)
        for name, value in result["median_seconds"].items()
        if name.startswith("train ")
    }
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
