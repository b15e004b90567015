"""The fast engine's state per surface, its builds in the background, and one batched run on it.

The fast engine is a compiled C kernel per surface (:mod:`optviz.core.kernel`); hyperparameters, start points,
the number of starts and steps and the surface's parameters are its arguments, so only a new surface function
builds again. A surface's engine is in one of these states (:func:`state`)::

    idle                 nothing asked for yet
    compiling            a build runs in a background thread
    ready                the kernel is loaded
    unavailable: REASON  it cannot exist here (no C compiler, a surface it cannot translate, disabled)

``simulate(engine="auto")`` uses the fast engine when the surface's state is ``ready``. A kernel kept on disk by
an earlier launch is loaded at the first call (no compiler runs); otherwise the second eager call starts a build
in the background, so a one-shot command never pays for one. ``OPTVIZ_ENGINE`` (auto, eager, fast) sets the
default engine; ``OPTVIZ_ENGINE=eager`` turns the fast engine off.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, TypeVar

import numpy as np
import torch

from optviz.core import kernel, rules

ENGINES = ("auto", "eager", "fast")
T = TypeVar("T")
PARALLEL_ROWS = 512  # from this many rows a run is split over threads (ctypes releases the GIL)


def default_engine() -> str:
    """``$OPTVIZ_ENGINE`` if it names an engine, else "auto"."""
    value = os.environ.get("OPTVIZ_ENGINE", "auto").strip().lower()
    return value if value in ENGINES else "auto"


@dataclass
class _Entry:
    state: str = "idle"
    library: kernel.Library | None = None
    thread: threading.Thread | None = None
    eager_calls: int = 0
    looked_on_disk: bool = False
    seconds: float = 0.0  # how long the build took
    done: threading.Event = field(default_factory=threading.Event)


_lock = threading.Lock()
_entries: dict[tuple, _Entry] = {}  # least recently used first
# Surfaces whose state is kept: the 13 built-in surfaces, their L1/L2 twins and the wells editor's 12 sizes fit;
# typed formulas come and go. An evicted entry's library is unloaded once no run holds it (kernel.Library), and
# the next use loads it again from the disk cache (milliseconds, no compiler). Builds in progress are kept.
MAX_ENTRIES = 64


def _key(surface) -> tuple:
    return surface.fn, tuple(surface.param_values())


def _entry(surface) -> _Entry:
    key = _key(surface)
    with _lock:
        entry = _entries.pop(key, None) or _Entry()
        _entries[key] = entry  # now the most recently used
        if len(_entries) > MAX_ENTRIES:
            _evict()
        return entry


def _evict() -> None:
    """Drop the least recently used entries beyond MAX_ENTRIES, never one that is compiling (holding _lock)."""
    for key in [k for k, e in _entries.items() if e.state != "compiling"][:len(_entries) - MAX_ENTRIES]:
        del _entries[key]


def entries() -> int:
    """How many surfaces' engine states are kept (at most MAX_ENTRIES, plus builds in progress)."""
    with _lock:
        return len(_entries)


def _disabled() -> str:
    return "unavailable: turned off by OPTVIZ_ENGINE=eager" if default_engine() == "eager" else ""


def state(surface) -> str:
    """'idle', 'compiling', 'ready' or 'unavailable: <reason>' for the surface's fast engine."""
    return _disabled() or _entry(surface).state


def status(surface=None) -> str:
    """One line for a status bar: "fast engine " + the surface's state, or without a surface the states of all
    surfaces asked for so far, worst first."""
    off = _disabled()
    if off:
        return f"fast engine {off}"
    if surface is not None:
        return f"fast engine {state(surface)}"
    with _lock:
        states = [e.state for e in _entries.values()]
    for word in ("compiling", "unavailable"):
        found = [s for s in states if s.startswith(word)]
        if found:
            return f"fast engine {found[0]}"
    return "fast engine ready" if states else "fast engine idle"


def _build(surface, entry: _Entry) -> None:
    t0 = time.perf_counter()
    try:
        library = kernel.load_cached(surface) or kernel.build(surface)
        result = "ready"
    except kernel.BuildError as exc:
        library, result = None, f"unavailable: {exc}"
    except Exception as exc:  # anything else from tracing or loading: the eager engine still works
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        library, result = None, f"unavailable: {text[:200]}"
    with _lock:
        entry.library, entry.state, entry.seconds = library, result, time.perf_counter() - t0
    entry.done.set()


def prepare(surface, *, background: bool = True) -> str:
    """Start building the surface's fast engine unless it is built or building; returns its state."""
    off = _disabled()
    if off:
        return off
    entry = _entry(surface)
    with _lock:
        if entry.state != "idle":
            return entry.state
        entry.state = "compiling"
        if background:
            entry.thread = threading.Thread(target=_build, args=(surface, entry), name="optviz-engine-build",
                                            daemon=True)
            entry.thread.start()
    if not background:
        _build(surface, entry)
    return entry.state


def try_cached(surface) -> bool:
    """Load the surface's kernel from disk if an earlier launch kept it (no tracing, no compiler); ready?"""
    if _disabled():
        return False
    entry = _entry(surface)
    with _lock:
        if entry.state != "idle" or entry.looked_on_disk:
            return entry.state == "ready"
        entry.looked_on_disk = True
    library = kernel.load_cached(surface)
    if library is None:
        return False
    with _lock:
        if entry.state == "idle":
            entry.library, entry.state = library, "ready"
            entry.done.set()
        return entry.state == "ready"


def note_eager_call(surface) -> None:
    """The auto engine ran eagerly: from the second such call on, build in the background."""
    entry = _entry(surface)
    with _lock:
        entry.eager_calls += 1
        start = entry.eager_calls >= 2 and entry.state == "idle"
    if start:
        prepare(surface)


def library(surface, timeout: float | None = None) -> kernel.Library:
    """The surface's loaded kernel, building it here or waiting for the background build; BuildError if it
    cannot exist or did not finish within ``timeout`` seconds."""
    off = _disabled()
    if off:
        raise kernel.BuildError(off.removeprefix("unavailable: "))
    entry = _entry(surface)
    if entry.state == "idle":
        prepare(surface, background=False)
    if not entry.done.wait(timeout):
        raise kernel.BuildError(f"still compiling after {timeout} s")
    if entry.library is None:
        raise kernel.BuildError(entry.state.removeprefix("unavailable: "))
    return entry.library


def ready_library(surface) -> kernel.Library | None:
    """The kernel if the surface's state is 'ready' now, else None (never waits)."""
    if _disabled():
        return None
    entry = _entry(surface)
    return entry.library if entry.state == "ready" else None


def wait_idle(timeout: float | None = None) -> bool:
    """Wait for every background build; True if none is left running."""
    with _lock:
        threads = [e.thread for e in _entries.values() if e.thread is not None]
    deadline = None if timeout is None else time.monotonic() + timeout
    for t in threads:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def reset() -> None:
    """Forget every surface's state (tests; a new cache folder). Waits for running builds first."""
    wait_idle()
    with _lock:
        _entries.clear()
        _picks.clear()


atexit.register(wait_idle, 10.0)  # a build cut off at exit would leave its compiler's temporary files


# ---- 'auto' device: measured, once per size ----------------------------------------------------------------

_picks: dict[tuple, str] = {}


def bucket(n: int) -> int:
    """The power of two at or above ``n`` (sizes that share a bucket share a measured device)."""
    return 1 << max(0, int(n) - 1).bit_length()


def pick(key: tuple, candidates: dict[str, Callable[[], T]], probes: dict[str, Callable[[], object]] | None = None
         ) -> tuple[str, T]:
    """(name, result) of the fastest candidate for ``key``. The first time, every candidate is timed (its probe
    where ``probes`` gives one, else the whole work, whose fastest result is returned); later calls run the one
    that won."""
    with _lock:
        name = _picks.get(key)
    if name is None:
        times, results = {}, {}
        for candidate, work in (probes or candidates).items():
            t0 = time.perf_counter()
            results[candidate] = work()
            times[candidate] = time.perf_counter() - t0
        name = min(times, key=times.get)
        with _lock:
            _picks[key] = name
        if probes is None:
            return name, results[name]
    return name, candidates[name]()


def picked() -> dict[tuple, str]:
    """The devices chosen so far, by key (for a status line or a benchmark)."""
    with _lock:
        return dict(_picks)


# ---- one batched run ---------------------------------------------------------------------------------------

@dataclass
class Run:
    """The result of :func:`run`; arrays are numpy, rows in the order given."""

    positions: np.ndarray | None  # (R, n_evals, 2) at every evaluation (with record=True)
    losses: np.ndarray | None  # (R, n_evals)
    grad_norms: np.ndarray | None  # (R, n_evals)
    position: np.ndarray  # (R, 2) after the last step
    last: np.ndarray  # (R, 2): loss and gradient norm at the last evaluation
    converged: np.ndarray  # (R,) step from which the gradient norm stays below tol, or -1
    diverged: np.ndarray  # (R,) first non-finite or far-out step, or -1
    internals: np.ndarray | None = None  # (I, n_evals − 1, 10): gradient used, then the 4 state slots × 2


def run(lib: kernel.Library, surface, table: np.ndarray, groups: np.ndarray, starts: np.ndarray, n_evals: int,
        *, record: bool, tol: float, box: tuple[float, float, float, float], threads: int | None = None,
        progress=None, noise: np.ndarray | None = None, lrs: np.ndarray | None = None,
        internals: np.ndarray | None = None) -> Run:
    """Run rows (``groups[r]``: the row of ``table`` with its optimizer, ``starts[r]``: its start) for
    ``n_evals`` evaluations (``n_evals - 1`` steps). ``progress(done_rows, rows)`` is called as parts finish.

    Optional: ``noise`` (R, n_evals − 1, 2) added to the gradient each step uses; ``lrs`` (G, n_evals − 1), the
    learning rate of every step per table row; ``internals`` (R,) bool: rows whose gradients used and states after
    every step are returned in ``Run.internals`` (rows in order, (I, n_evals − 1, 10))."""
    rows = len(starts)
    table = np.ascontiguousarray(table, dtype=np.float64)
    groups = np.ascontiguousarray(groups, dtype=np.int32)
    pos = np.array(starts, dtype=np.float64, order="C").reshape(rows, 2)
    steps = max(0, n_evals - 1)
    if noise is not None:
        noise = np.ascontiguousarray(noise, dtype=np.float64).reshape(rows, steps, 2)
    if lrs is not None:
        lrs = np.ascontiguousarray(lrs, dtype=np.float64).reshape(len(table), steps)
    state = np.ascontiguousarray(rules.initial_state(table, groups, None if lrs is None or not steps else lrs[:, 0]))
    irow = irec = None
    if internals is not None and np.any(internals):
        picked = np.asarray(internals, dtype=bool)
        irow = np.where(picked, np.cumsum(picked) - 1, -1).astype(np.int64)
        irec = np.zeros((int(picked.sum()), steps, 10))
    sp = np.array(list(surface.param_values().values()) or [0.0], dtype=np.float64)
    sp = np.concatenate([sp, np.zeros(max(0, _slots(surface) - len(sp)))])
    rec = np.empty(4 * rows * n_evals) if record else None
    conv, div = np.empty(rows, np.int64), np.empty(rows, np.int64)
    last = np.empty((rows, 2))
    box_arr = np.array(box, dtype=np.float64)

    def part(r0: int, r1: int) -> int:
        lib.run(r0, r1, n_evals, groups, table, sp, pos, state, rec, tol, box_arr, conv, div, last, noise=noise,
                lrs=lrs, irow=irow, irec=irec)
        return r1 - r0

    n_threads = threads or torch.get_num_threads()
    if rows < PARALLEL_ROWS:
        parts = [(0, rows)]
    else:  # enough parts for a progress bar (whose callback may cancel) and to balance the threads
        size = max(kernel.BLOCK, -(-rows // (8 * max(2, n_threads))))
        parts = [(r, min(rows, r + size)) for r in range(0, rows, size)]
    done = 0
    if len(parts) == 1 or n_threads <= 1:
        for r0, r1 in parts:
            done += part(r0, r1)
            if progress:
                progress(done, rows)
    else:
        with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="optviz-engine") as pool:
            futures = [pool.submit(part, r0, r1) for r0, r1 in parts]
            try:
                for future in futures:
                    done += future.result()
                    if progress:
                        progress(done, rows)
            except BaseException:  # a cancel raised by progress: the parts not started never start
                for future in futures:
                    future.cancel()
                raise
    if rec is None:
        return Run(None, None, None, pos, last, conv, div, irec)
    size = rows * n_evals
    return Run(rec[:2 * size].reshape(rows, n_evals, 2), rec[2 * size:3 * size].reshape(rows, n_evals),
               rec[3 * size:].reshape(rows, n_evals), pos, last, conv, div, irec)


def _slots(surface) -> int:
    from optviz.core.codegen import param_slots

    return param_slots(surface)
