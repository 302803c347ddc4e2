"""`vaekit reconstruct`: originals beside their reconstructions."""

from vaekit import checks
from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_reconstruct"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "reconstruct",
        cmd_reconstruct,
        help="originals beside their reconstructions",
        description="Draw the first N examples of the data, each beside its "
        "reconstruction: the mean of p(x|z) at z = z_mean (no sampling noise). "
        "FILE.png: the picture; FILE.csv or FILE.npy: the reconstructions of "
        "every example (a table's column names and categories in the CSV). A "
        "conditional model reconstructs each example under its own label.",
    )
    commands.add_inputs(p)
    p.add_argument("-n", type=int, default=16, help="number of examples (FILE.png)")
    p.add_argument("--output", required=True, help="FILE.png, FILE.csv or FILE.npy")
    commands.add_backend(p)


def cmd_reconstruct(args):
    from vaekit.viz import figures as plots

    suffix = commands.output_suffix(args.output, (".png", ".csv", ".npy"))
    checks.integer(args.n, "-n")
    model, x, y, split = commands.model_and_data(args)
    condition = y if model.conditional else None
    if suffix != ".png":
        commands.write_examples(
            args.output, model, model.reconstruct(x, condition=condition)
        )
        commands.wrote(args.output, f"reconstructions of {len(x)} examples ({split})")
        return 0
    n = min(args.n, len(x))
    plots.save_picture(
        args.output, plots.reconstruction_grid(model, x, n, condition=condition)
    )
    commands.wrote(
        args.output, f"{n} examples of {args.data} ({split}) and reconstructions"
    )
    return 0
