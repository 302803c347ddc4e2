"""vaekit.cli.progress: what a long library call prints, on a clock the test
drives: nothing for short work, an estimate of the whole as soon as the
rate is known, then a line at most every `every` seconds."""

import io

import pytest

from vaekit.cli.progress import Progress, duration_text


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _progress(every=5.0):
    clock, out = Clock(), io.StringIO()
    progress = Progress("evaluating", "evaluated", every=every, clock=clock, file=out)
    return progress, clock, out


def _lines(out):
    return out.getvalue().splitlines()


def test_short_work_prints_nothing():
    progress, clock, out = _progress()
    for done in range(1, 101):
        clock.now += 0.01  # 1 s in all
        progress(done, 100)
    assert out.getvalue() == ""


def test_long_work_says_how_long_then_where_it_stands():
    """The issue's `--iw-samples 1000000000`: an example takes 244,141
    passes of 4096 samples, 2 ms each (8 min an example, 10 days for
    1797); the first pass, compiling, takes 30 s."""
    progress, clock, out = _progress()
    clock.now += 30
    progress(1 / 244141, 1797)
    for i in range(2, 10001):  # 20 s more
        clock.now = 130 + 0.002 * i
        progress(i / 244141, 1797)
    lines = _lines(out)
    assert lines[0] == "vaekit: evaluating 1797 examples: about 10 days at this rate"
    assert len(lines) == 4  # the estimate after 1 s, then at 6, 11 and 16 s
    # at 6 s: 3000 passes, 0.0123 of an example
    assert lines[1] == (
        "vaekit: evaluated 0.00068% of 1797 examples, about 10 days to go"
    )


def test_lines_count_whole_examples_once_there_are_some():
    """10 examples every 0.25 s, 1000 in all: the estimate once the rate is
    measured over 0.4 s, then a line every 2 s, none at the end."""
    progress, clock, out = _progress(every=2.0)
    for k in range(1, 102):
        clock.now = 100 + 0.25 * k
        progress(10 * (k - 1), 1000)
    lines = _lines(out)
    assert lines[0] == "vaekit: evaluating 1000 examples: about 25 s at this rate"
    assert lines[1] == "vaekit: evaluated 100/1000 examples, about 22 s to go"
    assert lines[-1] == "vaekit: evaluated 980/1000 examples, about 1 s to go"
    assert len(lines) == 13


@pytest.mark.parametrize(
    "seconds, text",
    [(0.2, "1 s"), (42, "42 s"), (100, "1.7 min"), (720, "12 min"), (12600, "3.5 h")]
    + [(3.5e6, "41 days"), (86400 * 3, "3 days")],
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text
