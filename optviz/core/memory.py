"""Hand freed heap memory back to the operating system (glibc's ``malloc_trim``), where the C library is glibc.

Why: a new surface allocates tens of megabytes of short-lived arrays in the worker threads (the 400×400 picture
and its temporaries, the critical-point search's 14,400-row Newton batches). glibc raises its mmap threshold
after the first large ``free``, so later arrays of that size come from the heap, and once they are freed the heap
is left full of holes that the process keeps: ``benchmarks/soak.py`` measured about 20–27 MB of free-but-kept heap
per surface change (``mallinfo2``: in use +3 MB, free +36 MB over 500 recomputes) levelling off near +45 MB.
``malloc_trim(0)`` returns those free pages (2–7 ms with a 200 MB heap), so the playground calls :func:`trim`
once a burst of surface changes has settled.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on another C library (musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).malloc_trim  # the C library the process already has
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def can_trim() -> bool:
    """True where :func:`trim` can give memory back (Linux with glibc)."""
    return _malloc_trim() is not None


def trim() -> bool:
    """Give the heap's free pages back to the operating system; True if any were (False where unsupported)."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
