"""`vaekit interpolate`: decode the path between two encodings."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_interpolate"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "interpolate",
        cmd_interpolate,
        help="decode the path between the encodings of two examples",
        description="Encode examples I and J (z_mean), decode STEPS codes on the "
        "path between them (ends included) and draw them between the two "
        "originals. The path is a straight line, or a great circle with --slerp.",
    )
    common.add_inputs(p)
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
    common.add_label(p, "to decode the path with (default: example I's label)")
    p.add_argument("--output", required=True, help="FILE.png")
    common.add_backend(p)


def cmd_interpolate(args):
    common.output_suffix(args.output, (".png",))
    checks.integer(args.steps, "--steps", 2)
    common.check_model_path(args.model)
    from vaekit.viz import interpolate, save_picture

    method = "slerp" if args.slerp else "linear"
    picture = interpolate(
        args.model,
        args.data,
        args.index_from,
        args.index_to,
        args.steps,
        method,
        label=args.label,
        **common.input_options(args),
    )
    save_picture(args.output, picture)
    common.wrote(
        args.output,
        f"{method} path from example {args.index_from} to {args.index_to} "
        f"in {args.steps} steps",
    )
    return 0
