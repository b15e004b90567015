"""Datasets, splits, normalisation and batch loaders — all offline.

``load_dataset(config)`` gives a :class:`Dataset` of uint8 images; ``prepare(config)`` turns it into
:class:`Splits` (train / validation / test, normalisation from the training split only); ``kfold_splits``
gives the k splits of cross-validation; :class:`Loader` serves normalised batches.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from optviz.resources import asset
from optviz.training.config import TrainConfig, resolved_data_dir
from optviz.training.readers import CIFAR10_CLASSES, DatasetError, read_cifar10, read_idx_pair
from optviz.training.shapes import SHAPE_CLASSES, make_shapes

__all__ = ["DatasetError", "Dataset", "Splits", "Loader", "load_dataset", "prepare", "kfold_splits", "split_indices"]

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


def load_dataset(config: TrainConfig) -> Dataset:
    """The dataset ``config`` names, read or generated; DatasetError names a missing or malformed file."""
    folder = resolved_data_dir(config)
    if config.dataset == "mnist5k":
        return load_mnist5k()
    if config.dataset == "shapes":
        images, labels = make_shapes(config.subset or SHAPES_DEFAULT_SIZE, config.seed)
        return Dataset("shapes", images[:, None], labels, SHAPE_CLASSES)
    if not folder:
        raise DatasetError(f"Dataset {config.dataset} needs a data folder (--data-dir)")
    if config.dataset in ("mnist", "fashion-mnist"):
        train_x, train_y = read_idx_pair(folder, "train")
        test_x, test_y = read_idx_pair(folder, "t10k")
        classes = DIGITS if config.dataset == "mnist" else FASHION_CLASSES
        return Dataset(config.dataset, train_x[:, None], train_y, classes, test_x[:, None], test_y)
    if config.dataset == "cifar10":
        train_x, train_y, test_x, test_y = read_cifar10(folder)
        return Dataset("cifar10", train_x, train_y, CIFAR10_CLASSES, test_x, test_y)
    raise DatasetError(f"Unknown dataset {config.dataset!r}")


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
        if config.subset is not None and config.dataset != "shapes" and config.subset < len(y):
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


def prepare(config: TrainConfig, dataset: Dataset | None = None) -> Splits:
    """Train / validation / test splits for ``config``: seeded, disjoint, normalisation from train only."""
    ds = dataset or load_dataset(config)
    x, y, tx, ty = _pool_and_test(ds, config)
    val_fraction = config.val_fraction / (1 - config.test_fraction) if ds.test_images is None else config.val_fraction
    train, val = split_indices(len(y), (1 - val_fraction, val_fraction), config.seed + 1)
    return _splits(ds.classes, (x[train], y[train]), (x[val], y[val]), (tx, ty))


def kfold_splits(config: TrainConfig, dataset: Dataset | None = None) -> Iterator[Splits]:
    """The k splits of k-fold cross-validation: each fold is the validation set once, the others train."""
    ds = dataset or load_dataset(config)
    x, y, tx, ty = _pool_and_test(ds, config)
    k = config.kfold
    if len(y) < k:
        raise DatasetError(f"Cannot make {k} folds from {len(y)} samples")
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
