"""Unpickling that cannot run code or run away with memory, for files that hold containers and numpy arrays.

:func:`load_plain` first scans the pickle opcode by opcode (``pickletools.genops``, which only parses): the opcode
count is capped, every declared length must lie inside the data, and memo indices may not exceed the opcode count
(CPython's unpickler sizes its memo table by the largest index and its byte buffers by the declared length, before
reading). Only then does it unpickle, resolving the few global names numpy and Python 2 write for arrays, dtypes,
scalars and byte strings to checked stand-ins: nothing is imported, and no other class or function named in the file
is ever called. The stand-ins build numpy arrays and scalars of plain numeric dtypes only (bool, int, uint, float:
no object, string, void or subarray dtypes), check each array's shape against its bytes before numpy sees them, and
together build at most ``max_bytes``, so one large string reused by many small opcodes cannot multiply.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import warnings

import numpy as np

__all__ = ["PickleRefused", "load_plain"]

_PLAIN_DTYPES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"}
_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_MAX_DIMS = 32


class PickleRefused(ValueError):
    """A pickle that is malformed, too large, or asks for something other than plain data."""


class _NotCallable:
    """What the pickle's "numpy.ndarray" resolves to: only _reconstruct accepts it; calling it is refused."""

    def __call__(self, *args: object) -> None:
        raise pickle.UnpicklingError("refusing to call numpy.ndarray")


_NDARRAY = _NotCallable()


def _dtype(spec: object, *_: object) -> np.dtype:
    """numpy.dtype as numpy pickles it, for plain numeric types only; always a fresh copy (BUILD may alter it)."""
    if isinstance(spec, bytes):
        spec = spec.decode("latin-1")
    if not isinstance(spec, str) or spec.lstrip("<>|=") not in _PLAIN_DTYPES:
        raise pickle.UnpicklingError(f"refusing dtype {repr(spec)[:40]}")
    return np.dtype(spec, False, True)


def _check_array(shape: object, dtype: object, raw: object) -> int:
    """The byte size of an array about to be built from ``raw``, after checking all three; else UnpicklingError."""
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf" and dtype.fields is None and dtype.subdtype is None
            and not dtype.hasobject and 0 < dtype.itemsize <= 8):
        raise pickle.UnpicklingError(f"refusing array dtype {str(dtype)[:60]}")
    if not (isinstance(shape, tuple) and len(shape) <= _MAX_DIMS and all(type(s) is int and s >= 0 for s in shape)):
        raise pickle.UnpicklingError("malformed array shape")
    size = math.prod(shape) * dtype.itemsize
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != size:
        raise pickle.UnpicklingError(f"array data does not match shape {str(shape)[:60]}")
    return size


class _Budget:
    """The bytes the stand-ins may still build for one pickle."""

    def __init__(self, left: int) -> None:
        self.limit = self.left = left

    def charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise pickle.UnpicklingError(f"arrays and strings of more than {self.limit:,} bytes")


class _CheckedArray(np.ndarray):
    """numpy's array reconstruction with the state checked before numpy sees it."""

    budget: _Budget

    def __setstate__(self, state: object) -> None:
        if not (isinstance(state, tuple) and len(state) in (4, 5)):
            raise pickle.UnpicklingError("malformed array state")
        shape, dtype, _, raw = state[-4:]
        self.budget.charge(_check_array(shape, dtype, raw))
        super().__setstate__(state)


class _Unpickler(pickle.Unpickler):
    """Resolves the names an array pickle uses to checked stand-ins; imports nothing and calls nothing else."""

    def __init__(self, data: bytes, max_bytes: int) -> None:
        super().__init__(io.BytesIO(data), encoding="bytes")  # Python 2 str → bytes, as the CIFAR files need
        self.budget = _Budget(max_bytes)
        self.names = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _dtype,
                      ("_codecs", "encode"): self._encode,
                      ("__builtin__", "bytes"): self._empty_bytes, ("builtins", "bytes"): self._empty_bytes}
        for core in ("numpy.core", "numpy._core"):
            self.names[(f"{core}.multiarray", "_reconstruct")] = self._reconstruct
            self.names[(f"{core}.multiarray", "scalar")] = self._scalar
            self.names[(f"{core}.numeric", "_frombuffer")] = self._frombuffer

    def find_class(self, module: str, name: str) -> object:
        found = self.names.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refusing to load {module[:60]}.{name[:60]}")
        return found

    def _reconstruct(self, cls: object, shape: object, typecode: object) -> np.ndarray:
        if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
            raise pickle.UnpicklingError("unexpected array reconstruction")
        array = np.ndarray.__new__(_CheckedArray, (0,), np.int8)
        array.budget = self.budget
        return array

    def _frombuffer(self, buf: object, dtype: object, shape: object, order: object) -> np.ndarray:
        self.budget.charge(_check_array(shape, dtype, buf))
        if order not in ("C", "F"):
            raise pickle.UnpicklingError("malformed array order")
        return np.frombuffer(buf, dtype).reshape(shape, order=order)

    def _scalar(self, dtype: object, raw: object) -> np.generic:
        _check_array((), dtype, raw)
        return np.frombuffer(raw, dtype)[0]

    def _encode(self, text: object, encoding: object = "utf-8") -> bytes:
        """_codecs.encode(text, "latin1"): how protocols 0–2 write bytes; other codecs could inflate."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise pickle.UnpicklingError("unexpected _codecs.encode")
        self.budget.charge(len(text))
        return text.encode("latin-1")

    @staticmethod
    def _empty_bytes(*args: object) -> bytes:
        """bytes(): how protocols 0–2 write b""; bytes(n) would make n zero bytes."""
        if args:
            raise pickle.UnpicklingError("unexpected bytes(…)")
        return b""


def _scan(data: bytes, max_ops: int) -> None:
    problem = None
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(data)):
            if count >= max_ops:
                problem = f"more than {max_ops:,} pickle opcodes"
            elif op.name in _MEMO_PUTS and not 0 <= arg <= count:
                problem = f"pickle memo index {arg} out of range"
            if problem:
                break
    except (ValueError, Warning) as exc:  # a Warning: an invalid escape in a text opcode (see load_plain)
        problem = f"not a readable pickle ({exc})"
    if problem:
        raise PickleRefused(problem)


def load_plain(data: bytes, *, max_ops: int, max_bytes: int) -> object:
    """The object pickled in ``data`` (dicts, lists, tuples, sets, str, bytes, numbers, plain numpy arrays and
    scalars); PickleRefused says why not. At most ``max_ops`` opcodes; the arrays and strings built from reused
    data add up to at most ``max_bytes``."""
    with warnings.catch_warnings():  # "invalid escape sequence" in a damaged text opcode: refused, whatever the
        warnings.simplefilter("error")  # process's warning filters (it was an error under pytest, a pass elsewhere)
        _scan(data, max_ops)
        try:
            return _Unpickler(data, max_bytes).load()
        except Exception as exc:  # noqa: BLE001 — any failure of a pickle's own making is a refusal
            raise PickleRefused(f"not a readable pickle ({type(exc).__name__}: {exc})") from None
