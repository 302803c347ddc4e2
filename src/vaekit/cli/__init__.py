"""vaekit.cli."""
