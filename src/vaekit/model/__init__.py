"""vaekit.model."""
