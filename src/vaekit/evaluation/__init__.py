"""vaekit.evaluation."""
