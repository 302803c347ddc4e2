"""vaekit.model.arrays: the VAE on numpy arrays and pandas DataFrames
(encode, decode, reconstruct, sample, conditions and labels, tables written
back, and Keras' fit/evaluate/predict on them)."""

import numpy as np
import pytest
from keras import ops
from scipy import special

from tests.model.common import (
    CLASS_NAMES,
    LATENT,
    D,
    K,
    make_vae,
    np_,
    table,
    transform_vae,
)
from vaekit.data.diskarray import DiskArray, open_npy
from vaekit.errors import InvalidArgument


def test_encode_decode_reconstruct_sample(trained, binary_x):
    vae, _ = trained
    x = binary_x
    z_mean, z_log_var = vae.encode(x)
    assert z_mean.shape == z_log_var.shape == (len(x), LATENT)
    expected_mean, expected_log_var = vae.encoder(x)
    np.testing.assert_allclose(z_mean, np_(expected_mean), atol=1e-5)
    np.testing.assert_allclose(z_log_var, np_(expected_log_var), atol=1e-5)

    means = vae.decode(z_mean)
    assert means.shape == x.shape
    assert means.min() >= 0.0 and means.max() <= 1.0
    logits = np_(vae.decoder(z_mean))
    np.testing.assert_allclose(means, special.expit(logits), atol=1e-5)
    np.testing.assert_allclose(vae.reconstruct(x), means, atol=1e-6)
    # Trained on two prototypes: reconstructions are better than chance.
    assert np.mean((vae.reconstruct(x) > 0.5) == (x > 0.5)) > 0.7

    samples = vae.sample(7, seed=3)
    assert samples.shape == (7, D)
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, vae.sample(7, seed=3))
    assert not np.allclose(samples, vae.sample(7, seed=4))
    # Temperature 0 decodes the prior's mean, z = 0, for every sample.
    cold = vae.sample(3, seed=5, temperature=0.0)
    np.testing.assert_allclose(cold, vae.decode(np.zeros((3, LATENT), "float32")))


def test_image_vae_keeps_image_shapes():
    vae = make_vae(data_shape=(8, 8, 1), likelihood="gaussian", decoder_std=1.0)
    images = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype("float32")
    z_mean, _ = vae.encode(images)
    assert z_mean.shape == (5, LATENT)
    decoded = vae.decode(z_mean)
    assert decoded.shape == (5, 8, 8, 1)
    # Gaussian: decode returns the decoder's mean, unconstrained.
    np.testing.assert_allclose(decoded, np_(vae.decoder(z_mean)), atol=1e-5)
    assert vae.sample(4, seed=0).shape == (4, 8, 8, 1)
    # Flat rows of the same values are the same images.
    np.testing.assert_array_equal(vae.encode(images.reshape(5, 64))[0], z_mean)
    assert vae.as_array(images.reshape(5, 64)).shape == (5, 8, 8, 1)


def test_a_disk_array_stays_on_disk(trained, binary_x, tmp_path):
    vae, _ = trained
    np.save(tmp_path / "x.npy", binary_x[:60])
    disk = open_npy(str(tmp_path / "x.npy"))
    assert isinstance(disk, DiskArray)
    assert vae.as_array(disk) is disk
    np.testing.assert_array_equal(vae.encode(disk)[0], vae.encode(binary_x[:60])[0])


def test_transform_vae_decodes_to_the_datas_units():
    x = table()
    vae = transform_vae(x, decoder_std=0.5)
    assert vae.transform is not None and vae.transform.name == "transform"
    assert vae.condition_transform is None and not vae.conditional
    assert vae.data_shape == (4,)
    assert vae.decoder.outputs[0].shape[1:] == (6,)  # 3 numeric + one-hot of 3
    z_mean, _ = vae.encode(x)
    decoded = vae.decode(z_mean)
    assert decoded.shape == x.shape
    params = np_(vae.decoder(z_mean))
    scale, mean = np_(vae.transform.scale), np_(vae.transform.mean)
    np.testing.assert_allclose(
        decoded[:, [0, 2, 3]], params[:, :3] * scale + mean, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(decoded[:, 1], params[:, 3:].argmax(axis=1))
    # In the data's units: around 1000, not around 0 (standardised).
    assert np.all(np.abs(decoded[:, 0] - 1000.0) < 5 * 50.0)
    assert np.all(np.abs(decoded[:, 0]) > 500.0)
    assert np.all(np.abs(decoded[:, 2] - 0.01) < 5 * 0.004)
    np.testing.assert_allclose(vae.reconstruct(x), decoded, rtol=1e-6)
    samples = vae.sample(5, seed=0)
    assert samples.shape == (5, 4)
    assert set(np.unique(samples[:, 1])) <= {0.0, 1.0, 2.0}
    # Written back as a table: the column names and the category names.
    frame = vae.to_frame(decoded[:3])
    assert list(frame.columns) == ["big", "kind", "small", "negative"]
    assert list(frame["kind"]) == [["a", "b", "c"][int(i)] for i in decoded[:3, 1]]
    np.testing.assert_allclose(frame["big"], decoded[:3, 0], rtol=1e-6)


def test_a_dataframe_is_read_by_the_models_columns_and_categories(
    mixed_vae, mixed_frame
):
    vae = mixed_vae
    assert vae.schema == {
        "columns": ["age", "colour", "income", "size"],
        "categories": {"colour": ["blue", "green", "red"], "size": ["L", "M", "S"]},
    }
    x = vae.as_array(mixed_frame)
    assert x.shape == (len(mixed_frame), 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0], mixed_frame["age"].to_numpy("float32"))
    colours = ["blue", "green", "red"]
    np.testing.assert_array_equal(
        x[:, 1], [colours.index(c) for c in mixed_frame.colour]
    )
    # The columns in another order, and a few rows only, read the same.
    shuffled = mixed_frame[["size", "income", "colour", "age"]].iloc[:5]
    np.testing.assert_array_equal(vae.as_array(shuffled), x[:5])
    only_red = mixed_frame[mixed_frame.colour == "red"]
    np.testing.assert_array_equal(vae.as_array(only_red)[:, 1], 2.0)
    np.testing.assert_array_equal(vae.encode(mixed_frame)[0], vae.encode(x)[0])
    # Reconstructions written back: the DataFrame's own columns and categories.
    back = vae.to_frame(vae.reconstruct(mixed_frame))
    assert list(back.columns) == list(mixed_frame.columns)
    assert set(back["colour"]) <= set(colours)
    assert set(back["size"]) <= {"L", "M", "S"}


def test_to_frame_of_a_model_without_a_table_names_each_value(trained):
    vae, _ = trained
    frame = vae.to_frame(np.arange(2 * D, dtype="float32").reshape(2, D))
    assert list(frame.columns) == [f"x_{i}" for i in range(D)]
    np.testing.assert_array_equal(frame.to_numpy()[1], np.arange(D, 2 * D))
    assert vae.schema is None


def test_keras_fit_evaluate_and_predict_take_a_dataframe(mixed_vae, mixed_frame):
    from vaekit.model import VAE

    def copy():
        # The same weights and the same noise (a fresh seed generator).
        vae = VAE.from_config(mixed_vae.get_config())
        vae.set_weights(mixed_vae.get_weights())
        vae.compile(optimizer="adam", jit_compile=False)
        return vae

    frame = mixed_frame.iloc[:20]
    result = copy().evaluate(frame, batch_size=20, verbose=0, return_dict=True)
    expected = copy().evaluate(copy().as_array(frame), batch_size=20, verbose=0)
    vae = copy()
    assert result["loss"] == pytest.approx(expected[0], rel=1e-6)
    assert vae.predict(frame, batch_size=20, verbose=0).shape == (20, 4)
    history = vae.fit(
        frame, epochs=1, batch_size=20, verbose=0, validation_data=mixed_frame[20:40]
    )
    assert np.isfinite(history.history["val_loss"]).all()


# -- conditions and labels ------------------------------------------------------


def test_conditional_model_needs_one_condition_per_example(conditional):
    vae, _, x, y = conditional
    # The encoder's condition is the one-hot label joined to the features.
    z_mean, z_log_var = vae.encode(x, condition=y)
    expected_mean, expected_log_var = vae.encoder([x, y.reshape(-1, 1)])
    np.testing.assert_allclose(z_mean, np_(expected_mean), atol=1e-5)
    np.testing.assert_allclose(z_log_var, np_(expected_log_var), atol=1e-5)
    with pytest.raises(ValueError, match="condition"):
        vae.encode(x)
    with pytest.raises(ValueError, match="one condition per example"):
        vae.encode(x, condition=y[:5])
    # Its class names: text labels are conditions too.
    names = np.asarray(CLASS_NAMES)[y.astype(int)]
    np.testing.assert_array_equal(vae.condition_values(names), y)
    np.testing.assert_array_equal(vae.encode(x, condition=names)[0], z_mean)


def test_conditional_decode_sample_and_default_condition(conditional):
    vae, _, _, _ = conditional
    z = np.random.default_rng(2).normal(size=(6, LATENT)).astype("float32")
    by_class = [vae.decode(z, condition=np.full(6, k)) for k in range(K)]
    for k in range(K):
        logits = np_(vae.decoder([z, np.full((6, 1), k, "float32")]))
        np.testing.assert_allclose(by_class[k], special.expit(logits), atol=1e-5)
    for a in range(K):
        for b in range(a + 1, K):
            assert np.abs(by_class[a] - by_class[b]).max() > 1e-3
    # Trained on prototypes: class k's own pixels are the brightest.
    zero = np.zeros((K, LATENT), "float32")
    means = vae.decode(zero, condition=np.arange(K))
    for k in range(K):
        assert (
            means[k, 4 * k : 4 * k + 4].mean()
            > np.delete(means[k], range(4 * k, 4 * k + 4)).mean()
        )

    np.testing.assert_array_equal(vae.default_condition(5), [0, 1, 2, 3, 0])
    np.testing.assert_allclose(
        vae.decode(z), vae.decode(z, condition=[0, 1, 2, 3, 0, 1]), atol=1e-7
    )
    samples = vae.sample(5, seed=7, condition=3)
    assert samples.shape == (5, D)
    prior = np.random.default_rng(7).standard_normal((5, LATENT)).astype("float32")
    np.testing.assert_allclose(
        samples, vae.decode(prior, condition=np.full(5, 3)), atol=1e-7
    )
    per_sample = vae.sample(4, seed=7, condition=[0, 1, 2, 3])
    np.testing.assert_allclose(
        per_sample, vae.decode(prior[:4], condition=np.arange(4)), atol=1e-7
    )
    # A class name is a condition too.
    np.testing.assert_array_equal(vae.sample(5, seed=7, condition="west"), samples)


def test_label_condition_reads_class_names_and_indices(conditional, trained):
    vae, _, _, _ = conditional
    assert vae.label_condition(None) is None
    assert vae.label_condition("south") == 2.0
    assert vae.label_condition("3") == 3.0
    assert vae.label_condition(1) == 1.0
    with pytest.raises(InvalidArgument, match=r"not a class of the model.*north"):
        vae.label_condition("4")
    with pytest.raises(InvalidArgument, match="not a class"):
        vae.label_condition("up")
    plain, _ = trained
    assert plain.default_condition(3) is None
    assert plain.num_classes is None and plain.class_names is None
    with pytest.raises(InvalidArgument, match="needs a conditional model"):
        plain.label_condition("1")


def test_numeric_condition_decodes_with_the_training_mean_by_default(
    numeric_conditional,
):
    vae, x, y = numeric_conditional
    default = vae.default_condition(3)
    assert default.shape == (3, 1)
    np.testing.assert_allclose(default, y.astype(np.float64).mean(), rtol=1e-6)
    z = vae.encode(x[:4], condition=y[:4])[0]
    low = vae.decode(z, condition=np.full(4, 20.0))
    high = vae.decode(z, condition=np.full(4, 80.0))
    assert np.abs(low[:, 0] - high[:, 0]).max() > 1e-3
    assert np.all(np.abs(low[:, 0] - 1000.0) < 5 * 50.0)
    np.testing.assert_allclose(
        vae.decode(z), vae.decode(z, condition=np.full(4, y.mean())), rtol=1e-6
    )
    assert vae.label_condition("21.5") == 21.5
    np.testing.assert_array_equal(vae.condition_values([1, 2.5]), [1.0, 2.5])
    params = np_(vae.decoder([z, np.full((4, 1), 20.0, "float32")]))
    np.testing.assert_allclose(
        low, np_(vae.transform.inverse(ops.convert_to_tensor(params))), rtol=1e-6
    )


def test_a_table_model_samples_rows_like_the_data():
    import pandas as pd

    from vaekit.model import VAE

    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.gamma(2.0, 1000.0, n),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    vae = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[8], seed=0)
    vae.adapt(frame)
    rows = vae.to_frame(vae.sample(400, seed=1))
    # Whole numbers stay whole (and are written as integers), within range.
    assert rows["age"].dtype == np.int64
    assert rows["age"].between(frame.age.min(), frame.age.max()).all()
    income = frame.income.astype("float32")  # as the model reads it
    assert rows["income"].between(income.min(), income.max()).all()
    assert rows["income"].nunique() > 300  # drawn, not one mean per code
    # Categories are drawn, so every one appears, not only the likeliest.
    assert set(rows["colour"]) == {"red", "green", "blue"}
    # The mean of p(x|z) on request; images and Bernoulli vectors by default.
    means = vae.sample(400, seed=1, draw=False)
    np.testing.assert_allclose(means, vae.decode(vae.prior.sample(400, 2, seed=1)))
    assert not np.allclose(means[:, 1], np.round(means[:, 1]))
    np.testing.assert_array_equal(
        vae.sample(5, seed=7), vae.sample(5, seed=7)
    )  # seeded


def test_a_bernoulli_model_of_vectors_samples_means_unless_asked(trained):
    vae, _ = trained
    means = vae.sample(50, seed=2)
    assert not set(np.unique(means)) <= {0.0, 1.0}
    bits = vae.sample(50, seed=2, draw=True)
    assert set(np.unique(bits)) <= {0.0, 1.0}
    # The draws follow the means: over many draws their average nears them.
    z = vae.prior.sample(1, LATENT, seed=2)
    many = vae.decode(np.repeat(z, 4000, axis=0), draw=True, seed=3)
    np.testing.assert_allclose(many.mean(axis=0), vae.decode(z)[0], atol=0.05)


def test_a_conditional_model_keeps_its_label_columns_name():
    import pandas as pd

    from vaekit.model import VAE, load_model

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    labels = pd.Series(np.where(np.arange(40) % 2, "yes", "no"), name="kind")
    vae = VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[4], conditional=True)
    vae.adapt(frame, labels)
    assert vae.label_column == "kind"
    unnamed = VAE(
        likelihood="gaussian", latent_dim=2, hidden_dims=[4], conditional=True
    )
    assert unnamed.adapt(frame, labels.to_numpy()).label_column is None
    assert (
        VAE(likelihood="gaussian", latent_dim=2, hidden_dims=[4])
        .adapt(frame)
        .label_column
        is None
    )
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        vae.save(f"{folder}/m.keras")
        assert load_model(f"{folder}/m.keras").label_column == "kind"
