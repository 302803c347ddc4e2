"""vaekit.cli.main: the parser of every command, dispatch, and the error
policy: a user's error (a `VaekitError`, or an OS error of a path they gave)
is one line `vaekit: error: ...` and exit status 2; any other exception is
a bug and keeps its traceback (the interpreter's exit status 1); Ctrl-C is
exit status 130."""

import errno
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

from tests.cli.conftest import refused, run_process, vaekit_command
from vaekit import VaekitError, __version__
from vaekit.cli.main import build_parser, main

COMMANDS = [
    "train",
    "evaluate",
    "score",
    "encode",
    "sample",
    "reconstruct",
    "plot",
    "interpolate",
    "report",
    "export",
]


def _commands(parser):
    (action,) = parser._subparsers._group_actions
    return action.choices


# -- the parser -------------------------------------------------------------


def test_the_parser_has_every_command_and_each_its_function():
    parser = build_parser()
    commands = _commands(parser)
    assert list(commands) == COMMANDS
    assert list(_commands(commands["plot"])) == ["latent", "manifold"]
    args = parser.parse_args(["sample", "m.keras", "--output", "x.png"])
    from vaekit.cli import sample

    assert args.func is sample.cmd_sample
    args = parser.parse_args(["plot", "manifold", "m.keras", "--output", "x.png"])
    from vaekit.cli import plot

    assert args.func is plot.cmd_plot_manifold


def test_version_and_help_exit_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"vaekit {__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert main(["plot", "--help"]) == 0
    assert "latent" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required: COMMAND"),
        (["fit"], "invalid choice: 'fit'"),
        (["train", "--backend", "theano"], "argument --backend: invalid choice"),
        (["plot"], "the following arguments are required: PLOT"),
        (["encode", "m.keras", "--data", "digits"], "--output"),
        (["sample", "m.keras", "-n", "two", "--output", "x.png"], "invalid int"),
    ],
)
def test_parser_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and captured.out == ""
    assert err[0].startswith("vaekit: error: ") and message in err[0]
    assert err[0].endswith("--help')")


def test_help_in_a_subprocess():
    """The installed script answers --help (and builds every flag)."""
    command = vaekit_command()
    result = run_process([*command, "--help"])
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
    result = run_process([*command, "train", "--help"])
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "number of epochs (default: 400)" in text
    assert "number of latent units (default: 32)" in text
    assert "--hidden-dims" in text and "(default: (512,))" in text
    # flags with a fixed set of values show them
    assert "--likelihood {bernoulli,gaussian}" in text
    assert "--binarize {none,static,dynamic}" in text
    assert "--optimizer {adam,rmsprop,adamw,sgd}" in text
    assert "--backend {jax,tensorflow,torch}" in text
    assert (
        "--decoder-std {learned,learned-per-feature,STD}" in text
        and "(default: 'learned')" in text
    )
    result = run_process([*command, "evaluate", "--help"])
    text = " ".join(result.stdout.split())
    assert "--binarize {auto,none,static,dynamic}" in text
    assert "--split {train,test,all}" in text


def test_help_imports_neither_keras_nor_numpy():
    """`vaekit --help` answers at once: building every parser imports no heavy
    module (keras alone takes seconds)."""
    code = (
        "import sys\n"
        "from vaekit.cli.main import build_parser\n"
        "for argv in (['--help'], ['train', '--help'], ['plot', 'manifold', '-h']):\n"
        "    try:\n"
        "        build_parser().parse_args(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('keras', 'numpy', 'jax', 'matplotlib', 'tensorflow', 'torch')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = run_process([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- the error policy -------------------------------------------------------


def test_a_bug_deep_in_keras_keeps_its_traceback(tmp_path):
    """A ValueError raised inside Keras is not a user's error: the CLI lets
    it propagate, so the interpreter prints its traceback and exits 1
    (before the redesign it was reported as one line, exit status 2)."""
    code = textwrap.dedent(
        """
        import sys
        import keras

        def broken(*args, **kwargs):
            raise ValueError("injected failure deep inside keras")

        keras.Model.fit = broken
        from vaekit.cli.main import main

        sys.exit(main(sys.argv[1:]))
        """
    )
    argv = ["train", "--data", "digits", "--epochs", "1", "--hidden-dims", "4"]
    argv += ["--latent-dim", "2", "--quiet", "--output", "RUN"]
    result = run_process([sys.executable, "-c", code, *argv], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "ValueError: injected failure deep inside keras"
    assert "vaekit: error" not in result.stderr


@pytest.mark.parametrize(
    "target, argv",
    [
        (
            "keras.Model.predict",
            ["encode", "{model}", "--data", "digits", "--output", "z.npy"],
        ),
        (
            "keras.ops.exp",
            ["evaluate", "{model}", "--data", "digits", "--iw-samples", "2"],
        ),
    ],
)
def test_a_value_error_from_keras_propagates(
    target, argv, tiny_model_path, tmp_path, monkeypatch, capfd
):
    import keras  # noqa: F401

    def broken(*args, **kwargs):
        raise ValueError("injected")

    monkeypatch.setattr(target, broken)
    monkeypatch.chdir(tmp_path)
    argv = [a.format(model=tiny_model_path) for a in argv]
    with pytest.raises(ValueError, match="injected"):
        main(argv)
    assert "vaekit: error" not in capfd.readouterr().err
    assert os.listdir(tmp_path) == []


def test_a_vaekit_error_is_one_line_and_exit_2(cli, tmp_path, monkeypatch):
    """Whatever raises it, deep inside Keras too: a VaekitError (and an
    InvalidArgument, a ValueError as well) is the user's."""
    import keras

    from vaekit.errors import DataError, InvalidArgument

    argv = ["train", "--data", "digits", "--epochs", "1", "--hidden-dims", "4"]
    argv += ["--latent-dim", "2", "--quiet", "--output"]
    for error in (DataError, InvalidArgument):

        def broken(*args, error=error, **kwargs):
            raise error("a bad\nthing   happened")

        monkeypatch.setattr(keras.Model, "fit", broken)
        result = cli([*argv, str(tmp_path / error.__name__)])
        assert result.returncode == 2 and "Traceback" not in result.stderr
        *before, line = result.stderr.strip().splitlines()
        assert line == "vaekit: error: a bad thing happened"
        # Only the progress of the run before it (`vaekit: run folder: ...`,
        # the summary of the data read), no warning, no other error.
        assert "vaekit: run folder: " + str(tmp_path / error.__name__) in before
        assert all(
            text.startswith("vaekit: ") and not text.startswith("vaekit: error")
            for text in before
        )


def test_errors_in_process_do_not_raise(cli, tmp_path):
    """`main` returns 2 for a VaekitError rather than raising it."""
    from vaekit import data

    with pytest.raises(VaekitError):
        data.load(str(tmp_path / "missing.npy"))
    result = cli(["train", "--data", str(tmp_path / "missing.npy")])
    assert refused(result).startswith("vaekit: error: data ")


def test_an_output_under_a_regular_file_is_one_line(cli, tiny_model_path, tmp_path):
    (tmp_path / "file").write_text("not a folder\n")
    for output in ("file/x.npy", "file/sub/x.npy"):
        result = cli(["sample", tiny_model_path, "-n", "2", "--output", output])
        line = refused(result)
        assert line.startswith(f"vaekit: error: cannot use '{tmp_path / 'file'}")
        assert line.endswith(("Not a directory", "File exists"))
    assert os.listdir(tmp_path) == ["file"]


def test_an_output_in_a_read_only_folder_is_one_line(
    user_cli, tiny_model_path, tmp_path
):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = user_cli(
            ["sample", tiny_model_path, "-n", "2", "--output", "ro/x.npy"]
        )
    finally:
        folder.chmod(0o755)
    line = refused(result)
    assert "cannot use" in line and "Permission denied" in line
    assert os.listdir(folder) == []


@pytest.mark.parametrize(
    "code, text",
    [
        (errno.EACCES, "Permission denied"),
        (errno.EROFS, "Read-only file system"),
        (errno.ENOSPC, "No space left on device"),
    ],
)
def test_user_os_errors_are_one_line(
    cli, tiny_model_path, tmp_path, monkeypatch, code, text
):
    """The folder refuses the file (as a read-only folder does whoever
    runs the tests, root too): one line naming the path, exit status 2."""

    def refuse(*args, dir=None, **kwargs):
        raise OSError(code, os.strerror(code), dir)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = cli(["sample", tiny_model_path, "-n", "2", "--output", "out/x.npy"])
    line = refused(result)
    assert line == f"vaekit: error: cannot use {str(tmp_path / 'out')!r}: {text}"


def test_other_os_errors_are_bugs(tiny_model_path, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(tempfile, "mkstemp", broken)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError, match="Input/output error"):
        main(["sample", tiny_model_path, "-n", "2", "--output", "x.npy"])


def test_ctrl_c_is_exit_130(cli, monkeypatch):
    from vaekit.cli import report

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "cmd_report", interrupted)
    result = cli(["report", "RUN"])
    assert result.returncode == 130
    assert result.stderr == "vaekit: interrupted\n"


def test_the_module_runs_as_a_script(tmp_path):
    argv = ["sample", "nothing.keras", "--output", "x.png"]
    result = run_process([sys.executable, "-m", "vaekit.cli.main", *argv], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("vaekit: error: model file 'nothing.keras'")
    assert os.listdir(tmp_path) == []


def test_python_dash_m_vaekit(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vaekit", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == f"vaekit {__version__}"
