"""Peak resident memory of training, evaluating and scoring from a `.npy`
of 1x and 10x the size of MNIST, measured in one run.

    python benchmarks/memory.py --mnist-dir DIR [--scales 1,10] [--epochs 1]

Writes MNIST's 60,000 training images as float32 in [0, 1] (188 MB), and
the same images repeated to 10x the rows (1.9 GB), as `.npy` files under
`--work` (default: a temporary folder, deleted after), then runs, each in a
fresh process: `vaekit train --data FILE.npy` (the defaults' model,
`--epochs` epochs), `vaekit evaluate` and `vaekit score` of the trained model
on the whole file. The peak resident memory of each process (its maximum
RSS, from `getrusage`) is reported per scale, with the ratio of 10x to 1x
(target: within 1.10). Writes `benchmarks/out/memory.json`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# Runs a command and prints its peak RSS (KiB) and wall seconds: a fresh
# interpreter per command, so that RUSAGE_CHILDREN holds that command alone.
_PEAK = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
seconds = time.perf_counter() - start
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, seconds)
"""


def peak(command):
    """`(peak RSS in MiB, seconds)` of `command`; raises if it fails."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, *command],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout.split("\n")
    code, kib, seconds = out[-2].split()
    if int(code) != 0:
        raise SystemExit(f"failed ({code}): {' '.join(command)}")
    return int(kib) / 1024, float(seconds)


def write_npy(path, images, repeats):
    """`images` (uint8) repeated `repeats` times, as float32 in [0, 1],
    written a block at a time."""
    n = len(images) * repeats
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n, *images.shape[1:])
    )
    block = (images / np.float32(255)).astype(np.float32)
    for i in range(repeats):
        out[i * len(images) : (i + 1) * len(images)] = block
    out.flush()
    del out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-dir", default=os.environ.get("VAEKIT_MNIST_DIR"))
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--iw-samples", type=int, default=10)
    parser.add_argument("--work", default=None, help="folder for the .npy files")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "memory.json"))
    args = parser.parse_args()
    if not args.mnist_dir:
        sys.exit(f"{sys.argv[0]}: error: pass --mnist-dir DIR or set VAEKIT_MNIST_DIR")
    from vaekit.data import readers

    parts = readers.read_idx_folder(args.mnist_dir)
    images = np.asarray(parts["x_train"][0], dtype=np.uint8)
    work = args.work or tempfile.mkdtemp(prefix="vaekit-memory-")
    os.makedirs(work, exist_ok=True)
    results = {"epochs": args.epochs, "iw_samples": args.iw_samples, "scales": {}}
    try:
        for scale in [int(s) for s in args.scales.split(",")]:
            path = os.path.join(work, f"mnist_x{scale}.npy")
            write_npy(path, images, scale)
            run = os.path.join(work, f"run_x{scale}")
            vaekit = [sys.executable, "-m", "vaekit"]
            row = {
                "rows": len(images) * scale,
                "file_mb": os.path.getsize(path) / 2**20,
            }
            for name, command in [
                (
                    "train",
                    [*vaekit, "train", "--data", path, "--epochs", str(args.epochs)]
                    + ["--eval-iw-samples", str(args.iw_samples), "--output", run]
                    + ["--overwrite", "--quiet"],
                ),
                (
                    "evaluate",
                    [*vaekit, "evaluate", os.path.join(run, "model.keras"), "--data"]
                    + [path, "--iw-samples", str(args.iw_samples), "--json"],
                ),
                (
                    "score",
                    [*vaekit, "score", os.path.join(run, "model.keras"), "--data"]
                    + [path, "--iw-samples", str(args.iw_samples), "--output"]
                    + [os.path.join(work, f"scores_x{scale}.csv")],
                ),
            ]:
                mib, seconds = peak(command)
                row[f"{name}_peak_mib"] = mib
                row[f"{name}_seconds"] = seconds
                print(
                    f"x{scale} {name}: peak {mib:.0f} MiB, {seconds:.0f} s", flush=True
                )
            results["scales"][str(scale)] = row
            os.remove(path)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    scales = results["scales"]
    if "1" in scales and "10" in scales:
        for name in ("train", "evaluate", "score"):
            ratio = scales["10"][f"{name}_peak_mib"] / scales["1"][f"{name}_peak_mib"]
            results[f"{name}_peak_ratio_10x_over_1x"] = ratio
            print(f"{name}: peak at 10x / peak at 1x = {ratio:.3f}")
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
