"""One backend's share of the cross-backend tests (tests/model/conftest.py
starts one process per backend, together).

    python backend_worker.py CONFIG_JSON

CONFIG_JSON: `dir` (the shared folder), `role` and `timeout` (seconds to
wait for another process's file). Roles:

- `import`: started without KERAS_BACKEND: `import vaekit` must load
  neither keras nor a backend and choose JAX. Nothing else (the test
  process itself does JAX's share).
- `tensorflow`: keras imported before vaekit (TensorFlow from the
  keras.json in KERAS_HOME): vaekit must leave the backend and the
  environment alone; models load with `vaekit.load_model`.
- `torch`: KERAS_BACKEND=torch, `import vaekit; import keras`, models load
  with plain `keras.saving.load_model` (vaekit registered its classes when
  keras loaded).

The two backends then (1) measure every saved-model fixture
(`saved_models.measure`: its saved outputs and more; those of
`saved_models.CROSS` are also `vaekit.evaluate`d), (2) train each of
`CROSS` one more epoch, save it as `BACKEND_NAME.keras` and measure it,
(3) load and measure the copies the other backends saved
(`jax_NAME.keras` from the test process), and (4) load the learned
priors' models the test process saved in `latents/`
(`saved_models.LATENTS`) and train them (`info["latents"]`), and (5) fit
and use both scikit-learn estimators on a table (`info["sklearn"]`).
Results: `BACKEND__*.npz`
(`ref_NAME`, `own_NAME`, `from_OTHER_NAME`) and `info_BACKEND.json` in the
shared folder.
"""

import json
import os
import sys
import time

started = time.perf_counter()
cfg = json.loads(sys.argv[1])
role = cfg["role"]
if role == "tensorflow":
    import keras  # noqa: F401  (the user's choice, made before vaekit)
import vaekit  # noqa: E402

info = {
    "loaded_by_import_vaekit": [
        name
        for name in ("keras", "jax", "tensorflow", "torch")
        if name in sys.modules and role != "tensorflow"
    ],
    "env_after_import": os.environ.get("KERAS_BACKEND"),
}
import keras  # noqa: E402
import numpy as np  # noqa: E402

backend = info["backend"] = keras.backend.backend()
out = cfg["dir"]
seconds = info["seconds"] = {"import": time.perf_counter() - started}


def finish():
    seconds["total"] = time.perf_counter() - started
    seconds["cpu"] = time.process_time()
    with open(os.path.join(out, f"info_{role}.json"), "w") as f:
        json.dump(info, f)


if role == "import":
    finish()
    sys.exit(0)

import saved_models  # noqa: E402  (a sibling file: this script's folder)

if role == "torch":

    def load(path):
        return keras.saving.load_model(path)

else:
    load = vaekit.load_model


def save_arrays(name, arrays):
    np.savez(os.path.join(out, f"{backend}__{name}.npz"), **arrays)


def wait_for(path):
    deadline = time.monotonic() + cfg["timeout"]
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path}")
        time.sleep(0.1)
    return path


# (1) Every fixture's outputs; those of `CROSS` measured (and evaluated).
tick = time.perf_counter()
info["classes"] = {}
for name in saved_models.FIXTURES:
    model = load(saved_models.path(name))
    info["classes"][name] = f"{type(model).__module__}.{type(model).__name__}"
    cross = name in saved_models.CROSS
    save_arrays(f"ref_{name}", saved_models.measure(model, name, evaluate=cross))
seconds["fixtures"] = time.perf_counter() - tick

# (2) One more epoch, saved, measured again.
for name in saved_models.CROSS:
    tick = time.perf_counter()
    model = load(saved_models.path(name))
    info[f"loss_{name}"] = saved_models.fit_one_epoch(model, name)
    saved_models.save_atomically(model, os.path.join(out, f"{backend}_{name}.keras"))
    save_arrays(f"own_{name}", saved_models.measure(model, name))
    seconds[f"train_{name}"] = time.perf_counter() - tick

# (3) The copies saved on the other backends.
tick = time.perf_counter()
for other in ("jax", "tensorflow", "torch"):
    if other != backend:
        for name in saved_models.CROSS:
            model = load(wait_for(os.path.join(out, f"{other}_{name}.keras")))
            save_arrays(f"from_{other}_{name}", saved_models.measure(model, name))
seconds["cross_load"] = time.perf_counter() - tick

# (4) The learned priors' models JAX saved (tests/model/test_latents.py).
tick = time.perf_counter()
latents = os.path.join(out, "latents")
wait_for(os.path.join(latents, "probe.npz"))
info["latents"] = saved_models.train_latent_models(latents)
seconds["latents"] = time.perf_counter() - tick

# (5) scikit-learn's estimators fitted and used on this backend.
tick = time.perf_counter()
info["sklearn"] = saved_models.use_the_estimators()
seconds["sklearn"] = time.perf_counter() - tick
finish()
