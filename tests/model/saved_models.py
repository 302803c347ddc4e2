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
