"""`vaekit score`: anomaly scores of every input row, as CSV."""

import os

from vaekit import checks, runs
from vaekit import io as files
from vaekit.cli import common as commands

__all__ = ["add_parser", "cmd_score"]


def add_parser(subparsers):
    p = commands.add_command(
        subparsers,
        "score",
        cmd_score,
        help="anomaly scores of every input row (higher: more anomalous), as CSV",
        description="Writes one CSV row per input, in the input's order: index "
        "(the row's 0-based place among the data's rows, also when --missing "
        "drop leaves some out), label (when the data has labels), neg_elbo, "
        "neg_log_likelihood (nats), reconstruction_error (mean squared error of "
        "the reconstruction at z_mean: in each feature's standard deviations for "
        "a gaussian model, in the data's units for a bernoulli one) and, with a "
        "threshold, is_outlier (neg_log_likelihood above it).",
    )
    commands.add_inputs(p)
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
        f"< 1) of the training split's, stored in {runs.TRAIN_SCORES} beside "
        "the model",
    )
    threshold.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="flag rows whose neg_log_likelihood is above T nats",
    )
    commands.add_binarize(p)
    commands.add_backend(p)


def cmd_score(args):
    commands.output_suffix(args.output, (".csv",))
    files.check_model_file(args.model)
    if args.iw_samples is not None:
        checks.integer(args.iw_samples, "--iw-samples")
    if args.threshold is not None:
        checks.number(args.threshold, "--threshold")
    iw_samples = args.iw_samples
    stored = None
    if args.threshold_quantile is not None:
        checks.number(
            args.threshold_quantile,
            "--threshold-quantile",
            0,
            1,
            exclusive=("minimum", "maximum"),
        )
        stored = runs.read_train_scores(os.path.dirname(os.path.abspath(args.model)))
        if iw_samples is None:
            iw_samples = stored["iw_samples"]
    model, x, y, split, binarize, rows = commands.load_for_likelihood(args, rows=True)
    import numpy as np

    from vaekit.evaluation.scores import DEFAULT_IW_SAMPLES, infer_threshold, score

    threshold = args.threshold
    if stored is not None:
        threshold = infer_threshold(stored, args.threshold_quantile)
    if iw_samples is None:
        iw_samples = DEFAULT_IW_SAMPLES
    scores = score(
        model,
        x,
        iw_samples=iw_samples,
        seed=args.seed,
        max_memory=int(args.max_memory * 2**20),
        threshold=threshold,
        condition=y if model.conditional else None,
    )
    columns = {"index": rows}
    if y is not None:
        columns["label"] = y
    columns.update(scores)
    if threshold is not None:
        columns["is_outlier"] = scores["is_outlier"].astype(int)
    files.write_csv(args.output, list(columns), np.column_stack(list(columns.values())))
    summary = (
        f"{len(x)} rows of {args.data} ({split}, binarize={binarize}, k={iw_samples})"
    )
    if threshold is not None:
        source = (
            f"the {args.threshold_quantile:g} quantile of the training scores"
            if stored is not None
            else "--threshold"
        )
        flagged = int(scores["is_outlier"].sum())
        summary += f", threshold {threshold:.3f} nats ({source}): {flagged} flagged"
    commands.wrote(args.output, summary)
    return 0
