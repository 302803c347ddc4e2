"""The `vaekit` command line: the top-level parser and dispatch.

Each command lives in `vaekit.cli.<name>`: its parser, then one library
call. Errors a user can cause (`VaekitError`, and the OS errors of a path
they gave: permissions, a missing folder, a full disk) print one line and
exit with status 2; any other exception is a bug and keeps its traceback
(status 1).
"""

import errno
import sys

from vaekit import VaekitError, __version__
from vaekit.cli import (
    encode,
    evaluate,
    interpolate,
    plot,
    reconstruct,
    report,
    sample,
    score,
    train,
)
from vaekit.cli.common import ArgumentParser, HelpFormatter, messages, use_backend

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
            if getattr(args, "backend", None) is not None:
                use_backend(args.backend)
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
