"""`vaekit interpolate`: decode the path between two encodings."""

from vaekit import VaekitError, checks
from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_interpolate"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "interpolate",
        cmd_interpolate,
        help="decode the path between the encodings of two examples",
        description="Encode examples I and J (z_mean), decode STEPS codes on the "
        "path between them (ends included) and draw them between the two "
        "originals. The path is a straight line, or a great circle with --slerp.",
    )
    commands.add_inputs(p)
    p.add_argument(
        "--from", dest="index_from", type=int, required=True, help="index of example I"
    )
    p.add_argument(
        "--to", dest="index_to", type=int, required=True, help="index of example J"
    )
    p.add_argument("--steps", type=int, default=10, help="decoded codes, ends included")
    p.add_argument(
        "--slerp", action="store_true", help="spherical instead of linear interpolation"
    )
    commands.add_label(p, "to decode the path with (default: example I's label)")
    p.add_argument("--output", required=True, help="FILE.png")
    commands.add_backend(p)


def cmd_interpolate(args):
    from vaekit.viz import figures as plots

    commands.output_suffix(args.output, (".png",))
    checks.integer(args.steps, "--steps", 2)
    model, x, y, split = commands.model_and_data(args)
    path_label = commands.label_condition(model, args.label)
    for flag, index in (("--from", args.index_from), ("--to", args.index_to)):
        if not 0 <= index < len(x):
            raise VaekitError(
                f"{flag} {index} is out of range: {args.data} ({split}) has "
                f"{len(x)} examples, 0..{len(x) - 1}"
            )
    method = "slerp" if args.slerp else "linear"
    condition = None
    if model.conditional:
        condition = y[[args.index_from, args.index_to]]
    picture = plots.interpolation(
        model,
        x[args.index_from],
        x[args.index_to],
        args.steps,
        method,
        condition=condition,
        path_condition=path_label,
    )
    plots.save_picture(args.output, picture)
    commands.wrote(
        args.output,
        f"{method} path from example {args.index_from} to {args.index_to} "
        f"in {args.steps} steps",
    )
    return 0
