"""`vaekit plot latent | manifold`: the pictures of `vaekit.viz.latent_scatter`
and `vaekit.viz.manifold` for the same inputs."""

import numpy as np
import pytest

from tests.cli.conftest import refused
from tests.viz.conftest import downscale, not_blank, read_png
from vaekit import VaekitWarning
from vaekit.viz import latent_scatter, manifold, save_picture


def test_plot_latent_is_the_latent_scatter(cli, model5_path, tmp_path):
    out = tmp_path / "latent.png"
    argv = ["plot", "latent", model5_path, "--data", "digits", "--output", out]
    result = cli(argv)
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: z_mean of the examples of digits\n"
    png, _ = read_png(out)
    assert png.shape[0] > 400 and png.shape[1] > 500
    not_blank(png)
    reference = save_picture(
        str(tmp_path / "reference.png"), latent_scatter(model5_path, "digits")
    )
    np.testing.assert_array_equal(png, read_png(reference)[0])


def test_plot_latent_reads_a_table_with_missing_rows_dropped(
    cli, table, table_run, tmp_path
):
    """--missing drop applies to the scatter (it was ignored there)."""
    out = tmp_path / "latent.png"
    argv = ["plot", "latent", f"{table_run}/model.keras", "--data", table["na"]]
    argv += ["--label-column", "kind", "--output", out]
    line = refused(cli(argv))
    assert "line 7" in line and "--missing drop" in line
    result = cli([*argv, "--missing", "drop"])
    assert result.returncode == 0
    assert (
        result.stderr.startswith("vaekit: warning: ") and "dropped 3" in result.stderr
    )
    with pytest.warns(VaekitWarning, match="dropped 3"):
        figure = latent_scatter(
            f"{table_run}/model.keras", table["na"], label_column="kind", missing="drop"
        )
    assert len(figure.axes[0].collections[0].get_offsets()) == 57
    reference = save_picture(str(tmp_path / "reference.png"), figure)
    np.testing.assert_array_equal(read_png(out)[0], read_png(reference)[0])


def test_plot_manifold_is_the_manifold(cli, model5_path, digits_x, tmp_path):
    from vaekit.model import load_model
    from vaekit.viz.latent import manifold_layout

    out = tmp_path / "manifold.png"
    argv = ["plot", "manifold", model5_path, "--grid", "6", "--output", out]
    result = cli(argv)
    assert result.returncode == 0
    model = load_model(model5_path)
    expected = manifold(model, grid=6)  # 5 rows: every unit
    assert expected.shape == (5 * 9 + 1, 6 * 9 + 1)
    np.testing.assert_array_equal(downscale(read_png(out)[0], expected), expected)
    units = manifold_layout(model, grid=6)["units"]
    assert result.stdout == (
        f"wrote {out}: traversals of "
        + ", ".join(f"z[{u}]" for u in units)
        + " (top to bottom)\n"
    )
    # Data ranks the units by the variance of z_mean; --rows keeps the first.
    result = cli([*argv, "--data", "digits", "--rows", "3"])
    assert result.returncode == 0
    expected = manifold(model, grid=6, data="digits", rows=3)
    assert expected.shape == (3 * 9 + 1, 6 * 9 + 1)
    np.testing.assert_array_equal(downscale(read_png(out)[0], expected), expected)
    layout = manifold_layout(model, 6, digits_x, 3)
    units = ", ".join(f"z[{u}]" for u in layout["units"])
    assert result.stdout == f"wrote {out}: traversals of {units} (top to bottom)\n"


def test_plot_manifold_of_a_2d_model_is_the_grid(
    cli, tiny_model, tiny_model_path, tmp_path
):
    out = tmp_path / "m.png"
    result = cli(["plot", "manifold", tiny_model_path, "--grid", "5", "--output", out])
    assert result.returncode == 0
    assert result.stdout == f"wrote {out}: 5x5 grid over the 2-D latent space\n"
    expected = manifold(tiny_model, grid=5)
    np.testing.assert_array_equal(downscale(read_png(out)[0], expected), expected)
