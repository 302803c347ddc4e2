"""What each latent piece adds on MNIST: screens of the `mnist` preset with
one change each, at the same number of epochs.

Each variant is `vaekit train --preset mnist --data DIR --epochs E
--eval-iw-samples K` plus its flags, in a fresh process, one after the
other (run it alone on the machine: the seconds are part of the result).
Prints, per variant, the seconds of training (the sum of the epochs'
`seconds` in history.csv), the seconds per epoch and the test log p(x)
with its standard error (k importance samples, the real 10,000 test
digits, dynamically binarized), and writes them as JSON.

Usage:
    python benchmarks/latents.py --data DIR [--epochs 10] [--k 1000]
        [--variants base,dreg,vamp] [--out benchmarks/out/latents.json]

DIR: a folder of MNIST's IDX files (see benchmarks/mnist.sh).
"""

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The screens' base: the `mnist` preset (784-512-512-64, IWAE k=5) with the
# standard normal prior and plain IWAE gradients (the preset before it chose
# its prior), written as a config file over the preset.
BASE = 'prior = "standard"\nprior_size = 0\ndreg = false\n'
# One change each from the base, then combinations (`flow_dreg` is the
# `mnist` preset itself; `flow8_dreg` what more couplings buy the long one).
VARIANTS = {
    "base": [],
    "dreg": ["--dreg"],
    "mog": ["--prior", "mog", "--prior-size", "10"],
    "vamp": ["--prior", "vamp", "--prior-size", "500"],
    "vamp100": ["--prior", "vamp", "--prior-size", "100"],
    "flow": ["--prior", "flow", "--prior-size", "4"],
    "two_layer": ["--top-latent-dim", "32", "--top-hidden-dims", "256,256"],
    "vamp_dreg": ["--prior", "vamp", "--prior-size", "500", "--dreg"],
    "flow_dreg": ["--prior", "flow", "--prior-size", "4", "--dreg"],
    "flow8_dreg": ["--prior", "flow", "--prior-size", "8", "--dreg"],
}


def run(name, flags, args):
    out = os.path.join(args.out_dir, f"latents_{name}")
    command = [
        sys.executable, "-m", "vaekit", "train", "--preset", "mnist",
        "--config", args.base, "--data", args.data, "--epochs", str(args.epochs),
        "--eval-iw-samples", str(args.k), "--output", out, "--overwrite",
        "--quiet", *flags,
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    with open(os.path.join(out, "history.csv")) as handle:
        seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
    with open(os.path.join(out, "metrics.json")) as handle:
        metrics = json.load(handle)
    return {
        "flags": " ".join(flags),
        "train_seconds": sum(seconds),
        "epoch_seconds": sum(seconds[1:]) / max(len(seconds) - 1, 1),
        "wall_seconds": wall,
        "log_likelihood": metrics["log_likelihood"],
        "stderr": metrics["log_likelihood_stderr"],
        "elbo": metrics["elbo"],
        "kl": metrics["kl"],
        "active_units": metrics["active_units"],
        "split": metrics["split"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a folder of MNIST's IDX files")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=1000, help="importance samples")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=os.path.join(HERE, "out", "latents.json"))
    args = parser.parse_args()
    args.out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(args.out_dir, exist_ok=True)
    args.base = os.path.join(args.out_dir, "latents_base.toml")
    with open(args.base, "w") as handle:
        handle.write(BASE)
    import jax
    import keras

    results = {
        "settings": {"epochs": args.epochs, "k": args.k, "data": args.data},
        "versions": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            "jax": jax.__version__,
            "cpus": os.cpu_count(),
            "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "XLA_FLAGS")},
        },
        "variants": {},
    }
    print("| variant | flags | s/epoch | train s | test log p(x) | ELBO | KL |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in args.variants.split(","):
        r = results["variants"][name] = run(name, VARIANTS[name], args)
        print(
            f"| {name} | `{r['flags']}` | {r['epoch_seconds']:.1f} | "
            f"{r['train_seconds']:.0f} | {r['log_likelihood']:.2f} ± {r['stderr']:.2f} "
            f"| {r['elbo']:.2f} | {r['kl']:.1f} |",
            flush=True,
        )
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
