"""Tests of `vaekit export` (the library call is tested in
tests/test_export.py)."""

import json
import os

from tests.cli.conftest import refused
from vaekit import export
from vaekit.cli import export as export_command


def test_export_writes_onnx_files_and_schema_into_the_run_folder(
    cli, tiny_run, copy_run
):
    run = copy_run(tiny_run)
    result = cli(["export", run])
    assert result.returncode == 0, result.stderr
    folder = os.path.join(run, "export-onnx")
    assert result.stdout.startswith(f"wrote {folder}:")
    assert sorted(os.listdir(folder)) == [
        "decoder.onnx",
        "encoder.onnx",
        "schema.json",
        "scorer.onnx",
    ]
    with open(os.path.join(folder, "schema.json")) as handle:
        assert json.load(handle)["format"] == "onnx"


def test_export_of_some_parts_of_a_model_file(cli, tiny_model_path, tmp_path):
    out = tmp_path / "served"
    result = cli(
        ["export", tiny_model_path, "--parts", "scorer,encoder", "--output", out]
    )
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["encoder.onnx", "schema.json", "scorer.onnx"]


def test_bad_parts_are_refused(cli, tiny_model_path, tmp_path):
    result = cli(["export", tiny_model_path, "--parts", "encoder,loss"])
    assert result.returncode == 2
    assert "encoder,decoder,scorer" in result.stderr


def test_a_missing_model_is_one_line(cli, tmp_path):
    line = refused(cli(["export", str(tmp_path / "nothing.keras")]))
    assert "nothing.keras" in line


def test_an_existing_output_is_refused_without_overwrite(
    cli, tiny_model_path, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    line = refused(cli(["export", tiny_model_path, "--output", out]))
    assert "--overwrite" in line
    assert os.listdir(out) == []


def test_the_commands_choices_are_the_librarys():
    # Declared again in the command so that --help loads no keras.
    assert export_command.FORMATS == export.FORMATS
    assert export_command.PARTS == export.PARTS
