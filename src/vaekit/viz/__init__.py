"""Pictures of a VAE: numpy tiles (`tiles`), the geometry of the latent
space (`latent`), what the decoder draws (`decoded`), matplotlib figures
(`figures`), anomaly scores (`scores`), training curves (`curves`), a run's pictures
(`run_pictures`) and its one-page report (`report`)."""

from vaekit.viz.curves import kl_per_unit, training_curves
from vaekit.viz.decoded import (
    interpolate,
    interpolation,
    manifold,
    reconstruction_grid,
    sample_grid,
)
from vaekit.viz.figures import latent_scatter, save_picture, vector_heatmaps
from vaekit.viz.latent import manifold_layout
from vaekit.viz.report import build_report, write_report
from vaekit.viz.run_pictures import redraw_pictures, write_run_pictures
from vaekit.viz.scores import flagged_latent_scatter, score_histogram
from vaekit.viz.tiles import image_grid, pair_grid, tile_images

__all__ = [
    "build_report",
    "flagged_latent_scatter",
    "image_grid",
    "interpolate",
    "interpolation",
    "kl_per_unit",
    "latent_scatter",
    "manifold",
    "manifold_layout",
    "pair_grid",
    "reconstruction_grid",
    "redraw_pictures",
    "sample_grid",
    "save_picture",
    "score_histogram",
    "tile_images",
    "training_curves",
    "vector_heatmaps",
    "write_report",
    "write_run_pictures",
]
