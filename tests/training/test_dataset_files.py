"""Dataset files that are wrong, hostile or merely unusual: each case of issue #11's "Dataset files", and the pickles
and gzip streams built to exhaust memory or run code. Every refusal is one line naming the file and what was expected.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from training_files import gzip_bomb, idx_bytes, idx_header, py2_cifar_pickle, write_cifar_folder, write_idx_folder
from optviz.training import readers
from optviz.training.config import TrainConfig
from optviz.training.data import DATASETS, Dataset, kfold_splits, load_dataset, prepare, split_sizes
from optviz.training.models import MODELS, build_model
from optviz.training.readers import DatasetError, read_cifar10, read_cifar_batch, read_idx, read_idx_pair


def refusal(call, path) -> str:
    """The one-line DatasetError ``call`` raises, checked to name ``path`` and say what was expected."""
    with pytest.raises(DatasetError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "expected" in message, message
    return message


def peak_bytes(call) -> int:
    """The most memory (numpy's and Python's, as tracemalloc sees them) in use while ``call`` runs."""
    tracemalloc.start()
    try:
        try:
            call()
        except DatasetError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """An MNIST-format folder (tmp_path): the train images and labels files, to be overwritten by a test."""
    write_idx_folder(tmp_path, n_train=20, n_test=5)
    return tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte"


# ---- IDX: the cases of the issue ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(20, 20, 20), (20, 28, 32), (20, 1, 784), (20, 32, 32)])
def test_mnist_images_that_are_not_28x28_are_refused(pair, shape) -> None:
    images, _ = pair
    images.write_bytes(idx_bytes(np.zeros(shape, np.uint8)))
    message = refusal(lambda: read_idx_pair(str(images.parent), "train"), images)
    assert f"images of {shape[1]}×{shape[2]} pixels" in message and "(N, 28, 28)" in message
    refusal(lambda: prepare(TrainConfig(dataset="mnist", data_dir=str(images.parent))), images)


def test_the_image_size_is_checked_before_any_data_is_read(pair) -> None:
    images, _ = pair
    images.write_bytes(idx_header((20, 64, 64)))  # a header with no data: refused for its size, not as truncated
    assert "64×64 pixels" in refusal(lambda: read_idx_pair(str(images.parent), "train"), images)


@pytest.mark.parametrize("shape", [(2**32 - 1,) * 3, (2**32 - 1, 28, 28), (2**31, 2**31, 4)])
def test_a_header_whose_size_overflows_names_the_file(pair, shape) -> None:
    images, _ = pair
    images.write_bytes(idx_header(shape) + bytes(100))
    message = refusal(lambda: read_idx(str(images), 3), images)
    assert f"more than the limit of {readers.MAX_FILE_BYTES:,}" in message
    assert f"{np.prod(shape, dtype=object):,} bytes" in message  # the exact size, not an int64 that wrapped
    refusal(lambda: read_idx_pair(str(images.parent), "train"), images)


def test_an_empty_array_with_vast_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "f"  # found by the generated tests: 0 values, but no array can have these dimensions
    path.write_bytes(idx_header((0, 2**32 - 1, 2**32 - 1)))
    assert "no values, but dimensions past the limit" in refusal(lambda: read_idx(str(path)), path)
    path.write_bytes(idx_header((0, 2**16, 2**10)))  # 2^26 bytes per row: an ordinary empty array
    assert read_idx(str(path)).shape == (0, 2**16, 2**10)


@pytest.mark.parametrize("code", [0x0C, 0x0E])
def test_a_wide_type_that_overflows_only_with_its_item_size(tmp_path: Path, code) -> None:
    path = tmp_path / "f"
    path.write_bytes(idx_header((2**31, 2**4), code))  # 2^35 items × 4 or 8 bytes
    assert "values of" in refusal(lambda: read_idx(str(path)), path)


def test_a_pair_with_zero_images_names_the_file(pair) -> None:
    images, labels = pair
    images.write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    labels.write_bytes(idx_bytes(np.zeros(0, np.uint8)))
    assert "no images" in refusal(lambda: read_idx_pair(str(images.parent), "train"), images)
    refusal(lambda: load_dataset(TrainConfig(dataset="mnist", data_dir=str(images.parent))), images)


def test_label_count_and_values_name_both_files(pair) -> None:
    images, labels = pair
    labels.write_bytes(idx_bytes(np.zeros(19, np.uint8)))
    message = refusal(lambda: read_idx_pair(str(images.parent), "train"), labels)
    assert "19 labels for 20 images in" in message and str(images) in message
    labels.write_bytes(idx_bytes(np.full(20, 10, np.uint8)))
    assert "label 10 out of range" in refusal(lambda: read_idx_pair(str(images.parent), "train"), labels)
    labels.write_bytes(idx_header((20,), 0x0C) + bytes(80))
    assert "int32 values" in refusal(lambda: read_idx_pair(str(images.parent), "train"), labels)


def test_a_gzip_that_expands_far_past_its_header_is_refused_after_reading_only_the_header_size(pair) -> None:
    images, _ = pair  # the case: 300 MB of expansion behind a header that declares 20 images
    images.write_bytes(gzip_bomb(idx_bytes(np.zeros((20, 28, 28), np.uint8)), 300))
    assert len(images.read_bytes()) < 400_000
    call = (lambda: read_idx_pair(str(images.parent), "train"))
    assert "bytes after the data" in refusal(call, images)
    assert peak_bytes(call) < 2**20  # 20 images are 15,680 bytes: nothing near 300 MB was ever held


def test_a_gzip_bomb_behind_a_large_header_stops_at_the_declared_size(tmp_path: Path) -> None:
    path = tmp_path / "big.gz"
    n = 3000  # 2.4 MB declared, 40 MiB supplied
    path.write_bytes(gzip_bomb(idx_header((n, 28, 28)), 40))
    assert "bytes after the data" in refusal(lambda: read_idx(str(path), 3), path)
    assert peak_bytes(lambda: read_idx(str(path), 3)) < 3 * n * 784 + 2**20


def test_plain_trailing_bytes_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)) + b"xyz")
    assert "3 bytes after the data, which should be exactly 6" in refusal(lambda: read_idx(str(path)), path)


@pytest.mark.parametrize("content", [b"", b"\x00", b"\x00\x00\x08", b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage"])
def test_tiny_and_broken_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x"
    path.write_bytes(content)
    refusal(lambda: read_idx(str(path), 1), path)
    refusal(lambda: read_cifar_batch(str(path)), path)


def test_a_folder_or_fifo_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert "not a regular file" in refusal(lambda: read_idx(str(tmp_path / "d")), tmp_path / "d")
    fifo = tmp_path / "data_batch_1"
    try:
        os.mkfifo(fifo)
    except (AttributeError, OSError):
        pytest.skip("no FIFOs here")
    assert "not a regular file" in refusal(lambda: read_cifar_batch(str(fifo)), fifo)  # and did not block


@pytest.mark.parametrize("code,dtype", [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32),
                                        (0x0E, np.float64)])
def test_every_idx_type_reads_in_native_byte_order(tmp_path: Path, code, dtype) -> None:
    values = np.arange(-3, 3).astype(dtype).reshape(2, 3)
    path = tmp_path / "v.gz"
    big_endian = values.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(idx_header((2, 3), code) + big_endian))
    out = read_idx(str(path), 2)
    assert out.dtype == dtype and out.dtype.isnative and out.flags.writeable
    np.testing.assert_array_equal(out, values)


# ---- CIFAR-10: the cases of the issue ----------------------------------------------------------------------------

def test_ragged_cifar_labels_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    for labels, problem in (([1, [2, 3], 4], "label 1 is a list"), ([1, 2], "'labels' has 2 entries"),
                            ([1, 2, 10], "label 2 is 10"), ([1, 2, True], "label 2 is a bool"),
                            ([1, 2, 2.0], "label 2 is a float"), ([1, 2, 10**40], "label 2 is a large integer"),
                            (np.zeros((3, 1), np.int64), "'labels' is a int64 array of shape (3, 1)"),
                            ("abc", "'labels' is a str")):
        with open(path, "wb") as fh:
            pickle.dump({b"data": np.zeros((3, 3072), np.uint8), b"labels": labels}, fh, protocol=2)
        message = refusal(lambda: read_cifar_batch(str(path)), path)
        assert problem in message and "3 integers 0–9" in message


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_batch_with_no_images_is_valid_in_every_protocol(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as fh:
        pickle.dump({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, fh, protocol=protocol)
    images, labels = read_cifar_batch(str(path))
    assert images.shape == (0, 3, 32, 32) and labels.shape == (0,)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("labels", ["list", "numpy ints", "array", "big-endian array"])
def test_batches_in_every_protocol_and_label_form(tmp_path: Path, protocol: int, labels: str) -> None:
    data = np.random.default_rng(protocol).integers(0, 256, (4, 3072)).astype(np.uint8)
    values = [3, 0, 9, 5]
    stored = {"list": values, "numpy ints": [np.int64(v) for v in values], "array": np.array(values, np.int32),
              "big-endian array": np.array(values, ">i8")}[labels]
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as fh:
        pickle.dump({"data": data, "labels": stored, "filenames": [b"a.png"] * 4}, fh, protocol=protocol)
    images, read_labels = read_cifar_batch(str(path))
    np.testing.assert_array_equal(images.reshape(4, -1), data)
    assert read_labels.tolist() == values and read_labels.dtype == np.int64
    assert images.flags.writeable and images.flags.c_contiguous


def test_a_batch_as_python_2_wrote_the_originals(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 256, (3, 3072)).astype(np.uint8)
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_cifar_pickle(data, [6, 9, 9]))
    images, labels = read_cifar_batch(str(path))
    np.testing.assert_array_equal(images.reshape(3, -1), data)
    assert labels.tolist() == [6, 9, 9]
    path.write_bytes(gzip.compress(py2_cifar_pickle(data, [6, 9, 9])))
    assert read_cifar_batch(str(path))[1].tolist() == [6, 9, 9]


def test_an_empty_test_batch_or_training_set_is_refused_by_name(cifar_dir: Path) -> None:
    empty = {b"data": np.zeros((0, 3072), np.uint8), b"labels": []}
    with open(cifar_dir / "test_batch", "wb") as fh:
        pickle.dump(empty, fh, protocol=2)
    assert "holds no images" in refusal(lambda: read_cifar10(str(cifar_dir)), cifar_dir / "test_batch")
    write_cifar_folder(cifar_dir)
    for i in range(1, 6):
        with open(cifar_dir / f"data_batch_{i}", "wb") as fh:
            pickle.dump(empty, fh, protocol=2)
    assert "hold no images" in refusal(lambda: read_cifar10(str(cifar_dir)), cifar_dir / "data_batch_1")
    with open(cifar_dir / "data_batch_2", "wb") as fh:  # one empty batch among full ones is fine
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, fh, protocol=2)
    assert read_cifar10(str(cifar_dir))[0].shape == (2, 3, 32, 32)


# ---- CIFAR-10: pickles that would run code or exhaust memory ------------------------------------------------------

class Payload:
    """Pickles as a call to ``func(*args)``: what an attacker's batch would hold."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _pickle(obj, protocol: int = 2) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def hostile_pickles(marker: Path) -> dict[str, bytes]:
    raw = np.zeros(3072 * 64, np.uint8).tobytes()
    reuse = (b"\x80\x02]q\x00(" + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
             + b"(K\x01K\x40M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xff"
             + b"J\xff\xff\xff\xffK\x00tb\x89B" + struct.pack("<I", len(raw)) + raw + b"q\x01tbq\x02"
             + b"".join(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
                        b"(K\x01K\x40M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ"
                        b"\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89h\x01tb" for _ in range(3000)) + b"e.")
    return {
        "os.system": _pickle(Payload(os.system, f"touch {marker}")),
        "builtins.exec": _pickle(Payload(exec, f"open({str(marker)!r}, 'w').close()")),
        "nested in the dict": _pickle({b"data": Payload(os.system, f"touch {marker}"), b"labels": []}),
        "protocol 0 global": f"cos\nsystem\n(S'touch {marker}'\ntR.".encode(),
        "protocol 4 stack global": b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.",
        "memo slot 2^32 - 1": b"\x80\x02]r\xff\xff\xff\xff.",
        "bytes of 2^60": b"\x80\x04\x8e" + struct.pack("<Q", 2**60) + b"x.",
        "bytes(10**10)": b"\x80\x02c__builtin__\nbytes\n\x8a\x05\x00\xe4\x0bT\x02\x85R.",
        "array of 10^12 bytes": b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
                                b"\x8a\x05\x00\x10\xa5\xd4\xe8\x85U\x01b\x87R.",
        "numpy.ndarray called": b"\x80\x02cnumpy\nndarray\n\x8a\x05\x00\x10\xa5\xd4\xe8\x85R.",
        "object dtype": _pickle({b"data": np.array([None, 1], object), b"labels": [0, 1]}),
        "structured dtype": _pickle({b"data": np.zeros(2, [("a", "u1")]), b"labels": [0, 1]}),
        "string dtype": _pickle({b"data": np.array(["a", "b"]), b"labels": [0, 1]}),
        "zlib codec": b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86R.",
        "one 196 kB string made into 3000 arrays": reuse,
        "a million empty dicts": b"\x80\x02(" + b"}" * 1_000_000 + b"l.",
        "deep nesting": b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".",
        "persistent id": b"\x80\x02X\x01\x00\x00\x00aQ.",
        # a damaged protocol-0 pickle (CI's generated case): "\u" in a text opcode is a DeprecationWarning of
        # Python's, an error under pytest's filters and a pass elsewhere; refused the same way everywhere
        "invalid escape in a text opcode": b"(dp0\nVdata\np1\ncn\\umpy._core.multiarray\n_reconstruct\np2\n.",
        "out-of-band buffer": b"\x80\x05\x97.",
    }


@pytest.mark.parametrize("name", list(hostile_pickles(Path("m"))))
def test_hostile_pickles_are_refused_without_running_code_or_piling_up_memory(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    content = hostile_pickles(marker)[name]
    path.write_bytes(content)
    refusal(lambda: read_cifar_batch(str(path)), path)
    assert not marker.exists()
    assert peak_bytes(lambda: read_cifar_batch(str(path))) < 4 * len(content) + 64 * 2**20


def test_pickle_limits_are_stated_and_checked(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(_pickle({b"data": np.zeros((1, 3072), np.uint8), b"labels": list(range(1))}))
    monkeypatch.setattr(readers, "MAX_PICKLE_OPS", 10)
    assert "more than 10 pickle opcodes" in refusal(lambda: read_cifar_batch(str(path)), path)
    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1000)
    assert "more than the limit of 1,000" in refusal(lambda: read_cifar_batch(str(path)), path)
    path.write_bytes(gzip_bomb(b"\x80\x02", 40))
    assert "once un-gzipped" in refusal(lambda: read_cifar_batch(str(path)), path)
    assert peak_bytes(lambda: read_cifar_batch(str(path))) < 2**20


def test_a_cifar_gzip_bomb_stops_at_the_file_limit(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(gzip_bomb(b"", 300))  # 300 MiB of zeros, above the 128 MiB limit
    assert "once un-gzipped" in refusal(lambda: read_cifar_batch(str(path)), path)


# ---- image shapes against the models ----------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", list(DATASETS))
def test_every_model_takes_every_datasets_images(dataset: str) -> None:
    c, h, w = DATASETS[dataset].image_shape
    for name in MODELS:
        model = build_model(TrainConfig(model=name, width=4), c, 10, h).eval()
        with torch.no_grad():
            assert model(torch.zeros(2, c, h, w)).shape == (2, 10), (dataset, name)


def test_the_registry_shapes_are_what_the_loaders_give(idx_dir: Path, cifar_dir: Path) -> None:
    for name, folder in (("mnist5k", None), ("shapes", None), ("mnist", idx_dir), ("cifar10", cifar_dir)):
        ds = load_dataset(TrainConfig(dataset=name, data_dir=str(folder) if folder else None, subset=30))
        assert ds.images.shape[1:] == DATASETS[name].image_shape


def test_a_loader_that_gives_other_shapes_is_refused(monkeypatch, tmp_path: Path) -> None:
    spec = DATASETS["mnist"]
    wrong = Dataset("mnist", np.zeros((4, 1, 20, 20), np.uint8), np.zeros(4, np.int64), ("a",))
    monkeypatch.setitem(DATASETS, "mnist", dataclasses.replace(spec, loader=lambda c, f: wrong))
    message = refusal(lambda: load_dataset(TrainConfig(dataset="mnist", data_dir=str(tmp_path))), tmp_path)
    assert "(1, 20, 20)" in message and "(1, 28, 28)" in message


# ---- empty splits -----------------------------------------------------------------------------------------------

def _empty_split(config: TrainConfig, dataset: Dataset | None = None, folds: bool = False) -> str:
    with pytest.raises(DatasetError) as info:
        next(kfold_splits(config, dataset)) if folds else prepare(config, dataset)
    message = str(info.value)
    assert "\n" not in message and "would be empty" in message and "needs" in message, message
    return message


def test_an_empty_validation_split_is_refused_with_the_sizes_needed() -> None:
    message = _empty_split(TrainConfig(subset=5))
    assert "4 training, 0 validation and 1 test samples" in message
    assert "a subset of at least 6" in message and "a validation fraction of at least 0.11" in message
    prepare(TrainConfig(subset=6))
    prepare(TrainConfig(subset=5, val_fraction=0.11))
    assert "a validation fraction of at least 0.0011" in _empty_split(TrainConfig(subset=500, val_fraction=0.0))  # 500 × 0.0011


def test_an_empty_test_split_is_refused_with_the_sizes_needed(idx_dir: Path) -> None:
    message = _empty_split(TrainConfig(subset=400, test_fraction=0.0))
    assert "0 test samples" in message and "a test fraction of at least 0.0013" in message
    message = _empty_split(TrainConfig(dataset="mnist", data_dir=str(idx_dir), subset=20, test_fraction=0.01))
    assert "a subset of at least 51" in message and "a test fraction of at least 0.026" in message  # round(0.51) = 1, round(0.52) = 1
    prepare(TrainConfig(dataset="mnist", data_dir=str(idx_dir), subset=51, test_fraction=0.01))
    prepare(TrainConfig(dataset="mnist", data_dir=str(idx_dir), subset=20, test_fraction=0.026))


def test_a_dataset_whose_own_test_split_is_empty() -> None:
    ds = Dataset("mnist", np.zeros((50, 1, 28, 28), np.uint8), np.zeros(50, np.int64), ("a",),
                 np.zeros((0, 1, 28, 28), np.uint8), np.zeros(0, np.int64))
    assert "needs more samples" in _empty_split(TrainConfig(dataset="mnist"), ds)


def test_cross_validation_refuses_an_empty_test_split_or_too_few_samples_to_fold() -> None:
    assert "The test split" in _empty_split(TrainConfig(subset=10, kfold=3, test_fraction=0.0), folds=True)
    message = _empty_split(TrainConfig(subset=10, kfold=3, test_fraction=0.8), folds=True)
    assert "folds of 3-fold cross-validation" in message and "a subset of at least 13" in message
    assert len(list(kfold_splits(TrainConfig(subset=13, kfold=3, test_fraction=0.8)))) == 3


def test_split_sizes_are_the_sizes_prepare_gives(idx_dir: Path) -> None:
    for subset in (None, 7, 30, 159, 160, 400):
        for vf, tf in ((0.1, 0.2), (0.3, 0.05), (0.5, 0.45)):
            config = TrainConfig(dataset="mnist", data_dir=str(idx_dir), subset=subset, val_fraction=vf,
                                 test_fraction=tf)
            sizes = split_sizes(120, 40, subset, vf, tf)
            if min(sizes) == 0:
                _empty_split(config)
                continue
            s = prepare(config)
            assert sizes == (len(s.train[1]), len(s.val[1]), len(s.test[1]))

