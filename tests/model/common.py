"""Small models and data the model package's tests share.

Every tiny model here has the same networks (16 features, one hidden layer
of 8 units, 2 latent units), so that JAX compiles each training step once
per session (its compilation cache holds them by their computation).
"""

import keras
import numpy as np
from keras import ops

from vaekit.model import VAE, DataTransform, build_decoder, build_encoder

D, LATENT, HIDDEN = 16, 2, (8,)
K = 4  # classes of `class_data`
CLASS_NAMES = ["north", "east", "south", "west"]


def np_(tensor):
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


def binary_data(n=300, seed=0):
    """Two prototypes with pixel probabilities 0.9 / 0.1: learnable structure."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[0.9] * 8 + [0.1] * 8, [0.1] * 8 + [0.9] * 8])
    p = prototypes[rng.integers(0, 2, n)]
    return (rng.random((n, D)) < p).astype("float32")


def class_data(n=120, seed=0):
    """Binary data from K prototypes (4 pixels on each), and the labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    prototypes = np.full((K, D), 0.1)
    for k in range(K):
        prototypes[k, 4 * k : 4 * k + 4] = 0.9
    x = (rng.random((n, D)) < prototypes[y]).astype("float32")
    return x, y.astype("float32")


def table(n=60, seed=0):
    """Numeric ~N(1000, 50), a categorical column of 3 categories (in the
    middle), numeric ~N(0.01, 0.004) and ~N(-5, 2)."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [
            rng.normal(1000.0, 50.0, n),
            rng.integers(0, 3, n),
            rng.normal(0.01, 0.004, n),
            rng.normal(-5.0, 2.0, n),
        ],
        axis=1,
    ).astype("float32")


def make_vae(data_shape=(D,), seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    encoder = build_encoder(data_shape, HIDDEN, latent_dim=LATENT)
    decoder = build_decoder(data_shape, HIDDEN, latent_dim=LATENT)
    return VAE(encoder, decoder, seed=seed, **kwargs)


def fit(vae, x, epochs=3, learning_rate=1e-2, **kwargs):
    """The default, jit-compiled training step: the path every user takes.
    Batches of 60 divide 300, 240 (a 0.2 validation split), 120 and 60:
    every step has one shape."""
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae.fit(x, epochs=epochs, batch_size=60, verbose=0, **kwargs).history


def tracked_terms(vae, x, training=False):
    """One `compute_loss` call and the tracked means of its two terms."""
    vae.reconstruction_tracker.reset_state()
    vae.kl_tracker.reset_state()
    loss = float(vae.compute_loss(x=ops.convert_to_tensor(x), training=training))
    return (
        loss,
        float(vae.reconstruction_tracker.result()),
        float(vae.kl_tracker.result()),
    )


def set_posterior(vae, log_var_bias, mean_kernel=None):
    """Makes q(z|x) have a constant log-variance `log_var_bias`."""
    head = vae.encoder.get_layer("z_log_var")
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full_like(bias, log_var_bias)])
    if mean_kernel is not None:
        mean_head = vae.encoder.get_layer("z_mean")
        mean_head.set_weights([mean_kernel, np.zeros(LATENT, "float32")])


def table_transform(x, name="transform"):
    """The DataTransform `VAE.adapt` would make of `table()` (column 1
    categorical), with column and category names."""
    transform = DataTransform(
        x.shape[1:],
        categorical=[[1, 3]],
        column_names=["big", "kind", "small", "negative"],
        category_names=[["a", "b", "c"]],
        name=name,
    )
    transform.adapt(x)
    return transform


def transform_vae(x, seed=0, **kwargs):
    """A Gaussian VAE of `table()` in its own units, built by hand."""
    keras.utils.set_random_seed(seed)
    transform = table_transform(x)
    encoder = build_encoder(x.shape[1:], HIDDEN, latent_dim=LATENT, transform=transform)
    decoder = build_decoder(transform.model_shape, HIDDEN, latent_dim=LATENT)
    kwargs.setdefault("likelihood", "gaussian")
    return VAE(encoder, decoder, seed=seed, **kwargs)


def copy_of(transform, name):
    clone = DataTransform.from_config({**transform.get_config(), "name": name})
    clone.set_weights(transform.get_weights())
    return clone


def conditional_vae(condition, data_shape=(D,), transform=None, seed=0, **kwargs):
    """Encoder and decoder conditioned by hand on the adapted `condition`
    (the decoder gets a copy): any layer names will do."""
    keras.utils.set_random_seed(seed)
    copy = copy_of(condition, condition.name + "_for_decoder")
    output_shape = data_shape if transform is None else transform.model_shape
    encoder = build_encoder(
        data_shape, HIDDEN, latent_dim=LATENT, transform=transform, condition=condition
    )
    decoder = build_decoder(output_shape, HIDDEN, latent_dim=LATENT, condition=copy)
    return VAE(encoder, decoder, seed=seed, **kwargs)


def class_condition(y, name="labels"):
    """An adapted class-label condition of K classes named CLASS_NAMES."""
    condition = DataTransform(
        (1,), categorical=[[0, K]], category_names=[CLASS_NAMES], name=name
    )
    condition.adapt(np.asarray(y).reshape(-1, 1))
    return condition
