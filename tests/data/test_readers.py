"""vaekit.data.readers, through `vaekit.data.load`: every file format on data
made here, what `read_path` refuses, and property tests that random arrays
round-trip and random or damaged bytes fail only with a one-line VaekitError.
The tables inside CSV files are tested in test_tables.py."""

import gzip
import io
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from vaekit import VaekitError, data
from vaekit.data import readers

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
        write_idx(os.path.join(folder, readers.IDX_NAMES[key] + suffix), array, gz)


def write_csv(path, table, header=None, fmt="%.9g"):
    """float32 survives `%.9g` exactly (9 significant digits)."""
    with open(path, "w") as handle:
        if header:
            handle.write(",".join(header) + "\n")
        for row in np.atleast_2d(table):
            handle.write(",".join(fmt % v for v in row) + "\n")


def scaled(uint8):
    return uint8.astype(np.float32) / np.float32(255)


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


def test_csv_table_through_load(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "age,colour,height,pet\n31,red,1.8,dog\n25,blue,1.6,cat\n"
        "47,green,1.7,dog\n52,blue,1.9,bird\n"
    )
    ds = data.load(path, label_column="height")
    assert ds.is_table and ds.columns == ("age", "colour", "pet")
    assert ds.categories["colour"] == ("blue", "green", "red")
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (4, 3)
    np.testing.assert_array_equal(ds.x_train[:, 1], [2, 0, 1, 0])
    np.testing.assert_allclose(ds.y_train, [1.8, 1.6, 1.7, 1.9])
    assert ds.y_train.dtype == np.float64 and ds.label_names is None


def test_columns_and_schema_apply_only_to_csv(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    with pytest.raises(VaekitError) as info:
        data.load(tmp_path / "x.npy", columns=["0"])
    assert str(info.value) == (
        f"columns apply to tables (CSV files); {tmp_path / 'x.npy'} is not one"
    )
    schema = {"columns": ["a"]}
    with pytest.raises(VaekitError, match="apply to tables"):
        readers.read_path(str(tmp_path), schema=schema)
    # missing is ignored for other formats
    ds = data.load(tmp_path / "x.npy", missing="drop")
    assert not ds.is_table and ds.columns is None and ds.categories is None


def test_read_path_refuses_what_it_cannot_read(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "read.me").write_text("no data")
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    (tmp_path / "x.npy").write_bytes(b"not numpy")
    cases = {
        "empty.npy": "data file {!r} is empty",
        "x.parquet": "data file {!r} has an unknown format: use .npy, .npz, .csv",
        "a.png": "data {!r}: pass the folder that holds the images or IDX files",
        "t10k-images-idx3-ubyte": "data {!r}: pass the folder that holds",
        "notes": "folder {!r} holds neither MNIST-style IDX files",
        "x.npz": "{}: not a .npz file (not a zip archive, or truncated)",
        "x.npy": "{}: not a .npy file (no NUMPY magic bytes)",
    }
    for name, words in cases.items():
        path = str(tmp_path / name)
        with pytest.raises(VaekitError) as info:
            readers.read_path(path)
        assert str(info.value).startswith(words.format(path)), str(info.value)


def test_pickled_arrays_are_never_loaded(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object))
    with pytest.raises(VaekitError, match="pickled Python objects, which vaekit never"):
        data.load(tmp_path / "obj.npy")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(VaekitError, match="pickled Python objects"):
        data.load(tmp_path / "obj.npz")
    np.savez(tmp_path / "other.npz", z=np.zeros(3))
    with pytest.raises(VaekitError, match=r"expected arrays x_train .* found \['z'\]"):
        data.load(tmp_path / "other.npz")


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
    assert readers.read_idx(tmp_path / "f").shape == (2, 3)


@pytest.mark.parametrize("kind", ["npz", "idx"])
def test_train_and_test_examples_of_different_shapes_are_refused(tmp_path, kind):
    x_train = np.zeros((4, 5, 5), np.uint8)
    x_test = np.zeros((2, 5, 6), np.uint8)
    if kind == "npz":
        path = tmp_path / "set.npz"
        np.savez(path, x_train=x_train, x_test=x_test)
    else:
        path = tmp_path / "idx"
        labels = np.zeros(4, np.uint8)
        write_idx_folder(path, x_train, labels, x_test, labels[:2])
    with pytest.raises(VaekitError, match=r"\(5, 5, 1\), test examples \(5, 6, 1\)"):
        data.load(path)


def test_readers_return_the_raw_parts(tmp_path):
    x = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(3))
    parts = readers.read_npz(str(tmp_path / "a.npz"))
    assert sorted(parts) == ["x_train", "y_train"]
    array, source = parts["x_train"]
    np.testing.assert_array_equal(array, x)  # unscaled: vaekit.data scales
    assert source.endswith("a.npz[x]")


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
