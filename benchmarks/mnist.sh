#!/usr/bin/env bash
# The README's results on MNIST, from the repository root:
#   bash benchmarks/mnist.sh [default|tutorial|pytorch|memory|speed|all]
# Needs the MNIST IDX files in ../shared/data/mnist (the real 10k test set).
# Writes run folders under benchmarks/out/ and prints the JSON of each
# evaluation. About 35 minutes on 2 CPU cores for `all`.
set -euo pipefail
cd "$(dirname "$0")/.."
MNIST=${MNIST:-../shared/data/mnist}
OUT=benchmarks/out
mkdir -p "$OUT"
what=${1:-all}

run_default() {  # defaults on the embedded mnist5k, evaluated on the real test set
    vaekit train --output "$OUT/default" --overwrite --quiet
    vaekit evaluate "$OUT/default/model.keras" --data "$MNIST" --split test \
        --iw-samples 1000 --json | tee "$OUT/default_test.json"
}

run_tutorial() {  # the tutorial preset (784-256-2, rmsprop, 50 epochs) on mnist5k
    vaekit train --preset tutorial --output "$OUT/tutorial" --overwrite --quiet
    vaekit evaluate "$OUT/tutorial/model.keras" --data "$MNIST" --split test \
        --iw-samples 1000 --json | tee "$OUT/tutorial_test.json"
}

run_pytorch() {  # pytorch/examples' VAE settings, 10 epochs on the 60k training set
    vaekit train --config configs/pytorch_examples.toml --data "$MNIST" \
        --output "$OUT/pytorch_examples" --overwrite --quiet
    cat "$OUT/pytorch_examples/metrics.json"
}

run_memory() {  # peak resident memory of evaluate with k=5000 on the 10k test images
    /usr/bin/time -v vaekit evaluate "$OUT/default/model.keras" --data "$MNIST" \
        --split test --iw-samples 5000 --json 2> "$OUT/memory_time.txt" \
        | tee "$OUT/default_test_k5000.json"
    grep -E "Maximum resident|Elapsed" "$OUT/memory_time.txt"
}

run_speed() {
    python benchmarks/speed.py --out "$OUT/speed.json"
}

case "$what" in
    default) run_default ;;
    tutorial) run_tutorial ;;
    pytorch) run_pytorch ;;
    memory) run_memory ;;
    speed) run_speed ;;
    all) run_default; run_tutorial; run_pytorch; run_memory; run_speed ;;
    *) echo "usage: $0 [default|tutorial|pytorch|memory|speed|all]" >&2; exit 2 ;;
esac
