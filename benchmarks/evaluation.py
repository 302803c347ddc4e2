"""The rate of importance-weighted evaluation against the machine's limit,
measured in one run.

    python benchmarks/evaluation.py --mnist-dir DIR [--n 200] [--iw-samples 5000]

`vaekit.evaluation.likelihood.per_example` with k importance samples on the first `n`
binarized MNIST test images, with the default model's architecture
(784-512-32; the rate does not depend on the weights), timed after a
compiling pass; its decoder FLOPs per second as a fraction of a jitted
1024x1024 float32 matmul measured in the same run, and the time the whole
10,000-image test set would take at that rate; and the process's peak
resident memory (`getrusage`), which does not grow with `n` or k: the work
runs in passes of at most `vaekit.evaluation.likelihood.MAX_ROWS` rows.
"""

import argparse
import os
import resource
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import matmul_rate, write_result  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-dir", default=os.environ.get("VAEKIT_MNIST_DIR"))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--iw-samples", type=int, default=5000)
    parser.add_argument("--out", default=os.path.join(HERE, "out", "evaluation.json"))
    args = parser.parse_args()
    if not args.mnist_dir:
        sys.exit(f"{sys.argv[0]}: error: pass --mnist-dir DIR or set VAEKIT_MNIST_DIR")
    from vaekit import data
    from vaekit.config import Config
    from vaekit.evaluation.likelihood import per_example, plan_chunks
    from vaekit.training import build_model

    dataset = data.load(args.mnist_dir)
    x = data.binarize(dataset.x_test[: args.n], 0)
    config = Config()
    model = build_model(config, x)
    sizes = [config.latent_dim, *reversed(config.hidden_dims), 784]
    flops_per_row = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    rate = matmul_rate()
    batch, k_chunk = plan_chunks(model, len(x), args.iw_samples)
    per_example(model, x[:batch], args.iw_samples)  # compile
    start = time.perf_counter()
    per_example(model, x, args.iw_samples)
    seconds = time.perf_counter() - start
    rows = len(x) * args.iw_samples
    gflops = rows * flops_per_row / seconds / 1e9
    result = {
        "n": len(x),
        "iw_samples": args.iw_samples,
        "chunk": [batch, k_chunk],
        "seconds": seconds,
        "decoder_flops_per_row": flops_per_row,
        "decoder_gflops": gflops,
        "matmul_gflops": rate,
        "fraction_of_matmul": gflops / rate,
        "minutes_for_10000": seconds * 10000 / len(x) / 60,
        "matmul_gflops_after": matmul_rate(),
        # Linux reports KiB
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
