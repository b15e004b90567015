"""The side panel: every setting of a training, as a :class:`TrainConfig`.

Each group is a :class:`SpecForm` of ``TrainConfig``'s field specs (``config.specs()``), so ranges, words and
messages are the config's own; datasets, models and schedules come from their registries. ``config()`` reads the
forms (always valid values) and ``set_config()`` writes them silently, so nothing loops. Combinations that cannot
run are disabled with a tooltip saying why; whatever else is wrong (``config.problems``) is listed in red under the
panel.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from optviz.core.params import Spec
from optviz.training.config import TrainConfig, check, specs
from optviz.training.data import DATASETS
from optviz.training.models import FAMILY_TITLES, MODELS, depths, find_model
from optviz.ui.training.optimizers_box import OptimizersBox
from optviz.ui.training.schedule_box import ScheduleBox
from optviz.ui.widgets.devices import DEVICE_TITLES, offer_available_devices
from optviz.ui.widgets.editors import tooltip
from optviz.ui.widgets.spec_form import SpecForm
from optviz.ui.widgets.wheel import ComboBox

DATA = ("dataset", "data_dir", "subset", "val_fraction", "test_fraction", "batch_size", "augment")
MODEL = ("width", "batchnorm", "dropout", "activation")  # under the model type and depth, from MODELS
REGULARISATION = ("weight_decay", "decoupled", "l1", "clip_grad")
RUN = ("epochs", "max_steps", "seed", "device", "kfold")


def _check_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The config's own check of each field (kfold also refuses 1), so a form says what ``from_dict`` would."""
    return {name: check(name, value) for name, value in values.items()}


def _parse_field(name: str, text: str) -> Any:
    return check(name, text, text=True)


def _form(specs: list[Spec], titles: dict[str, dict[str, str]] | None = None) -> SpecForm:
    return SpecForm(specs, titles=titles, check=_check_fields, parse=_parse_field, owner="the training")


class TrainingPanel(QWidget):
    """Data, model, optimizers, regularisation, schedule and run settings."""

    changed = Signal()  # any setting was edited by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        fields = specs()
        dataset_titles = {"dataset": {name: d.title for name, d in DATASETS.items()}}
        self.data_form = _form([fields[n] for n in DATA], dataset_titles)
        self.model_form = _form([fields[n] for n in MODEL])
        self.regularisation_form = _form([fields[n] for n in REGULARISATION])
        self.run_form = _form([fields[n] for n in RUN], {"device": DEVICE_TITLES})
        self._forms = (self.data_form, self.model_form, self.regularisation_form, self.run_form)
        self._name_editors()
        self._model_rows()
        self.folder.setPlaceholderText("folder with the dataset's files")
        self.browse = QPushButton("…")
        self.browse.setMaximumWidth(30)
        self.data_form.attach("data_dir", self.browse)
        offer_available_devices(self.run_form)
        self.optimizers = OptimizersBox()
        self.optimizers.training_config = self.config
        self.schedule = ScheduleBox()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for title, widget in (("Data", self.data_form), ("Model", self.model_form), ("Optimizers", self.optimizers),
                              ("Regularisation", self.regularisation_form),
                              ("Learning-rate schedule", self.schedule), ("Run", self.run_form)):
            layout.addWidget(self._group(title, widget))
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #ff6b6b")  # placed by the tab, under the Start button
        layout.addStretch(1)
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

    def _name_editors(self) -> None:
        """The editors under the names the tab and the tests use."""
        names = {"dataset": "dataset", "data_dir": "folder", "clip_grad": "clip"}
        for form in self._forms:
            for spec in form.specs:
                setattr(self, names.get(spec.name, spec.name), form.editor(spec.name))

    def _model_rows(self) -> None:
        """Model type and depth: two combos over the one ``model`` field, from the MODELS registry."""
        self.model_type = ComboBox()
        for family in dict.fromkeys(m.family for m in MODELS.values()):
            self.model_type.addItem(FAMILY_TITLES.get(family, family), family)
        self.depth = ComboBox()
        for d in sorted({m.depth for m in MODELS.values() if m.depth is not None}):
            self.depth.addItem(str(d), d)  # shown greyed out for a family of one depth
        self.model_form.add_row("Type", self.model_type, before="width")
        self.model_form.add_row("Depth", self.depth, before="width")

    def _connect(self) -> None:
        for form in self._forms:
            form.changed.connect(self._on_any_changed)
        self.model_type.currentIndexChanged.connect(self._on_model_type_changed)
        self.depth.currentIndexChanged.connect(self._on_any_changed)
        self.browse.clicked.connect(self._on_browse_clicked)
        self.optimizers.changed.connect(self._on_any_changed)
        self.schedule.changed.connect(self._on_any_changed)

    # ---- config <-> widgets --------------------------------------------------------------------------------------

    def config(self) -> TrainConfig:
        """The settings shown, as a config (which may have problems: see ``config.problems``)."""
        values: dict[str, Any] = {}
        for form in self._forms:
            values.update(form.values())
        return TrainConfig(**values, model=self._model_name(), optimizers=self.optimizers.choices(),
                           schedule=self.schedule.schedule(), schedule_params=self.schedule.params(),
                           warmup_epochs=self.schedule.warmup())

    def set_config(self, c: TrainConfig) -> None:
        """Show ``c`` without emitting ``changed`` (ParamError, naming it, for a value a field does not allow)."""
        for form in self._forms:
            form.clear_problems()
            form.set_values({spec.name: getattr(c, spec.name) for spec in form.specs})
        self._show_model(c.model)
        self.optimizers.set_choices(c.optimizers)
        self.schedule.set_schedule(c.schedule, c.schedule_params, c.warmup_epochs)
        self._update_enabled()

    def editor(self, name: str) -> QWidget:
        """The widget editing the config field ``name`` (``model``: the type combo; the schedule's own fields too)."""
        if name == "model":
            return self.model_type
        form = next((f for f in (*self._forms, self.schedule.form) if name in (s.name for s in f.specs)), None)
        if form is None:
            raise KeyError(f"no editor for {name!r}")
        return form.editor(name)

    def show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(f"• {p}" for p in problems))

    def _model_name(self) -> str:
        found = find_model(self.model_type.currentData(), self.depth.currentData())
        return found.name if found else next(iter(MODELS))

    def _show_model(self, name: str) -> None:
        model = MODELS[name]
        self.model_type.blockSignals(True)
        self.model_type.setCurrentIndex(self.model_type.findData(model.family))
        self.model_type.blockSignals(False)
        self._fill_depths(model.family, model.depth)

    def _fill_depths(self, family: str, depth: int | None) -> None:
        """The depths the registry has for ``family``; a family of one depth keeps the list (greyed out)."""
        found = depths(family)
        self.depth.blockSignals(True)
        if found:
            keep = depth if depth in found else self.depth.currentData()
            self.depth.clear()
            for d in found:
                self.depth.addItem(str(d), d)
            self.depth.setCurrentIndex(max(self.depth.findData(keep), 0))
        self.depth.blockSignals(False)

    # ---- what can be combined --------------------------------------------------------------------------------

    def _enable(self, form: SpecForm, name: str, enabled: bool, why: str, more: str = "") -> None:
        editor = form.editor(name)
        editor.setEnabled(enabled)
        editor.setToolTip(tooltip(form.spec(name)) + more if enabled else why)

    def _update_enabled(self) -> None:
        c = self.config()
        data, model = DATASETS[c.dataset], MODELS[c.model]
        default = f"\nEmpty: {data.default_dir}" if data.default_dir else ""
        self._enable(self.data_form, "data_dir", data.needs_folder, f"{data.title} needs no folder", default)
        self.browse.setEnabled(data.needs_folder)
        self.browse.setToolTip("Choose the folder" if data.needs_folder else f"{data.title} needs no folder")
        own_test = data.own_test_split and c.subset is None
        self._enable(self.data_form, "test_fraction", not own_test,
                     f"{data.title} has its own test set (the fraction applies only with a subset)")
        self.depth.setEnabled(model.depth is not None)
        self.depth.setToolTip(model.doc if model.depth is not None
                              else f"{FAMILY_TITLES.get(model.family, model.title)} has a fixed depth: {model.doc}")
        self._enable(self.model_form, "width", model.uses_width, f"{model.title} has fixed widths: {model.doc}")
        self._enable(self.regularisation_form, "decoupled", c.weight_decay > 0, "Set a weight decay above 0 first")
        race = len(c.optimizers) > 1
        self._enable(self.run_form, "kfold", not race,
                     "Cross-validation runs one optimizer: remove the race entries first")
        self.optimizers.set_race_allowed(c.kfold == 0, "A race can't be cross-validated: set k-fold CV to 0 first")

    def _on_any_changed(self, *_args: Any) -> None:
        self._update_enabled()
        self.changed.emit()

    def _on_model_type_changed(self, _index: int) -> None:
        self._fill_depths(self.model_type.currentData(), self.depth.currentData())
        self._on_any_changed()

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text())
        if folder:
            self.data_form.set_values({"data_dir": folder})
            self._on_any_changed()
