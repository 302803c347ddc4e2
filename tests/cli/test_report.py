"""`vaekit report`: `vaekit.viz.write_report` of a run folder (RUN/report.html
by default), with --redraw first drawing RUN/plots/ again."""

import os
import shutil

from tests.cli.conftest import refused
from tests.viz.test_report import assert_embeds_every_picture

PICTURES = 7


def test_report_command_rebuilds_the_page(cli, tiny_run, copy_run, tmp_path):
    run = copy_run(tiny_run)
    os.remove(os.path.join(run, "report.html"))
    result = cli(["report", run])
    assert result.returncode == 0
    page = os.path.join(run, "report.html")
    assert result.stdout == f"wrote {page}: the run's report\n"
    assert_embeds_every_picture(run)
    other = tmp_path / "elsewhere" / "page.html"
    assert cli(["report", run, "--output", other]).returncode == 0
    assert other.read_text().count("data:image/png;base64,") == PICTURES
    # --redraw draws the pictures again from model.keras and config.toml.
    shutil.rmtree(os.path.join(run, "plots"))
    assert cli(["report", run, "--redraw"]).returncode == 0
    assert len(os.listdir(os.path.join(run, "plots"))) == PICTURES + 1  # index
    assert_embeds_every_picture(run)


def test_report_refuses_bad_folders_and_suffixes(cli, tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss,kl\n1,10.5,2.0\n")
    line = refused(cli(["report", run, "--output", tmp_path / "x.pdf"]))
    assert "unknown suffix: use FILE.html or FILE.htm" in line
    assert not (tmp_path / "x.pdf").exists()
    assert cli(["report", run, "--output", tmp_path / "x.htm"]).returncode == 0
    line = refused(cli(["report", tmp_path / "nothing"]))
    assert "does not exist" in line
    (tmp_path / "empty").mkdir()
    line = refused(cli(["report", tmp_path / "empty"]))
    assert "not a vaekit run folder" in line
    assert os.listdir(tmp_path / "empty") == []
