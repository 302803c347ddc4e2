"""Progress lines of long library calls, on stderr.

A library call that takes a `progress(done, total)` callback (such as
`vaekit.evaluation.evaluate`) gets a `Progress`: it stays silent for work
that ends within `EVERY` seconds, and otherwise says, as soon as the rate
is known (from the second call on, over `EVERY / 5` seconds), how long the
whole will take at that rate, then where it stands at most every `EVERY`
seconds::

    vaekit: evaluating 1797 examples: about 41 days at this rate
    vaekit: evaluated 0.0012% of 1797 examples, about 41 days to go

Large work is not refused (an importance-weighted bound of k = 10^9 is a
legitimate, if slow, request): the user sees its cost at once and can stop
it with Ctrl-C.
"""

import sys
import time

__all__ = ["EVERY", "Progress", "duration_text"]

EVERY = 5.0  # seconds between progress lines


def duration_text(seconds):
    """`'42 s'`, `'12 min'`, `'3.5 h'`, `'41 days'`."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size or (unit == "min" and seconds >= 90):
            value = seconds / size
            return f"{value:.2g} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{max(seconds, 1):.0f} s"


def _share(done, total):
    """`'120/1797 examples'`, or a percentage while under one example."""
    if done >= 1 or done == 0:
        return f"{int(done)}/{total}"
    percent = 100 * done / total
    return f"{percent:.2g}% of {total}"


class Progress:
    """A `progress(done, total)` callback that prints to stderr.

    Args:
        doing: The work in progress, as in `"evaluating"`.
        did: The same, done: `"evaluated"`.
        what: What is counted: `"examples"`.
        every: Seconds between lines (default `EVERY`).
        clock: A monotonic clock (seconds), for tests.
        file: Where lines go (default: `sys.stderr` at call time).
    """

    def __init__(
        self, doing, did, what="examples", every=None, clock=time.monotonic, file=None
    ):
        self.doing, self.did, self.what = doing, did, what
        self.every = EVERY if every is None else every
        self.clock = clock
        self.file = file
        self.first = None  # (time, done) of the first call
        self.shown = None  # time of the last line

    def _print(self, text):
        print(f"vaekit: {text}", file=self.file or sys.stderr, flush=True)

    def __call__(self, done, total):
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
            return
        start, done0 = self.first
        if done >= total or done <= done0 or now <= start:
            return
        rate = (done - done0) / (now - start)
        left = (total - done) / rate
        if self.shown is None:
            # The rate over a fifth of `every` at least (the first passes
            # may include compiling): is the whole longer than `every`?
            if now - start >= self.every / 5 and left >= self.every:
                whole = duration_text((total - done0) / rate)
                self._print(
                    f"{self.doing} {total} {self.what}: about {whole} at this rate"
                )
                self.shown = now
        elif now - self.shown >= self.every:
            self._print(
                f"{self.did} {_share(done, total)} {self.what}, about "
                f"{duration_text(left)} to go"
            )
            self.shown = now
