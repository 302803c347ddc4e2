"""Evaluation of a trained VAE: the ELBO and the importance-weighted
log-likelihood (`evaluate`), anomaly scores (`score`) and what makes them
(`feature_scores`), and diagnostics of
the latent code (active units, posterior collapse)."""

from vaekit.evaluation.diagnostics import active_units, latent_diagnostics
from vaekit.evaluation.likelihood import evaluate, per_example, plan_chunks
from vaekit.evaluation.scores import (
    SCORES,
    feature_names,
    feature_scores,
    infer_threshold,
    score,
    scores_of,
)

__all__ = [
    "SCORES",
    "active_units",
    "evaluate",
    "feature_names",
    "feature_scores",
    "infer_threshold",
    "latent_diagnostics",
    "per_example",
    "plan_chunks",
    "score",
    "scores_of",
]
