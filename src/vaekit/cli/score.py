"""`vaekit score`: anomaly scores of every input row, as CSV."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_score"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "score",
        cmd_score,
        help="anomaly scores of every input row (higher: more anomalous), as CSV",
        description="Writes one CSV row per input, in the input's order: the "
        "--id-column (when given), index "
        "(the row's 0-based place among the data's rows, also when --missing "
        "drop leaves some out), label (when the data has labels), neg_elbo, "
        "neg_log_likelihood (nats), reconstruction_error (mean squared error of "
        "the reconstruction at z_mean: in each feature's standard deviations for "
        "a gaussian model, in the data's units for a bernoulli one) and, with a "
        "threshold, is_outlier (neg_log_likelihood above it, or not finite).",
    )
    common.add_inputs(p)
    common.add_id_column(p)
    p.add_argument("--output", required=True, help="the CSV file to write")
    p.add_argument(
        "--iw-samples",
        type=int,
        default=None,
        help="importance samples k per example (default: with "
        "--threshold-quantile the k of the stored training scores, else 100)",
    )
    threshold = p.add_mutually_exclusive_group()
    threshold.add_argument(
        "--threshold-quantile",
        type=float,
        default=None,
        metavar="Q",
        help="flag rows whose neg_log_likelihood is above the Q quantile (0 < Q "
        "< 1) of the training split's, stored in train_scores.npz beside the model",
    )
    threshold.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="flag rows whose neg_log_likelihood is above T nats",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="also each feature's part of the score (per column for a table, a "
        "heat map per image)",
    )
    common.add_binarize(p)
    common.add_backend(p)


def cmd_score(args):
    common.output_suffix(args.output, (".csv",))
    if args.iw_samples is not None:
        checks.integer(args.iw_samples, "--iw-samples")
    if args.threshold is not None:  # before the work, not after it
        checks.number(args.threshold, "--threshold")
    if args.threshold_quantile is not None:
        checks.number(
            args.threshold_quantile,
            "--threshold-quantile",
            0,
            1,
            ("minimum", "maximum"),
        )
    budget = common.max_memory(args)
    common.check_model_path(args.model)
    from vaekit import io
    from vaekit.evaluation import score

    scores = score(
        args.model,
        args.data,
        iw_samples=args.iw_samples,
        seed=args.seed,
        max_memory=budget,
        threshold=args.threshold,
        threshold_quantile=args.threshold_quantile,
        binarize=args.binarize,
        explain=args.explain,
        **common.input_options(args),
    )
    if "is_outlier" in scores:
        scores["is_outlier"] = scores["is_outlier"].astype(int)
    ids = common.id_cells(args, scores["index"])
    if ids is not None:
        scores.insert(0, common.id_header(ids[0], scores.columns), ids[1])
    heat_maps = scores.attrs.pop("feature_scores", None)
    if heat_maps is not None:
        _write_heat_maps(args.output, heat_maps)
    io.write_csv(args.output, list(scores.columns), scores.itertuples(index=False))
    attrs = scores.attrs
    summary = (
        f"{len(scores)} rows of {args.data} ({attrs['split']}, "
        f"binarize={attrs['binarize']}, k={attrs['iw_samples']})"
    )
    if attrs["threshold"] is not None:
        source = (
            f"the {args.threshold_quantile:g} quantile of the training scores"
            if attrs["threshold_source"] == "quantile"
            else "--threshold"
        )
        flagged = int(scores["is_outlier"].sum())
        summary += (
            f", threshold {attrs['threshold']:.3f} nats ({source}): {flagged} flagged"
        )
        if attrs["not_finite"]:
            summary += f", {attrs['not_finite']} of them for a score that is not finite"
    elif attrs["not_finite"]:
        summary += f"; {attrs['not_finite']} with a score that is not finite"
    common.wrote(args.output, summary)
    return 0


def _write_heat_maps(output, heat_maps):
    """`OUTPUT.explain.npy` (every image's heat map) and `OUTPUT.explain.png`
    (the first 64, channels summed, on one scale: white is the most
    anomalous value among them)."""
    from vaekit import io
    from vaekit.viz import tiles

    stem = output[: -len(".csv")]
    io.save_npy(stem + ".explain.npy", heat_maps.astype("float32"))
    shown = heat_maps[:64].sum(axis=-1, keepdims=True)
    low, high = float(shown.min()), float(shown.max())
    grid = tiles.image_grid(shown, value_range=(low, max(high, low + 1e-6)))
    io.write_bytes(stem + ".explain.png", tiles.png_bytes(grid))
    common.wrote(stem + ".explain.npy", f"{len(heat_maps)} heat maps")
