"""The side panel: every setting of a training, as a :class:`TrainConfig`.

Widgets hold the config; ``config()`` reads it and ``set_config()`` writes it with the widgets' signals blocked, so
nothing loops. Combinations that cannot run are disabled with a tooltip saying why; whatever else is wrong
(``config.problems``) is listed in red under the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from optviz.training.config import ACTIVATIONS, NEEDS_DATA_DIR, TrainConfig
from optviz.ui.training.optimizers_box import OptimizersBox
from optviz.ui.training.schedule_box import ScheduleBox

DATASET_TITLES = {"mnist5k": "MNIST 5k (shipped)", "shapes": "Shapes (generated)", "fashion-mnist": "Fashion-MNIST",
                  "mnist": "MNIST (folder)", "cifar10": "CIFAR-10 (folder)"}
MODEL_TYPES = {"mlp": "MLP", "lenet": "LeNet-5", "resnet": "ResNet", "plain": "PlainNet (ResNet without skips)"}
DEPTHS = (8, 14, 20)
OWN_TEST_SPLIT = ("mnist", "fashion-mnist", "cifar10")


def _spin(low: int, high: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setKeyboardTracking(False)
    if special:
        box.setSpecialValueText(special)
    return box


def _fraction(high: float = 0.9, step: float = 0.05, decimals: int = 3) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setKeyboardTracking(False)
    return box


def _combo(items: dict[str, str] | tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    for key, title in (items.items() if isinstance(items, dict) else ((i, i) for i in items)):
        box.addItem(title, key)
    return box


def _set_enabled(widget: QWidget, enabled: bool, why: str, tip: str = "") -> None:
    widget.setEnabled(enabled)
    widget.setToolTip(tip if enabled else why)


class TrainingPanel(QWidget):
    """Data, model, optimizers, regularisation, schedule and run settings."""

    changed = Signal()  # any setting was edited by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._data_group())
        layout.addWidget(self._model_group())
        self.optimizers = OptimizersBox()
        layout.addWidget(self._group("Optimizers", self.optimizers))
        layout.addWidget(self._regularisation_group())
        self.schedule = ScheduleBox()
        layout.addWidget(self._group("Learning-rate schedule", self.schedule))
        layout.addWidget(self._run_group())
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #ff6b6b")  # placed by the tab, under the Start button
        layout.addStretch(1)
        self._cuda = self._cuda_available()
        self._connect()
        self.set_config(TrainConfig())

    # ---- building ---------------------------------------------------------------------------------------------

    @staticmethod
    def _group(title: str, widget: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(6, 6, 6, 6)
        inner.addWidget(widget)
        return box

    def _data_group(self) -> QGroupBox:
        self.dataset = _combo(DATASET_TITLES)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder with the dataset's files")
        self.browse = QPushButton("…")
        self.browse.setMaximumWidth(30)
        self.browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse)
        self.subset = _spin(0, 10_000_000, "all")
        self.subset.setSingleStep(500)
        self.subset.setToolTip("Use only this many samples (quick runs); 0 = all")
        self.val_fraction, self.test_fraction = _fraction(), _fraction()
        self.batch_size = _spin(1, 65536)
        self.augment = QCheckBox("shift images by up to 2 px")
        box = QGroupBox("Data")
        form = QFormLayout(box)
        for label, w in (("Dataset", self.dataset), ("Folder", folder_row), ("Subset", self.subset),
                         ("Validation", self.val_fraction), ("Test", self.test_fraction),
                         ("Batch size", self.batch_size), ("Augment", self.augment)):
            form.addRow(label, w)
        return box

    def _model_group(self) -> QGroupBox:
        self.model_type = _combo(MODEL_TYPES)
        self.depth = _combo({str(d): str(d) for d in DEPTHS})
        self.width = _spin(1, 512)
        self.batchnorm = QCheckBox("BatchNorm")
        self.dropout = _fraction(0.9, 0.1, 2)
        self.activation = _combo(ACTIVATIONS)
        box = QGroupBox("Model")
        form = QFormLayout(box)
        for label, w in (("Type", self.model_type), ("Depth", self.depth), ("Width", self.width),
                         ("", self.batchnorm), ("Dropout", self.dropout), ("Activation", self.activation)):
            form.addRow(label, w)
        return box

    def _regularisation_group(self) -> QGroupBox:
        self.weight_decay = _fraction(10.0, 1e-4, 6)
        self.decoupled = QCheckBox("decoupled (AdamW-style)")
        self.l1 = _fraction(10.0, 1e-5, 6)
        self.clip = _fraction(1e6, 0.5, 3)
        self.clip.setSpecialValueText("off")
        box = QGroupBox("Regularisation")
        form = QFormLayout(box)
        for label, w in (("Weight decay", self.weight_decay), ("", self.decoupled), ("L1", self.l1),
                         ("Clip grad norm", self.clip)):
            form.addRow(label, w)
        self.weight_decay.setToolTip("λ: L2 added to the gradient (g + λw), or decoupled: w ← w − lr·λ·w")
        self.l1.setToolTip("α·Σ|w| added to the loss")
        return box

    def _run_group(self) -> QGroupBox:
        self.epochs = _spin(1, 100_000)
        self.seed = _spin(0, 2**31 - 1)
        self.device = _combo(("auto", "cpu", "cuda"))
        self.kfold = _spin(0, 100, "off")
        box = QGroupBox("Run")
        form = QFormLayout(box)
        for label, w in (("Epochs", self.epochs), ("Seed", self.seed), ("Device", self.device),
                         ("k-fold CV", self.kfold)):
            form.addRow(label, w)
        return box

    def _connect(self) -> None:
        for combo in (self.dataset, self.model_type, self.depth, self.activation, self.device):
            combo.currentIndexChanged.connect(self._on_any_changed)
        for spin in (self.subset, self.val_fraction, self.test_fraction, self.batch_size, self.width, self.dropout,
                     self.weight_decay, self.l1, self.clip, self.epochs, self.seed, self.kfold):
            spin.valueChanged.connect(self._on_any_changed)
        for check in (self.augment, self.batchnorm, self.decoupled):
            check.toggled.connect(self._on_any_changed)
        self.folder.editingFinished.connect(self._on_any_changed)
        self.optimizers.changed.connect(self._on_any_changed)
        self.schedule.changed.connect(self._on_any_changed)

    @staticmethod
    def _cuda_available() -> bool:
        import torch

        return torch.cuda.is_available()

    # ---- config <-> widgets --------------------------------------------------------------------------------------

    def config(self) -> TrainConfig:
        """The settings shown, as a config (which may have problems: see ``config.problems``)."""
        kind, depth = self.model_type.currentData(), self.depth.currentData()
        model = f"{kind}{depth}" if kind in ("resnet", "plain") else kind
        folder = self.folder.text().strip()
        return TrainConfig(
            dataset=self.dataset.currentData(), data_dir=folder or None, subset=self.subset.value() or None,
            val_fraction=self.val_fraction.value(), test_fraction=self.test_fraction.value(),
            batch_size=self.batch_size.value(), augment=self.augment.isChecked(), model=model,
            width=self.width.value(), batchnorm=self.batchnorm.isChecked(), dropout=self.dropout.value(),
            activation=self.activation.currentData(), optimizers=self.optimizers.choices(),
            weight_decay=self.weight_decay.value(), decoupled=self.decoupled.isChecked(), l1=self.l1.value(),
            schedule=self.schedule.schedule(), schedule_params=self.schedule.params(),
            warmup_epochs=self.schedule.warmup(), clip_grad=self.clip.value() or None, epochs=self.epochs.value(),
            seed=self.seed.value(), kfold=self.kfold.value(), device=self.device.currentData())

    def set_config(self, c: TrainConfig) -> None:
        """Show ``c`` without emitting ``changed``."""
        widgets = [w for w in self.findChildren(QWidget)]
        for w in widgets:
            w.blockSignals(True)
        try:
            self.dataset.setCurrentIndex(self.dataset.findData(c.dataset))
            self.folder.setText(c.data_dir or "")
            self.subset.setValue(c.subset or 0)
            self.val_fraction.setValue(c.val_fraction)
            self.test_fraction.setValue(c.test_fraction)
            self.batch_size.setValue(c.batch_size)
            self.augment.setChecked(c.augment)
            kind = c.model.rstrip("0123456789")
            self.model_type.setCurrentIndex(self.model_type.findData(kind))
            if kind in ("resnet", "plain"):
                self.depth.setCurrentIndex(self.depth.findData(c.model[len(kind):]))
            self.width.setValue(c.width)
            self.batchnorm.setChecked(c.batchnorm)
            self.dropout.setValue(c.dropout)
            self.activation.setCurrentIndex(self.activation.findData(c.activation))
            self.optimizers.set_choices(c.optimizers)
            self.weight_decay.setValue(c.weight_decay)
            self.decoupled.setChecked(c.decoupled)
            self.l1.setValue(c.l1)
            self.clip.setValue(c.clip_grad or 0.0)
            self.schedule.set_schedule(c.schedule, c.schedule_params, c.warmup_epochs)
            self.epochs.setValue(c.epochs)
            self.seed.setValue(min(c.seed, self.seed.maximum()))
            self.device.setCurrentIndex(self.device.findData(c.device))
            self.kfold.setValue(c.kfold)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._update_enabled()

    def show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(f"• {p}" for p in problems))

    # ---- what can be combined --------------------------------------------------------------------------------

    def _update_enabled(self) -> None:
        c = self.config()
        needs_folder = c.dataset in NEEDS_DATA_DIR + ("fashion-mnist",)
        why_no_folder = f"{DATASET_TITLES[c.dataset]} needs no folder"
        _set_enabled(self.folder, needs_folder, why_no_folder,
                     "Folder with the IDX files (MNIST, Fashion-MNIST) or cifar-10-batches-py"
                     + ("; empty: /usr/share/datasets/fashion-mnist" if c.dataset == "fashion-mnist" else ""))
        _set_enabled(self.browse, needs_folder, why_no_folder, "Choose the folder")
        own_test = c.dataset in OWN_TEST_SPLIT and c.subset is None
        _set_enabled(self.test_fraction, not own_test, f"{c.dataset} has its own test set (the fraction applies "
                     "only with a subset)", "Fraction of the samples held out for the test set")
        self.val_fraction.setToolTip("Fraction of the training samples held out to validate after each epoch")
        kind = self.model_type.currentData()
        _set_enabled(self.depth, kind in ("resnet", "plain"), "LeNet-5 has a fixed depth" if kind == "lenet"
                     else "The MLP has two hidden layers", "Layers: 6n + 2 (three stages of n two-conv blocks)")
        _set_enabled(self.width, kind != "lenet", "LeNet-5 has fixed widths (6 and 16 channels, 120 and 84 units)",
                     "ResNet/PlainNet: channels of the first stage (×2, ×4 later); MLP: hidden units = 8 × width")
        _set_enabled(self.decoupled, c.weight_decay > 0, "Set a weight decay above 0 first",
                     "Decoupled: w ← w − lr·λ·w before the step (AdamW) instead of λw added to the gradient")
        race = len(c.optimizers) > 1
        _set_enabled(self.kfold, not race, "Cross-validation runs one optimizer: remove the race entries first",
                     "k-fold cross-validation: each of k folds is the validation set once; 0 = off")
        self.optimizers.set_race_allowed(c.kfold == 0, "A race can't be cross-validated: set k-fold CV to off first")
        item = self.device.model().item(self.device.findData("cuda"))
        item.setEnabled(self._cuda)
        item.setToolTip("" if self._cuda else "No CUDA device on this machine")

    def _on_any_changed(self, *_args) -> None:
        self._update_enabled()
        self.changed.emit()

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self._on_any_changed()

