"""`vaekit report`: rebuild a run folder's report.html."""

from vaekit.cli import common

__all__ = ["add_parser", "cmd_report"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "report",
        cmd_report,
        help="rebuild a run folder's report.html",
        description="Write RUN/report.html: one self-contained page with the "
        "run's config, final metrics and every picture in RUN/plots/, embedded.",
    )
    p.add_argument("run", help="a run folder made by vaekit train")
    p.add_argument(
        "--output", default=None, help="FILE.html (default: RUN/report.html)"
    )
    p.add_argument(
        "--redraw",
        action="store_true",
        help="first redraw RUN/plots/ from RUN/model.keras and the held-out part "
        "of the data named in RUN/config.toml",
    )
    common.add_backend(p)


def cmd_report(args):
    if args.output is not None:
        common.output_suffix(args.output, (".html", ".htm"))
    from vaekit.viz.report import write_report

    path = write_report(args.run, args.output, redraw=args.redraw)
    common.wrote(path, "the run's report")
    return 0
