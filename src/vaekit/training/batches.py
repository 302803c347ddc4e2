"""The training batches: reshuffled every epoch, freshly binarized, and the
same for a resumed run as for an uninterrupted one."""

import math

import keras
import numpy as np

from vaekit import checks
from vaekit.errors import InvalidArgument

__all__ = ["TrainingBatches", "passes_per_epoch"]


def passes_per_epoch(epochs, steps, most=64):
    """The passes over the data per Keras epoch (`TrainingBatches`'
    `passes`) that group `epochs` passes of `steps` steps each into Keras
    epochs of at most `most` steps: the largest divisor of `epochs` that
    does (1 when one pass is longer).

    >>> [passes_per_epoch(e, s) for e, s in [(300, 5), (231, 13), (7, 90), (1, 2)]]
    [12, 3, 1, 1]
    """
    fits = [d for d in range(2, epochs + 1) if not epochs % d and d * steps <= most]
    return max(fits, default=1)


class TrainingBatches(keras.utils.PyDataset):
    """Batches for `VAE.fit`: reshuffled every epoch and, with dynamic
    binarization, a fresh Bernoulli draw of every value each time an example
    is seen (the protocol of Burda et al. 2015).

    Each epoch's order and draws depend only on `(seed, epoch)`, so a run
    resumed at epoch k sees the same batches as an uninterrupted one. Keras'
    own `shuffle` would draw from Python's global RNG instead: fit with
    `shuffle=False`. A `batch_size` larger than the data gives one batch of
    all of it per epoch.

    For data-parallel training (`pad_to` set) every batch is
    `(x, None, sample_weight)`: a batch whose size does not divide over the
    devices (the last, ragged one) is padded with zero rows of weight 0 up to
    a multiple of `pad_to`, and the model's loss, the weighted mean over the
    rows, is that of the real rows alone. With `process=(p, n)`, each of `n`
    processes yields its `p`-th slice of every (padded) global batch; all of
    them use the same seed, so together they feed each global batch once.

    With labels `y` (a conditional model's), the model's input of each
    batch is the pair `(x, y)`.

    Args:
        x: The training examples, `(n, ...)`.
        batch_size: Examples per batch (the last batch may be smaller).
        binarize: `"dynamic"`: a fresh draw per batch; `"none"` or
            `"static"` (the data were binarized once beforehand, see
            `vaekit.data.binarize`): the batches are the data as given.
        seed: Seed of the order and of the draws.
        epoch: The first epoch.
        pad_to: `None` (batches are `(x,)`), or pad each batch to a multiple
            of this many rows (the number of devices) and yield weights.
        process: `(index, count)`: yield slice `index` of `count` equal
            slices of each padded batch (one per process; `pad_to` must be a
            multiple of `count`).
        shuffle: `False` keeps the data's order (validation data).
        y: Optional labels, one per example, fed beside `x`.
        passes: Passes over the data per Keras epoch, each in its own
            order: pass `p` of Keras epoch `e` is the data's epoch
            `e * passes + p`, so the batches are those of `passes` times
            as many one-pass epochs. Keras ends each epoch with work of
            its own (metrics reset, every variable synced), which costs
            more than the steps of a tiny table's epoch.

    Raises:
        InvalidArgument: if an argument is invalid.
    """

    def __init__(
        self,
        x,
        batch_size,
        binarize="none",
        seed=0,
        epoch=0,
        pad_to=None,
        process=(0, 1),
        shuffle=True,
        y=None,
        passes=1,
    ):
        # One worker, no processes: batches are made in order, in this thread.
        super().__init__(workers=1, use_multiprocessing=False)
        self.x = x
        self.y = None if y is None else np.asarray(y, dtype=np.float32)
        if self.y is not None and len(self.y) != len(x):
            raise InvalidArgument(
                f"Expected one label per example. Received: {len(self.y)} labels "
                f"for {len(x)} examples"
            )
        self.batch_size = checks.integer(batch_size, "batch_size")
        self.binarize = checks.one_of(binarize, "binarize", checks.BINARIZE)
        self.seed = checks.integer(seed, "seed", minimum=0)
        self.pad_to = None if pad_to is None else checks.integer(pad_to, "pad_to")
        index, count = process
        checks.integer(count, "process count")
        if not 0 <= index < count or (count > 1 and (self.pad_to or 1) % count):
            raise InvalidArgument(
                "process must be (index, count) with 0 <= index < count and "
                f"count dividing pad_to. Received: process={process!r}, "
                f"pad_to={pad_to!r}"
            )
        self.process = (int(index), int(count))
        self.shuffle = bool(shuffle)
        self.passes = checks.integer(passes, "passes")
        self.set_epoch(epoch)

    def set_epoch(self, epoch, skip=0):
        """Selects the (Keras) epoch's order; `skip` leaves out its first
        batches (to finish an epoch that was interrupted after `skip`
        steps)."""
        self.epoch = int(epoch)
        self.skip = int(skip)
        self.order = np.concatenate(
            [self._pass_order(self.epoch * self.passes + p) for p in range(self.passes)]
        )

    def _pass_order(self, epoch):
        """The rows of one pass over the data, as its batches take them."""
        if not self.shuffle:
            return np.arange(len(self.x))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x))

    @property
    def _per_pass(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __len__(self):
        return self.passes * self._per_pass - self.skip

    def __getitem__(self, index):
        one_pass, index = divmod(index + self.skip, self._per_pass)
        start = one_pass * len(self.x) + index * self.batch_size
        rows = self.order[
            start : min(start + self.batch_size, (one_pass + 1) * len(self.x))
        ]
        batch = self.x[rows]
        if self.binarize == "dynamic":
            draw = (self.epoch * self.passes + one_pass, index, 1)
            rng = np.random.default_rng([self.seed, *draw])
            batch = (rng.random(batch.shape, dtype=np.float32) < batch).astype(
                np.float32
            )
        labels = None if self.y is None else self.y[rows]
        if self.pad_to is None:
            return (batch,) if labels is None else ((batch, labels),)
        return self._pad(batch, labels)

    def _pad(self, batch, labels=None):
        """`(x, None, weight)`: this process's slice of the batch padded to a
        multiple of `pad_to` rows, the padding rows zero with weight 0 (`x`
        is `(x, y)` with labels)."""
        n = len(batch)
        padded = -(-n // self.pad_to) * self.pad_to
        weight = np.zeros(padded, np.float32)
        weight[:n] = 1.0

        def pad(array):
            if padded == n:
                return array
            return np.concatenate(
                [array, np.zeros((padded - n, *array.shape[1:]), array.dtype)]
            )

        index, count = self.process
        rows = slice(index * padded // count, (index + 1) * padded // count)
        inputs = pad(batch)[rows]
        if labels is not None:
            inputs = (inputs, pad(labels)[rows])
        return inputs, None, weight[rows]

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)
