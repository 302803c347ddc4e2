"""Speed benchmarks, reported as ratios measured in one run.

    python benchmarks/speed.py [--out benchmarks/results/speed.json]

1. Training throughput (samples/s) of `vaekit train`'s input pipeline
   (`TrainingBatches` with dynamic binarization, through a PyDataset) against
   Keras `fit` on an in-memory array, same model: the cost of vaekit's
   reproducible, resumable batches.
2. Importance-weighted evaluation (rows/s): the jit-compiled JAX path of
   `vaekit.evaluation.likelihood` against eager op-by-op execution of the same method.
3. Import time: `import vaekit` against `import keras` (fresh processes).
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")


def _train_rate(model_fn, fit, n, epochs=3):
    model = model_fn()
    fit(model, 1)  # compile
    start = time.perf_counter()
    fit(model, epochs)
    return n * epochs / (time.perf_counter() - start)


def bench_training(x):
    import keras

    from vaekit.config import Config
    from vaekit.training import build_model
    from vaekit.training.batches import TrainingBatches

    config = Config()  # the defaults: 784-512-32, IWAE k=5

    def model_fn():
        return build_model(config, x, steps_per_epoch=45)

    def fit_pipeline(model, epochs):
        batches = TrainingBatches(x, 100, "dynamic", seed=0)
        model.fit(batches, epochs=epochs, verbose=0, shuffle=False)

    def fit_array(model, epochs):
        model.fit(x, batch_size=100, epochs=epochs, verbose=0)

    keras.utils.set_random_seed(0)
    pipeline = _train_rate(model_fn, fit_pipeline, len(x))
    array = _train_rate(model_fn, fit_array, len(x))
    return {
        "pipeline_samples_per_s": pipeline,
        "array_samples_per_s": array,
        "ratio_pipeline_over_array": pipeline / array,
    }


def bench_evaluate(x):
    """Steady-state rows/s of the log importance weights, on the same chunks
    that `evaluate` plans, compiled (JAX jit) against eager."""
    import keras

    from vaekit.config import Config
    from vaekit.evaluation.likelihood import _compiled, _log_weights, plan_chunks
    from vaekit.training import build_model

    model = build_model(Config(hidden_dims=(512,), latent_dim=32), x)
    xb = keras.ops.convert_to_tensor((x[:2000] > 0.5).astype("float32"))
    k = 1000
    batch, k_chunk = plan_chunks(model, len(xb), k)
    chunks = [xb[i : i + batch] for i in range(0, 400, batch)][:4]

    def rate(run):
        run(chunks[0], k_chunk)  # compile / warm up
        start = time.perf_counter()
        rows = 0
        for chunk in chunks:
            run(chunk, k_chunk)
            rows += int(chunk.shape[0]) * k_chunk
        return rows / (time.perf_counter() - start)

    compiled = _compiled(model, _log_weights, 0)
    jit_rate = rate(lambda chunk, k: compiled(chunk, None, k))
    seed = keras.random.SeedGenerator(0)

    def eager(chunk, k):
        return keras.ops.convert_to_numpy(
            model.log_importance_weights(chunk, k, seed=seed)
        )

    eager_rate = rate(eager)
    return {
        "chunk": [batch, k_chunk],
        "jit_rows_per_s": jit_rate,
        "eager_rows_per_s": eager_rate,
        "ratio_jit_over_eager": jit_rate / eager_rate,
    }


def _import_seconds(module, repeats=3):
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; t = time.perf_counter(); import {module}; "
                "print(time.perf_counter() - t)",
            ],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, KERAS_BACKEND="jax"),
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def bench_import():
    keras_s = _import_seconds("keras")
    vaekit_s = _import_seconds("vaekit")
    models_s = _import_seconds("vaekit.model.vae")
    return {
        "import_keras_s": keras_s,
        "import_vaekit_s": vaekit_s,
        "import_vaekit_models_s": models_s,
        "ratio_vaekit_over_keras": vaekit_s / keras_s,
        "ratio_vaekit_models_over_keras": models_s / keras_s,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    from vaekit.data import load

    x = load("mnist5k").x_train[:4500]
    results = {"device": f"{os.cpu_count()} CPU cores"}
    results["training"] = bench_training(x)
    results["evaluate"] = bench_evaluate(x)
    results["import"] = bench_import()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
