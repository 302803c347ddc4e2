"""vaekit.viz."""
