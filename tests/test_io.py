"""vaekit.io: atomic output (a file appears whole or not at all, and a
failed write leaves the old one) and the CSV writer."""

import csv
import json
import os
import stat
import zipfile

import numpy as np
import pytest

from vaekit import io


def test_write_csv_round_trips_float32(tmp_path):
    rng = np.random.default_rng(0)
    table = (rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-8, 8, (50, 3))).astype(
        np.float32
    )
    path = tmp_path / "t.csv"
    io.write_csv(path, ["a", "b", "c"], table)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["a", "b", "c"] and len(rows) == 51
    # 7 significant digits hold every float32 to within one part in 10^7
    back = np.array(rows[1:], dtype=np.float64)
    np.testing.assert_allclose(back, table, rtol=5e-7, atol=0)
    assert all(len(v) <= len("-1.234567e-08") for row in rows[1:] for v in row)
    assert path.read_bytes().endswith(b"\n") and b"\r" not in path.read_bytes()


def test_write_csv_quotes_awkward_names_and_accepts_lists(tmp_path):
    path = tmp_path / "t.csv"
    io.write_csv(
        path, ["x,1", 'say "hi"', "c"], [[1, 0.5, "red"], (2.0, float("nan"), "a,b")]
    )
    with open(path, newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["x,1", 'say "hi"', "c"],
            ["1", "0.5", "red"],
            ["2", "nan", "a,b"],
        ]


def test_a_failed_write_leaves_no_file(tmp_path):
    # A value that is neither text nor a number fails mid-write.
    path = tmp_path / "t.csv"
    with pytest.raises(TypeError, match="format"):
        io.write_csv(path, ["a"], [[1.0], [object()]])
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "t.txt"
    io.write_text(path, "old\n")
    with pytest.raises(KeyboardInterrupt), io.atomic_path(path) as tmp:
        with open(tmp, "w") as handle:
            handle.write("half")
        raise KeyboardInterrupt  # Ctrl-C in the middle of a write
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["t.txt"]


def test_atomic_path_writes_beside_the_target_then_renames(tmp_path):
    target = tmp_path / "sub" / "model.keras"  # the folder is made
    with io.atomic_path(target) as tmp:
        # a hidden temporary in the same folder (so the rename is atomic),
        # keeping the suffix (Keras and matplotlib choose formats by it)
        assert os.path.dirname(tmp) == str(tmp_path / "sub")
        name = os.path.basename(tmp)
        assert name.startswith(".model.") and name.endswith(".tmp.keras")
        assert not target.exists()
        with open(tmp, "wb") as handle:
            handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path / "sub") == ["model.keras"]


def test_files_get_the_usual_mode(tmp_path):
    umask = os.umask(0o027)
    try:
        io.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(umask)
    # mkstemp makes 0600 files; the result is 0666 less the umask, as open()
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o640


def test_write_text_bytes_and_json(tmp_path):
    io.write_text(tmp_path / "a.txt", "héllo\n")
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    io.write_text(tmp_path / "a.txt", "replaced")
    assert (tmp_path / "a.txt").read_text() == "replaced"
    io.write_bytes(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    io.write_json(tmp_path / "c.json", {"b": [1, 2.5], "a": None})
    text = (tmp_path / "c.json").read_text()
    assert json.loads(text) == {"a": None, "b": [1, 2.5]}
    assert text.index('"a"') < text.index('"b"') and text.endswith("}\n")


def test_save_npy_and_npz_round_trip_without_pickle(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    io.save_npy(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy", allow_pickle=False), x)
    io.save_npz(tmp_path / "a.npz", x=x, n=3, names=np.array(["a", "b"]))
    with np.load(tmp_path / "a.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["n", "names", "x"]
        np.testing.assert_array_equal(archive["x"], x)
        assert int(archive["n"]) == 3 and list(archive["names"]) == ["a", "b"]
    with pytest.raises(ValueError, match="without pickle. Received: bad"):
        io.save_npz(tmp_path / "b.npz", good=x, bad=np.array([{}, 1], dtype=object))
    assert not (tmp_path / "b.npz").exists()
    assert zipfile.is_zipfile(tmp_path / "a.npz")


def test_save_figure_and_model_go_through_a_temporary_with_the_suffix(tmp_path):
    seen = []

    class Saver:
        """Stands for a figure and a model: records the path it is given."""

        def savefig(self, path, format, **kwargs):
            seen.append((os.path.basename(path), format, kwargs))
            with open(path, "w") as handle:
                handle.write("figure")

        def save(self, path):
            seen.append((os.path.basename(path), None, {}))
            with open(path, "w") as handle:
                handle.write("model")

    io.save_figure(Saver(), str(tmp_path / "plot.svg"), dpi=50)
    io.save_model(Saver(), str(tmp_path / "m.keras"))
    assert (tmp_path / "plot.svg").read_text() == "figure"
    assert (tmp_path / "m.keras").read_text() == "model"
    (figure, fmt, kwargs), (model, _, _) = seen
    assert figure.startswith(".plot.") and figure.endswith(".tmp.svg")
    assert (fmt, kwargs) == ("svg", {"dpi": 50})
    assert model.startswith(".m.") and model.endswith(".tmp.keras")
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "plot.svg"]


def test_quiet_loggers_hold_back_lower_records_and_restore_the_levels(caplog):
    import logging

    chatty = logging.getLogger("vaekit.test.chatty")
    chatty.setLevel(logging.INFO)
    with caplog.at_level(logging.INFO, logger="vaekit.test.chatty"):
        with io.quiet_loggers(["vaekit.test.chatty"], logging.WARNING):
            chatty.info("held back")
            chatty.warning("shown")
        chatty.info("shown after")
    assert [r.getMessage() for r in caplog.records] == ["shown", "shown after"]
    assert chatty.level == logging.INFO
