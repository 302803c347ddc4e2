"""`vaekit plot latent | manifold`: draw the latent space."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_plot_latent", "cmd_plot_manifold"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "plot",
        formatter_class=common.HelpFormatter,
        help="draw the latent space: plot latent | plot manifold",
    )
    plots_sub = p.add_subparsers(dest="plot", metavar="PLOT")
    plots_sub.required = True
    latent = common.add_command(
        plots_sub,
        "latent",
        cmd_plot_latent,
        help="scatter of z_mean, coloured by label",
        description="Scatter z_mean of each example, coloured by label (a legend "
        "for up to 20 classes, else a colour bar). More than 2 latent units are "
        "projected on their first two principal components.",
    )
    common.add_inputs(latent)
    latent.add_argument("--output", required=True, help="FILE.png")
    common.add_backend(latent)
    manifold = common.add_command(
        plots_sub,
        "manifold",
        cmd_plot_manifold,
        help="decode a latent grid (2-D) or traversals (more units)",
        description="For a 2-D latent space (and image data), decode a regular "
        "grid mapped through the inverse Gaussian CDF (Kingma & Welling's "
        "figures). Otherwise a traversal: one row per latent unit, the most "
        "active first, moving it alone with the others at 0.",
    )
    common.add_model(manifold)
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
    common.add_split(manifold)
    common.add_label(manifold, "to decode every tile with (default: the first class)")
    manifold.add_argument("--output", required=True, help="FILE.png")
    common.add_backend(manifold)


def cmd_plot_latent(args):
    common.output_suffix(args.output, (".png",))
    common.check_model_path(args.model)
    from vaekit.viz import latent_scatter, save_picture

    figure = latent_scatter(args.model, args.data, **common.input_options(args))
    save_picture(args.output, figure)
    common.wrote(args.output, f"z_mean of the examples of {args.data}")
    return 0


def cmd_plot_manifold(args):
    common.output_suffix(args.output, (".png",))
    checks.integer(args.grid, "--grid", 2)
    if args.rows is not None:
        checks.integer(args.rows, "--rows")
    common.check_model_path(args.model)
    from vaekit.model import load_model
    from vaekit.viz import manifold, manifold_layout, save_picture
    from vaekit.viz.figures import examples

    model = load_model(args.model)
    x = labels = None
    if args.data is not None:
        model, x, _, labels = examples(
            model, args.data, label_column=args.label_column, split=args.split
        )
    layout = manifold_layout(model, args.grid, x, args.rows, condition=labels)
    save_picture(args.output, manifold(model, layout=layout, label=args.label))
    if layout["kind"] == "grid":
        what = f"{args.grid}x{args.grid} grid over the 2-D latent space"
    else:
        units = ", ".join(f"z[{u}]" for u in layout["units"])
        what = f"traversals of {units} (top to bottom)"
    common.wrote(args.output, what)
    return 0
