"""Diagnostics of a VAE's latent code: active units and posterior collapse.

A unit is active when its posterior mean varies over the data (Burda et
al. 2015, section 5.2); a unit whose KL from the prior stays near 0 carries
no information about x. A training run records both after every epoch
(`vaekit.training.callbacks.LatentDiagnostics`) and warns when every unit
has collapsed.
"""

import keras
import numpy as np

__all__ = [
    "ACTIVE_UNIT_THRESHOLD",
    "COLLAPSE_EPOCHS",
    "COLLAPSE_KL",
    "DIAGNOSTIC_EXAMPLES",
    "active_units",
    "collapse_advice",
    "count_active",
    "latent_diagnostics",
]

ACTIVE_UNIT_THRESHOLD = 0.01  # variance of a unit's mean over the data
COLLAPSE_EPOCHS = 3  # consecutive collapsed epochs before the warning
DIAGNOSTIC_EXAMPLES = 2000  # at most, of the training data, for the diagnostics
COLLAPSE_KL = 0.1  # nats: a unit whose KL stays below this carries ~no information


def active_units(z_means, threshold=ACTIVE_UNIT_THRESHOLD):
    """The number of active latent units (Burda et al. 2015, section 5.2):
    units whose `Var_x(E_q[z_j])` over the examples exceeds `threshold`.

    Args:
        z_means: numpy array `(n, latent_dim)` of q's means.
        threshold: The variance above which a unit counts as active.

    Returns:
        An int (0 for fewer than two examples).
    """
    z_means = np.asarray(z_means, dtype=np.float64)
    return count_active(z_means.var(axis=0), len(z_means), threshold)


def count_active(variance, n, threshold=ACTIVE_UNIT_THRESHOLD):
    """`active_units` from the variance of each unit's mean over `n`
    examples."""
    if n < 2:
        return 0
    return int((np.asarray(variance) > threshold).sum())


def latent_diagnostics(model, x, batch_size=500):
    """Posterior-collapse diagnostics of `model` on the examples `x`.

    Runs the encoder in inference mode (no sampling, no dropout, so no
    random stream moves).

    Args:
        model: A `vaekit.VAE`.
        x: numpy array `(n, *model.data_shape)`, or `(x, y)` with the
            labels of a conditional model.
        batch_size: Examples per encoder pass.

    Returns:
        `(unit_kl, active)`: the mean over `x` of each latent unit's
        `KL(q(z_j|x) || p(z_j))` in nats, a float64 array of shape
        `(latent_dim,)` that sums to the mean KL, and the number of active
        units (`active_units`). A prior without a per-unit closed form (a
        learned prior, a second layer) has each unit's KL from the
        Gaussian matched to the unit's aggregate posterior instead: near 0
        for a unit that carries no information about x, as the KL from the
        prior is.
    """
    x, y = x if isinstance(x, tuple) else (x, None)

    def inputs(rows):
        return x[rows] if y is None else [x[rows], y[rows].reshape(-1, 1)]

    if keras.distribution.distribution() is None:
        z_mean, z_log_var = model.encoder.predict(
            inputs(slice(None)), batch_size=batch_size, verbose=0
        )
    else:
        # Under data-parallel training, `predict` splits each batch over the
        # devices (a ragged one does not split); a plain call uses the
        # replicated weights.
        parts = [
            model.encoder(inputs(slice(i, i + batch_size)), training=False)
            for i in range(0, len(x), batch_size)
        ]
        z_mean, z_log_var = (
            np.concatenate([keras.ops.convert_to_numpy(p[j]) for p in parts])
            for j in (0, 1)
        )
    # q(z|x) as the model samples it: epsilon_std scales the std.
    q_log_var = np.asarray(z_log_var) + np.float32(model._log_eps_var)
    if model.prior.analytic_kl:
        unit_kl = keras.ops.convert_to_numpy(model.prior.unit_kl(z_mean, q_log_var))
    else:
        unit_kl = _aggregate_unit_kl(z_mean, q_log_var)
    return unit_kl.astype(np.float64).mean(axis=0), active_units(z_mean)


def _aggregate_unit_kl(z_mean, q_log_var):
    """Each example's `KL(q(z_j|x) || N(m_j, v_j))`, `(m_j, v_j)` the mean
    and variance of unit j's aggregate posterior over the examples."""
    z_mean = np.asarray(z_mean, np.float64)
    q_var = np.exp(np.asarray(q_log_var, np.float64))
    m = z_mean.mean(axis=0)
    v = z_mean.var(axis=0) + q_var.mean(axis=0)
    return 0.5 * (np.log(v) - np.log(q_var) + (q_var + (z_mean - m) ** 2) / v - 1.0)


def collapse_advice(model, warmup_epochs=0):
    """What to try against a posterior collapse of `model`, as settings."""
    tries = []
    if model.free_bits < 0.5:
        tries.append(
            "free_bits 0.5" + (" with iw_samples 1" if model.iw_samples > 1 else "")
        )
    if model.beta > 0:
        tries.append(f"a lower beta (now {model.beta:g})")
    if model.likelihood == "gaussian" and model.decoder_std == "learned":
        tries.append("a fixed decoder_std (e.g. 0.1) for gaussian data")
    tries.append(f"kl_warmup_epochs {max(10, 2 * warmup_epochs)}")
    return ", ".join(tries)
