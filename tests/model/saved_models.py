"""The saved-model fixtures (tests/fixtures/models) and what the tests
compute from them, shared by the tests and `backend_worker.py` (which runs
it as a sibling module, on TensorFlow or PyTorch).

Each fixture is a `.keras` file saved by the release before the package
redesign, beside an `.npz` of its outputs then (see
tests/fixtures/make_models.py): `z_mean`/`z_log_var` of `encode(x,
condition)`, the means of `decode(z, condition)` and
`log_importance_weights(x, K, epsilon=epsilon, condition)`.

Nothing here imports keras at import time: a worker chooses what it
imports first.
"""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DIR = os.path.join(os.path.dirname(HERE), "fixtures", "models")
FIXTURES = (
    "conditional_classes",
    "conditional_numeric_table",
    "conv_bernoulli",
    "conv_gaussian_fixed",
    "mlp_bernoulli",
    "mlp_gaussian_image",
    "table_gaussian",
)
OUTPUTS = ("z_mean", "z_log_var", "decoded", "log_weights")
# The fixtures trained further on every backend, saved and loaded across
# backends: Bernoulli MLP with the IWAE bound (k=3) and a KL warm-up; a
# conv net with epsilon_std != 1; a table with a DataTransform (categorical
# columns), a learned std per feature and free bits; a numeric condition.
CROSS = (
    "mlp_bernoulli",
    "conv_bernoulli",
    "table_gaussian",
    "conditional_numeric_table",
)
N_PROBE = 16  # examples each fixture's outputs were saved for
K_EVAL = 50  # importance samples of `vaekit.evaluate`, drawn by keras.random
BATCH = 64  # of the extra epoch each backend trains
LEARNING_RATE = 3e-3


def path(name):
    return os.path.join(FIXTURE_DIR, f"{name}.keras")


def arrays(name):
    """The `.npz` saved with fixture `name`: `x`, `z`, `epsilon`, the four
    outputs, and `condition` for a conditional model."""
    with np.load(os.path.join(FIXTURE_DIR, f"{name}.npz")) as saved:
        return dict(saved)


def outputs(model, saved):
    """The four outputs of `model` that the `.npz` holds, computed now."""
    import keras

    condition = saved.get("condition")
    z_mean, z_log_var = model.encode(saved["x"], condition=condition)
    decoded = model.decode(saved["z"], condition=condition)
    log_w = model.log_importance_weights(
        keras.ops.convert_to_tensor(saved["x"]),
        saved["epsilon"].shape[0],
        epsilon=saved["epsilon"],
        condition=condition,
    )
    return {
        "z_mean": z_mean,
        "z_log_var": z_log_var,
        "decoded": np.asarray(decoded),
        "log_weights": keras.ops.convert_to_numpy(log_w),
    }


# -- the fixtures' training data, as make_models.py made it -----------------


def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images / 16.0).astype("float32")[..., None], bunch.target


def mixed_table(n=300, seed=0):
    """Three numeric columns (different scales) and two categorical ones
    (column 1: 3 categories, column 4: 2), and a numeric target."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, 5), np.float32)
    x[:, 0] = rng.normal(50.0, 10.0, n)
    x[:, 1] = rng.integers(0, 3, n)
    x[:, 2] = rng.normal(0.0, 0.01, n) + 0.001 * x[:, 0]
    x[:, 3] = rng.exponential(1000.0, n)
    x[:, 4] = (x[:, 0] > 50).astype(np.float32)
    y = (x[:, 0] / 10.0 + rng.normal(0.0, 1.0, n)).astype(np.float32)
    return x, y


def training_data(name):
    """`(x, condition)` that fixture `name` was trained on (condition None
    for an unconditional model)."""
    if "table" in name:
        table, target = mixed_table()
        return table, (target if name.startswith("conditional") else None)
    images, labels = _digits()
    if name == "mlp_bernoulli":
        return (images > 0.5).astype("float32").reshape(len(images), -1), None
    if name == "conditional_classes":
        return images.reshape(len(images), -1), labels.astype("float32")
    return images, None


# -- measurements compared across backends ----------------------------------


def measure(model, name, evaluate=False):
    """What the cross-backend tests compare of a model of fixture `name`, on
    the fixture's probe examples and fixed numpy noise: the four `outputs`,
    the one-sample ELBO and the KL per example (`elbo_terms` with the first
    draw of the saved noise), the learned log-variance and the warm-up
    counter; with `evaluate`, `vaekit.evaluate`'s figures (`EVALUATE_KEYS`;
    its own noise, `K_EVAL` samples)."""
    import keras

    import vaekit

    saved = arrays(name)
    condition = saved.get("condition")
    result = outputs(model, saved)
    reconstruction, kl = model.elbo_terms(
        keras.ops.convert_to_tensor(saved["x"]),
        epsilon=saved["epsilon"][0],
        condition=condition,
    )
    result["elbo"] = -keras.ops.convert_to_numpy(reconstruction + kl)
    result["kl"] = keras.ops.convert_to_numpy(kl)
    for key in ("decoder_log_var", "train_steps"):
        variable = getattr(model, key)
        if variable is not None:
            result[key] = keras.ops.convert_to_numpy(variable)
    if evaluate:
        # A conditional model's labels travel in a Dataset: `evaluate(model,
        # array, condition=y)` refuses the array before it reads `condition`.
        data = saved["x"]
        if condition is not None:
            data = vaekit.data.Dataset("probe", data, condition)
        summary = vaekit.evaluate(model, data, iw_samples=K_EVAL, seed=0)
        result["evaluate"] = np.array([summary[k] for k in EVALUATE_KEYS], np.float64)
    return result


EVALUATE_KEYS = (
    "elbo",
    "log_likelihood",
    "reconstruction",
    "kl",
    "active_units",
    "n",
    "iw_samples",
)


def fit_one_epoch(model, name):
    """One more epoch of `fit` on the fixture's data; returns the losses."""
    import keras

    x, y = training_data(name)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    history = model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, shuffle=False)
    return [float(v) for v in history.history["loss"]]


def steps_per_epoch(name):
    return -(-len(training_data(name)[0]) // BATCH)


def save_atomically(model, target):
    """Saves under another name first: other processes poll for `target`."""
    partial = target[: -len(".keras")] + ".part.keras"
    model.save(partial)
    os.replace(partial, target)


# -- the learned priors (tests/model/test_latents.py) -------------------------

# Trained and saved on JAX, loaded and trained two more epochs on the
# other backends: a VampPrior with DReG gradients, a flow over a second
# stochastic layer.
LATENTS = {
    "vamp_dreg": {"prior": "vamp", "prior_size": 6, "dreg": True},
    "flow_two_layer": {"prior": "flow", "prior_size": 2, "top_latent_dim": 2},
}


def latent_data(n=200, seed=0):
    """Two prototypes of 12 binary pixels."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[0.9] * 6 + [0.1] * 6, [0.1] * 6 + [0.9] * 6])
    return (rng.random((n, 12)) < prototypes[rng.integers(0, 2, n)]).astype("float32")


def save_latent_models(folder):
    """JAX's share: trains each of `LATENTS` one epoch, saves it in
    `folder`, then `probe.npz` (data, noise and the VampPrior model's log
    weights on them; written last, the workers poll for it)."""
    from vaekit.model import VAE

    os.makedirs(folder, exist_ok=True)
    x = latent_data()
    for name, settings in LATENTS.items():
        model = VAE(latent_dim=3, hidden_dims=[16], iw_samples=3, seed=0, **settings)
        model.compile(optimizer="adam")
        model.fit(x, epochs=1, batch_size=50, verbose=0)
        save_atomically(model, os.path.join(folder, f"{name}.keras"))
    epsilon = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")
    log_weights = latent_log_weights(
        os.path.join(folder, "vamp_dreg.keras"), x, epsilon
    )
    np.savez(
        os.path.join(folder, "probe.part.npz"),
        x=x,
        epsilon=epsilon,
        log_weights=log_weights,
    )
    os.replace(
        os.path.join(folder, "probe.part.npz"), os.path.join(folder, "probe.npz")
    )


def latent_log_weights(path, x, epsilon):
    import keras

    from vaekit.model import load_model

    log_w = load_model(path).log_importance_weights(x[:5], 2, epsilon=epsilon)
    return keras.ops.convert_to_numpy(log_w)


def train_latent_models(folder):
    """A worker's share: the VampPrior model's log weights on the probe, and
    each model's losses and largest weight change over two more epochs."""
    import keras

    from vaekit.model import load_model

    probe = np.load(os.path.join(folder, "probe.npz"))
    x = probe["x"]
    result = {"losses": {}, "moved": {}}
    path = os.path.join(folder, "vamp_dreg.keras")
    result["log_weights"] = latent_log_weights(path, x, probe["epsilon"]).tolist()
    for name in LATENTS:
        model = load_model(os.path.join(folder, f"{name}.keras"))
        before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        history = model.fit(x[:100], epochs=2, batch_size=50, verbose=0).history
        result["losses"][name] = [float(v) for v in history["loss"]]
        after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        result["moved"][name] = max(
            float(np.abs(a - b).max()) for a, b in zip(after, before, strict=True)
        )
    return result


def use_the_estimators():
    """`VAEOutlierDetector` and `VAETransformer` fitted on a table with a
    text column, on this process's backend, and what each gave."""
    import pandas as pd

    from vaekit.sklearn import VAEOutlierDetector, VAETransformer

    x, _ = mixed_table(n=90)
    kinds = np.array(["a", "b", "c"])[x[:, 1].astype(int)]
    frame = pd.DataFrame({"size": x[:, 0], "kind": kinds, "rate": x[:, 3]})
    detector = VAEOutlierDetector(epochs=3, iw_samples=10).fit(frame)
    transformer = VAETransformer(epochs=3).fit(frame)
    rows = transformer.sample(7, seed=1)
    return {
        "scores_finite": bool(np.isfinite(detector.score_samples(frame)).all()),
        "predicted": sorted({int(v) for v in detector.predict(frame)}),
        "feature_scores": list(detector.feature_scores(frame).shape),
        "codes": list(transformer.transform(frame).shape),
        "sample": [list(rows.columns), sorted(set(rows["kind"]) - set(kinds))],
    }
