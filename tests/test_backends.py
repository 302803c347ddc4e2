"""vaekit on the JAX, TensorFlow and PyTorch backends of Keras 3.

A Keras process runs one backend, so the checks run in three worker
processes, one per backend, started together:

- JAX (started with no KERAS_BACKEND: vaekit must pick it) builds two small
  VAEs, an MLP with a Bernoulli likelihood and a conv net with a learned
  Gaussian variance, KL warm-up, `epsilon_std != 1` and an importance-weighted
  training loss; fits each one epoch and saves it (`ref_*.keras`). A third,
  `table`, covers the options for a user's own data: a conditional VAE
  (class labels) on a mixed table (64 numeric columns and a categorical one,
  standardised and one-hot inside the model by a `DataTransform`) with a
  learned standard deviation per feature.
- Every backend loads those files with `safe_mode=True` and measures them:
  encoder and decoder outputs, the ELBO and importance weights for fixed
  numpy noise, and `vaekit.evaluation.likelihood.evaluate`.
- TensorFlow (keras imported before vaekit) and PyTorch (KERAS_BACKEND=torch)
  fit the loaded models one more epoch, save their copies and measure them;
  then every backend loads the other backends' copies and measures them.

The tests compare the saved measurements: deterministic quantities agree
within float32 round-off, Monte Carlo ones within a few standard errors.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = [
    pytest.mark.backends,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("tensorflow", "torch")),
        reason="needs the tensorflow and torch extras: pip install -e .[tensorflow,torch]",
    ),
]

BACKENDS = ("jax", "tensorflow", "torch")
ARCHS = ("mlp", "conv", "table")
N_PROBE = 512  # examples the models are measured on (the rest train them)
N_TRAIN = 1797 - N_PROBE  # scikit-learn's digits
STEPS = int(np.ceil(N_TRAIN / 64))  # optimizer steps of one epoch
K_FIXED = 8  # importance samples with fixed (numpy) noise
K_EVAL = 50  # importance samples of `evaluate`, drawn by keras.random
# float32 round-off: each backend orders its sums and matmuls its own way.
RTOL, ATOL = 1e-5, 1e-5
TIMEOUT = 400  # seconds for all workers together

WORKER = r"""
import json
import os
import sys
import time

started = time.perf_counter()
cfg = json.loads(sys.argv[1])
if cfg["import_keras_first"]:
    import keras  # noqa: F401  (the user's choice, made before vaekit)
import vaekit

info = {
    "loaded_by_import_vaekit": [
        name
        for name in ("keras", "jax", "tensorflow", "torch")
        if name in sys.modules and not cfg["import_keras_first"]
    ],
    "env_after_import": os.environ.get("KERAS_BACKEND"),
}
import keras
import numpy as np

from vaekit import data
from vaekit.evaluation.likelihood import evaluate
from vaekit.model.vae import VAE, build_decoder, build_encoder

backend = keras.backend.backend()
info["backend"] = backend
seconds = info["seconds"] = {"import": time.perf_counter() - started}
out = cfg["dir"]
x_all = data.load("digits").x_train  # (1797, 8, 8, 1) in [0, 1]
x_probe, x_train = x_all[:N_PROBE], x_all[N_PROBE:]
y_all = data.load("digits").y_train.astype("float32")
# A mixed table: 64 numeric columns, on scales of 1 to 64, and a categorical
# column (category index 0..2) in the middle.
table_all = x_all.reshape(len(x_all), 64) * np.arange(1, 65, dtype="float32")
table_all = np.insert(table_all, 30, (y_all % 3).astype("float32"), axis=1)
DATA = {
    "mlp": (x_probe, x_train, None, None),
    "conv": (x_probe, x_train, None, None),
    "table": (table_all[:N_PROBE], table_all[N_PROBE:], y_all[:N_PROBE], y_all[N_PROBE:]),
}
rng = np.random.default_rng(0)
z_fixed = rng.standard_normal((64, 4)).astype("float32")
y_fixed = (np.arange(64) % 10).astype("float32")
eps = rng.standard_normal((N_PROBE, 4)).astype("float32")
eps_k = rng.standard_normal((K_FIXED, N_PROBE, 4)).astype("float32")


def path(name):
    return os.path.join(out, name + ".keras")


def save(model, name):
    # Written under another name first: the other workers poll for the file.
    model.save(path(name + ".part"))
    os.replace(path(name + ".part"), path(name))


def load(name):
    deadline = time.monotonic() + cfg["timeout"]
    while not os.path.exists(path(name)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {path(name)}")
        time.sleep(0.1)
    tick = time.perf_counter()
    model = vaekit.load_model(path(name))
    seconds[f"load_{name}"] = time.perf_counter() - tick
    return model


def build(arch):
    if arch == "table":
        from vaekit.model.layers import DataTransform

        table = DATA["table"][1]
        transform = DataTransform(
            (65,), categorical=[[30, 3]], category_names=[["a", "b", "c"]],
            name="transform",
        )
        transform.adapt(table)
        names = [[str(i) for i in range(10)]]
        conditions = []
        for _ in range(2):
            condition = DataTransform(
                (1,), categorical=[[0, 10]], category_names=names,
                name="condition_transform",
            )
            conditions.append(condition)
        encoder = build_encoder(
            (65,), [32], 4, seed=30, transform=transform, condition=conditions[0]
        )
        decoder = build_decoder(
            transform.model_shape, [32], 4, seed=40, condition=conditions[1]
        )
        return VAE(
            encoder,
            decoder,
            likelihood="gaussian",
            decoder_std="learned-per-feature",
            seed=3,
        )
    if arch == "mlp":
        kwargs = dict(hidden_dims=[32], latent_dim=4)
        vae_kwargs = dict(seed=1)
    else:
        kwargs = dict(hidden_dims=[8], latent_dim=4, architecture="conv")
        vae_kwargs = dict(
            likelihood="gaussian",
            decoder_std="learned",
            epsilon_std=0.5,
            kl_warmup_steps=50,
            iw_samples=2,
            seed=2,
        )
    encoder = build_encoder((8, 8, 1), seed=10, **kwargs)
    decoder = build_decoder((8, 8, 1), seed=20, **kwargs)
    return VAE(encoder, decoder, **vae_kwargs)


def fit(model, name):
    tick = time.perf_counter()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    _, x, _, y = DATA[name]
    history = model.fit(
        x if y is None else (x, y), epochs=1, batch_size=64, verbose=0
    )
    info[f"loss_{name}"] = [float(v) for v in history.history["loss"]]
    seconds[f"fit_{name}"] = time.perf_counter() - tick


def measure(model, name, full=False):
    tick = time.perf_counter()
    probe, _, y, _ = DATA[name.rsplit("_", 1)[-1]]
    x = keras.ops.convert_to_tensor(probe)
    z_mean, z_log_var = model.encode(probe, condition=y)
    reconstruction, kl = model.elbo_terms(x, epsilon=eps, condition=y)
    log_w = model.log_importance_weights(x, K_FIXED, epsilon=eps_k, condition=y)
    arrays = {
        "z_mean": z_mean,
        "z_log_var": z_log_var,
        "decoded": model.decode(z_fixed, condition=None if y is None else y_fixed),
        "elbo": -keras.ops.convert_to_numpy(reconstruction + kl),
        "kl": keras.ops.convert_to_numpy(kl),
        "log_w": keras.ops.convert_to_numpy(log_w),
    }
    for key in ("decoder_log_var", "train_steps"):
        variable = getattr(model, key)
        if variable is not None:
            arrays[key] = keras.ops.convert_to_numpy(variable)
    np.savez(os.path.join(out, f"{backend}__{name}.npz"), **arrays)
    if full:
        info[f"evaluate_{name}"] = evaluate(
            model, probe, iw_samples=K_EVAL, seed=0, condition=y
        )
    seconds[f"measure_{name}"] = time.perf_counter() - tick


if backend == "jax":
    for arch in ARCHS:
        model = build(arch)
        fit(model, arch)
        save(model, f"ref_{arch}")
    # The untrained models, measured once the others can start (the seeds
    # rebuild the same weights).
    for arch in ARCHS:
        measure(build(arch), f"init_{arch}")
for arch in ARCHS:
    measure(load(f"ref_{arch}"), f"ref_{arch}", full=True)
    if backend != "jax":
        model = load(f"ref_{arch}")
        fit(model, arch)
        save(model, f"{backend}_{arch}")
        measure(model, f"own_{arch}")
for other in ("tensorflow", "torch"):
    if other != backend:
        for arch in ARCHS:
            measure(load(f"{other}_{arch}"), f"from_{other}_{arch}")
seconds["total"] = time.perf_counter() - started
with open(os.path.join(out, f"info_{backend}.json"), "w") as f:
    json.dump(info, f)
"""


def _start(workdir, backend, import_keras_first=False):
    """Starts one worker; `backend=None` leaves KERAS_BACKEND unset."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    # A keras home per worker: keras writes its keras.json on first import.
    home = workdir / f"keras_home_{backend}_{import_keras_first}"
    home.mkdir()
    if import_keras_first:
        (home / "keras.json").write_text('{"backend": "tensorflow"}')
    env["KERAS_HOME"] = str(home)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # Three workers share the CPUs: PyTorch's own thread pool would
    # oversubscribe them (about 4x slower fits on two cores).
    env["OMP_NUM_THREADS"] = "1"
    # CPU only: on a GPU, JAX and cuDNN compute float32 matmuls and
    # convolutions in TF32 by default, far coarser than the tolerances here.
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["JAX_PLATFORMS"] = "cpu"
    config = {
        "dir": str(workdir),
        "import_keras_first": import_keras_first,
        "timeout": TIMEOUT,
    }
    log = open(workdir / f"log_{backend}_{import_keras_first}.txt", "w")
    with log:
        process = subprocess.Popen(
            [sys.executable, str(workdir / "worker.py"), json.dumps(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, log.name


def _wait(workers):
    """Waits for all workers; kills the rest as soon as one fails."""
    deadline = time.monotonic() + TIMEOUT
    while any(p.poll() is None for p, _ in workers):
        if time.monotonic() > deadline or any(p.poll() for p, _ in workers):
            break
        time.sleep(0.2)
    for p, _ in workers:
        if p.poll() is None:
            p.kill()
            p.wait()
    if any(p.returncode for p, _ in workers):
        report = []
        for p, log in workers:
            with open(log) as f:
                report.append(f"--- {log} (exit {p.returncode}):\n{f.read()[-3000:]}")
        pytest.fail("a backend worker failed or timed out:\n" + "\n".join(report))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs the three workers; returns `(infos, load)`: each backend's info
    dict, and `load(backend, name)` that reads one saved measurement."""
    workdir = tmp_path_factory.mktemp("backends")
    worker = WORKER
    for name in ("N_PROBE", "K_FIXED", "K_EVAL", "ARCHS"):
        worker = worker.replace(name, repr(globals()[name]))
    (workdir / "worker.py").write_text(worker)
    started = time.perf_counter()
    _wait(
        [
            _start(workdir, None),
            _start(workdir, "torch"),
            _start(workdir, None, import_keras_first=True),
        ]
    )
    infos = {b: json.loads((workdir / f"info_{b}.json").read_text()) for b in BACKENDS}
    infos["wall_seconds"] = time.perf_counter() - started

    def load(backend, name):
        with np.load(workdir / f"{backend}__{name}.npz") as arrays:
            return dict(arrays)

    return infos, load


def _assert_same(a, b, what):
    for key in a:
        np.testing.assert_allclose(
            b[key], a[key], rtol=RTOL, atol=ATOL, err_msg=f"{what}: {key}"
        )


def _saved(backend, arch):
    """Name of the measurement of the model `backend` trained and saved."""
    return f"ref_{arch}" if backend == "jax" else f"own_{arch}"


def test_import_selects_jax_lazily_and_respects_a_chosen_backend(runs):
    infos, _ = runs
    jax, torch, tf = infos["jax"], infos["torch"], infos["tensorflow"]
    # No KERAS_BACKEND: JAX; `import vaekit` alone loads neither keras nor a
    # backend (the public names load on first use).
    assert jax["backend"] == "jax"
    assert jax["env_after_import"] == "jax"
    assert jax["loaded_by_import_vaekit"] == []
    # KERAS_BACKEND=torch is kept.
    assert torch["backend"] == "torch"
    assert torch["env_after_import"] == "torch"
    assert torch["loaded_by_import_vaekit"] == []
    # keras imported first (TensorFlow from keras.json): vaekit changes
    # nothing, not even the environment its subprocesses would inherit.
    assert tf["backend"] == "tensorflow"
    assert tf["env_after_import"] is None


@pytest.mark.parametrize("arch", ARCHS)
def test_deterministic_outputs_agree_across_backends(runs, arch):
    """One saved model: the same z_mean, z_log_var, decoded means, KL and
    learned variance on every backend."""
    _, load = runs
    reference = load("jax", f"ref_{arch}")
    assert np.std(reference["z_mean"]) > 1e-3  # not a degenerate model
    keys = ["z_mean", "z_log_var", "decoded", "kl"]
    if arch == "conv":
        keys += ["decoder_log_var", "train_steps"]
        # The warm-up counter was trained and saved, not reset on load.
        assert reference["train_steps"] == STEPS
        assert reference["decoder_log_var"] != 0.0
    if arch == "table":
        keys += ["decoder_log_var"]
        # One learned log-variance per numeric column, trained.
        assert reference["decoder_log_var"].shape == (64,)
        assert np.all(reference["decoder_log_var"] != 0.0)
        # Decoded in the table's units: the categorical column holds
        # category indices, the numeric ones their own scales.
        decoded = reference["decoded"]
        assert set(np.unique(decoded[:, 30])) <= {0.0, 1.0, 2.0}
        assert decoded[:, 31:].max() > 10.0  # columns scaled up to 64
    for backend in BACKENDS[1:]:
        other = load(backend, f"ref_{arch}")
        _assert_same({k: reference[k] for k in keys}, other, f"{backend} vs jax")


@pytest.mark.parametrize("arch", ARCHS)
def test_elbo_with_the_same_noise_agrees_across_backends(runs, arch):
    """The ELBO (one sample, analytic KL) and the importance weights for the
    same epsilon agree per example within float32 tolerance."""
    _, load = runs
    reference = load("jax", f"ref_{arch}")
    assert np.all(np.isfinite(reference["elbo"]))
    assert np.all(np.isfinite(reference["log_w"]))
    # The mean log-weight estimates the ELBO too (with a Monte Carlo KL).
    var_log_w = reference["log_w"].var(axis=0, ddof=1).mean()
    se = np.sqrt(var_log_w / N_PROBE)
    assert abs(reference["elbo"].mean() - reference["log_w"].mean()) < 6 * se
    for backend in BACKENDS[1:]:
        other = load(backend, f"ref_{arch}")
        for key in ("elbo", "log_w"):
            np.testing.assert_allclose(
                other[key], reference[key], rtol=RTOL, atol=1e-4, err_msg=backend
            )
        assert other["elbo"].mean() == pytest.approx(reference["elbo"].mean(), abs=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
def test_evaluate_agrees_across_backends_within_monte_carlo_error(runs, arch):
    """`evaluate` draws its noise with keras.random, whose streams differ by
    backend: ELBO and log-likelihood agree within their Monte Carlo error, the
    analytic KL within float tolerance."""
    infos, load = runs
    reference = load("jax", f"ref_{arch}")
    # Standard error of a mean over N_PROBE examples of K_EVAL-sample means of
    # log w, from the per-example variance of log w under the fixed noise;
    # the difference of two independent estimates has sqrt(2) times that.
    var_log_w = reference["log_w"].var(axis=0, ddof=1).mean()
    se_eval = np.sqrt(var_log_w / (K_EVAL * N_PROBE))
    # The one-sample ELBO with fixed noise estimates the same mean.
    se_fixed = np.sqrt(var_log_w / N_PROBE)
    results = {b: infos[b][f"evaluate_ref_{arch}"] for b in BACKENDS}
    for backend, result in results.items():
        assert result["n"] == N_PROBE and result["iw_samples"] == K_EVAL
        assert result["elbo"] <= result["log_likelihood"]
        diff = abs(result["elbo"] - reference["elbo"].mean())
        assert diff < 6 * np.hypot(se_eval, se_fixed), (backend, diff)
        assert result["kl"] == pytest.approx(reference["kl"].mean(), rel=RTOL)
    for backend in BACKENDS[1:]:
        for key in ("elbo", "log_likelihood", "reconstruction"):
            diff = abs(results[backend][key] - results["jax"][key])
            assert diff < 6 * np.sqrt(2) * se_eval, (backend, key, diff, se_eval)
        assert results[backend]["active_units"] == results["jax"]["active_units"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_trains_on_every_backend(runs, backend):
    """One epoch of `fit` on each backend (JAX from the initial weights, the
    others from JAX's saved model): a finite loss, and a better ELBO on the
    held-out probe set for the same noise."""
    infos, load = runs
    for arch in ARCHS:
        loss = infos[backend][f"loss_{arch}"]
        assert len(loss) == 1 and np.isfinite(loss[0])
        before = load(backend, f"init_{arch}" if backend == "jax" else f"ref_{arch}")
        after = load(backend, _saved(backend, arch))
        assert after["elbo"].mean() > before["elbo"].mean() + 0.1, arch
        if arch == "conv":
            assert after["train_steps"] == before["train_steps"] + STEPS


@pytest.mark.parametrize("saver", BACKENDS)
def test_model_saved_on_one_backend_loads_on_the_other_two(runs, saver):
    """The 3x3 save/load matrix: a model trained and saved on `saver` loads
    with safe_mode=True on the other backends and gives the same outputs."""
    _, load = runs
    for arch in ARCHS:
        saved = load(saver, _saved(saver, arch))
        for loader in BACKENDS:
            if loader != saver:
                name = "ref" if saver == "jax" else f"from_{saver}"
                _assert_same(
                    saved,
                    load(loader, f"{name}_{arch}"),
                    f"{arch} saved on {saver}, loaded on {loader}",
                )
