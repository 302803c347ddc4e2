"""vaekit.training."""
