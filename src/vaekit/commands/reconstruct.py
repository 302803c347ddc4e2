"""`vaekit reconstruct`: originals beside their reconstructions."""

from vaekit import checks, commands

__all__ = ["add_parser", "cmd_reconstruct"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "reconstruct",
        cmd_reconstruct,
        help="originals beside their reconstructions",
        description="Draw the first N examples of the data, each beside its "
        "reconstruction: the mean of p(x|z) at z = z_mean (no sampling noise).",
    )
    commands.add_inputs(p)
    p.add_argument("-n", type=int, default=16, help="number of examples")
    p.add_argument("--output", required=True, help="FILE.png")
    commands.add_backend(p)


def cmd_reconstruct(args):
    from vaekit import inputs, plots

    commands.output_suffix(args.output, (".png",))
    checks.integer(args.n, "-n")
    model, x, _, split = inputs.load_model_and_data(
        args.model, args.data, args.label_column, args.split
    )
    n = min(args.n, len(x))
    plots.save_picture(args.output, plots.reconstruction_grid(model, x, n))
    commands.wrote(
        args.output, f"{n} examples of {args.data} ({split}) and reconstructions"
    )
    return 0
