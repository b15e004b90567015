"""The fast engine's compiled code: one C library per surface function that runs every row for every step.

:func:`build` writes the C source (:mod:`optviz.core.kernel_source`), compiles it with the system's C compiler
into a shared library (a second or two) and loads it with ctypes. Libraries are kept in the cache folder
(``$OPTVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/optviz`` or ``~/.cache/optviz``) under the hash of their source,
with an index from the surface's module file so that a later launch loads them without tracing (milliseconds).
Nothing here is specific to a number of rows or steps, hyperparameter values or surface parameters.

The flags keep IEEE arithmetic (no contraction into fused multiply-adds, no reassociation); the source writes
fma() exactly where ATen's kernels fuse, and :func:`math_table` points sqrt, exp, cos, … at the MKL functions
that torch itself calls where this torch has them. On this machine's torch the kernel then equals the eager
engine to the last bit. ctypes releases the GIL during a call, so threads can share the rows of a large batch.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from optviz.core import codegen, loops
from optviz.core.kernel_source import BLOCK, STAGGER, TEMPLATE, BuildError, source
from optviz.core.files import cache_root, write_atomic

VERSION = 3  # bump when the template or the flags change: old libraries are then not loaded
FLAGS = ("-O3", "-std=gnu99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math")


@functools.lru_cache(maxsize=1)
def flags() -> tuple[str, ...]:
    """FLAGS, plus AVX2 and FMA instructions where this processor has them (fma() inline, wider loops; the
    results are the same: no contraction is allowed either way)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return FLAGS
    words = set(info.split())
    return FLAGS + (("-mavx2", "-mfma") if {"avx2", "fma"} <= words else ())
COMPILES = [0]  # C compiler runs in this process (the tests count them)



# ATen calls MKL's vector math as vm?Name(n, in, out, VML_HA | VML_FTZDAZ_OFF | VML_ERRMODE_IGNORE).
VML_MODE = 0x2 | 0x140000 | 0x100
VML_NAMES = {"sqrt": "vmdSqrt", "exp": "vmdExp", "log": "vmdLn", "cos": "vmdCos", "sin": "vmdSin", "tan": "vmdTan",
             "tanh": "vmdTanh", "atan": "vmdAtan"}
_VML_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


@functools.lru_cache(maxsize=1)
def math_table() -> tuple[int | None, ...]:
    """For each function of ``loops.MATH``: the address of the MKL function that torch computes it with here
    (found in libtorch_cpu and checked on sample values), or None where torch does not (libm is used)."""
    try:
        lib = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
    except OSError:
        return (None,) * len(loops.MATH)
    rng = np.random.default_rng(0)
    sample = np.concatenate([rng.uniform(-40, 40, 2048), rng.uniform(0, 2, 1024), 10.0 ** rng.uniform(-8, 8, 1024)])
    out: list[int | None] = []
    for name in loops.MATH:
        address = ctypes.cast(getattr(lib, VML_NAMES[name], None) or 0, ctypes.c_void_p).value
        if not address:
            out.append(None)
            continue
        x = np.ascontiguousarray(np.abs(sample) if name in ("sqrt", "log") else sample)
        mkl = np.empty_like(x)
        _VML_TYPE(address)(len(x), x.ctypes.data, mkl.ctypes.data, VML_MODE)
        expected = getattr(torch, name)(torch.from_numpy(x)).numpy()
        out.append(address if np.array_equal(mkl, expected, equal_nan=True) else None)
    return tuple(out)


def compiler() -> str:
    """The C compiler to use ($CC, else cc, gcc or clang on the PATH), or BuildError."""
    if os.name != "posix":
        raise BuildError("the fast engine builds with a Unix C compiler (not on this system)")
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name) or name
    raise BuildError("no C compiler (install gcc or clang, or set CC)")


def cache_dir() -> Path:
    return cache_root() / "engine"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def quick_key(surface) -> str | None:
    """A key from the surface's module file and function name, to find its library without tracing; None for
    functions whose code is not all in one module file (closures, lambdas)."""
    fn = surface.fn
    canonical = getattr(fn, "canonical", None)  # a typed formula: its kernel is kept under its canonical text
    if isinstance(canonical, str):
        return _digest("formula", canonical, ",".join(surface.param_values()), _code_digest(), torch.__version__,
                       sys.platform)
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if path is None or getattr(fn, "__closure__", None) or "<" in getattr(fn, "__qualname__", "<"):
        return None
    try:
        text = Path(path).read_bytes()
    except OSError:
        return None
    return _digest(hashlib.sha256(text).hexdigest(), fn.__qualname__, ",".join(surface.param_values()),
                   _code_digest(), torch.__version__, sys.platform)


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """What the generated C depends on besides the surface: the template, the translator, the flags."""
    texts = [Path(m.__file__).read_text() for m in (codegen, loops)]
    return _digest(TEMPLATE, *texts, " ".join(flags()), str(VERSION), str(BLOCK), str(STAGGER))


@dataclass
class Library:
    """A loaded kernel: call :meth:`run`."""

    path: Path
    _fn: ctypes._CFuncPtr

    def run(self, r0: int, r1: int, n_evals: int, groups: np.ndarray, table: np.ndarray, sp: np.ndarray,
            pos: np.ndarray, state: np.ndarray, rec: np.ndarray | None, tol: float, box: np.ndarray,
            conv: np.ndarray, div: np.ndarray, last: np.ndarray, t0: float = 0.0, noise: np.ndarray | None = None,
            lrs: np.ndarray | None = None, irow: np.ndarray | None = None, irec: np.ndarray | None = None) -> None:
        """Rows [r0, r1) in place; arrays C-contiguous: groups int32 (R,), table (G, len(COLUMNS)), sp (P,),
        pos (R, 2), state (4, R, 2), rec (4·R·n_evals,) or None (positions (R, n_evals, 2), then losses and
        gradient norms (R, n_evals)), box (4,), conv/div int64 (R,), last (R, 2). Optional: noise (R, n_evals − 1,
        2) added to the gradients the steps use; lrs (G, n_evals − 1) the learning rate of each step; irow int64
        (R,) (−1: none) and irec (I, n_evals − 1, 10) the internals record (gradient used, then the state)."""
        ptr = lambda a: None if a is None else a.ctypes.data  # noqa: E731
        self._fn(r0, r1, len(pos), n_evals, float(t0), ptr(groups), ptr(table), ptr(sp), ptr(pos), ptr(state),
                 ptr(rec), float(tol), ptr(box), ptr(conv), ptr(div), ptr(last), ptr(noise), ptr(lrs), ptr(irow),
                 ptr(irec))


def _load(path: Path) -> Library:
    # Loaded for good (ctypes never unloads): loading the same file again, after an engine entry was evicted
    # (engine.MAX_ENTRIES), gets the same mapping back from the dynamic loader, so nothing grows.
    lib = ctypes.CDLL(str(path))
    fn = lib.optviz_run
    i64, f64, vp = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
    fn.argtypes = [i64, i64, i64, i64, f64, vp, vp, vp, vp, vp, vp, f64, vp, vp, vp, vp, vp, vp, vp, vp]
    fn.restype = None
    set_math = lib.optviz_set_math
    set_math.argtypes = [ctypes.c_int, vp, i64]
    set_math.restype = None
    for index, pointer in enumerate(math_table()):
        set_math(index, pointer, VML_MODE)
    return Library(path, fn)


def load_cached(surface) -> Library | None:
    """The surface's library from an earlier launch, found by :func:`quick_key` (no tracing), or None."""
    key = quick_key(surface)
    if key is None:
        return None
    try:
        entry = json.loads((cache_dir() / f"{key}.json").read_text())
        path = cache_dir() / f"{entry['library']}.so"
        return _load(path) if path.is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build(surface) -> Library:
    """Trace, write, compile (unless the cache has it) and load the surface's kernel; BuildError if it cannot."""
    cc = compiler()
    text = source(surface)
    digest = _digest(text, " ".join(flags()), cc, str(VERSION))
    folder = cache_dir()
    target = folder / f"{digest}.so"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="optviz-engine-"))  # nowhere to keep it: this launch only
        target = folder / f"{digest}.so"
    if not target.is_file():
        _compile(cc, text, target)
    key = quick_key(surface)
    if key is not None:
        try:
            write_atomic(folder / f"{key}.json", json.dumps({"library": digest, "surface": surface.name}))
        except Exception:  # an index that cannot be written only costs a trace at the next launch
            pass
    try:
        return _load(target)
    except OSError as exc:
        raise BuildError(f"cannot load the compiled kernel: {exc}") from None


def _compile(cc: str, text: str, target: Path) -> None:
    COMPILES[0] += 1
    with tempfile.TemporaryDirectory(prefix="optviz-cc-") as tmp:
        src, out = Path(tmp) / "kernel.c", Path(tmp) / "kernel.so"
        src.write_text(text)
        try:
            proc = subprocess.run([cc, *flags(), "-o", str(out), str(src), "-lm"], capture_output=True, text=True,
                                  timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BuildError(f"the C compiler failed: {exc}") from None
        if proc.returncode != 0 or not out.is_file():
            first = (proc.stderr.strip().splitlines() or ["no output"])[0]
            raise BuildError(f"the C compiler failed: {first[:200]}")
        try:
            write_atomic(target, out.read_bytes())
        except Exception as exc:
            raise BuildError(f"cannot keep the compiled kernel: {exc}") from None
