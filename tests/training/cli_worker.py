"""`vaekit ARGS` in a fresh process, for the tests that signal or kill a
training run, or run several processes of one (test_signals.py,
test_distribution.py).

With `VAEKIT_TEST_BATCH_DELAY=SECONDS` in the environment, every batch of
training and validation data takes that much longer to make, so that an
epoch of a tiny model lasts long enough for a signal sent from outside to
land inside it. Nothing else changes: the batches, and so the weights, are
those of `vaekit ARGS`.

Usage: python cli_worker.py train --data ... --output RUN
"""

import os
import sys
import time


def _slow_batches(delay):
    from vaekit.training.batches import TrainingBatches

    make = TrainingBatches.__getitem__

    def slow(self, index):
        time.sleep(delay)
        return make(self, index)

    TrainingBatches.__getitem__ = slow


def main(argv):
    delay = float(os.environ.get("VAEKIT_TEST_BATCH_DELAY", "0"))
    if delay > 0:
        _slow_batches(delay)
    from vaekit.cli.main import main as vaekit

    return vaekit(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
