"""Tests of vaekit.data: every format on data made here, scaling, the
seeded splits and binarizations, the training batches, and property tests
that random arrays round-trip and random bytes fail only with VaekitError."""

import gzip
import io
import os
import tempfile
import urllib.error
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from vaekit import VaekitError, data

# -- writers ------------------------------------------------------------


def write_idx(path, array, gz=False):
    """Writes `array` (uint8) as an IDX file: magic 0x00000803-style header,
    big-endian dimensions, then the bytes."""
    array = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, array.ndim])
    raw += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw += array.tobytes()
    with (gzip.open if gz else open)(path, "wb") as handle:
        handle.write(raw)


def write_idx_folder(folder, x_train, y_train, x_test, y_test, gz=False):
    os.makedirs(folder, exist_ok=True)
    suffix = ".gz" if gz else ""
    for key, array in (
        ("x_train", x_train),
        ("y_train", y_train),
        ("x_test", x_test),
        ("y_test", y_test),
    ):
        write_idx(os.path.join(folder, data.IDX_NAMES[key] + suffix), array, gz)


def write_csv(path, table, header=None, fmt="%.9g"):
    """float32 survives `%.9g` exactly (9 significant digits)."""
    with open(path, "w") as handle:
        if header:
            handle.write(",".join(header) + "\n")
        for row in np.atleast_2d(table):
            handle.write(",".join(fmt % v for v in row) + "\n")


def scaled(uint8):
    return uint8.astype(np.float32) / np.float32(255)


# -- embedded sets and keras.datasets --------------------------------------


def test_mnist5k():
    ds = data.load("mnist5k")
    assert ds.x_train.shape == (5000, 28, 28, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    assert ds.shape == (28, 28, 1) and ds.is_image
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.x_test is None


def test_digits():
    ds = data.load("digits")
    assert ds.x_train.shape == (1797, 8, 8, 1)
    assert ds.x_train.dtype == np.float32
    assert ds.x_train.min() == 0 and ds.x_train.max() == 1
    assert set(np.unique(ds.y_train)) == set(range(10))
    # scikit-learn's pixels are 0..16
    np.testing.assert_array_equal(
        np.unique(np.rint(ds.x_train * 16)), np.arange(17, dtype=np.float32)
    )


@pytest.mark.parametrize(
    "error",
    [
        OSError("Network is unreachable"),
        urllib.error.URLError("no route to host"),
        Exception("URL fetch failure"),
    ],
)
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_keras_datasets_offline(monkeypatch, name, error):
    import keras

    def offline(*args, **kwargs):
        raise error

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    with pytest.raises(VaekitError) as info:
        data.load(name)
    message = str(info.value)
    assert "offline" in message
    assert "mnist5k" in message and "digits" in message
    assert "IDX" in message and ".npz" in message
    assert "\n" not in message


# -- .npy -----------------------------------------------------------------


def test_npy_tabular_float(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 7)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    ds = data.load(tmp_path / "x.npy")
    np.testing.assert_array_equal(ds.x_train, x)
    assert ds.shape == (7,) and not ds.is_image and ds.y_train is None


def test_npy_float64_becomes_float32(tmp_path):
    x = np.linspace(0, 1, 40).reshape(8, 5)
    np.save(tmp_path / "x.npy", x)
    ds = data.load(tmp_path / "x.npy")
    assert ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_train, x.astype(np.float32))


def test_npy_greyscale_uint8_adds_channel_and_scales(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (12, 5, 6), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    ds = data.load(tmp_path / "x.npy")
    assert ds.x_train.shape == (12, 5, 6, 1) and ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_train[..., 0], scaled(x))
    assert ds.is_image


def test_npy_rgb_uint8(tmp_path):
    x = np.random.default_rng(2).integers(0, 256, (4, 3, 5, 3), dtype=np.uint8)
    x[0, 0, 0] = (0, 255, 128)
    np.save(tmp_path / "x.npy", x)
    ds = data.load(tmp_path / "x.npy")
    assert ds.x_train.shape == (4, 3, 5, 3)
    np.testing.assert_array_equal(ds.x_train, scaled(x))
    np.testing.assert_array_equal(ds.x_train[0, 0, 0], scaled(np.uint8([0, 255, 128])))


def test_npy_bool_is_zero_one(tmp_path):
    x = np.random.default_rng(3).random((10, 4)) < 0.5
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(
        data.load(tmp_path / "x.npy").x_train, x.astype(np.float32)
    )


# -- .npz -----------------------------------------------------------------


def test_npz_with_train_and_test(tmp_path):
    rng = np.random.default_rng(4)
    x_train = rng.integers(0, 256, (10, 4, 4), dtype=np.uint8)
    x_test = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    y_train, y_test = rng.integers(0, 10, 10), rng.integers(0, 10, 6)
    path = tmp_path / "set.npz"
    np.savez(path, x_train=x_train, x_test=x_test, y_train=y_train, y_test=y_test)
    ds = data.load(path)
    np.testing.assert_array_equal(ds.x_train[..., 0], scaled(x_train))
    np.testing.assert_array_equal(ds.x_test[..., 0], scaled(x_test))
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.y_test, y_test)
    x, y = ds.split("all")
    assert x.shape == (16, 4, 4, 1)
    np.testing.assert_array_equal(y, np.concatenate([y_train, y_test]))
    x, y = ds.split("test")
    np.testing.assert_array_equal(y, y_test)


def test_npz_with_x_and_y(tmp_path):
    rng = np.random.default_rng(5)
    x, y = rng.random((9, 3)).astype(np.float32), np.arange(9)
    np.savez_compressed(tmp_path / "set.npz", x=x, y=y)
    ds = data.load(tmp_path / "set.npz")
    np.testing.assert_array_equal(ds.x_train, x)
    np.testing.assert_array_equal(ds.y_train, y)
    assert ds.x_test is None
    with pytest.raises(VaekitError, match="no test split"):
        ds.split("test")
    assert ds.split("all")[0] is ds.x_train


# -- .csv -----------------------------------------------------------------


def test_csv_with_header_and_label_by_name(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.random((8, 3)).astype(np.float32)
    y = rng.integers(0, 4, 8)
    table = np.column_stack([x[:, :1], y, x[:, 1:]])
    write_csv(tmp_path / "t.csv", table, header=["a", "digit", "b", "c"])
    ds = data.load(tmp_path / "t.csv", label_column="digit")
    np.testing.assert_array_equal(ds.x_train, x)
    np.testing.assert_array_equal(ds.y_train, y)
    # without a label column, every column is a feature
    assert data.load(tmp_path / "t.csv").x_train.shape == (8, 4)


@pytest.mark.parametrize("index", ["0", "-3"])
def test_csv_without_header_and_label_by_index(tmp_path, index):
    rng = np.random.default_rng(7)
    x = rng.random((5, 2)).astype(np.float32)
    y = np.array([1, 0, 2, 2, 1])
    write_csv(tmp_path / "t.csv", np.column_stack([y, x]))
    ds = data.load(tmp_path / "t.csv", label_column=index)
    np.testing.assert_array_equal(ds.x_train, x)
    np.testing.assert_array_equal(ds.y_train, y)


def test_csv_skips_blank_lines(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n\n0.5,0.25\n\n1,0\n")
    ds = data.load(tmp_path / "t.csv")
    np.testing.assert_array_equal(ds.x_train, [[0.5, 0.25], [1, 0]])


# -- IDX ------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trips(tmp_path, gz):
    rng = np.random.default_rng(8)
    x_train = rng.integers(0, 256, (7, 5, 4), dtype=np.uint8)
    x_train[0, 0, :2] = (0, 255)
    x_test = rng.integers(0, 256, (3, 5, 4), dtype=np.uint8)
    y_train = rng.integers(0, 10, 7, dtype=np.uint8)
    y_test = rng.integers(0, 10, 3, dtype=np.uint8)
    folder = tmp_path / "idx"
    write_idx_folder(folder, x_train, y_train, x_test, y_test, gz=gz)
    if gz:
        assert open(folder / "train-images-idx3-ubyte.gz", "rb").read(2) == b"\x1f\x8b"
    ds = data.load(folder)
    assert ds.x_train.shape == (7, 5, 4, 1) and ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_train[..., 0], scaled(x_train))
    np.testing.assert_array_equal(np.rint(ds.x_test[..., 0] * 255), x_test)
    np.testing.assert_array_equal(ds.y_train, y_train)
    np.testing.assert_array_equal(ds.y_test, y_test)


def test_idx_folder_with_train_images_only(tmp_path):
    x = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    os.makedirs(tmp_path / "idx")
    # the dotted spelling of the names some mirrors use
    write_idx(tmp_path / "idx" / "train-images.idx3-ubyte", x)
    ds = data.load(tmp_path / "idx")
    np.testing.assert_array_equal(np.rint(ds.x_train[..., 0] * 255), x)
    assert ds.y_train is None and ds.x_test is None


def test_read_idx_header_bytes(tmp_path):
    write_idx(tmp_path / "f", np.zeros((2, 3), np.uint8))
    raw = open(tmp_path / "f", "rb").read()
    assert raw[:4] == b"\x00\x00\x08\x02"
    assert raw[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03" and len(raw) == 18
    assert data.read_idx(tmp_path / "f").shape == (2, 3)


# -- image folders ----------------------------------------------------------


def test_flat_folder_of_greyscale_png(tmp_path):
    rng = np.random.default_rng(9)
    images = rng.integers(0, 256, (4, 6, 5), dtype=np.uint8)
    for i, image in enumerate(images):
        Image.fromarray(image, mode="L").save(tmp_path / f"{i:02d}.png")
    (tmp_path / "README.txt").write_text("ignored")
    ds = data.load(tmp_path)
    assert ds.x_train.shape == (4, 6, 5, 1)
    np.testing.assert_array_equal(ds.x_train[..., 0], scaled(images))
    assert ds.y_train is None


def test_class_folders_of_rgb_png_and_jpeg(tmp_path):
    rng = np.random.default_rng(10)
    rgb = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    for cls, names in (("cat", ["a.png", "b.jpg"]), ("dog", ["c.jpeg"])):
        os.makedirs(tmp_path / cls)
        for name in names:
            index = "abc".index(name[0])
            Image.fromarray(rgb[index], mode="RGB").save(tmp_path / cls / name)
    ds = data.load(tmp_path)
    assert ds.x_train.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(ds.y_train, [0, 0, 1])  # sorted class names
    np.testing.assert_array_equal(ds.x_train[0], scaled(rgb[0]))  # PNG: lossless
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1


def test_greyscale_jpeg_stays_one_channel(tmp_path):
    image = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))
    for cls in ("0", "1"):
        os.makedirs(tmp_path / cls)
        Image.fromarray(image, mode="L").save(tmp_path / cls / "x.jpg", quality=95)
    ds = data.load(tmp_path)
    assert ds.x_train.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(ds.x_train[0, ..., 0], scaled(image), atol=8 / 255)


def test_mixed_grey_and_rgb_become_rgb(tmp_path):
    grey = np.full((4, 4), 200, np.uint8)
    Image.fromarray(grey, mode="L").save(tmp_path / "a.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8), mode="RGB").save(tmp_path / "b.png")
    ds = data.load(tmp_path)
    assert ds.x_train.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(ds.x_train[0], scaled(np.full((4, 4, 3), 200)))


# -- scaling checks ---------------------------------------------------------


def test_bernoulli_needs_unit_interval():
    data.check_for_likelihood(np.array([[0.0, 1.0]]), "bernoulli", "x")
    data.check_for_likelihood(np.array([[-3.0, 7.0]]), "gaussian", "x")
    with pytest.raises(VaekitError, match="gaussian"):
        data.check_for_likelihood(np.array([[0.0, 1.5]]), "bernoulli", "x")


# -- binarization, splits and batches --------------------------------------


def test_static_binarization_is_seeded_and_unbiased():
    x = np.random.default_rng(11).random((200, 50)).astype(np.float32)
    a, b = data.binarize(x, seed=3), data.binarize(x, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, data.binarize(x, seed=4))
    assert a.dtype == np.float32 and set(np.unique(a)) == {0.0, 1.0}
    # each value is a Bernoulli(x) draw: the mean's std is at most 0.5/sqrt(n)
    assert abs(a.mean() - x.mean()) < 5 * 0.5 / np.sqrt(x.size)
    # and the draws follow the pixel: 0 and 1 are kept
    edges = np.array([[0.0, 1.0, 0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(data.binarize(edges, seed=0), edges)


def test_train_validation_split_is_seeded_and_disjoint():
    x = np.arange(100)[:, None].astype(np.float32)
    y = np.arange(100)
    (xt, yt), (xv, yv) = data.train_validation_split(x, y, 0.2, seed=5)
    (xt2, _), (xv2, _) = data.train_validation_split(x, y, 0.2, seed=5)
    np.testing.assert_array_equal(xt, xt2)
    np.testing.assert_array_equal(xv, xv2)
    assert len(xv) == 20 and len(xt) == 80
    assert set(yt).isdisjoint(yv) and set(yt) | set(yv) == set(range(100))
    np.testing.assert_array_equal(xt[:, 0], yt)  # rows and labels stay paired
    (_, _), (xv3, _) = data.train_validation_split(x, y, 0.2, seed=6)
    assert not np.array_equal(xv, xv3)
    (xt0, _), (xv0, _) = data.train_validation_split(x, None, 0.0, seed=5)
    assert len(xt0) == 100 and len(xv0) == 0
    with pytest.raises(VaekitError):
        data.train_validation_split(x[:1], None, 0.5, seed=0)


def _epoch(batches):
    return [batches[i][0] for i in range(len(batches))]


def test_batches_cover_every_row_once_and_reshuffle():
    n, batch_size = 53, 10
    x = np.arange(n, dtype=np.float32)[:, None]
    batches = data.TrainingBatches(x, batch_size, seed=1)
    assert len(batches) == 6
    orders = []
    for _ in range(3):
        epoch = _epoch(batches)
        assert [len(b) for b in epoch] == [10, 10, 10, 10, 10, 3]
        rows = np.concatenate(epoch)[:, 0]
        assert sorted(rows) == list(range(n))
        orders.append(rows)
        batches.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_batches_depend_only_on_seed_and_epoch():
    x = np.random.default_rng(12).random((40, 6)).astype(np.float32)
    running = data.TrainingBatches(x, 8, "dynamic", seed=7)
    for _ in range(3):
        running.on_epoch_end()
    resumed = data.TrainingBatches(x, 8, "dynamic", seed=7, epoch=3)
    for a, b in zip(_epoch(running), _epoch(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    other = data.TrainingBatches(x, 8, "dynamic", seed=8, epoch=3)
    assert not np.array_equal(_epoch(other)[0], _epoch(resumed)[0])


def test_dynamic_binarization_is_a_fresh_draw_each_epoch():
    n, d = 64, 40
    # 6 columns spell each row's id in bits (0 and 1 survive binarization),
    # the rest are 0.3: their draws show the binarization.
    ids = (np.arange(n)[:, None] >> np.arange(6)) & 1
    x = np.concatenate([ids, np.full((n, d - 6), 0.3)], axis=1).astype(np.float32)
    batches = data.TrainingBatches(x, 16, "dynamic", seed=2)
    draws = []
    for _ in range(2):
        rows = np.concatenate(_epoch(batches))
        assert set(np.unique(rows)) == {0.0, 1.0}
        order = rows[:, :6] @ (1 << np.arange(6))
        assert sorted(order) == list(range(n))  # every row once
        draws.append(rows[np.argsort(order), 6:])
        batches.on_epoch_end()
    for draw in draws:
        assert abs(draw.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / draw.size)
    # the same example gets a different draw in the next epoch
    assert (draws[0] != draws[1]).mean() > 0.3
    # without binarization the batches are the data itself
    plain = data.TrainingBatches(x, 16, "none", seed=2)
    values = np.unique(np.concatenate(_epoch(plain)))
    np.testing.assert_array_equal(values, np.array([0, 0.3, 1], np.float32))


# -- property tests ---------------------------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

uint8_images = hnp.arrays(
    np.uint8,
    st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6)),  # (n, H, W)
)
float_tables = hnp.arrays(
    np.float32,
    st.tuples(st.integers(1, 6), st.integers(1, 5)),
    elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
)


@PROPERTY
@given(x=uint8_images)
def test_uint8_round_trips_through_every_writer(x):
    expected = scaled(x)[..., None]
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "a.npy"), x)
        np.testing.assert_array_equal(
            data.load(os.path.join(tmp, "a.npy")).x_train, expected
        )
        np.savez(os.path.join(tmp, "a.npz"), x_train=x, x_test=x[:1])
        ds = data.load(os.path.join(tmp, "a.npz"))
        np.testing.assert_array_equal(ds.x_train, expected)
        np.testing.assert_array_equal(ds.x_test, expected[:1])
        labels = np.arange(len(x), dtype=np.uint8)
        write_idx_folder(os.path.join(tmp, "idx"), x, labels, x, labels, gz=True)
        ds = data.load(os.path.join(tmp, "idx"))
        np.testing.assert_array_equal(ds.x_train, expected)
        np.testing.assert_array_equal(ds.y_test, labels)
        # a CSV holds numbers, not bytes: pixel values come back unscaled
        flat = x.reshape(len(x), -1)
        write_csv(os.path.join(tmp, "a.csv"), flat, fmt="%d")
        np.testing.assert_array_equal(
            data.load(os.path.join(tmp, "a.csv")).x_train, flat.astype(np.float32)
        )


@PROPERTY
@given(x=float_tables, header=st.booleans())
def test_floats_round_trip_through_npy_npz_and_csv(x, header):
    x = x + np.float32(0)  # -0.0 reads back as 0.0 from a CSV
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "a.npy"), x)
        np.testing.assert_array_equal(data.load(os.path.join(tmp, "a.npy")).x_train, x)
        y = np.arange(len(x))
        np.savez(os.path.join(tmp, "a.npz"), x=x, y=y)
        ds = data.load(os.path.join(tmp, "a.npz"))
        np.testing.assert_array_equal(ds.x_train, x)
        np.testing.assert_array_equal(ds.y_train, y)
        names = [f"f{i}" for i in range(x.shape[1])] + ["label"]
        write_csv(
            os.path.join(tmp, "a.csv"),
            np.column_stack([x, y]),
            header=names if header else None,
        )
        ds = data.load(
            os.path.join(tmp, "a.csv"), label_column="label" if header else "-1"
        )
        np.testing.assert_array_equal(ds.x_train, x)
        np.testing.assert_array_equal(ds.y_train, y)


def _zip_member(payload):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", payload)
    return buffer.getvalue()


PREFIXES = {
    ".npy": [b"", b"\x93NUMPY\x01\x00", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', "],
    ".npz": [b"", b"PK\x03\x04"],
    ".csv": [b"", b"a,b\n", b"0.5,"],
    ".png": [b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"],
    "idx": [b"", b"\x00\x00\x08\x03", b"\x00\x00\x08\x01\x00\x00\x00\x02"],
}


def _load_garbage(kind, payload, tmp):
    if kind == "idx":
        os.makedirs(os.path.join(tmp, "idx"))
        path = os.path.join(tmp, "idx", "train-images-idx3-ubyte")
        open(path, "wb").write(payload)
        return data.load(os.path.join(tmp, "idx"))
    if kind == ".png":
        os.makedirs(os.path.join(tmp, "img"))
        open(os.path.join(tmp, "img", "a.png"), "wb").write(payload)
        return data.load(os.path.join(tmp, "img"))
    path = os.path.join(tmp, "garbage" + kind)
    open(path, "wb").write(payload)
    return data.load(path)


@pytest.mark.parametrize("kind", sorted(PREFIXES))
@settings(max_examples=40, deadline=None)
@given(seed=st.data(), payload=st.binary(max_size=600))
def test_garbage_bytes_raise_only_vaekit_error(kind, seed, payload):
    prefix = seed.draw(st.sampled_from(PREFIXES[kind]))
    payload = prefix + payload
    if kind == ".npz" and seed.draw(st.booleans()):
        payload = _zip_member(seed.draw(st.sampled_from(PREFIXES[".npy"])) + payload)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ds = _load_garbage(kind, payload, tmp)
        except VaekitError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
        else:
            # whatever loads is clean data
            assert ds.x_train.dtype == np.float32 and len(ds.x_train) > 0
            assert np.isfinite(ds.x_train).all()


def _valid_file(kind):
    """The bytes of a small valid file of `kind`."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    if kind == ".npy":
        np.save(buffer, rng.random((5, 4)).astype(np.float32))
    elif kind == ".npz":
        np.savez_compressed(buffer, x=rng.random((5, 4)), y=np.arange(5))
    elif kind == ".png":
        image = rng.integers(0, 256, (9, 9, 3), dtype=np.uint8)
        Image.fromarray(image).save(buffer, format="png")
    elif kind == ".csv":
        buffer.write(b"a,b,label\n0.1,0.2,1\n0.4,0.5,0\n")
    else:
        image = rng.integers(0, 256, (2, 3, 3), dtype=np.uint8)
        raw = b"\x00\x00\x08\x03" + b"".join(d.to_bytes(4, "big") for d in (2, 3, 3))
        buffer.write(gzip.compress(raw + image.tobytes()))
    return buffer.getvalue()


@pytest.mark.parametrize("kind", sorted(PREFIXES))
@settings(max_examples=40, deadline=None)
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_damaged_files_raise_only_vaekit_error(kind, edits):
    """A valid file with bytes overwritten, cut out or cut off."""
    payload = bytearray(_valid_file(kind))
    for where, value in edits:
        i = int(where * (len(payload) - 1))
        if value < 128:
            payload[i] = value * 2
        elif value < 192:
            del payload[i : i + value - 127]
        else:
            del payload[i:]
        if not payload:
            break
    with tempfile.TemporaryDirectory() as tmp:
        try:
            ds = _load_garbage(kind, bytes(payload), tmp)
        except VaekitError:
            pass
        else:
            assert ds.x_train.dtype == np.float32 and np.isfinite(ds.x_train).all()


def test_truncated_files_name_the_file(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((50, 4), np.float32))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw[:-10])
    with pytest.raises(VaekitError, match=r"a\.npy.*truncated"):
        data.load(tmp_path / "a.npy")
    os.makedirs(tmp_path / "idx")
    write_idx(tmp_path / "idx" / "train-images-idx3-ubyte", np.zeros((3, 4, 4)))
    with open(tmp_path / "idx" / "train-images-idx3-ubyte", "r+b") as handle:
        handle.truncate(40)
    with pytest.raises(VaekitError, match="truncated or corrupt"):
        data.load(tmp_path / "idx")
