"""The `vaekit` command line: the top-level parser and dispatch.

Each command lives in `vaekit.cli.<name>`: its parser, then one library
call. Errors a user can cause (`VaekitError`, and the OS errors of a path
they gave: permissions, a missing folder, a full disk) print one line and
exit with status 2; any other exception is a bug and keeps its traceback
(status 1).
"""

import errno
import os
import sys

from vaekit import VaekitError, __version__
from vaekit.cli import (
    encode,
    evaluate,
    export,
    interpolate,
    plot,
    reconstruct,
    report,
    sample,
    score,
    train,
)
from vaekit.cli.common import ArgumentParser, HelpFormatter, messages, use_backend
from vaekit.errors import InvalidArgument

__all__ = ["build_parser", "main"]

_COMMANDS = (
    train,
    evaluate,
    score,
    encode,
    sample,
    reconstruct,
    plot,
    interpolate,
    report,
    export,
)
# The OS errors a user causes with the paths and the disk they give.
_USER_OS_ERRORS = {
    errno.EACCES,
    errno.EPERM,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.ENOSPC,
    errno.EROFS,
    errno.EDQUOT,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EFBIG,
}


# The seeds of evaluate, score and sample key 32-bit random streams (train's
# seed is a setting, checked with the others).
_MAX_SEED = 2**32 - 1
# The inputs a command's --output may not replace, nor (a folder) hold.
_INPUTS = (
    ("model", "the model file"),
    ("data", "the data (--data)"),
    ("config", "the config file (--config)"),
    ("run", "the run folder"),
)


def build_parser():
    """The parser of `vaekit` and all its commands."""
    parser = ArgumentParser(
        prog="vaekit",
        formatter_class=HelpFormatter,
        description="Variational Autoencoders for Keras 3: train, evaluate, sample "
        "and draw them on your own data.",
    )
    parser.add_argument("--version", action="version", version=f"vaekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in _COMMANDS:
        command.add_parser(sub)
    return parser


def _error(message):
    message = " ".join(str(message).split())  # one line, whatever it holds
    print(f"vaekit: error: {message}", file=sys.stderr)
    return 2


def _os_error(exc):
    """The one line of a user's OS error (the path it names, what failed)."""
    where = f" {exc.filename!r}" if exc.filename else ""
    return f"cannot use{where}: {exc.strerror or exc}"


def _check_seed(args):
    seed = getattr(args, "seed", None)
    if args.command != "train" and seed is not None and not 0 <= seed <= _MAX_SEED:
        raise InvalidArgument(f"--seed {seed}: expected an integer in [0, {_MAX_SEED}]")


def _check_output(args):
    """Refuses an --output that is one of the command's inputs (links and
    relative paths resolved) or lies in an input folder (the data's), before
    anything is read or written."""
    output = getattr(args, "output", None)
    if not output:
        return
    target = os.path.realpath(output)
    for name, what in _INPUTS:
        given = getattr(args, name, None)
        if not isinstance(given, str) or not os.path.exists(given):
            continue
        source = os.path.realpath(given)
        inside = name != "run" and target.startswith(source.rstrip(os.sep) + os.sep)
        if target == source or (inside and os.path.isdir(source)):
            where = "is" if target == source else "is inside"
            raise InvalidArgument(
                f"--output {output!r} {where} {what} {given!r}: vaekit does not "
                "write over or into a command's input; choose another output"
            )


def _prepare(args):
    """The checks of every command, before it runs, and the Keras backend."""
    _check_seed(args)
    _check_output(args)
    if getattr(args, "backend", None) is not None:
        use_backend(args.backend)
    elif "keras" not in sys.modules and args.command != "train":
        # KERAS_BACKEND names it (train: its config, see vaekit.cli.train).
        from vaekit.config import require_backend

        require_backend(os.environ.get("KERAS_BACKEND", "jax"))


def main(argv=None):
    """Runs the command line `argv` (default `sys.argv[1:]`) and returns the
    exit status: 0 on success, 2 on a usage or input error (one line on
    stderr), 130 on Ctrl-C; a bug raises (the interpreter prints its
    traceback and exits with status 1)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return 0 if exc.code is None else exc.code
    try:
        with messages():
            _prepare(args)
            return args.func(args)
    except VaekitError as exc:
        return _error(exc)
    except OSError as exc:
        if exc.errno not in _USER_OS_ERRORS:
            raise
        return _error(_os_error(exc))
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
