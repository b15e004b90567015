"""Datasets, splits, normalisation and batch loaders — all offline.

``load_dataset(config)`` gives a :class:`Dataset` of uint8 images; ``prepare(config)`` turns it into
:class:`Splits` (train / validation / test, normalisation from the training split only); ``kfold_splits``
gives the k splits of cross-validation; :class:`Loader` serves normalised batches. Both refuse, before any work,
a split that would be empty, with the ``--subset`` or fraction that would fill it (:func:`split_sizes` gives the
sizes). A registry entry's ``image_shape`` is checked against what its loader gives; the file readers, their limits
and their checks are in :mod:`optviz.training.readers`. :data:`DATASETS` is the
registry (name → :class:`DatasetSpec`) that the config, the CLI and the panel read; to add a dataset, add an entry.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import torch

from optviz.core.params import quote
from optviz.resources import asset
from optviz.training.readers import CIFAR10_CLASSES, DatasetError, read_cifar10, read_idx_pair
from optviz.training.shapes import SHAPE_CLASSES, make_shapes

if TYPE_CHECKING:
    from optviz.training.config import TrainConfig

__all__ = ["DatasetError", "Dataset", "DatasetSpec", "DATASETS", "Splits", "Loader", "load_dataset", "prepare",
           "kfold_splits", "split_indices"]

DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
SHAPES_DEFAULT_SIZE = 6000  # "shapes" without --subset


@dataclass(frozen=True)
class Dataset:
    """Images (N, C, H, W) uint8 and labels (N,) int64; ``test_*`` is the dataset's own test split, if it has one."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None


@dataclass(frozen=True)
class Splits:
    """Train / validation / test parts (uint8 images, int64 labels) and the training split's per-channel stats."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train[0].shape[1:])  # type: ignore[return-value]


def load_mnist5k() -> Dataset:
    """The 5,000 MNIST digits shipped in the package (``optviz.assets/mnist_5k.npz``)."""
    resource = asset("mnist_5k.npz")
    try:
        with np.load(io.BytesIO(resource.read_bytes())) as npz:
            images, labels = npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{resource}: unreadable ({exc}; expected 'images' (5000, 28, 28) uint8 and "
                           "'labels' (5000,) uint8)") from None
    return Dataset("mnist5k", images[:, None], labels.astype(np.int64), DIGITS)


def _mnist5k(config: TrainConfig, folder: str | None) -> Dataset:
    return load_mnist5k()


def _shapes(config: TrainConfig, folder: str | None) -> Dataset:
    images, labels = make_shapes(config.subset or SHAPES_DEFAULT_SIZE, config.seed)
    return Dataset("shapes", images[:, None], labels, SHAPE_CLASSES)


def _idx(classes: tuple[str, ...]) -> Callable[[TrainConfig, str | None], Dataset]:
    def load(config: TrainConfig, folder: str | None) -> Dataset:
        train_x, train_y = read_idx_pair(folder, "train")
        test_x, test_y = read_idx_pair(folder, "t10k")
        return Dataset(config.dataset, train_x[:, None], train_y, classes, test_x[:, None], test_y)

    return load


def _cifar10(config: TrainConfig, folder: str | None) -> Dataset:
    train_x, train_y, test_x, test_y = read_cifar10(folder)
    return Dataset(config.dataset, train_x, train_y, CIFAR10_CLASSES, test_x, test_y)


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry: a name, the title a form shows, where its files are, and its loader."""

    name: str
    title: str
    needs_folder: bool  # read from files in a folder (``data_dir``, else ``default_dir``)
    default_dir: str | None  # where a system package puts the files, used when no folder is named
    own_test_split: bool  # the files hold a test split (``test_fraction`` then applies only with a subset)
    loader: Callable[[TrainConfig, str | None], Dataset]  # (config, folder) → Dataset; DatasetError if unreadable
    doc: str = ""
    package: str = ""  # the Debian/Ubuntu package that fills default_dir
    image_shape: tuple[int, int, int] | None = None  # (C, H, W) of every image, checked after loading when given

    def folder(self, data_dir: str | None) -> str | None:
        """The folder the files are read from: ``data_dir`` (``~`` expanded), else the default, else None."""
        if data_dir:
            return os.path.expanduser(data_dir)
        return self.default_dir if self.needs_folder else None


DATASETS: dict[str, DatasetSpec] = {d.name: d for d in (
    DatasetSpec("mnist5k", "MNIST 5k (shipped)", False, None, False, _mnist5k,
                doc="5,000 MNIST digits shipped with optviz", image_shape=(1, 28, 28)),
    DatasetSpec("shapes", "Shapes (generated)", False, None, False, _shapes,
                doc=f"generated 28×28 shapes ({', '.join(SHAPE_CLASSES)}); {SHAPES_DEFAULT_SIZE} without a subset",
                image_shape=(1, 28, 28)),
    DatasetSpec("fashion-mnist", "Fashion-MNIST", True, "/usr/share/datasets/fashion-mnist", True,
                _idx(FASHION_CLASSES), doc="Zalando's clothes, IDX files (gzipped or not)",
                package="dataset-fashion-mnist", image_shape=(1, 28, 28)),
    DatasetSpec("mnist", "MNIST (folder)", True, None, True, _idx(DIGITS), doc="MNIST's IDX files (gzipped or not)",
                image_shape=(1, 28, 28)),
    DatasetSpec("cifar10", "CIFAR-10 (folder)", True, None, True, _cifar10,
                doc="CIFAR-10's python batches (the folder or its cifar-10-batches-py)", image_shape=(3, 32, 32)),
)}


def load_dataset(config: TrainConfig) -> Dataset:
    """The dataset ``config`` names, read or generated; DatasetError names a missing or malformed file."""
    spec = DATASETS.get(config.dataset)
    if spec is None:
        raise DatasetError(f"Unknown dataset {quote(config.dataset)} (allowed: {', '.join(DATASETS)})")
    folder = spec.folder(config.data_dir)
    if spec.needs_folder and not folder:
        raise DatasetError(f"Dataset {config.dataset} needs a data folder (--data-dir)")
    ds = spec.loader(config, folder)
    for images in (ds.images, ds.test_images):
        if spec.image_shape and images is not None and images.shape[1:] != spec.image_shape:
            raise DatasetError(f"{folder or spec.name}: images of shape {images.shape[1:]} "
                               f"(expected {spec.image_shape}, channels × height × width, for {spec.title})")
    return ds


def split_indices(n: int, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """A seeded permutation of range(n) cut into parts of the given fractions; the first part takes the rest."""
    order = np.random.default_rng(seed).permutation(n)
    sizes = [int(round(f * n)) for f in fractions[1:]]
    first = n - sum(sizes)
    if first < 1:
        raise DatasetError(f"Cannot split {n} samples by fractions {fractions}: no training samples left")
    cuts = np.cumsum([first] + sizes)
    return np.split(order, cuts[:-1])


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images scaled to [0, 1] (std floored, so a blank channel is harmless)."""
    x = images.astype(np.float64) / 255.0
    mean = x.mean(axis=(0, 2, 3))
    std = np.maximum(x.std(axis=(0, 2, 3)), 1e-3)
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def _pool_and_test(ds: Dataset, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pool that train/validation are drawn from, and the test set, with ``subset`` applied."""
    rng = np.random.default_rng(config.seed)
    if ds.test_images is None:
        x, y = ds.images, ds.labels
        if config.subset is not None and config.subset < len(y):
            keep = np.sort(rng.permutation(len(y))[:config.subset])
            x, y = x[keep], y[keep]
        pool, test = split_indices(len(y), (1 - config.test_fraction, config.test_fraction), config.seed)
        return x[pool], y[pool], x[test], y[test]
    x, y, tx, ty = ds.images, ds.labels, ds.test_images, ds.test_labels
    if config.subset is not None and config.subset < len(y) + len(ty):
        n_test = int(round(config.subset * config.test_fraction))
        keep = np.sort(rng.permutation(len(y))[:config.subset - n_test])
        keep_test = np.sort(rng.permutation(len(ty))[:n_test])
        x, y, tx, ty = x[keep], y[keep], tx[keep_test], ty[keep_test]
    return x, y, tx, ty


def _splits(classes: tuple[str, ...], train, val, test) -> Splits:
    if len(train[1]) == 0:
        raise DatasetError("No training samples left after the split (raise --subset or lower the fractions)")
    mean, std = channel_stats(train[0])
    return Splits(train, val, test, classes, mean, std)


def split_sizes(n: int, n_test: int | None, subset: int | None, val_fraction: float,
                test_fraction: float) -> tuple[int, int, int]:
    """(train, validation, test) sizes that :func:`prepare` gives for ``n`` samples and a dataset's own ``n_test``."""
    if n_test is None:
        n = n if subset is None else min(n, subset)
        test = int(round(test_fraction * n))
        pool = n - test
        val = int(round(val_fraction / (1 - test_fraction) * pool))
    else:
        test, pool = n_test, n
        if subset is not None and subset < n + n_test:
            test = int(round(subset * test_fraction))
            test, pool = min(n_test, test), min(n, subset - test)
        val = int(round(val_fraction * pool))
    return pool - val, val, test


def batches_per_epoch(config: TrainConfig) -> int | None:
    """Training batches per epoch for the datasets whose size is known without reading files (the shipped and the
    generated ones), else None. Cross-validation trains on folds: None."""
    if config.kfold:
        return None
    if config.dataset == "mnist5k":
        n = 5000
    elif config.dataset == "shapes":
        n = config.subset or SHAPES_DEFAULT_SIZE
    else:
        return None
    train, _, _ = split_sizes(n, None, config.subset, config.val_fraction, config.test_fraction)
    return max(1, -(-train // config.batch_size))


def _least_int(ok: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The smallest integer in [lo, hi] where the monotone ``ok`` holds, or None."""
    if not ok(hi):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return lo if ok(lo) else hi


def _least_fraction(ok: Callable[[float], bool], hi: float) -> float | None:
    """A short decimal just above where the monotone ``ok`` starts to hold in (0, hi], or None."""
    if hi <= 0 or not ok(hi):
        return None
    lo = 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    unit = 10.0 ** (math.floor(math.log10(hi)) - 1)  # two significant digits, rounded up; more if those fail
    short = (round(math.ceil(hi / (unit / 10**d)) * (unit / 10**d), 12) for d in range(8))
    return next((f for f in short if ok(f)), hi)


def _refuse_empty_splits(config: TrainConfig, ds: Dataset, kfold: int = 0) -> None:
    """DatasetError, before any work, when a split would be empty, with the subset or fractions that would do."""
    n, n_test = len(ds.labels), None if ds.test_labels is None else len(ds.test_labels)
    total, vf, tf = n + (n_test or 0), config.val_fraction, config.test_fraction

    def fits(sizes: tuple[int, int, int]) -> bool:
        train, val, test = sizes
        return test >= 1 and (train + val >= kfold if kfold else min(train, val) >= 1)

    sizes = split_sizes(n, n_test, config.subset, vf, tf)
    if fits(sizes):
        return
    hints = []
    need = _least_int(lambda m: fits(split_sizes(n, n_test, m, vf, tf)), 1, total)
    if need is not None:
        hints.append(f"a subset of at least {need}")
    if not sizes[1] and not kfold:
        least = _least_fraction(lambda f: split_sizes(n, n_test, config.subset, f, tf)[1] >= 1, 0.999 - tf)
        if least is not None and least + tf < 1 and fits(split_sizes(n, n_test, config.subset, least, tf)):
            hints.append(f"a validation fraction of at least {least:g}")
    if not sizes[2]:
        least = _least_fraction(lambda f: split_sizes(n, n_test, config.subset, vf, f)[2] >= 1, 0.999 - vf)
        if least is not None and vf + least < 1 and fits(split_sizes(n, n_test, config.subset, vf, least)):
            hints.append(f"a test fraction of at least {least:g}")
    if kfold:
        parts = "test split" if not sizes[2] else f"folds of {kfold}-fold cross-validation"
        got = f"{sizes[0] + sizes[1]} samples to fold and {sizes[2]} to test"
    else:
        empty = [name for name, size in zip(("training", "validation", "test"), sizes) if not size]
        parts = " and ".join(empty) + (" splits" if len(empty) > 1 else " split")
        got = f"{sizes[0]} training, {sizes[1]} validation and {sizes[2]} test samples"
    raise DatasetError(f"The {parts} would be empty: {got} of {total} (subset {config.subset or 'all'}, "
                       f"val_fraction {vf:g}, test_fraction {tf:g}); needs {' or '.join(hints) or 'more samples'}")


def prepare(config: TrainConfig, dataset: Dataset | None = None) -> Splits:
    """Train / validation / test splits for ``config``: seeded, disjoint, normalisation from train only.

    DatasetError up front when a split would be empty, saying what subset or fraction would fill it."""
    ds = dataset or load_dataset(config)
    _refuse_empty_splits(config, ds)
    x, y, tx, ty = _pool_and_test(ds, config)
    val_fraction = config.val_fraction / (1 - config.test_fraction) if ds.test_images is None else config.val_fraction
    train, val = split_indices(len(y), (1 - val_fraction, val_fraction), config.seed + 1)
    return _splits(ds.classes, (x[train], y[train]), (x[val], y[val]), (tx, ty))


def kfold_splits(config: TrainConfig, dataset: Dataset | None = None) -> Iterator[Splits]:
    """The k splits of k-fold cross-validation: each fold is the validation set once, the others train."""
    ds = dataset or load_dataset(config)
    _refuse_empty_splits(config, ds, config.kfold)
    x, y, tx, ty = _pool_and_test(ds, config)
    k = config.kfold
    folds = np.array_split(np.random.default_rng(config.seed + 1).permutation(len(y)), k)
    for i in range(k):
        train = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != i]))
        yield _splits(ds.classes, (x[train], y[train]), (x[folds[i]], y[folds[i]]), (tx, ty))


class Loader:
    """Batches of normalised float images and int64 labels, from uint8 tensors kept on the device.

    A minimal stand-in for torch's DataLoader over a TensorDataset: it indexes a whole batch at once instead of
    collating samples one by one, which matters for small models on the CPU. Shuffling and augmentation draw from
    the loader's own generator, so every run of a race sees the same batches.
    """

    def __init__(self, part: tuple[np.ndarray, np.ndarray], mean, std, *, batch_size: int, device: torch.device,
                 shuffle: bool = False, augment: bool = False, seed: int = 0) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(part[0])).to(device)
        self.labels = torch.from_numpy(np.ascontiguousarray(part[1])).to(device)
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(shape) * 255.0
        self.inv_std = 1.0 / (torch.tensor(std, dtype=torch.float32, device=device).view(shape) * 255.0)
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.mean) * self.inv_std

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                x, y = self.images[start:start + self.batch_size], self.labels[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size].to(self.images.device)
                x, y = self.images[idx], self.labels[idx]
            if self.augment:
                x = self._shift(x)
            yield self.normalise(x), y

    def _shift(self, x: torch.Tensor, pad: int = 2) -> torch.Tensor:
        """Each image moved by up to ``pad`` pixels in each direction (zero fill)."""
        b, c, h, w = x.shape
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        dy, dx = (torch.randint(0, 2 * pad + 1, (2, b), generator=self.generator)).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        return padded[torch.arange(b, device=x.device)[:, None, None, None],
                      torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
