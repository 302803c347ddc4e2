"""`vaekit evaluate`: ELBO, importance-weighted log p(x) and active units."""

from vaekit import checks
from vaekit.cli import common

__all__ = ["add_parser", "cmd_evaluate"]


def add_parser(subparsers):
    p = common.add_command(
        subparsers,
        "evaluate",
        cmd_evaluate,
        help="ELBO, importance-weighted log p(x) and active units on a dataset",
    )
    common.add_inputs(p)
    p.add_argument(
        "--iw-samples",
        type=int,
        default=1000,
        help="importance samples k per example (the time grows with k: a long "
        "evaluation says how long it will take, then its progress)",
    )
    common.add_binarize(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_backend(p)


def _json(result):
    """`result` as JSON: a value that is not finite becomes null, with the
    reason under `not_finite` (JSON has no NaN; see `vaekit.io.json_text`)."""
    from vaekit import io

    return io.json_text(result)


def cmd_evaluate(args):
    checks.integer(args.iw_samples, "--iw-samples")
    budget = common.max_memory(args)
    common.check_model_path(args.model)
    from vaekit.cli.progress import Progress
    from vaekit.evaluation import evaluate

    result = evaluate(
        args.model,
        args.data,
        iw_samples=args.iw_samples,
        seed=args.seed,
        max_memory=budget,
        progress=Progress("evaluating", "evaluated"),
        binarize=args.binarize,
        **common.input_options(args),
    )
    if args.json:
        print(_json(result))
        return 0
    print(
        f"{'data':<24}{args.data} ({result['split']}, n={result['n']}, "
        f"binarize={result['binarize']})"
    )
    for key, label in (
        ("elbo", "ELBO"),
        ("log_likelihood", f"log p(x) (k={result['iw_samples']})"),
        ("log_likelihood_stderr", "  std. error"),
        ("reconstruction", "reconstruction"),
        ("kl", "KL"),
    ):
        print(f"{label:<24}{result[key]:.3f} nats")
    print(f"{'active units':<24}{result['active_units']}")
    return 0
