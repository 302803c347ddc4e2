"""The `vaekit` command line: the top-level parser and dispatch.

Each command lives in `vaekit.cli.common.<name>`, which builds its parser and
calls library functions. Building the parsers imports neither keras nor
numpy, so `vaekit --help` answers at once.
"""

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
from vaekit.cli.common import ArgumentParser, HelpFormatter, use_backend

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


def _error(exc):
    message = " ".join(str(exc).split())  # one line, whatever the message holds
    print(f"vaekit: error: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    """Runs the command line `argv` (default `sys.argv[1:]`) and returns the
    exit status: 0 on success, 2 on a usage or input error (one line on
    stderr), 130 on Ctrl-C."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return 0 if exc.code is None else exc.code
    try:
        if getattr(args, "backend", None) is not None:
            use_backend(args.backend)
        return args.func(args)
    except (VaekitError, ValueError) as exc:
        return _error(exc)
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
