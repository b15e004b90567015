"""Readers for the standard dataset files: IDX (MNIST, Fashion-MNIST), gzipped or not, and CIFAR-10's
"python version" batches. Every problem with a file is a :class:`DatasetError` naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zlib

import numpy as np


class DatasetError(ValueError):
    """A missing, truncated or malformed dataset file, or a dataset that cannot be split as asked: one line."""


# IDX type codes → numpy big-endian dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: str, what: str) -> bytes:
    """The file's bytes, un-gzipped when it is gzipped (by content, not by name)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found (expected {what})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc}; expected {what})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: damaged or truncated gzip data ({exc}; expected {what})") from None


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """An IDX file as a numpy array (native byte order); ``ndim`` is the number of dimensions expected."""
    what = f"an IDX file with {ndim} dimension{'s' if ndim != 1 else ''}" if ndim else "an IDX file"
    data = _read_bytes(path, what)
    if len(data) < 4:
        raise DatasetError(f"{path}: truncated: {len(data)} bytes, too short for an IDX header (expected {what})")
    zero, code, dims = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_TYPES or dims == 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number 0x{data[:4].hex()}; expected {what})")
    if ndim is not None and dims != ndim:
        raise DatasetError(f"{path}: has {dims} dimensions, expected {ndim} ({what})")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, expected {header})")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=dims, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have < need:
        raise DatasetError(f"{path}: truncated: {have} bytes of data, expected {need} for shape {shape}")
    if have > need:
        raise DatasetError(f"{path}: {have - need} bytes after the data, expected exactly {need} for shape {shape}")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


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
    img_path = find_file(folder, (f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"),
                         f"the {split} images as an IDX file of uint8, shape (N, 28, 28)")
    lab_path = find_file(folder, (f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"),
                         f"the {split} labels as an IDX file of uint8, shape (N,)")
    images, labels = read_idx(img_path, 3), read_idx(lab_path, 1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        bad = img_path if images.dtype != np.uint8 else lab_path
        raise DatasetError(f"{bad}: holds {np.dtype(images.dtype if bad == img_path else labels.dtype)} values, "
                           "expected unsigned bytes (type code 0x08)")
    if len(images) != len(labels):
        raise DatasetError(f"{lab_path}: {len(labels)} labels for {len(images)} images in {img_path}")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{lab_path}: label {int(labels.max())} out of range (expected digits 0–9)")
    return images, labels.astype(np.int64)


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a CIFAR batch must not run code."""

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"), ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(path: str, what: str) -> dict:
    data = _read_bytes(path, what)
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 — any unpickling failure means the file is not a CIFAR batch
        raise DatasetError(f"{path}: not a readable CIFAR-10 batch ({type(exc).__name__}: {exc}; expected {what})") \
            from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: holds a {type(obj).__name__}, expected a dict ({what})")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    what = "a CIFAR-10 python batch: a pickled dict with 'data' (N, 3072) uint8 and 'labels' (N,)"
    batch = _unpickle(path, what)
    data, labels = batch.get("data"), batch.get("labels")
    if data is None or labels is None:
        raise DatasetError(f"{path}: missing key {'data' if data is None else 'labels'} (expected {what})")
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{path}: 'data' is {data.dtype} with shape {data.shape}, expected uint8 (N, 3072)")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{path}: 'labels' has shape {labels.shape}, expected {len(data)} integers")
    bad = labels[(labels < 0) | (labels > 9)]
    if bad.size:
        raise DatasetError(f"{path}: label {int(bad[0])} out of range (expected 0–9)")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read_cifar10(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 from ``folder`` (or its ``cifar-10-batches-py`` subfolder): train images, labels, test images, labels."""
    inner = os.path.join(folder, "cifar-10-batches-py")
    if not os.path.isfile(os.path.join(folder, "data_batch_1")) and os.path.isdir(inner):
        folder = inner
    parts = [read_cifar_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    test_x, test_y = read_cifar_batch(os.path.join(folder, "test_batch"))
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    return train_x, train_y, test_x, test_y
