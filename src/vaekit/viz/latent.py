"""Geometry of the latent space: the codes that the pictures decode.

The grid of a 2-D manifold and the values of a traversal are quantiles of
the prior, and traversals move the most active units first; interpolations
run straight or along a great circle; more than two latent units are drawn
on their principal components. Numpy arrays in and out.
"""

import math
import statistics

import numpy as np

from vaekit import checks
from vaekit.data import fit_to_shape
from vaekit.model import footprint
from vaekit.viz.tiles import is_image_shape

__all__ = [
    "GRID_QUANTILES",
    "INTERPOLATIONS",
    "MAX_TRAVERSAL_ROWS",
    "grid_values",
    "interpolation_codes",
    "latent_activity",
    "manifold_layout",
    "principal_components",
    "slerp",
]

# Chollet's blog and the Keras example decode norm.ppf(linspace(0.05, 0.95)):
# Kingma & Welling's appendix figures map a regular grid on the unit square
# through the inverse Gaussian CDF, so equal areas of prior mass get equal
# numbers of tiles.
GRID_QUANTILES = (0.05, 0.95)
INTERPOLATIONS = ("linear", "slerp")
MAX_TRAVERSAL_ROWS = 10


def grid_values(grid=15):
    """`grid` latent values through the inverse Gaussian CDF: equally spaced
    quantiles from 5% to 95% of N(0, 1).

    Raises:
        InvalidArgument: if `grid` is not an integer >= 2.
    """
    grid = checks.integer(grid, "grid", 2)
    normal = statistics.NormalDist()
    return np.array(
        [normal.inv_cdf(p) for p in np.linspace(*GRID_QUANTILES, grid)],
        dtype=np.float32,
    )


def latent_activity(model, x=None, grid=15, condition=None):
    """How much each latent unit is used, for ranking traversal rows.

    With data, the variance over `x` of each unit's `z_mean`: Burda et al.'s
    activity statistic (a unit is active above 0.01). Without data, the
    decoder's sensitivity: the mean variance of the decoded output as the
    unit alone moves along the traversal values, the others at 0. A
    conditional model encodes `x` with its labels `condition` (without
    them, the decoder's sensitivity ranks the units).

    Returns:
        A float array of shape `(latent_dim,)`.
    """
    if x is not None and (condition is not None or not model.conditional):
        x = fit_to_shape(x, model.data_shape)
        z_mean, _ = model.encode(x, condition=condition)
        return np.asarray(z_mean, dtype=np.float64).var(axis=0)
    values = grid_values(grid)
    codes = np.zeros((model.latent_dim, len(values), model.latent_dim), np.float32)
    for unit in range(model.latent_dim):
        codes[unit, :, unit] = values
    decoded = np.asarray(model.decode(codes.reshape(-1, model.latent_dim)))
    decoded = decoded.reshape(model.latent_dim, len(values), -1)
    return decoded.var(axis=1).mean(axis=1).astype(np.float64)


def _check_manifold_fits(model, grid, rows):
    """Refuses a manifold whose decoded tiles (and picture) cannot fit in
    memory, before the layout is computed."""
    grid = checks.integer(grid, "grid", 2)
    dims = model.latent_dim
    if dims == 2 and is_image_shape(model.data_shape):
        n = grid * grid
    else:
        n = grid * min(
            dims, rows if isinstance(rows, int) and rows > 0 else MAX_TRAVERSAL_ROWS
        )
    pixels = n * math.prod(model.data_shape)  # the uint8 picture
    footprint.check_decode_fits(
        model.data_shape,
        dims,
        n,
        f"a manifold of grid {grid} ({n} decoded tiles)",
        hint="use a smaller grid",
        extra_bytes=pixels,
    )


def manifold_layout(model, grid=15, x=None, rows=None, condition=None):
    """The latent codes that `manifold` decodes.

    Returns:
        A dict with `kind` (`"grid"` or `"traversal"`), `z` of shape
        `(rows, grid, latent_dim)`, `values` (the `grid` latent values) and
        `units`: for a grid (2-D latent space, image data), `(0, 1)` (z[0]
        rises left to right, z[1] bottom to top, as in the latent scatter);
        for a traversal, the unit moved in each row, the most active first
        (see `latent_activity`), and their `activity`.

    Raises:
        InvalidArgument: if `grid` is not an integer >= 2 or `rows` not >= 1,
            or the tiles it would decode cannot fit in memory.
    """
    _check_manifold_fits(model, grid, rows)
    values = grid_values(grid)
    dims = model.latent_dim
    if dims == 2 and is_image_shape(model.data_shape):
        z = np.zeros((len(values), len(values), 2), np.float32)
        z[:, :, 0] = values[None, :]
        z[:, :, 1] = values[::-1, None]
        return {"kind": "grid", "z": z, "values": values, "units": (0, 1)}
    if rows is None:
        rows = min(dims, MAX_TRAVERSAL_ROWS)
    rows = min(checks.integer(rows, "rows"), dims)
    activity = latent_activity(model, x, grid, condition)
    units = tuple(int(u) for u in np.argsort(-activity, kind="stable")[:rows])
    z = np.zeros((len(units), len(values), dims), np.float32)
    for row, unit in enumerate(units):
        z[row, :, unit] = values
    return {
        "kind": "traversal",
        "z": z,
        "values": values,
        "units": units,
        "activity": activity,
    }


def principal_components(z, k=2):
    """Projects `z` (n, d) onto its first `k` principal components.

    Signs are fixed so that each component's largest loading is positive
    (as scikit-learn's `svd_flip`), making the picture deterministic.

    Returns:
        `(projection (n, k), components (k, d), explained_variance_ratio (k,))`.
    """
    z = np.asarray(z, dtype=np.float64)
    centred = z - z.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:k]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    total = float((singular**2).sum())
    ratio = (singular[:k] ** 2) / total if total > 0 else np.zeros(len(vt))
    return centred @ vt.T, vt, ratio


def slerp(a, b, t):
    """Spherical linear interpolation between vectors `a` and `b` at
    fractions `t` (White 2016, "Sampling Generative Networks"); falls back
    to linear interpolation when they are (anti)parallel or one is zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[:, None]
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return (1 - t) * a + t * b
    omega = np.arccos(np.clip(np.dot(a, b) / norms, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def interpolation_codes(z_from, z_to, steps=10, method="linear"):
    """`steps` codes from `z_from` to `z_to` (both ends included), on the
    straight line (`"linear"`) or the great circle (`"slerp"`).

    Raises:
        InvalidArgument: if `steps` is not an integer >= 2 or `method` unknown.
    """
    steps = checks.integer(steps, "steps", 2)
    checks.one_of(method, "method", INTERPOLATIONS)
    t = np.linspace(0.0, 1.0, steps)
    z_from = np.asarray(z_from, dtype=np.float64)
    z_to = np.asarray(z_to, dtype=np.float64)
    if method == "slerp":
        return slerp(z_from, z_to, t).astype(np.float32)
    return ((1 - t[:, None]) * z_from + t[:, None] * z_to).astype(np.float32)
