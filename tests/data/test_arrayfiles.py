"""vaekit.data.arrayfiles: IDX, .npy and .npz files are bounded before they
are read. A header that declares more than the file holds, a .gz that
expands past its header (the issue's 7.8 MB file that expands to 7.5 GB),
and an array larger than memory are refused with one DataError, without
allocating what they declare; property tests draw random headers, sizes,
truncations and garbage (150 + 150 + 100 examples, a few seconds)."""

import gzip
import io
import math
import os
import struct
import tempfile
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vaekit import data, resources
from vaekit.data import arrayfiles
from vaekit.data.diskarray import DiskArray
from vaekit.errors import DataError

MNIST_SHAPE = (60000, 28, 28)
GB = 10**9


def idx_header(shape):
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(
        int(d).to_bytes(4, "big") for d in shape
    )


def zeros_gz(path, header, total):
    """A gzip file of `header` then `total` zero bytes, written as many
    identical gzip members (each 10 MB of zeros in about 10 kB), so a
    multi-GB expansion costs milliseconds to make."""
    chunk = 10_000_000
    member = gzip.compress(bytes(chunk), 9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(total // chunk):
            handle.write(member)
        handle.write(gzip.compress(bytes(total % chunk)))


def peak_allocation(call):
    """`(result or exception, peak bytes numpy and Python allocated)`."""
    tracemalloc.start()
    try:
        try:
            outcome = call()
        except DataError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- the case: a 7.8 MB .gz that expands to 7.5 GB --------------------


def test_gz_that_expands_past_its_header_is_refused_after_the_header(tmp_path):
    """The header declares MNIST's 47 MB; the stream holds 7.5 GB. It is
    read up to one byte past the declared size, then refused."""
    folder = tmp_path / "idx"
    folder.mkdir()
    path = folder / "train-images-idx3-ubyte.gz"
    zeros_gz(path, idx_header(MNIST_SHAPE), 7_500_000_000)
    assert 7_000_000 < os.path.getsize(path) < 8_500_000
    start = time.perf_counter()
    outcome, peak = peak_allocation(lambda: arrayfiles.read_idx(str(path)))
    assert isinstance(outcome, DataError)
    assert "holds more than the 47040000 bytes its header declares" in str(outcome)
    assert peak < 60 * 10**6  # the declared 47 MB, not 7.5 GB
    assert time.perf_counter() - start < 10
    with pytest.raises(DataError, match="decompression bomb"):
        data.load(folder)


def test_gz_that_declares_7_5_gb_is_refused_against_memory(tmp_path, monkeypatch):
    """The same file with a header that declares all 7.5 GB: refused on
    the issue's 24 GB machine before a byte of payload is read (read and
    scaled to float32 it would need 37.5 GB)."""
    monkeypatch.setattr(resources, "memory_limit", lambda: 24 * GB)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    shape = (9_566_327, 28, 28)  # 7.5 GB
    zeros_gz(path, idx_header(shape), math.prod(shape))
    outcome, peak = peak_allocation(lambda: arrayfiles.read_idx(str(path)))
    assert isinstance(outcome, DataError)
    message = str(outcome)
    assert "the 9566327x28x28 uint8 array its header declares (7.5 GB)" in message
    assert "would need 37.5 GB of memory; this machine has 24 GB" in message
    assert "\n" not in message and peak < 10**6


def test_gz_that_declares_more_than_deflate_can_hold_is_refused_unread(tmp_path):
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(idx_header((10_000, 10_000, 100)) + bytes(99)))
    outcome, peak = peak_allocation(lambda: arrayfiles.read_idx(str(path)))
    assert isinstance(outcome, DataError) and "more than a .gz file" in str(outcome)
    assert peak < 10**6


def test_idx_that_declares_more_than_it_holds_is_refused_unread(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(idx_header((2**31, 2**31)) + bytes(10))
    outcome, peak = peak_allocation(lambda: arrayfiles.read_idx(str(path)))
    assert isinstance(outcome, DataError) and "truncated or corrupt" in str(outcome)
    assert peak < 10**6


def test_truncated_gz_and_trailing_bytes_are_refused(tmp_path):
    x = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    full = idx_header(x.shape) + x.tobytes()
    (tmp_path / "short.gz").write_bytes(gzip.compress(full[:-1]))
    (tmp_path / "long.gz").write_bytes(gzip.compress(full + b"\x01"))
    (tmp_path / "long").write_bytes(full + b"\x01")
    (tmp_path / "ok.gz").write_bytes(gzip.compress(full))
    with pytest.raises(DataError, match="payload has 59 bytes, header says 60"):
        arrayfiles.read_idx(str(tmp_path / "short.gz"))
    with pytest.raises(DataError, match="holds more than the 60 bytes"):
        arrayfiles.read_idx(str(tmp_path / "long.gz"))
    with pytest.raises(DataError, match="payload has 61 bytes, header says 60"):
        arrayfiles.read_idx(str(tmp_path / "long"))
    np.testing.assert_array_equal(arrayfiles.read_idx(str(tmp_path / "ok.gz")), x)


# -- .npy and .npz ------------------------------------------------------------


def npy_bytes(shape, dtype="<f4", fortran=False):
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": fortran, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


@pytest.mark.parametrize("shape", [(10**12,), (10**6, 10**6), ()])
def test_npy_that_declares_more_than_it_holds_is_refused_unread(tmp_path, shape):
    """1-D and Fortran-order arrays are loaded whole by numpy: the header is
    checked against the file first."""
    path = tmp_path / "x.npy"
    path.write_bytes(npy_bytes(shape, fortran=len(shape) == 2) + bytes(3))
    outcome, peak = peak_allocation(lambda: arrayfiles.read_npy(str(path)))
    assert isinstance(outcome, DataError) and "truncated" in str(outcome)
    assert peak < 10**6


def test_npy_larger_than_memory_is_refused_before_loading(tmp_path, monkeypatch):
    """A 1-D float64 array of 800 MB (a sparse file: no disk used) on a
    machine of 1 GB: with its float32 copy it would need 1.2 GB."""
    monkeypatch.setattr(resources, "memory_limit", lambda: GB)
    path = tmp_path / "x.npy"
    header = npy_bytes((100_000_000,), "<f8")
    path.write_bytes(header)
    os.truncate(path, len(header) + 800_000_000)
    outcome, peak = peak_allocation(lambda: arrayfiles.read_npy(str(path)))
    assert isinstance(outcome, DataError)
    assert "would need 1.2 GB of memory; this machine has 1 GB" in str(outcome)
    assert peak < 10**6


def test_a_large_npy_of_rows_is_read_from_disk_not_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "memory_limit", lambda: 10**6)
    path = tmp_path / "x.npy"
    np.save(path, np.ones((1000, 100), np.float32))  # 400 kB, 2 MB scaled
    x = arrayfiles.read_npy(str(path))["x_train"][0]
    assert isinstance(x, DiskArray) and x.shape == (1000, 100)


def patch_sizes(raw, file_size):
    """A zip's bytes with every member's declared uncompressed size set to
    `file_size` (local headers and the central directory)."""
    raw = bytearray(raw)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = raw.find(signature)
        while start >= 0:
            struct.pack_into("<I", raw, start + offset, file_size)
            start = raw.find(signature, start + 4)
    return bytes(raw)


def test_npz_member_that_declares_more_than_it_stores_is_refused(tmp_path):
    """A member whose npy header and zip entry both declare 4 GB, stored
    in a 1.7 kB deflated member: more than deflate can expand to."""
    header = npy_bytes((999_999_980,), "<f4")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", header + bytes(1_000_000))
    path = tmp_path / "x.npz"
    declared = len(header) + 3_999_999_920
    path.write_bytes(patch_sizes(buffer.getvalue(), declared))
    outcome, peak = peak_allocation(lambda: arrayfiles.read_npz(str(path)))
    assert isinstance(outcome, DataError)
    assert f"the archive declares {declared} bytes and stores" in str(outcome)
    assert peak < 10**6


def test_npz_member_whose_header_disagrees_with_the_archive_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", npy_bytes((10**9, 100)) + bytes(400))
    (tmp_path / "x.npz").write_bytes(buffer.getvalue())
    outcome, peak = peak_allocation(
        lambda: arrayfiles.read_npz(str(tmp_path / "x.npz"))
    )
    assert isinstance(outcome, DataError)
    assert "its header declares (1000000000, 100) float32 values" in str(outcome)
    assert peak < 10**6


def test_npz_members_larger_than_memory_together_are_refused(tmp_path, monkeypatch):
    """Two members of 10 MB of zeros (compressed to 20 kB): each fits in
    60 MB with its float32 copy, both together do not."""
    monkeypatch.setattr(resources, "memory_limit", lambda: 60 * 10**6)
    x = np.zeros((1000, 10_000), np.uint8)
    np.savez_compressed(tmp_path / "x.npz", x_train=x, x_test=x)
    assert os.path.getsize(tmp_path / "x.npz") < 100_000
    outcome, peak = peak_allocation(
        lambda: arrayfiles.read_npz(str(tmp_path / "x.npz"))
    )
    assert isinstance(outcome, DataError)
    assert "x.npz[x_test]: the 1000x10000 uint8 array" in str(outcome)
    assert "would need 100 MB of memory; this machine has 60 MB" in str(outcome)
    assert peak < 10**6
    np.savez_compressed(tmp_path / "y.npz", x=x)
    got = arrayfiles.read_npz(str(tmp_path / "y.npz"))["x_train"][0]
    np.testing.assert_array_equal(got, x)


# -- property tests -----------------------------------------------------------

PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Bytes: a few MB whatever the header declares (billions, some of them): at
# most what a .gz of the test's ~5 KB can expand to (1032-fold, 5.2 MB), plus
# the decompressor's buffers.
ALLOCATION_BOUND = 8 * 10**6
dims = st.one_of(st.integers(0, 6), st.integers(2**20, 2**32 - 1))


def _read_bounded(read):
    """Runs `read()`: returns its result or None for a DataError (any other
    exception fails the test), and checks the peak allocation."""
    outcome, peak = peak_allocation(read)
    assert peak < ALLOCATION_BOUND, peak
    if isinstance(outcome, DataError):
        assert str(outcome) and "\n" not in str(outcome)
        return None
    return outcome


@PROPERTY
@given(
    shape=st.lists(dims, min_size=1, max_size=3),
    gz=st.booleans(),
    cut=st.integers(-3, 3),
    garbage=st.binary(max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_idx_reads_back_exactly_or_refuses(shape, gz, cut, garbage, seed):
    """150 examples: random dimensions (some of billions), a payload cut
    short, exact or too long, and random bytes after it or in place of it."""
    size = math.prod(shape)
    payload_size = max(0, min(size, 5000) + cut)
    payload = np.random.default_rng(seed).bytes(payload_size)
    raw = idx_header(shape) + payload + (garbage if cut > 0 else b"")
    if cut < -2:
        raw = garbage
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f")
        with open(path, "wb") as handle:
            handle.write(gzip.compress(raw) if gz else raw)
        x = _read_bounded(lambda: arrayfiles.read_idx(path))
    if cut < -2:
        return  # random bytes: refused, or read if they happen to be IDX
    exact = payload_size == size
    if x is not None:
        assert exact and x.shape == tuple(shape) and x.tobytes() == payload
    else:
        assert not exact


dtypes = st.sampled_from(["<f4", "<f8", "|u1", "<i2", ">f4"])


@PROPERTY
@given(
    shape=st.lists(dims, min_size=0, max_size=3),
    dtype=dtypes,
    fortran=st.booleans(),
    cut=st.integers(-3, 3),
    seed=st.integers(0, 2**32 - 1),
)
@example(
    shape=[1_518_494_220, 1_518_506_280, 0], dtype="<f4", fortran=False, cut=0, seed=0
)
def test_npy_reads_back_exactly_or_refuses(shape, dtype, fortran, cut, seed):
    """150 examples: random headers (some declaring billions of values,
    Fortran order, every dtype vaekit reads) over payloads cut short, exact
    or with bytes to spare."""
    declared = math.prod(shape) * np.dtype(dtype).itemsize
    rng = np.random.default_rng(seed)
    payload = rng.bytes(max(0, min(declared, 4000) + cut))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npy")
        with open(path, "wb") as handle:
            handle.write(npy_bytes(shape, dtype, fortran) + payload)
        parts = _read_bounded(lambda: arrayfiles.read_npy(path))
        complete = len(payload) >= declared
        # An empty array whose one example would be larger than any memory
        # (shape [0, 10^9, 10^9]) may be refused too: numpy cannot describe
        # it, nor one whose other sizes multiply past its index type
        # ([10^9, 10^9, 0]: numpy checks the product of the non-zero sizes).
        example = math.prod(shape[1:]) * np.dtype(dtype).itemsize
        nonzero = math.prod(d for d in shape if d) * np.dtype(dtype).itemsize
        if parts is None:
            assert not complete or example > 2**40 or nonzero > 2**62
            return
        assert complete
        x = parts["x_train"][0]
        stored = np.frombuffer(payload[:declared], dtype).reshape(
            shape, order="F" if fortran else "C"
        )
        if isinstance(x, DiskArray):
            with np.errstate(over="ignore"):  # float64 beyond float32: inf
                expected = stored.astype(np.float32)
                got = x[:]
            if stored.dtype.kind in "iu":
                expected = (expected / 255).astype(np.float32)
            np.testing.assert_array_equal(got, expected)
        else:
            np.testing.assert_array_equal(x, stored)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.lists(dims, min_size=1, max_size=2),
    compress=st.booleans(),
    declared=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    cut=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_npz_reads_back_exactly_or_refuses(shape, compress, declared, cut, seed):
    """100 examples: a member with a random header, its zip entry's
    uncompressed size left true or set at random, the archive cut short."""
    member = npy_bytes(shape, "|u1")
    payload = np.random.default_rng(seed).bytes(min(math.prod(shape), 3000))
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("x.npy", member + payload)
    raw = buffer.getvalue()
    if declared is not None:
        raw = patch_sizes(raw, declared)
    raw = raw[: len(raw) - cut]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npz")
        with open(path, "wb") as handle:
            handle.write(raw)
        parts = _read_bounded(lambda: arrayfiles.read_npz(path))
    intact = cut == 0 and declared in (None, len(member) + len(payload))
    if parts is not None:
        assert intact and len(payload) == math.prod(shape)
        x = parts["x_train"][0]
        assert x.tobytes() == payload and x.shape == tuple(shape)
    else:
        assert not intact or len(payload) < math.prod(shape)
