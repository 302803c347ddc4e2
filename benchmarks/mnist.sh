#!/usr/bin/env bash
# The README's results on MNIST, from anywhere in a clone:
#
#   bash benchmarks/mnist.sh [--mnist-dir DIR] [default|tutorial|pytorch|likelihood|long|memory|speed|all]
#
# DIR (or the environment variable VAEKIT_MNIST_DIR) is a local folder with
# MNIST's IDX files: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
# t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (the real 10,000
# test digits). `--mnist-dir mnist` uses `vaekit`'s own `--data mnist` instead,
# which downloads the same files once through keras.datasets.
# Writes run folders under benchmarks/out/ and prints the metrics of each.
# See benchmarks/README.md for what each step measures and how long it takes.
set -euo pipefail

usage() {
    echo "usage: $0 [--mnist-dir DIR] [default|tutorial|pytorch|likelihood|long|memory|speed|all]" >&2
    exit 2
}

MNIST=${VAEKIT_MNIST_DIR:-}
what=all
while (($#)); do
    case "$1" in
        --mnist-dir) (($# >= 2)) || usage; MNIST=$2; shift 2 ;;
        --mnist-dir=*) MNIST=${1#--mnist-dir=}; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        default|tutorial|pytorch|likelihood|long|memory|speed|all) what=$1; shift ;;
        *) usage ;;
    esac
done

need_mnist() {
    if [[ -z "$MNIST" ]]; then
        echo "$0: error: no MNIST: set VAEKIT_MNIST_DIR=DIR or pass --mnist-dir DIR" \
            "(a folder with MNIST's IDX files, t10k-images-idx3-ubyte[.gz] etc.)," \
            "or --mnist-dir mnist to download them through keras.datasets" >&2
        exit 2
    fi
    if [[ "$MNIST" != mnist && ! -d "$MNIST" ]]; then
        echo "$0: error: MNIST folder '$MNIST' does not exist" \
            "(from VAEKIT_MNIST_DIR or --mnist-dir)" >&2
        exit 2
    fi
    if [[ "$MNIST" != mnist ]]; then
        MNIST=$(cd "$MNIST" && pwd)  # the script changes directory below
    fi
}

case "$what" in
    speed) ;;
    *) need_mnist ;;
esac
cd "$(dirname "$0")/.."
OUT=benchmarks/out
mkdir -p "$OUT"

run_default() {  # defaults on the embedded mnist5k, evaluated on the real test set
    vaekit train --output "$OUT/default" --overwrite --quiet
    vaekit evaluate "$OUT/default/model.keras" --data "$MNIST" --split test \
        --iw-samples 1000 --json | tee "$OUT/default_test.json"
}

run_tutorial() {  # the Keras blog's run: 784-256-2, rmsprop, 50 epochs on 60k
    vaekit train --preset tutorial --data "$MNIST" \
        --output "$OUT/tutorial" --overwrite --quiet
    cat "$OUT/tutorial/metrics.json"
}

run_pytorch() {  # pytorch/examples' VAE: 784-400-20, Adam, 10 epochs on 60k
    vaekit train --preset pytorch-examples --data "$MNIST" \
        --output "$OUT/pytorch_examples" --overwrite --quiet
    cat "$OUT/pytorch_examples/metrics.json"
}

run_likelihood() {  # the mnist preset: 60k images, dynamic binarization, k=5000 test log p(x)
    vaekit train --preset mnist --data "$MNIST" --output "$OUT/mnist" --overwrite --quiet
    cat "$OUT/mnist/metrics.json"
}

run_long() {  # the mnist-long preset: the same, 100 epochs of a larger flow (about 31 min of training)
    vaekit train --preset mnist-long --data "$MNIST" --output "$OUT/mnist-long" --overwrite --quiet
    cat "$OUT/mnist-long/metrics.json"
}

run_memory() {  # peak resident memory of evaluate with k=5000 on the 10k test images
    [[ -f "$OUT/default/model.keras" ]] || run_default
    /usr/bin/time -v vaekit evaluate "$OUT/default/model.keras" --data "$MNIST" \
        --split test --iw-samples 5000 --json 2> "$OUT/memory_time.txt" \
        | tee "$OUT/default_test_k5000.json"
    grep -E "Maximum resident|Elapsed" "$OUT/memory_time.txt"
}

run_speed() {  # ratios on the embedded mnist5k; needs no MNIST folder
    python benchmarks/speed.py --out "$OUT/speed.json"
}

case "$what" in
    default) run_default ;;
    tutorial) run_tutorial ;;
    pytorch) run_pytorch ;;
    likelihood) run_likelihood ;;
    long) run_long ;;
    memory) run_memory ;;
    speed) run_speed ;;
    all) run_default; run_tutorial; run_pytorch; run_likelihood; run_long; run_memory; run_speed ;;
esac
