"""Readers for the standard dataset files: IDX (MNIST, Fashion-MNIST), gzipped or not, and CIFAR-10's
"python version" batches. Every problem with a file is a one-line :class:`DatasetError` that names the file and
what was expected; no other exception leaves a reader.

Limits, each checked before the data it guards is read:

* A file, once un-gzipped, holds at most ``MAX_FILE_BYTES`` = 128 MiB (the largest real ones: MNIST's training
  images, 47 MB; a CIFAR-10 batch, 31 MB, or 47 MB re-pickled with protocol 2). Only regular files are opened.
  gzip is decompressed as a stream, in 1 MiB reads, and never past what the reader needs, so a gzip bomb costs at
  most the bytes the reader was going to read anyway.
* IDX: the header (magic number, type code, at most ``MAX_IDX_DIMS`` = 8 dimensions) is read first. The data size
  it declares is computed exactly (no header can overflow it) and must be within ``MAX_FILE_BYTES``; exactly that
  many bytes are then read, and one more shows whether anything follows, which is refused.
* MNIST-format pairs: both headers are checked before either file's data is read: images uint8 (N, 28, 28) (the
  size of MNIST and Fashion-MNIST, the size the registry promises the models), labels uint8 (N,) with the same N,
  N ≥ 1; then labels 0–9.
* CIFAR-10 batches: the file (within ``MAX_FILE_BYTES``) is read whole and unpickled by
  :func:`optviz.training.safepickle.load_plain`: at most ``MAX_PICKLE_OPS`` = 500,000 opcodes (real batches have
  30,000 to 120,000 by protocol), every declared length inside the file, memo indices no larger than the opcode
  count, checked before unpickling; nothing imported and no function named in the file called, only checked
  stand-ins that build plain numpy arrays (bool, int, uint, float dtypes), at most ``MAX_FILE_BYTES`` of them in all.
  'data' must be a uint8 array (N, 3072) and 'labels' N integers 0–9 (a list, as the originals, or an integer
  array). An empty batch is read; an empty test batch, or five empty training batches, are refused.

So a reader holds at most a few times ``MAX_FILE_BYTES`` whatever a file declares (a real CIFAR batch: about
3 times its size with protocols 3–5, 5 times with protocols 0–2, whose strings are decoded twice).
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import struct
import zlib
from typing import BinaryIO

import numpy as np

from optviz.training.safepickle import PickleRefused, load_plain

MAX_FILE_BYTES = 128 * 2**20
MAX_IDX_DIMS = 8
MAX_PICKLE_OPS = 500_000
_CHUNK = 2**20  # bytes per read


class DatasetError(ValueError):
    """A missing, truncated or malformed dataset file, or a dataset that cannot be split as asked: one line."""


# IDX type codes → numpy big-endian dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_IMAGE = (28, 28)


def brief(text: object, limit: int = 160) -> str:
    """Foreign text (from a file, or a library's message about one) as one short printable line."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text)[:limit])
    return out + "…" if len(str(text)) > limit else out


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


class _Source:
    """A dataset file opened for bounded reads, un-gzipped on the fly when it is gzipped (by content, not by name)."""

    def __init__(self, path: str, what: str) -> None:
        self.path, self.what = path, what
        self.plain_size: int | None = None  # the file's size when it is not gzipped
        self._file: BinaryIO | None = None
        self._stream: BinaryIO | None = None

    def fail(self, problem: str, expected: str | None = None) -> DatasetError:
        return DatasetError(f"{self.path}: {problem} (expected {expected or self.what})")

    def __enter__(self) -> _Source:
        try:
            info = os.stat(self.path)
            if not stat.S_ISREG(info.st_mode):
                raise self.fail("not a regular file")
            self._file = open(self.path, "rb")
            gzipped = self._file.read(2) == b"\x1f\x8b"
            self._file.seek(0)
        except FileNotFoundError:
            raise self.fail("file not found") from None
        except OSError as exc:
            self.__exit__()
            raise self.fail(f"cannot read ({brief(exc.strerror or exc)})") from None
        if gzipped:
            self._stream = gzip.GzipFile(fileobj=self._file, mode="rb")
        else:
            self._stream, self.plain_size = self._file, info.st_size
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self._stream, self._file):
            if stream is not None:
                stream.close()

    def read(self, n: int) -> bytes:
        """At most ``n`` bytes (fewer only at the end of the data); decompresses no further than that.

        Read in chunks, as one ``read(n)`` would set aside ``n`` bytes before knowing how many there are."""
        chunks: list[bytes] = []
        try:
            while n > 0:
                chunk = self._stream.read(min(n, _CHUNK))
                if not chunk:
                    break
                chunks.append(chunk)
                n -= len(chunk)
            return b"".join(chunks)
        except (OSError, EOFError, zlib.error) as exc:
            if self.plain_size is None:
                raise self.fail(f"damaged or truncated gzip data ({brief(exc)})") from None
            raise self.fail(f"cannot read ({brief(exc)})") from None


# ---- IDX -----------------------------------------------------------------------------------------------------------

def _idx_header(src: _Source, ndim: int | None) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape an IDX file declares, checked against ``ndim`` and the size limit; no data is read."""
    head = src.read(4)
    if len(head) < 4:
        raise src.fail(f"truncated: {len(head)} bytes, too short for an IDX header")
    if head[:2] != b"\x00\x00" or head[2] not in _IDX_TYPES or head[3] == 0:
        raise src.fail(f"not an IDX file (bad magic number 0x{head.hex()})")
    dims = head[3]
    if ndim is not None and dims != ndim:
        raise src.fail(f"has {dims} dimension{'s' if dims != 1 else ''}")
    if dims > MAX_IDX_DIMS:
        raise src.fail(f"has {dims} dimensions, more than the {MAX_IDX_DIMS} read")
    raw = src.read(4 * dims)
    if len(raw) < 4 * dims:
        raise src.fail(f"truncated IDX header ({4 + len(raw)} bytes of the {4 + 4 * dims} it declares)")
    shape = struct.unpack(f">{dims}I", raw)
    dtype = np.dtype(_IDX_TYPES[head[2]])
    size = math.prod(shape) * dtype.itemsize  # Python integers: no header can overflow them
    span = math.prod(max(s, 1) for s in shape) * dtype.itemsize  # and no empty array may have vast dimensions
    if span > MAX_FILE_BYTES:
        declares = f"header declares {_shape_text(shape)} values of {dtype.itemsize} byte(s)"
        raise src.fail(f"{declares}, {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}" if size else
                       f"{declares}: no values, but dimensions past the limit of {MAX_FILE_BYTES:,} bytes")
    return dtype, shape


def _idx_data(src: _Source, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The data after a header read by :func:`_idx_header`: exactly the declared size, native byte order."""
    need = math.prod(shape) * dtype.itemsize
    data = src.read(need)
    if len(data) < need:
        raise src.fail(f"truncated: {len(data)} bytes of data, {need} needed for shape {shape}")
    if src.read(1):
        extra = "" if src.plain_size is None else f"{src.plain_size - 4 - 4 * len(shape) - need} "
        raise src.fail(f"{extra or 'more '}bytes after the data, which should be exactly {need} for shape {shape}")
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """An IDX file as a numpy array (native byte order); ``ndim`` is the number of dimensions expected."""
    what = f"an IDX file with {ndim} dimension{'s' if ndim != 1 else ''}" if ndim else "an IDX file"
    with _Source(path, what) as src:
        dtype, shape = _idx_header(src, ndim)
        return _idx_data(src, dtype, shape)


def find_file(folder: str, names: tuple[str, ...], what: str) -> str:
    """The first of ``names`` (each also tried with ``.gz``) that exists in ``folder``."""
    for name in names:
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    raise DatasetError(f"{os.path.join(folder, names[0])}[.gz]: file not found (expected {what})")


def read_idx_pair(folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-format images (N, 28, 28) uint8 and labels (N,) of ``split`` ("train" or "t10k") from ``folder``."""
    img_what = f"the {split} images as an IDX file of uint8, shape (N, 28, 28)"
    lab_what = f"the {split} labels as an IDX file of uint8, shape (N,)"
    img_path = find_file(folder, (f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"), img_what)
    lab_path = find_file(folder, (f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"), lab_what)
    with _Source(img_path, img_what) as img, _Source(lab_path, lab_what) as lab:
        headers = {img: _idx_header(img, 3), lab: _idx_header(lab, 1)}
        for src, (dtype, _) in headers.items():
            if dtype != np.uint8:
                raise src.fail(f"holds {dtype.newbyteorder('=')} values, not unsigned bytes (type code 0x08)")
        n, *size = headers[img][1]
        if tuple(size) != MNIST_IMAGE:
            raise img.fail(f"images of {_shape_text(tuple(size))} pixels")
        if n == 0:
            raise img.fail("no images", f"{img_what} with N ≥ 1")
        if headers[lab][1][0] != n:
            raise lab.fail(f"{headers[lab][1][0]} labels for {n} images in {img_path}", "one label per image")
        images, labels = _idx_data(img, *headers[img]), _idx_data(lab, *headers[lab])
    if labels.max() > 9:
        raise DatasetError(f"{lab_path}: label {int(labels.max())} out of range (expected digits 0–9)")
    return images, labels.astype(np.int64)


# ---- CIFAR-10 ------------------------------------------------------------------------------------------------------

def _unpickle(src: _Source) -> dict:
    if src.plain_size is not None and src.plain_size > MAX_FILE_BYTES:
        raise src.fail(f"{src.plain_size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}")
    data = src.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise src.fail(f"more than the limit of {MAX_FILE_BYTES:,} bytes once un-gzipped")
    try:
        obj = load_plain(data, max_ops=MAX_PICKLE_OPS, max_bytes=MAX_FILE_BYTES)
    except PickleRefused as exc:
        raise src.fail(brief(exc, 200)) from None
    if not isinstance(obj, dict):
        raise src.fail(f"holds {_describe(obj)}, not a dict")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if type(value) is int or isinstance(value, np.integer):
        return str(value) if abs(value) < 10**9 else "a large integer"
    return f"a {type(value).__name__}"


def _labels(src: _Source, labels: object, n: int) -> np.ndarray:
    """'labels' as int64, checked: a list of n ints (as the originals) or a 1-D integer array, values 0–9."""
    expected = f"{n} integers 0–9, one per row of 'data'"
    if isinstance(labels, np.ndarray):
        labels = np.asarray(labels)
        if labels.shape != (n,) or labels.dtype.kind not in "iu":
            raise src.fail(f"'labels' is {_describe(labels)}", expected)
        bad = np.flatnonzero((labels < 0) | (labels > 9))
    elif isinstance(labels, (list, tuple)):
        if len(labels) != n:
            raise src.fail(f"'labels' has {len(labels)} entries", expected)
        bad = [i for i, v in enumerate(labels)
               if not ((type(v) is int or isinstance(v, np.integer)) and 0 <= v <= 9)][:1]
    else:
        raise src.fail(f"'labels' is {_describe(labels)}", expected)
    if len(bad):
        raise src.fail(f"label {int(bad[0])} is {_describe(labels[int(bad[0])])}", expected)
    return np.array(labels, np.int64)


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    what = "a CIFAR-10 python batch: a pickled dict with 'data' uint8 (N, 3072) and 'labels' N integers 0–9"
    with _Source(path, what) as src:
        batch = _unpickle(src)
        for key in ("data", "labels"):
            if key not in batch:
                raise src.fail(f"missing key {key!r}")
        data = batch["data"]
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
                and data.shape[1] == 3072):
            raise src.fail(f"'data' is {_describe(data)}", "uint8 (N, 3072)")
        labels = _labels(src, batch["labels"], len(data))
    return np.array(data, np.uint8, order="C").reshape(-1, 3, 32, 32), labels


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read_cifar10(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 from ``folder`` (or its ``cifar-10-batches-py`` subfolder): train images, labels, test images, labels."""
    inner = os.path.join(folder, "cifar-10-batches-py")
    if not os.path.isfile(os.path.join(folder, "data_batch_1")) and os.path.isdir(inner):
        folder = inner
    parts = [read_cifar_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    test_path = os.path.join(folder, "test_batch")
    test_x, test_y = read_cifar_batch(test_path)
    if not len(test_y):
        raise DatasetError(f"{test_path}: holds no images (expected the test split, at least 1 image)")
    if not sum(len(p[1]) for p in parts):
        raise DatasetError(f"{os.path.join(folder, 'data_batch_1')}…5: hold no images "
                           "(expected the training split, at least 1 image)")
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    return train_x, train_y, test_x, test_y
