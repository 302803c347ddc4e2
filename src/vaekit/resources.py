"""How much memory and disk this machine has, and a check that a request
fits, made before anything is allocated or written.

vaekit estimates the memory of what it is asked for from the arguments
alone (a model from its layer sizes, samples and grids from their count
and the data's shape, a data file from its header) and refuses what cannot
fit with one line that says how much it would need. The bound is the
machine's physical memory, lowered by a cgroup limit (a container) or an
address-space limit (`ulimit -v`) where one is set: what cannot fit even in
an otherwise empty machine is refused; what fits but not beside other
programs is left to the operating system.
"""

import math
import os
import shutil

from vaekit.errors import InvalidArgument

__all__ = [
    "FLOAT_BYTES",
    "check_disk",
    "check_fits",
    "count_text",
    "free_disk",
    "memory_limit",
    "size_text",
]

FLOAT_BYTES = 4  # float32, what vaekit computes in

_CGROUP_LIMITS = (
    "/sys/fs/cgroup/memory.max",  # cgroup v2
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",  # cgroup v1
)


def _physical_memory():
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return pages * page if pages > 0 and page > 0 else None


def _cgroup_limit():
    for file in _CGROUP_LIMITS:
        try:
            with open(file) as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


def _rlimit():
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def memory_limit():
    """The most memory a process of vaekit can hold here, in bytes: the
    physical memory, lowered by a cgroup limit or an address-space limit
    (`ulimit -v`) where one is set; None where none can be read."""
    limits = [v for v in (_physical_memory(), _cgroup_limit(), _rlimit()) if v]
    return min(limits) if limits else None


def size_text(nbytes):
    """`nbytes` as a short decimal size: `'314 GB'`, `'7.84 MB'`."""
    nbytes = float(nbytes)
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            break
        nbytes /= 1000
    if unit == "bytes":
        return f"{nbytes:.0f} bytes"
    return f"{nbytes:.3g} {unit}"


def count_text(count):
    """A count as a short number: `'78.4 G'`, `'1.2 M'`, `'512'`."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return str(int(count))


def check_fits(nbytes, what, hint="", error=InvalidArgument, limit=None):
    """Refuses a request of `nbytes` bytes of memory that cannot fit here.

    Args:
        nbytes: The bytes the request would hold at once (an int or a
            float; `math.inf` for a size that overflows).
        what: What would need them, for the message: `"2000000000 samples
            of shape (28, 28, 1)"`.
        hint: What to do instead (`"draw fewer"`), or empty.
        error: The `VaekitError` class to raise (`DataError` for a file).
        limit: The bound in bytes (default: `memory_limit()`).

    Raises:
        error: `"<what> would need <size> of memory; this machine has
            <size>[: <hint>]"`, if `nbytes` is over the bound.
    """
    limit = memory_limit() if limit is None else limit
    if limit is None or nbytes <= limit:
        return
    size = "more than 1e18 bytes" if not math.isfinite(nbytes) else size_text(nbytes)
    message = f"{what} would need {size} of memory; this machine has {size_text(limit)}"
    raise error(message + (f": {hint}" if hint else ""))


def free_disk(folder):
    """Free bytes on the file system of `folder`, or None if unknown."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def check_disk(nbytes, folder, what, hint="", error=InvalidArgument):
    """Refuses to write `nbytes` bytes into `folder` when its file system
    has less free space.

    Raises:
        error: `"<what> would write <size> into <folder>, which has <size>
            free[: <hint>]"`.
    """
    free = free_disk(folder)
    if free is None or nbytes <= free:
        return
    message = (
        f"{what} would write {size_text(nbytes)} into {os.fspath(folder)!r}, which "
        f"has {size_text(free)} free"
    )
    raise error(message + (f": {hint}" if hint else ""))
