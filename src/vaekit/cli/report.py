"""`vaekit report`: rebuild a run folder's report.html."""

import os

from vaekit import VaekitError, runs
from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_report"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "report",
        cmd_report,
        help=f"rebuild a run folder's {runs.REPORT}",
        description=f"Write RUN/{runs.REPORT}: one self-contained page with the "
        f"run's config, final metrics and every picture in RUN/{runs.PLOTS}/, "
        "embedded.",
    )
    p.add_argument("run", help="a run folder made by vaekit train")
    p.add_argument(
        "--output", default=None, help=f"FILE.html (default: RUN/{runs.REPORT})"
    )
    p.add_argument(
        "--redraw",
        action="store_true",
        help=f"first redraw RUN/{runs.PLOTS}/ from RUN/{runs.MODEL} and the "
        f"held-out part of the data named in RUN/{runs.CONFIG}",
    )
    commands.add_backend(p)


def cmd_report(args):
    from vaekit.viz import report

    if args.output is not None:
        commands.output_suffix(args.output, (".html", ".htm"))
    if not os.path.isdir(args.run):
        raise VaekitError(f"run folder {args.run!r} does not exist")
    if args.redraw:
        report.redraw_pictures(args.run)
    path = report.write_report(args.run, args.output)
    commands.wrote(path, "the run's report")
    return 0
