"""Readers on small generated files, splits, normalisation, loaders, the shapes generator and the shipped digits."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from training_files import idx_bytes, write_cifar_folder, write_idx_folder
from optviz.training.config import TrainConfig
from optviz.training.data import (DATASETS, Loader, channel_stats, kfold_splits, load_dataset, load_mnist5k,
                                  prepare, split_indices)
from optviz.training.readers import DatasetError, read_cifar_batch, read_idx, read_idx_pair
from optviz.training.shapes import SHAPE_CLASSES, make_shapes


# ---- IDX ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip_plain_and_gzipped(tmp_path: Path, gz: bool) -> None:
    write_idx_folder(tmp_path, n_train=30, n_test=10, gz=gz)
    images, labels = read_idx_pair(str(tmp_path), "train")
    assert images.shape == (30, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [i % 10 for i in range(30)]
    test_images, _ = read_idx_pair(str(tmp_path), "t10k")
    assert test_images.shape == (10, 28, 28)


def test_idx_values_match_the_bytes(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(str(tmp_path / "a"), 3), array)


def one_error(call) -> str:
    with pytest.raises(DatasetError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_idx_missing_file_names_file_and_expectation(tmp_path: Path) -> None:
    message = one_error(lambda: read_idx_pair(str(tmp_path), "train"))
    assert "train-images-idx3-ubyte" in message and "file not found" in message and "IDX" in message


def test_idx_truncated(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros((5, 28, 28), np.uint8))
    path = tmp_path / "t"
    path.write_bytes(data[:-100])
    message = one_error(lambda: read_idx(str(path), 3))
    assert str(path) in message and "truncated" in message and "3920" in message  # 5·28·28 bytes expected


def test_idx_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28), np.uint8)))[:-20])
    message = one_error(lambda: read_idx(str(path), 3))
    assert str(path) in message and "gzip" in message


def test_idx_bad_magic_and_wrong_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_bytes(b"\x12\x34\x08\x03" + bytes(20))
    assert "bad magic number 0x12340803" in one_error(lambda: read_idx(str(path), 3))
    path.write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    assert "has 1 dimension (expected an IDX file with 3 dimensions)" in one_error(lambda: read_idx(str(path), 3))


def test_idx_label_count_mismatch(tmp_path: Path) -> None:
    write_idx_folder(tmp_path, n_train=20, n_test=5)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(19, np.uint8)))
    message = one_error(lambda: read_idx_pair(str(tmp_path), "train"))
    assert "19 labels for 20 images" in message


# ---- CIFAR-10 ----------------------------------------------------------------------------------------------------

def test_cifar_reader(cifar_dir: Path) -> None:
    ds = load_dataset(TrainConfig(dataset="cifar10", data_dir=str(cifar_dir)))
    assert ds.images.shape == (100, 3, 32, 32) and ds.test_images.shape == (20, 3, 32, 32)
    with open(cifar_dir / "data_batch_1", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    # row layout: 1024 red, 1024 green, 1024 blue values, each row-major 32×32
    np.testing.assert_array_equal(ds.images[0, 1].ravel(), raw[b"data"][0, 1024:2048])
    assert ds.labels[:20].tolist() == raw[b"labels"]


def test_cifar_missing_truncated_and_malformed(cifar_dir: Path) -> None:
    batch = cifar_dir / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:200])
    assert str(batch) in one_error(lambda: read_cifar_batch(str(batch)))
    with open(batch, "wb") as fh:
        pickle.dump({b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}, fh)
    assert "expected uint8 (N, 3072)" in one_error(lambda: read_cifar_batch(str(batch)))
    write_cifar_folder(cifar_dir)
    (cifar_dir / "test_batch").unlink()
    message = one_error(lambda: load_dataset(TrainConfig(dataset="cifar10", data_dir=str(cifar_dir))))
    assert "test_batch" in message and "file not found" in message


def test_cifar_reader_refuses_code(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"cos\nsystem\n(S'true'\ntR.")  # a pickle that would run os.system
    assert "refusing to load" in one_error(lambda: read_cifar_batch(str(path)))


def test_fashion_mnist_from_a_named_folder(tmp_path: Path) -> None:
    write_idx_folder(tmp_path, gz=True)
    ds = load_dataset(TrainConfig(dataset="fashion-mnist", data_dir=str(tmp_path)))
    assert ds.classes[0] == "T-shirt/top" and ds.images.shape == (120, 1, 28, 28)


# ---- the registry -----------------------------------------------------------------------------------------------

def test_the_registry_titles_and_facts() -> None:
    assert {n: d.title for n, d in DATASETS.items()} == {
        "mnist5k": "MNIST 5k (shipped)", "shapes": "Shapes (generated)", "fashion-mnist": "Fashion-MNIST",
        "mnist": "MNIST (folder)", "cifar10": "CIFAR-10 (folder)"}
    assert [n for n, d in DATASETS.items() if d.needs_folder] == ["fashion-mnist", "mnist", "cifar10"]
    assert [n for n, d in DATASETS.items() if d.own_test_split] == ["fashion-mnist", "mnist", "cifar10"]
    assert {n: d.default_dir for n, d in DATASETS.items() if d.default_dir} == {
        "fashion-mnist": "/usr/share/datasets/fashion-mnist"}
    assert all(d.name == n and d.doc for n, d in DATASETS.items())


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist", "cifar10"])
def test_own_test_split_is_what_the_loader_gives(name: str, tmp_path: Path) -> None:
    (write_cifar_folder if name == "cifar10" else write_idx_folder)(tmp_path)
    ds = load_dataset(TrainConfig(dataset=name, data_dir=str(tmp_path)))
    assert ds.name == name and (ds.test_images is not None) == DATASETS[name].own_test_split
    assert load_dataset(TrainConfig(subset=30, dataset="shapes")).test_images is None


def test_a_dataset_that_needs_a_folder_says_so() -> None:
    assert "needs a data folder" in one_error(lambda: load_dataset(TrainConfig(dataset="mnist")))
    assert "Unknown dataset 'nope'" in one_error(lambda: load_dataset(TrainConfig(dataset="nope")))


# ---- shipped digits and shapes ----------------------------------------------------------------------------------

def test_mnist5k_ships_with_the_package() -> None:
    ds = load_mnist5k()
    assert ds.images.shape == (5000, 1, 28, 28) and ds.images.dtype == np.uint8
    assert np.bincount(ds.labels).tolist() == [500] * 10


def test_shapes_are_deterministic_balanced_and_seed_dependent() -> None:
    a, la = make_shapes(120, seed=3)
    b, lb = make_shapes(120, seed=3)
    c, _ = make_shapes(120, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)
    assert a.shape == (120, 28, 28) and np.bincount(la).tolist() == [120 // len(SHAPE_CLASSES)] * len(SHAPE_CLASSES)
    assert a.max() > 150  # a visible shape on a dark background
    ds = load_dataset(TrainConfig(dataset="shapes", subset=60))
    assert ds.images.shape == (60, 1, 28, 28)


# ---- splits, normalisation, loaders -----------------------------------------------------------------------------

def test_split_fractions_and_no_overlap() -> None:
    cfg = TrainConfig(subset=1000, val_fraction=0.1, test_fraction=0.2, seed=5)
    s = prepare(cfg)
    assert (len(s.train[1]), len(s.val[1]), len(s.test[1])) == (700, 100, 200)
    rows = {bytes(img) for part in (s.train, s.val, s.test) for img in part[0]}
    assert len(rows) == 1000  # no image in two parts (the digits are distinct)
    parts = split_indices(50, (0.6, 0.3, 0.1), seed=1)
    assert [len(p) for p in parts] == [30, 15, 5] and sorted(np.concatenate(parts).tolist()) == list(range(50))


def test_split_is_seeded() -> None:
    a, b, c = (prepare(TrainConfig(subset=200, seed=s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.train[1], b.train[1])
    assert not np.array_equal(a.train[0], c.train[0])


def test_dataset_with_own_test_split(idx_dir: Path) -> None:
    s = prepare(TrainConfig(dataset="mnist", data_dir=str(idx_dir), val_fraction=0.25))
    assert (len(s.train[1]), len(s.val[1]), len(s.test[1])) == (90, 30, 40)
    s = prepare(TrainConfig(dataset="mnist", data_dir=str(idx_dir), subset=50, test_fraction=0.2))
    assert len(s.train[1]) + len(s.val[1]) == 40 and len(s.test[1]) == 10


def test_normalisation_uses_training_statistics_only() -> None:
    s = prepare(TrainConfig(subset=500))
    x = s.train[0].astype(np.float64) / 255
    assert s.mean == pytest.approx((x.mean(),)) and s.std == pytest.approx((x.std(),))
    everything = np.concatenate([s.train[0], s.val[0], s.test[0]])
    assert channel_stats(everything)[0] != pytest.approx(s.mean, abs=1e-6)
    loader = Loader(s.train, s.mean, s.std, batch_size=1000, device=torch.device("cpu"))
    (xb, _), = list(loader)
    assert float(xb.mean()) == pytest.approx(0.0, abs=1e-4) and float(xb.std()) == pytest.approx(1.0, abs=1e-3)
    val = Loader(s.val, s.mean, s.std, batch_size=1000, device=torch.device("cpu"))
    (xv, _), = list(val)
    np.testing.assert_allclose(xv.numpy(), (s.val[0] / 255 - s.mean[0]) / s.std[0], atol=1e-5)


def test_loader_batches_shuffles_and_augments() -> None:
    images = np.arange(10, dtype=np.uint8).repeat(4).reshape(10, 1, 2, 2)
    labels = np.arange(10, dtype=np.int64)
    cpu = torch.device("cpu")
    plain = Loader((images, labels), (0.0,), (1 / 255,), batch_size=4, device=cpu)
    assert len(plain) == 3 and [y.tolist() for _, y in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = Loader((images, labels), (0.0,), (1 / 255,), batch_size=4, device=cpu, shuffle=True, seed=1)
    epoch1, epoch2 = ([int(v) for _, y in shuffled for v in y] for _ in range(2))
    assert sorted(epoch1) == list(range(10)) and epoch1 != epoch2
    again = Loader((images, labels), (0.0,), (1 / 255,), batch_size=4, device=cpu, shuffle=True, seed=1)
    assert [int(v) for _, y in again for v in y] == epoch1
    for x, y in shuffled:  # normalise((v,)) with mean 0, std 1/255 gives the raw value back
        assert (x.reshape(len(y), -1) == y[:, None].float()).all()
    big = np.zeros((64, 1, 8, 8), np.uint8)
    big[:, :, 3:5, 3:5] = 200
    aug = Loader((big, np.zeros(64, np.int64)), (0.0,), (1 / 255,), batch_size=64, device=cpu, augment=True)
    (xa, _), = list(aug)
    assert (xa.sum(dim=(1, 2, 3)) == 800).all()  # shifted by ≤ 2 pixels: the blob stays whole
    assert len({tuple(torch.nonzero(img[0])[0].tolist()) for img in xa}) > 5


def test_kfold_splits_partition_the_pool() -> None:
    folds = list(kfold_splits(TrainConfig(subset=300, kfold=3)))
    assert len(folds) == 3
    vals = [{bytes(img) for img in f.val[0]} for f in folds]
    assert [len(v) for v in vals] == [80, 80, 80] and not (vals[0] & vals[1]) and not (vals[1] & vals[2])
    for f, v in zip(folds, vals):
        assert not v & {bytes(img) for img in f.train[0]} and len(f.train[1]) == 160
