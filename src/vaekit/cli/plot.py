"""`vaekit plot latent | manifold`: draw the latent space."""

from vaekit import checks
from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_plot_latent", "cmd_plot_manifold"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "plot",
        formatter_class=commands.HelpFormatter,
        help="draw the latent space: plot latent | plot manifold",
    )
    plots_sub = p.add_subparsers(dest="plot", metavar="PLOT")
    plots_sub.required = True
    latent = commands.add_command(
        plots_sub,
        "latent",
        cmd_plot_latent,
        help="scatter of z_mean, coloured by label",
        description="Scatter z_mean of each example, coloured by label (a legend "
        "for up to 20 classes, else a colour bar). More than 2 latent units are "
        "projected on their first two principal components.",
    )
    commands.add_inputs(latent)
    latent.add_argument("--output", required=True, help="FILE.png")
    commands.add_backend(latent)
    manifold = commands.add_command(
        plots_sub,
        "manifold",
        cmd_plot_manifold,
        help="decode a latent grid (2-D) or traversals (more units)",
        description="For a 2-D latent space (and image data), decode a regular "
        "grid mapped through the inverse Gaussian CDF (Kingma & Welling's "
        "figures). Otherwise a traversal: one row per latent unit, the most "
        "active first, moving it alone with the others at 0.",
    )
    commands.add_model(manifold)
    manifold.add_argument("--grid", type=int, default=15, help="tiles per row")
    manifold.add_argument(
        "--rows",
        type=int,
        default=None,
        help="traversal rows (default: every unit, at most 10)",
    )
    manifold.add_argument(
        "--data",
        default=None,
        help="optional data whose z_mean variance ranks the units for traversals "
        "(default: rank by the decoder's sensitivity)",
    )
    manifold.add_argument(
        "--label-column", default=None, help="CSV column (name or index) of labels"
    )
    commands.add_split(manifold)
    commands.add_label(manifold, "to decode every tile with (default: the first class)")
    manifold.add_argument("--output", required=True, help="FILE.png")
    commands.add_backend(manifold)


def cmd_plot_latent(args):
    from vaekit.viz import figures as plots

    commands.output_suffix(args.output, (".png",))
    model, x, y, split = commands.model_and_data(args)
    plots.save_picture(args.output, plots.latent_scatter(model, x, y))
    what = "2 units" if model.latent_dim <= 2 else "first two principal components"
    commands.wrote(
        args.output, f"z_mean of {len(x)} examples of {args.data} ({split}), {what}"
    )
    return 0


def cmd_plot_manifold(args):
    from vaekit.model import inputs
    from vaekit.viz import figures as plots

    commands.output_suffix(args.output, (".png",))
    checks.integer(args.grid, "--grid", 2)
    if args.rows is not None:
        checks.integer(args.rows, "--rows")
    y = None
    if args.data is not None:
        model, x, y, _ = commands.model_and_data(args)
    else:
        model, x = inputs.load_model(args.model), None
    condition = commands.label_condition(model, args.label)
    layout = plots.manifold_layout(
        model, args.grid, x, args.rows, condition=y if model.conditional else None
    )
    plots.save_picture(
        args.output, plots.manifold(model, layout=layout, condition=condition)
    )
    if layout["kind"] == "grid":
        what = f"{args.grid}x{args.grid} grid over the 2-D latent space"
    else:
        units = ", ".join(f"z[{u}]" for u in layout["units"])
        what = f"traversals of {units} (top to bottom)"
    commands.wrote(args.output, what)
    return 0
