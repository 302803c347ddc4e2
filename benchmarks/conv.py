"""The conv VAE's training speed on each backend, side by side in one run,
with what is needed to reproduce it.

    python benchmarks/conv.py [--epochs 3] [--iw-samples 1,5] [--repeats 2]
        [--backends jax,tensorflow,torch] [--out benchmarks/out/conv.json]

Trains `--architecture conv --hidden-dims 32,64` (the issue's model) on the
embedded mnist5k, batch 100, with k importance samples (the decoder sees k
rows per image), each backend in a fresh process, and reports images per
second over the epochs after the first (which compiles). The backends
take turns (jax, tensorflow, ..., then again), so a change in the machine's
load during the run falls on all of them; each figure is the median over the
repeats. Also records the versions, the CPU, the thread settings each
process saw (environment, TensorFlow's and PyTorch's thread pools,
TensorFlow's oneDNN switch) and the load average before each run.

Backends: `jax` (vaekit's conv layers: stride-2 transposed convolutions as
one matmul over 2x2 windows and a depth-to-space shuffle, the 3x3 output
layer as one matmul onto its taps), `jax-plain` (Keras' own `Conv2DTranspose`
and `Conv2D` on JAX), `tensorflow`, `tensorflow-noonednn` (TensorFlow with
`TF_ENABLE_ONEDNN_OPTS=0`: its convolutions without oneDNN, about half the
speed), `torch`. A backend that is not installed is skipped. `default` in
the output is the backend `vaekit train --architecture conv` chooses here
when nothing names one (`vaekit.config.default_backend`), and the ratios are
each backend's images/s over TensorFlow's at the same k.
Writes `benchmarks/out/conv.json`.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata

from peers import child_result, write_result

HERE = os.path.dirname(os.path.abspath(__file__))
N_IMAGES = 5000
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "XLA_FLAGS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
)

_CHILD = """
import csv, json, os, sys
backend, epochs, k, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
name = backend.split("-")[0]
os.environ["KERAS_BACKEND"] = name
if backend == "tensorflow-noonednn":
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
if backend == "jax-plain":
    from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose
    SubpixelConv2DTranspose._subpixel = lambda self: False
    MatmulConv2D._matmul = lambda self: False
from vaekit.config import Config
from vaekit.training import train
config = Config(architecture="conv", hidden_dims=(32, 64), epochs=epochs,
                iw_samples=k, validation_split=0.0, eval_iw_samples=1,
                backend=name)
run, _ = train(config, output=out, overwrite=True, verbose=0)
with open(os.path.join(run, "history.csv")) as f:
    seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
threads = {v: os.environ.get(v) for v in json.loads(sys.argv[5])}
if name == "tensorflow":
    import tensorflow as tf
    threads["tf_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
    threads["tf_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
if name == "torch":
    import torch
    threads["torch_threads"] = torch.get_num_threads()
print("RESULT", json.dumps({"seconds": seconds, "threads": threads}))
"""

_DEFAULT = """
import json
from vaekit.config import resolve
print("RESULT", json.dumps(resolve(overrides={"architecture": "conv"}).backend))
"""


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine():
    """What a reader needs to reproduce the figures: versions, CPU, threads."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in handle
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    packages = ["keras", "jax", "jaxlib", "tensorflow-cpu", "tensorflow", "torch"]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in (*packages, "numpy", "vaekit")},
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "thread_environment": {v: os.environ.get(v) for v in THREAD_VARIABLES},
    }


def installed(backend):
    module = backend.split("-")[0]
    return subprocess.run([sys.executable, "-c", f"import {module}"]).returncode == 0


def one_run(backend, k, epochs, work):
    """Seconds per epoch and thread settings of one fresh training process."""
    load = os.getloadavg()[0]
    arguments = ["-c", _CHILD, backend, str(epochs), str(k), work]
    result = child_result(
        [*arguments, json.dumps(THREAD_VARIABLES)], f"{backend} (k={k})"
    )
    steady = result["seconds"][1:] or result["seconds"]
    result["images_per_second"] = N_IMAGES * len(steady) / sum(steady)
    result["load_before"] = load
    return result


def default_backend():
    """The backend `vaekit train --architecture conv` picks when nothing
    names one (a process without KERAS_BACKEND)."""
    return child_result(["-c", _DEFAULT], "the default backend")


def summarize(results, ks):
    for k in ks:
        rates = {
            backend: runs[f"k={k}"]["images_per_second"]
            for backend, runs in results["backends"].items()
        }
        results[f"k={k}"] = {"images_per_second": rates}
        if "tensorflow" in rates:
            over = {b: rate / rates["tensorflow"] for b, rate in rates.items()}
            results[f"k={k}"]["over_tensorflow"] = over
            chosen = results["default_backend"]
            if chosen in over:
                results[f"k={k}"]["default_over_tensorflow"] = over[chosen]
        line = ", ".join(f"{b} {r:.0f}" for b, r in rates.items())
        print(f"k={k}: images/s {line}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--iw-samples", default="1,5", help="values of k")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", default="jax,tensorflow,torch")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "conv.json"))
    args = parser.parse_args()
    ks = [int(k) for k in args.iw_samples.split(",")]
    backends = [b for b in args.backends.split(",") if installed(b)]
    for backend in set(args.backends.split(",")) - set(backends):
        print(f"{backend}: not installed, skipped")
    results = {
        "model": "conv 32,64, mnist5k, batch 100",
        "epochs": args.epochs,
        "repeats": args.repeats,
        "machine": machine(),
        "default_backend": default_backend(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "backends": {b: {} for b in backends},
    }
    print(f"default backend for conv here: {results['default_backend']}")
    with tempfile.TemporaryDirectory() as work:
        for k in ks:
            runs = {b: [] for b in backends}
            for repeat in range(args.repeats):
                for backend in backends:
                    run = one_run(backend, k, args.epochs, os.path.join(work, backend))
                    runs[backend].append(run)
                    print(
                        f"k={k} {backend} #{repeat + 1}: "
                        f"{run['images_per_second']:.0f} images/s, epochs "
                        f"{run['seconds']}, load {run['load_before']:.2f}",
                        flush=True,
                    )
            for backend, done in runs.items():
                results["backends"][backend][f"k={k}"] = {
                    "images_per_second": statistics.median(
                        r["images_per_second"] for r in done
                    ),
                    "runs": done,
                }
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    summarize(results, ks)
    write_result(results, args.out)


if __name__ == "__main__":
    main()
