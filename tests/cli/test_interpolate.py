"""`vaekit interpolate`: the picture of `vaekit.viz.interpolate` for the same
inputs."""

import os

import numpy as np

from tests.cli.conftest import refused
from tests.viz.conftest import downscale, not_blank, read_png


def test_interpolate_is_the_library_picture(
    cli, tiny_model, tiny_model_path, digits_x, tmp_path
):
    from vaekit.viz import interpolate, interpolation

    out = tmp_path / "i.png"
    argv = ["interpolate", tiny_model_path, "--data", "digits", "--from", "3", "--to"]
    result = cli([*argv, "8", "--steps", "6", "--slerp", "--output", out])
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: slerp path from example 3 to 8 in 6 steps\n"
    png, _ = read_png(out)
    expected = interpolation(tiny_model, digits_x[3], digits_x[8], 6, "slerp")
    np.testing.assert_array_equal(downscale(png, expected), expected)
    np.testing.assert_array_equal(
        interpolate(tiny_model_path, "digits", 3, 8, 6, "slerp"), expected
    )
    not_blank(png)
    # The straight line by default, 10 steps.
    result = cli([*argv, "8", "--output", out])
    assert "linear path from example 3 to 8 in 10 steps" in result.stdout
    expected = interpolation(tiny_model, digits_x[3], digits_x[8])
    np.testing.assert_array_equal(downscale(read_png(out)[0], expected), expected)


def test_interpolate_names_an_index_out_of_range(cli, tiny_model_path, tmp_path):
    argv = ["interpolate", tiny_model_path, "--data", "digits", "--output", "i.png"]
    line = refused(cli([*argv, "--from", "0", "--to", "1797"]), tmp_path)
    assert "1797 is out of range: the data has 1797 examples, 0..1796" in line
    line = refused(cli([*argv, "--from", "-1", "--to", "2"]), tmp_path)
    assert "-1 is out of range" in line


def test_interpolate_a_table_with_missing_rows_dropped(cli, table, table_run, tmp_path):
    """--missing drop applies here too (it was ignored): the indices count
    the rows that remain."""
    out = tmp_path / "i.png"
    argv = ["interpolate", f"{table_run}/model.keras", "--data", table["na"]]
    argv += ["--label-column", "kind", "--missing", "drop", "--steps", "3"]
    argv += ["--output", out, "--from", "0", "--to"]
    result = cli([*argv, "56"])
    assert result.returncode == 0, result.stderr
    assert "dropped 3 of" in result.stderr
    assert read_png(out)[0].shape[1] > 500
    out.unlink()
    result = cli([*argv, "57"])
    assert result.returncode == 2 and os.listdir(tmp_path) == []
    warning, line = result.stderr.splitlines()
    assert warning.startswith("vaekit: warning: ") and "dropped 3 of" in warning
    assert line.startswith("vaekit: error: ")
    assert line.endswith("57 is out of range: the data has 57 examples, 0..56")
