"""`vaekit encode`: `vaekit.encode` of the same inputs, z_mean then
z_log_var, as .npy or .csv."""

import numpy as np
import pytest

from tests.cli.conftest import read_table, refused, table_with_ids
from tests.helpers import TABLE_ROWS


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_encode_is_the_library_encode(cli, tiny_model_path, digits_x, tmp_path, suffix):
    import vaekit
    from vaekit.model import load_model

    out = tmp_path / f"z{suffix}"
    result = cli(["encode", tiny_model_path, "--data", "digits", "--output", out])
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: 1797 rows of z_mean and z_log_var\n"
    if suffix == ".npy":
        table = np.load(out)
        assert table.dtype == np.float32
    else:
        header, rows = read_table(out)
        # the labels the data has follow the codes
        assert header == ["z_mean_0", "z_mean_1", "z_log_var_0", "z_log_var_1", "label"]
        assert [r[4] for r in rows[:3]] == ["0", "1", "2"]
        table = np.array([r[:4] for r in rows], dtype=float)
    assert table.shape == (1797, 4)
    codes = vaekit.encode(tiny_model_path, "digits")
    expected = np.concatenate([codes["z_mean"], codes["z_log_var"]], axis=1)
    np.testing.assert_allclose(table, expected, rtol=1e-6, atol=1e-6)
    # An independent reference: the model's own encoder on the arrays.
    z_mean, z_log_var = load_model(tiny_model_path).encode(digits_x)
    np.testing.assert_allclose(table[:, :2], z_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(table[:, 2:], z_log_var, rtol=1e-5, atol=1e-5)


def test_encode_reshapes_flat_data_to_the_model(
    cli, tiny_model, tiny_model_path, digits_x, tmp_path
):
    flat = tmp_path / "flat.npy"
    np.save(flat, digits_x.reshape(len(digits_x), -1)[:50])
    out = tmp_path / "z.npy"
    assert (
        cli(["encode", tiny_model_path, "--data", flat, "--output", out]).returncode
        == 0
    )
    z_mean, _ = tiny_model.encode(digits_x[:50])
    np.testing.assert_allclose(np.load(out)[:, :2], z_mean, rtol=1e-5, atol=1e-5)


def test_encode_a_table_with_missing_rows_dropped(cli, table, table_run, tmp_path):
    import vaekit

    model = f"{table_run}/model.keras"
    out = tmp_path / "z.csv"
    argv = ["encode", model, "--data", table["na"], "--label-column", "kind"]
    result = cli([*argv, "--missing", "drop", "--output", out])
    assert result.returncode == 0
    assert "dropped 3 of" in result.stderr
    with pytest.warns(vaekit.VaekitWarning, match="dropped 3 of"):
        codes = vaekit.encode(model, table["na"], label_column="kind", missing="drop")
    assert list(codes["rows"]) == [i for i in range(60) if i not in (5, 9, 12)]
    header, rows = read_table(out)
    assert header[-1] == "label"  # the class names as the table has them
    assert {r[-1] for r in rows} == {"x", "y"}
    np.testing.assert_allclose(
        np.array([r[:2] for r in rows], dtype=float),
        codes["z_mean"],
        rtol=1e-6,
        atol=1e-6,
    )


def test_encode_csv_carries_the_id_column_first(cli, table_run, tmp_path):
    data = table_with_ids(tmp_path)
    model = f"{table_run}/model.keras"
    out = tmp_path / "z.csv"
    argv = ["encode", model, "--data", data, "--id-column", "id"]
    assert cli([*argv, "--output", out]).returncode == 0
    header, rows = read_table(out)
    assert header[0] == "id" and header[1] == "z_mean_0"
    assert [row[0] for row in rows] == [f"r{i}" for i in range(TABLE_ROWS)]
    plain = tmp_path / "plain.csv"
    assert cli(["encode", model, "--data", data, "--output", plain]).returncode == 0
    np.testing.assert_array_equal(
        np.array([row[1:] for row in rows], float),
        np.array(read_table(plain)[1], float),
    )
    line = refused(cli([*argv, "--output", tmp_path / "z.npy"]), cwd=None)
    assert line == (
        "vaekit: error: --id-column applies to CSV data and a CSV output; "
        f"--output '{tmp_path / 'z.npy'}' is not one"
    )
    assert not (tmp_path / "z.npy").exists()
