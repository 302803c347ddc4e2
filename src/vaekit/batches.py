"""The training batches: reshuffled every epoch, freshly binarized, and the
same for a resumed run as for an uninterrupted one."""

import math

import keras
import numpy as np

from vaekit import checks

__all__ = ["TrainingBatches"]


class TrainingBatches(keras.utils.PyDataset):
    """Batches for `VAE.fit`: reshuffled every epoch and, with dynamic
    binarization, a fresh Bernoulli draw of every value each time an example
    is seen (the protocol of Burda et al. 2015).

    Each epoch's order and draws depend only on `(seed, epoch)`, so a run
    resumed at epoch k sees the same batches as an uninterrupted one. Keras'
    own `shuffle` would draw from Python's global RNG instead: fit with
    `shuffle=False`. A `batch_size` larger than the data gives one batch of
    all of it per epoch.

    Args:
        x: The training examples, `(n, ...)`.
        batch_size: Examples per batch (the last batch may be smaller).
        binarize: `"dynamic"`: a fresh draw per batch; `"none"` or
            `"static"` (the data were binarized once beforehand, see
            `vaekit.data.binarize`): the batches are the data as given.
        seed: Seed of the order and of the draws.
        epoch: The first epoch.

    Raises:
        ValueError: if an argument is invalid.
    """

    def __init__(self, x, batch_size, binarize="none", seed=0, epoch=0):
        # One worker, no processes: batches are made in order, in this thread.
        super().__init__(workers=1, use_multiprocessing=False)
        self.x = x
        self.batch_size = checks.integer(batch_size, "batch_size")
        self.binarize = checks.one_of(binarize, "binarize", checks.BINARIZE)
        self.seed = checks.integer(seed, "seed", minimum=0)
        self.set_epoch(epoch)

    def set_epoch(self, epoch, skip=0):
        """Selects the epoch's order; `skip` leaves out its first batches
        (to finish an epoch that was interrupted after `skip` steps)."""
        self.epoch = int(epoch)
        self.skip = int(skip)
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(
            len(self.x)
        )

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size) - self.skip

    def __getitem__(self, index):
        index += self.skip
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.x[rows]
        if self.binarize == "dynamic":
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            batch = (rng.random(batch.shape, dtype=np.float32) < batch).astype(
                np.float32
            )
        return (batch,)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)
