"""vaekit.evaluation.rowwise: per-row results that depend on the row alone."""

import numpy as np

from vaekit.evaluation.rowwise import in_fixed_batches, row_log_likelihood, row_noise


def test_row_noise_depends_on_the_row_and_the_seed_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3)).astype("float32")
    noise = row_noise(x, 4, 2, seed=1)
    assert noise.shape == (4, 6, 2)
    shuffled = row_noise(x[::-1], 4, 2, seed=1)
    np.testing.assert_array_equal(shuffled, noise[:, ::-1])
    assert not np.array_equal(row_noise(x, 4, 2, seed=2), noise)
    # Equal rows get equal noise, distinct rows distinct noise.
    twice = row_noise(np.stack([x[0], x[0], x[1]]), 4, 2, seed=1)
    np.testing.assert_array_equal(twice[:, 0], twice[:, 1])
    assert not np.array_equal(twice[:, 0], twice[:, 2])


def test_fixed_batches_pad_every_call_to_the_same_size():
    sizes = []

    def function(rows):
        sizes.append(len(rows))
        return rows.sum(axis=1)

    x = np.arange(21, dtype="float32").reshape(7, 3)
    out = in_fixed_batches(x, function, batch=3)
    assert sizes == [3, 3, 3] and out.dtype == np.float64
    np.testing.assert_array_equal(out, x.sum(axis=1))


def test_a_rows_log_likelihood_does_not_depend_on_its_companions():
    from tests.model.common import binary_data, make_vae

    vae = make_vae()
    x = binary_data(n=40)
    alone = row_log_likelihood(vae, x[:1], 8, seed=0)
    together = row_log_likelihood(vae, x, 8, seed=0)
    assert together.shape == (40,) and np.isfinite(together).all()
    np.testing.assert_array_equal(together[:1], alone)
    np.testing.assert_array_equal(
        row_log_likelihood(vae, x[::-1], 8, 0), together[::-1]
    )
    # The estimate of log p(x): the mean of the same rows' bound at k=1 is
    # below it on average (Burda et al.'s ordering), and both are finite.
    k1 = row_log_likelihood(vae, x, 1, seed=0)
    assert np.mean(k1) < np.mean(together)
