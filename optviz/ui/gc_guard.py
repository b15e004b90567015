"""Python's cyclic garbage collector runs on the GUI thread only.

Left automatic, a collection can start in whichever thread allocates: a worker computing critical points collected
widgets of a closed view there, and Qt's destructor then waited for the interpreter lock that the GUI thread was
waiting to get back: the app hung (seen in the test suite). pyqtgraph's GarbageCollector turns automatic collection
off and collects on a timer of the GUI thread instead, with the same generation thresholds.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: list[GarbageCollector] = []


def install(interval_s: float = 1.0) -> None:
    """Collect on the GUI thread from now on (once per process; needs a QApplication)."""
    if not _collector:
        _collector.append(GarbageCollector(interval=interval_s))
