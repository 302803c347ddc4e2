"""vaekit.training.batches: every row once per epoch, reshuffled, the same
batches for a resumed run, fresh dynamic binarization, labels beside the
examples, and padded slices for data-parallel training."""

import numpy as np
import pytest

from vaekit.training.batches import TrainingBatches


def _epoch(batches):
    return [batches[i][0] for i in range(len(batches))]


def test_batches_cover_every_row_once_and_reshuffle():
    n, batch_size = 53, 10
    x = np.arange(n, dtype=np.float32)[:, None]
    batches = TrainingBatches(x, batch_size, seed=1)
    assert len(batches) == 6
    orders = []
    for _ in range(3):
        epoch = _epoch(batches)
        assert [len(b) for b in epoch] == [10, 10, 10, 10, 10, 3]
        rows = np.concatenate(epoch)[:, 0]
        assert sorted(rows) == list(range(n))
        orders.append(rows)
        batches.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_batches_depend_only_on_seed_and_epoch():
    x = np.random.default_rng(12).random((40, 6)).astype(np.float32)
    running = TrainingBatches(x, 8, "dynamic", seed=7)
    for _ in range(3):
        running.on_epoch_end()
    resumed = TrainingBatches(x, 8, "dynamic", seed=7, epoch=3)
    for a, b in zip(_epoch(running), _epoch(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    other = TrainingBatches(x, 8, "dynamic", seed=8, epoch=3)
    assert not np.array_equal(_epoch(other)[0], _epoch(resumed)[0])


def test_dynamic_binarization_is_a_fresh_draw_each_epoch():
    n, d = 64, 40
    # 6 columns spell each row's id in bits (0 and 1 survive binarization),
    # the rest are 0.3: their draws show the binarization.
    ids = (np.arange(n)[:, None] >> np.arange(6)) & 1
    x = np.concatenate([ids, np.full((n, d - 6), 0.3)], axis=1).astype(np.float32)
    batches = TrainingBatches(x, 16, "dynamic", seed=2)
    draws = []
    for _ in range(2):
        rows = np.concatenate(_epoch(batches))
        assert set(np.unique(rows)) == {0.0, 1.0}
        order = rows[:, :6] @ (1 << np.arange(6))
        assert sorted(order) == list(range(n))  # every row once
        draws.append(rows[np.argsort(order), 6:])
        batches.on_epoch_end()
    for draw in draws:
        assert abs(draw.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / draw.size)
    # the same example gets a different draw in the next epoch
    assert (draws[0] != draws[1]).mean() > 0.3
    # without binarization the batches are the data itself
    plain = TrainingBatches(x, 16, "none", seed=2)
    values = np.unique(np.concatenate(_epoch(plain)))
    np.testing.assert_array_equal(values, np.array([0, 0.3, 1], np.float32))


@pytest.mark.parametrize("binarize, pad_to", [("dynamic", None), ("none", 8)])
def test_passes_group_the_batches_of_one_pass_epochs(binarize, pad_to):
    """With passes=3 a Keras epoch holds the batches of 3 one-pass epochs,
    draws included; skip counts into the grouped epoch."""
    x = np.random.default_rng(4).random((21, 5)).astype(np.float32)
    kwargs = {"binarize": binarize, "seed": 3, "pad_to": pad_to}
    single = TrainingBatches(x, 8, **kwargs)
    grouped = TrainingBatches(x, 8, passes=3, **kwargs)
    assert len(grouped) == 3 * len(single) == 9
    expected = []
    for _ in range(6):
        expected += _epoch(single)
        single.on_epoch_end()
    got = []
    for _ in range(2):
        got += _epoch(grouped)
        grouped.on_epoch_end()
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    grouped.set_epoch(1, skip=4)
    assert len(grouped) == 5
    np.testing.assert_array_equal(grouped[0][0], expected[9 + 4])


def test_a_batch_size_larger_than_the_data_is_one_batch_of_all():
    x = np.arange(7, dtype=np.float32)[:, None]
    batches = TrainingBatches(x, 100, seed=3)
    assert len(batches) == 1
    first = batches[0][0]
    assert sorted(first[:, 0]) == list(range(7))
    batches.on_epoch_end()
    assert sorted(batches[0][0][:, 0]) == list(range(7))
    assert not np.array_equal(first, batches[0][0])  # reshuffled all the same
    batches.set_epoch(0)
    np.testing.assert_array_equal(batches[0][0], first)


def test_static_means_the_data_as_given():
    x = np.full((12, 5), 0.3, np.float32)
    static = TrainingBatches(x, 4, "static", seed=0)
    assert all(np.all(static[i][0] == 0.3) for i in range(len(static)))


def test_skip_finishes_an_interrupted_epoch():
    x = np.arange(23, dtype=np.float32)[:, None]
    batches = TrainingBatches(x, 5, "dynamic", seed=4, epoch=2)
    full = _epoch(batches)
    batches.set_epoch(2, skip=3)
    assert len(batches) == 2
    for a, b in zip(_epoch(batches), full[3:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_labels_come_beside_their_examples():
    x = np.arange(11, dtype=np.float32)[:, None]
    y = np.arange(11) % 3
    batches = TrainingBatches(x, 4, "none", seed=5, y=y)
    for i in range(len(batches)):
        ((xb, yb),) = batches[i]
        assert yb.dtype == np.float32
        np.testing.assert_array_equal(yb, xb[:, 0] % 3)
    padded = TrainingBatches(x, 4, seed=5, y=y, pad_to=3)
    (xb, yb), none, weight = padded[2]  # the last batch: 3 rows, no padding
    assert none is None and len(xb) == len(yb) == 3 and weight.all()
    (xb, yb), _, weight = padded[0]  # 4 rows padded to 6 with weight 0
    assert len(yb) == 6 and not yb[4:].any() and weight.tolist() == [1] * 4 + [0] * 2
    np.testing.assert_array_equal(yb[:4], xb[:4, 0] % 3)
    with pytest.raises(ValueError, match="one label per example"):
        TrainingBatches(x, 4, y=y[:5])


def test_batches_are_a_keras_py_dataset_made_in_order():
    import keras

    batches = TrainingBatches(np.zeros((10, 3), np.float32), 4)
    assert isinstance(batches, keras.utils.PyDataset)
    assert (batches.workers, batches.use_multiprocessing) == (1, False)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"binarize": "sometimes"}, "binarize"),
        ({"seed": -1}, "seed"),
        ({"passes": 0}, "passes"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs, name):
    x = np.zeros((4, 2), np.float32)
    kwargs = {"batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=f"Received: {name}="):
        TrainingBatches(x, **kwargs)


@pytest.mark.parametrize("pad_to, count", [(2, 1), (3, 1), (4, 2), (2, 2)])
def test_padded_batches_split_over_processes_keep_every_row_once(pad_to, count):
    """For --distribute: each batch padded to a multiple of the devices with
    zero rows of weight 0, each process its slice; together, per epoch, the
    same rows and draws as the unpadded batches, each once."""
    x = np.random.default_rng(4).random((53, 3)).astype(np.float32)
    plain = TrainingBatches(x, 10, "dynamic", seed=2, epoch=1)
    shards = [
        TrainingBatches(
            x, 10, "dynamic", seed=2, epoch=1, pad_to=pad_to, process=(p, count)
        )
        for p in range(count)
    ]
    for index in range(len(plain)):
        (batch,) = plain[index]
        parts = [shard[index] for shard in shards]
        assert all(y is None for _, y, _ in parts)
        rows = np.concatenate([part[0] for part in parts])
        weight = np.concatenate([part[2] for part in parts])
        assert len(rows) % pad_to == 0 and len(rows) - len(batch) < pad_to
        assert len({len(part[0]) for part in parts}) == 1
        np.testing.assert_array_equal(weight, np.arange(len(rows)) < len(batch))
        np.testing.assert_array_equal(rows[: len(batch)], batch)
        assert not rows[len(batch) :].any()


def test_unshuffled_batches_keep_the_order_and_bad_processes_are_refused():
    x = np.arange(7, dtype=np.float32)[:, None]
    batches = TrainingBatches(x, 4, pad_to=2, shuffle=False)
    assert [b[0][:, 0].tolist() for b in (batches[0], batches[1])] == [
        [0, 1, 2, 3],
        [4, 5, 6, 0],
    ]
    assert batches[1][2].tolist() == [1, 1, 1, 0]
    for process, pad_to in (((2, 2), 2), ((0, 2), 3), ((-1, 1), 2)):
        with pytest.raises(ValueError, match="process"):
            TrainingBatches(x, 4, pad_to=pad_to, process=process)
