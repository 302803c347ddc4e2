"""The conv VAE's training speed on each backend, side by side in one run.

    python benchmarks/conv.py [--epochs 2] [--backends jax,jax-plain,tensorflow,torch]

Trains `--architecture conv --hidden-dims 32,64` (the issue's model) on the
embedded mnist5k, each backend in a fresh process, and reports images per
second over the epochs after the first (which compiles). The rest of the
recipe is vaekit's defaults (IWAE bound with k=5, so the decoder sees 5
rows per image; batch 100). `jax` is vaekit's decoder: stride-2 transposed
convolutions as one matmul over 2x2 windows and a depth-to-space shuffle
(`SubpixelConv2DTranspose`), the 3x3 output layer as one matmul onto its 9
taps and shifted sums (`MatmulConv2D`); `jax-plain` the same model with
Keras' own `Conv2DTranspose` and `Conv2D` on JAX, which XLA:CPU runs 3-7x
slower. A backend that is not installed is skipped.
Writes `benchmarks/out/conv.json`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from peers import write_result

HERE = os.path.dirname(os.path.abspath(__file__))

_CHILD = """
import csv, json, os, sys
backend, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.environ["KERAS_BACKEND"] = backend.split("-")[0]
if backend == "jax-plain":
    from vaekit.model.conv import MatmulConv2D, SubpixelConv2DTranspose
    SubpixelConv2DTranspose._subpixel = lambda self: False
    MatmulConv2D._matmul = lambda self: False
from vaekit.config import Config
from vaekit.training import train
config = Config(architecture="conv", hidden_dims=(32, 64), epochs=epochs,
                validation_split=0.0, eval_iw_samples=1,
                backend=backend.split("-")[0])
run, _ = train(config, output=out, overwrite=True, verbose=0)
with open(os.path.join(run, "history.csv")) as f:
    seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
print("RESULT", json.dumps(seconds))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--backends", default="jax,jax-plain,tensorflow,torch")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "conv.json"))
    args = parser.parse_args()
    n_images = 5000
    results = {
        "model": "conv 32,64, mnist5k, defaults (k=5, batch 100)",
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as work:
        for backend in args.backends.split(","):
            module = {"jax-plain": "jax"}.get(backend, backend)
            if subprocess.run([sys.executable, "-c", f"import {module}"]).returncode:
                print(f"{backend}: not installed, skipped")
                continue
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    backend,
                    str(args.epochs),
                    os.path.join(work, backend),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
            if done.returncode or not line:
                raise SystemExit(f"{backend}: failed ({done.returncode})")
            seconds = json.loads(line[0].split(" ", 1)[1])
            steady = seconds[1:] or seconds
            rate = n_images * len(steady) / sum(steady)
            results["backends"][backend] = {
                "seconds_per_epoch": seconds,
                "images_per_second": rate,
                "wall_seconds": time.perf_counter() - start,
            }
            print(f"{backend}: {rate:.0f} images/s, epochs {seconds}", flush=True)
    rates = {k: v["images_per_second"] for k, v in results["backends"].items()}
    for other in ("jax-plain", "tensorflow", "torch"):
        if "jax" in rates and other in rates:
            results[f"jax_over_{other.replace('-', '_')}"] = rates["jax"] / rates[other]
    results["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_result(results, args.out)


if __name__ == "__main__":
    main()
