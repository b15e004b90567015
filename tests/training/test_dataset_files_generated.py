"""Generated dataset files, valid and corrupted (hypothesis): every one ends in data or a one-line DatasetError that
names the file — never another exception, never more than a bounded amount of memory, never a call the file asks for.

The readers' limits are lowered here (1 MiB a file, 20,000 pickle opcodes) so that the gzip bombs, huge declared
sizes and long pickles of a few kilobytes cross them, and memory is measured with tracemalloc against them.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from training_files import idx_header
from optviz.training import readers
from optviz.training.readers import DatasetError, read_cifar_batch, read_idx, read_idx_pair

LIMIT = 2**20  # MAX_FILE_BYTES in these tests
OPS = 20_000  # MAX_PICKLE_OPS in these tests
MEMORY = 6 * LIMIT + 2 * 2**20  # the most any one read may hold: a few times the limit, whatever the file says
MIB_OF_ZEROS = gzip.compress(bytes(2**20))  # one gzip member; repeated, a bomb
TRAPPED: list[tuple] = []  # calls a hostile pickle managed to make


def trap(*args) -> None:
    TRAPPED.append(args)


class Payload:
    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder for the generated files, with the readers' limits lowered for the whole module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "MAX_FILE_BYTES", LIMIT)
        mp.setattr(readers, "MAX_PICKLE_OPS", OPS)
        yield tmp_path_factory.mktemp("generated")


def outcome(call, *paths: Path):
    """``call``'s result, or None after checking its DatasetError; the memory it held is checked either way."""
    TRAPPED.clear()
    tracemalloc.start()
    try:
        result = call()
    except DatasetError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 700, message[:300]
        assert any(message.startswith(f"{p}: ") for p in paths) and "expected" in message, message
        result = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY, peak
    assert not TRAPPED
    return result


# ---- corruption -------------------------------------------------------------------------------------------------

@st.composite
def corrupted(draw, content: bytes, header: int) -> bytes:
    """``content`` after up to three of: truncation, flipped header or data bytes, trailing or random bytes,
    and as gzip (maybe truncated or flipped, maybe followed by megabytes of zeros)."""
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["truncate", "flip header", "flip", "trailing", "random", "insert"]))
        if kind == "truncate" and content:
            content = content[:draw(st.integers(0, len(content) - 1))]
        elif kind in ("flip header", "flip") and content:
            end = min(header, len(content)) if kind == "flip header" else len(content)
            at = draw(st.integers(0, max(0, end - 1)))
            content = content[:at] + bytes([content[at] ^ draw(st.integers(1, 255))]) + content[at + 1:]
        elif kind == "trailing":
            content += draw(st.binary(min_size=1, max_size=64))
        elif kind == "insert":
            at = draw(st.integers(0, len(content)))
            content = content[:at] + draw(st.binary(min_size=1, max_size=16)) + content[at:]
        elif kind == "random":
            content = draw(st.binary(max_size=200))
    if draw(st.booleans()):
        content = gzip.compress(content)
        wrap = draw(st.sampled_from(["none", "none", "truncate", "flip", "bomb"]))
        if wrap == "truncate":
            content = content[:draw(st.integers(0, len(content) - 1))]
        elif wrap == "flip":
            at = draw(st.integers(0, len(content) - 1))
            content = content[:at] + bytes([content[at] ^ draw(st.integers(1, 255))]) + content[at + 1:]
        elif wrap == "bomb":
            content += MIB_OF_ZEROS * draw(st.integers(1, 8))
    return content


# ---- IDX --------------------------------------------------------------------------------------------------------

DIMS = st.one_of(st.integers(0, 5), st.sampled_from([2**32 - 1, 2**31, 2**24, 2**16 + 1, 28]),
                 st.integers(0, 2**32 - 1))


@st.composite
def idx_files(draw) -> tuple[bytes, int]:
    """An IDX file, its declared shape sometimes huge or its magic wrong, then corrupted; and an ndim to ask for."""
    code = draw(st.sampled_from([0x08, 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]))
    shape = draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)) if draw(st.sampled_from([1] * 15 + [0])) else []
    itemsize = np.dtype(readers._IDX_TYPES.get(code, "u1")).itemsize
    size = int(np.prod(shape)) * itemsize
    data = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).bytes(size)
    huge = draw(st.sampled_from([False, False, True]))
    declared = draw(st.lists(DIMS, min_size=len(shape), max_size=len(shape))) if huge else shape
    head = idx_header(tuple(declared), code) if shape else bytes([0, 0, code, 0])
    if draw(st.sampled_from([False] * 7 + [True])):
        head = draw(st.binary(min_size=4, max_size=4)) + head[4:]
    content = draw(corrupted(head + data, len(head)))
    return content, draw(st.sampled_from([None, len(shape), 1, 3]))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=idx_files())
def test_generated_idx_files_give_data_or_one_line(folder: Path, case) -> None:
    content, ndim = case
    path = folder / "file.idx"
    path.write_bytes(content)
    array = outcome(lambda: read_idx(str(path), ndim), path)
    if array is not None:
        assert isinstance(array, np.ndarray) and array.dtype.isnative and array.nbytes <= LIMIT
        assert ndim is None or array.ndim == ndim


@st.composite
def idx_pairs(draw) -> tuple[bytes, bytes]:
    """MNIST-format images and labels, of 0–3 images, labels 0–12, either or both corrupted."""
    n = draw(st.integers(0, 3))
    side = draw(st.sampled_from([28, 28, 28, 27, 32]))
    images = idx_header((n, side, 28)) + draw(st.binary(min_size=n * side * 28, max_size=n * side * 28))
    labels = idx_header((draw(st.sampled_from([n, n, n, n + 1])),)) + bytes(draw(
        st.lists(st.integers(0, 12), min_size=n, max_size=n)))
    if draw(st.booleans()):
        images = draw(corrupted(images, 16))
    if draw(st.booleans()):
        labels = draw(corrupted(labels, 8))
    return images, labels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=idx_pairs())
def test_generated_idx_pairs_give_data_or_one_line(folder: Path, case) -> None:
    images_path, labels_path = folder / "train-images-idx3-ubyte", folder / "train-labels-idx1-ubyte"
    images_path.write_bytes(case[0])
    labels_path.write_bytes(case[1])
    result = outcome(lambda: read_idx_pair(str(folder), "train"), images_path, labels_path)
    if result is not None:
        images, labels = result
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28) and len(images) == len(labels) >= 1
        assert labels.dtype == np.int64 and labels.min() >= 0 and labels.max() <= 9


# ---- CIFAR-10 ---------------------------------------------------------------------------------------------------

def _arrays():
    plain = hnp.arrays(st.sampled_from([np.uint8, np.int8, np.dtype(">i8"), np.int64, np.float32, np.bool_]),
                       hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    odd = st.sampled_from([np.array([None, 1], object), np.array(["ab", "c"]), np.zeros(2, [("a", "u1"), ("b", "f4")]),
                           np.zeros((2, 3), np.dtype(("u1", (2,)))), np.zeros((2, 6144), np.uint8)[:, ::2],
                           np.zeros((3072, 2), np.uint8).T, np.zeros((1, 3072), ">u2")])
    return st.one_of(plain, odd)


ARRAYS = _arrays()
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.integers(0, 12), st.floats(),
                    st.text(max_size=8), st.binary(max_size=8), st.just(np.int64(3)), st.just(np.uint8(200)),
                    st.just(Payload(trap, "called")), st.just(Payload(os.system, "true")))
ANYTHING = st.recursive(st.one_of(SCALARS, ARRAYS),
                        lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                                st.dictionaries(st.one_of(st.text(max_size=6), st.binary(max_size=6)),
                                                                inner, max_size=3)),
                        max_leaves=8)


@st.composite
def cifar_objects(draw):
    """A CIFAR batch dict, valid or with wrong types in its places, or something else entirely."""
    if draw(st.sampled_from([False] * 9 + [True])):
        return draw(ANYTHING)
    n = draw(st.integers(0, 3))
    valid = draw(st.sampled_from([True, True, False]))
    data = hnp.arrays(np.uint8, (n, 3072))
    labels = st.one_of(st.lists(st.integers(0, 9), min_size=n, max_size=n),
                       hnp.arrays(st.sampled_from([np.int64, np.uint8, np.dtype(">i4")]), (n,),
                                  elements=st.integers(0, 9)))
    if not valid:
        data = st.one_of(data, ARRAYS, ANYTHING)
        labels = st.one_of(labels, st.lists(st.integers(-2, 12), min_size=n, max_size=n),
                           st.lists(ANYTHING, min_size=n, max_size=n), ANYTHING)
    batch = {}
    for key, value in (("data", draw(data)), ("labels", draw(labels)), ("batch_label", b"x"),
                       ("filenames", [b"a.png"] * n)):
        if valid or draw(st.sampled_from([True] * 7 + [False])):  # now and then a key is missing
            batch[key.encode() if draw(st.booleans()) else key] = value
    return batch


HOSTILE_OPS = [b"r\xff\xff\xff\xff", b"\x8e" + struct.pack("<Q", 2**40), b"(" + b"}" * 30_000,  # memo, length, count
               b"c__builtin__\nbytes\nJ\x00\x00\x00\x10\x85R", b"cos\nsystem\n(S'true'\ntR",  # bytes(2^28), a call
               b"cnumpy\ndtype\nX\x02\x00\x00\x00O8\x85R"]  # an object dtype


@st.composite
def cifar_files(draw) -> bytes:
    """A pickled batch (any protocol), maybe with hostile opcodes spliced in, then corrupted."""
    content = pickle.dumps(draw(cifar_objects()), protocol=draw(st.integers(0, pickle.HIGHEST_PROTOCOL)))
    splice = draw(st.sampled_from([b""] * 14 + HOSTILE_OPS))
    if splice:
        at = draw(st.integers(0, len(content)))
        content = content[:at] + splice + content[at:]
    return draw(corrupted(content, len(content)))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=cifar_files())
def test_generated_cifar_batches_give_data_or_one_line(folder: Path, content: bytes) -> None:
    path = folder / "data_batch_1"
    path.write_bytes(content)
    result = outcome(lambda: read_cifar_batch(str(path)), path)
    if result is not None:
        images, labels = result
        assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32) and images.flags.writeable
        assert labels.dtype == np.int64 and labels.shape == (len(images),)
        assert ((labels >= 0) & (labels <= 9)).all()


# ---- split sizes ------------------------------------------------------------------------------------------------

FRACTION = st.one_of(st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.2, 0.25, 0.3]), st.floats(0.0, 0.45))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 300), n_test=st.one_of(st.none(), st.integers(0, 60)),
       subset=st.one_of(st.none(), st.integers(1, 400)), vf=FRACTION, tf=FRACTION, kfold=st.sampled_from([0, 2, 3, 5]))
def test_splits_are_as_sized_or_refused_with_hints_that_work(n, n_test, subset, vf, tf, kfold) -> None:
    """prepare (or kfold_splits) gives split_sizes' sizes, or refuses; every subset or fraction it suggests works."""
    import re

    from optviz.training.config import TrainConfig
    from optviz.training.data import Dataset, kfold_splits, prepare, split_sizes

    def images(m):
        return np.zeros((m, 1, 2, 2), np.uint8), np.arange(m, dtype=np.int64) % 3

    ds = Dataset("mnist", *images(n), ("a", "b", "c"), *(images(n_test) if n_test is not None else (None, None)))

    def run(**change):
        config = TrainConfig(**{"subset": subset, "val_fraction": vf, "test_fraction": tf, "kfold": kfold, **change})
        return list(kfold_splits(config, ds)) if kfold else [prepare(config, ds)]

    try:
        splits = run()
    except DatasetError as exc:
        message = str(exc)
        assert "\n" not in message and "would be empty" in message
        sizes = split_sizes(n, n_test, subset, vf, tf)
        assert sizes[2] == 0 or (sizes[0] + sizes[1] < kfold if kfold else min(sizes[:2]) == 0)
        for flag, value in re.findall(r"--([a-z-]+) ≥ ([0-9.e-]+)", message):
            field = flag.replace("-", "_")
            run(**{field: int(value) if field == "subset" else float(value)})  # the hint is enough
        return
    train, val, test = split_sizes(n, n_test, subset, vf, tf)
    if kfold:
        assert len(splits) == kfold and all(len(s.test[1]) == test >= 1 for s in splits)
        assert sum(len(s.val[1]) for s in splits) == train + val
    else:
        s = splits[0]
        assert (len(s.train[1]), len(s.val[1]), len(s.test[1])) == (train, val, test) and min(train, val, test) >= 1
