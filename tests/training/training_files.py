"""Small dataset files in the real formats (IDX, gzipped or not; CIFAR-10 python batches), made on the fly.

A module of its own (not conftest) so that tests import it by a name no other test folder uses.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in the IDX format: magic 0x0000 08 ndim, big-endian dims, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def write_idx_folder(folder: Path, n_train: int = 120, n_test: int = 40, *, gz: bool = False, seed: int = 0) -> None:
    """An MNIST-format folder: train/t10k images (N, 28, 28) and labels; label = mean brightness band."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[:, 10:18, 10:18] += (labels * 20)[:, None, None]
        for name, array in ((f"{split}-images-idx3-ubyte", images), (f"{split}-labels-idx1-ubyte", labels)):
            data = idx_bytes(array)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)


def write_cifar_folder(folder: Path, n_per_batch: int = 20, seed: int = 0) -> None:
    """CIFAR-10 "python version": data_batch_1..5 and test_batch, dicts with bytes keys as the originals."""
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        data = rng.integers(0, 256, (n_per_batch, 3072)).astype(np.uint8)
        with open(folder / name, "wb") as fh:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data}, fh, protocol=2)


def idx_header(shape: tuple[int, ...], code: int = 0x08) -> bytes:
    """An IDX header declaring ``shape`` of type ``code``, with no data after it."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def gzip_bomb(prefix: bytes, mib: int) -> bytes:
    """``prefix`` gzipped, then ``mib`` MiB of zeros as repeated gzip members: a few kB that expand without end."""
    return gzip.compress(prefix) + gzip.compress(bytes(2**20)) * mib


def py2_cifar_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch as Python 2's cPickle wrote the CIFAR-10 files: protocol 2, str (not unicode) keys and data."""
    def short(s: bytes) -> bytes:
        return b"U" + bytes([len(s)]) + s

    raw = np.ascontiguousarray(data, np.uint8).tobytes()
    dtype = (b"cnumpy\ndtype\n" + short(b"u1") + b"K\x00K\x01\x87R(K\x03" + short(b"|")
             + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + short(b"b") + b"\x87R"
             + b"(K\x01" + b"J" + struct.pack("<i", data.shape[0]) + b"M\x00\x0c\x86" + dtype + b"\x89T"
             + struct.pack("<I", len(raw)) + raw + b"tb")
    label_ops = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return (b"\x80\x02}(" + short(b"batch_label") + short(b"training batch 1 of 5") + short(b"data") + array
            + short(b"labels") + label_ops + b"u.")
