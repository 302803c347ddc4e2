"""vaekit.data.images: folders of PNG/JPEG images, 16-bit ones at full
depth, class folders named by their class names, and a picture beside the
class folders refused rather than ignored."""

import os
import struct
import tempfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vaekit import data
from vaekit.data.images import read_image, read_image_folder
from vaekit.errors import DataError

# PNG colour types by channels: grey, grey + alpha, RGB, RGBA
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def _paeth(left, up, upleft):
    p = left + up - upleft
    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
    return np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))


def png16(pixels, filters=(0,)):
    """The bytes of a 16-bit PNG of `pixels` (uint16, `(H, W)` or `(H, W,
    C)`), row i filtered with `filters[i % len(filters)]` (0-4), as an
    encoder does: Pillow writes 16-bit greyscale only."""
    h, w = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    raw = pixels.astype(">u2").reshape(h, -1).view(np.uint8).astype(np.int64)
    bpp, previous, lines = 2 * channels, np.zeros(raw.shape[1], np.int64), []
    for i, row in enumerate(raw):
        kind = filters[i % len(filters)]
        left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), previous[:-bpp]])
        predicted = (
            [0, left, previous, (left + previous) // 2][kind]
            if kind < 4
            else (_paeth(left, previous, upleft))
        )
        lines.append(
            bytes([kind]) + ((row - predicted) % 256).astype(np.uint8).tobytes()
        )
        previous = row

    def chunk(tag, body):
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, _COLOUR_TYPE[channels], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(lines)))
        + chunk(b"IEND", b"")
    )


def save(path, pixels, bits=8):
    """Writes `pixels` as a PNG of `bits` bits per value."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if bits == 16 and pixels.ndim == 3:
        with open(path, "wb") as handle:
            handle.write(png16(pixels, filters=(0, 1, 2, 3, 4)))
    else:
        dtype = np.uint16 if bits == 16 else np.uint8
        Image.fromarray(pixels.astype(dtype)).save(path)


def test_16_bit_greyscale_is_read_at_full_depth(tmp_path):
    """The issue's case: 16-bit PNGs were clipped to 8 bits (0 and 255)."""
    pixels = np.arange(0, 65536, 257 * 15, dtype=np.uint16).reshape(3, 6)
    pixels[0, 0], pixels[-1, -1] = 1, 65535
    for i in range(2):
        save(str(tmp_path / f"{i}.png"), pixels, bits=16)
    np.testing.assert_array_equal(read_image(str(tmp_path / "0.png")), pixels)
    ds = data.load(str(tmp_path))
    assert ds.x_train.shape == (2, 3, 6, 1) and ds.x_train.dtype == np.float32
    expected = pixels.astype(np.float32) / np.float32(65535)
    np.testing.assert_array_equal(ds.x_train[1, ..., 0], expected)
    assert len(np.unique(ds.x_train)) == pixels.size


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_is_read_at_full_depth(tmp_path, channels):
    """Pillow keeps only the high byte of 16-bit RGB(A); vaekit reads both."""
    pixels = np.random.default_rng(1).integers(0, 65536, (5, 7, channels), np.uint16)
    path = tmp_path / "a.png"
    path.write_bytes(png16(pixels, filters=(0, 1, 2, 3, 4)))
    np.testing.assert_array_equal(read_image(str(path)), pixels[..., :3])


def test_16_bit_grey_with_alpha_is_refused(tmp_path):
    pixels = np.zeros((2, 2, 2), np.uint16)
    (tmp_path / "a.png").write_bytes(png16(pixels))
    with pytest.raises(DataError, match="raw mode LA;16B is read at 8 bits only"):
        read_image(str(tmp_path / "a.png"))


def test_class_folders_keep_their_names(tmp_path):
    """Image-folder class names (`zero`, `one`) are the dataset's label
    names, in the order of the labels."""
    for cls, value in (("zero", 0), ("one", 200)):
        for i in range(2):
            save(str(tmp_path / cls / f"{i}.png"), np.full((2, 2), value))
    ds = data.load(str(tmp_path))
    assert ds.label_names == ("one", "zero")
    np.testing.assert_array_equal(ds.y_train, [0, 0, 1, 1])
    grey = np.float32(200) / np.float32(255)
    np.testing.assert_array_equal(ds.x_train[:, 0, 0, 0], [grey] * 2 + [0] * 2)
    assert "2 classes (one, zero)" in ds.summary()


def test_a_picture_beside_class_folders_is_refused(tmp_path):
    """The issue's case: it was ignored without a word."""
    for cls in ("a", "b"):
        save(str(tmp_path / cls / "x.png"), np.zeros((2, 2)))
    save(str(tmp_path / "stray.png"), np.zeros((2, 2)))
    with pytest.raises(DataError) as info:
        read_image_folder(str(tmp_path))
    assert str(info.value) == (
        f"{tmp_path}: 1 image(s) beside the class sub-folders ['a', 'b'], e.g. "
        "'stray.png'; move each into its class folder, or remove it"
    )


def test_hidden_entries_are_skipped_and_empty_classes_refused(tmp_path):
    save(str(tmp_path / "a" / "x.png"), np.zeros((2, 2)))
    save(str(tmp_path / "b" / "y.png"), np.zeros((2, 2)))
    save(str(tmp_path / ".ipynb_checkpoints" / "z.png"), np.zeros((3, 3)))
    save(str(tmp_path / "a" / ".hidden.png"), np.zeros((3, 3)))
    (tmp_path / "README.txt").write_text("not a picture")
    parts = read_image_folder(str(tmp_path))
    assert parts["label_names"][0] == ("a", "b")
    assert parts["x_train"][0].shape == (2, 2, 2)
    os.makedirs(tmp_path / "c")
    with pytest.raises(DataError, match="class folder 'c' holds no PNG/JPEG images"):
        read_image_folder(str(tmp_path))


# -- property test ---------------------------------------------------------------

MODES = {  # name: (channels, bits)
    "L8": (1, 8),
    "L16": (1, 16),
    "RGB8": (3, 8),
    "RGB16": (3, 16),
    "RGBA16": (4, 16),
}


@st.composite
def trees(draw):
    """A folder of small PNGs: flat or in 1-3 class folders, of random
    modes; sometimes of two sizes, or with a picture beside the classes."""
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    classes = draw(st.sampled_from([[], ["a"], ["b", "a"], ["x", "y", "z"]]))
    images = []
    for cls in classes or [""]:
        for i in range(draw(st.integers(1, 3))):
            mode = draw(st.sampled_from(sorted(MODES)))
            channels, bits = MODES[mode]
            shape = (h, w) if channels == 1 else (h, w, channels)
            seed = draw(st.integers(0, 2**16))
            pixels = np.random.default_rng(seed).integers(0, 2**bits, shape)
            images.append((os.path.join(cls, f"{i}.png"), pixels, bits))
    odd = draw(st.sampled_from([None, None, None, "size", "stray"]))
    if odd == "size":
        images.append(
            (
                os.path.join(classes[0] if classes else "", "big.png"),
                np.zeros((h + 1, w), np.uint8),
                8,
            )
        )
    if odd == "stray" and classes:
        images.append(("stray.png", np.zeros((h, w), np.uint8), 8))
    return classes, images, odd


def expected_of(classes, images):
    """The float32 examples vaekit should read: each image scaled by its own
    maximum, grey repeated to RGB when any image is colour, alpha dropped."""
    colour = any(p.ndim == 3 for _, p, _ in images)
    ordered = sorted(images, key=lambda item: (os.path.dirname(item[0]), item[0]))
    xs = []
    for _, pixels, bits in ordered:
        x = pixels.astype(np.float32) / np.float32(2**bits - 1)
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3 if colour else 1, -1)
        xs.append(x[..., :3])
    if not classes:
        return np.stack(xs), None
    labels = [sorted(classes).index(os.path.dirname(p)) for p, _, _ in ordered]
    return np.stack(xs), labels


@settings(max_examples=60, deadline=None)
@given(tree=trees())
def test_random_png_trees_read_back_exactly(tree):
    """60 examples: folders of 8/16-bit grey, RGB and RGBA PNGs, flat or in
    class folders, read back exactly (scaled to [0, 1] by 255 or 65535),
    or refused with a DataError when they are of two sizes or a picture
    lies beside the class folders."""
    classes, images, odd = tree
    with tempfile.TemporaryDirectory() as tmp:
        for name, pixels, bits in images:
            save(os.path.join(tmp, name), pixels, bits)
        if odd == "size" or (odd == "stray" and classes):
            with pytest.raises(DataError):
                data.load(tmp)
            return
        ds = data.load(tmp)
    x, labels = expected_of(classes, images)
    np.testing.assert_array_equal(ds.x_train, x)
    if classes:
        assert ds.label_names == tuple(sorted(classes))
        np.testing.assert_array_equal(ds.y_train, labels)
    else:
        assert ds.y_train is None and ds.label_names is None
