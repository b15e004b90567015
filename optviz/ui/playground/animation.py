"""Animation of the paths: a timer that advances the model's step, and its control bar.

Play/pause, step back/forward, restart, a speed in steps per second and a timeline slider to scrub to any step.
A new surface or preset starts the animation over: the model goes to step 0 at once, and with ``autoplay`` the
animation plays as soon as the new paths are in (the trails then grow from the start points).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from optviz.ui.playground.compute import shown_field, shown_result
from optviz.ui.playground.model import PlaygroundModel

FRAME_MS = 33
SPEEDS = (10, 30, 60, 120, 300, 1000, 3000)  # steps per second
DEFAULT_SPEED = 60


class Animator(QObject):
    """Advances ``model.step`` at ``speed`` steps per second while playing; stops at the last step."""

    playing_changed = Signal(bool)

    def __init__(self, model: PlaygroundModel, *, autoplay: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.speed = float(DEFAULT_SPEED)
        self.autoplay = autoplay  # play a new surface's paths from step 0 once they are in
        self._play_when_in = autoplay  # the first paths too
        self._position = 0.0  # fractional step, so slow speeds still move
        self._last_tick = 0.0
        self._timer = QTimer(self, interval=FRAME_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        model.surface_changed.connect(self._on_model_surface_changed)
        model.result_changed.connect(self._on_model_result_changed)
        model.field_changed.connect(self._on_model_result_changed)  # the paths are drawn once both are in

    def is_playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        if self._model.step >= self._model.last_step:
            self._model.set_step(0)  # play at the end starts over
        self._position = float(self._model.step)
        self._last_tick = time.perf_counter()
        if not self._timer.isActive():
            self._timer.start()
            self.playing_changed.emit(True)

    def pause(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.is_playing() else self.play()

    def step_by(self, delta: int) -> None:
        self.pause()
        self._model.set_step(self._model.step + delta)

    def restart(self) -> None:
        self._model.set_step(0)
        self.play()

    def _on_model_surface_changed(self) -> None:
        self.pause()  # the model goes back to step 0 by itself
        self._play_when_in = self.autoplay

    def _on_model_result_changed(self) -> None:
        result = shown_result(self._model)
        drawn = result is not None and shown_field(self._model) is not None  # as the path items decide
        if self._play_when_in and drawn and not result.preview:
            self._play_when_in = False
            self.restart()

    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        if int(self._position) != self._model.step:  # someone else moved the step (slider, cursor)
            self._position = float(self._model.step)
        self._position += self.speed * (now - self._last_tick)
        self._last_tick = now
        self._model.set_step(int(self._position))
        if self._model.step >= self._model.last_step and self._model.result is not None:
            self.pause()


class AnimationBar(QWidget):
    """Restart, step back, play/pause, step forward, timeline slider, step label and speed."""

    def __init__(self, model: PlaygroundModel, animator: Animator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._animator = animator
        style = self.style()
        self.restart_button = self._button(QStyle.StandardPixmap.SP_MediaSkipBackward, "Restart (Home)")
        self.back_button = self._button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Step back")
        self.play_button = self._button(QStyle.StandardPixmap.SP_MediaPlay, "Play/pause (Space)")
        self.forward_button = self._button(QStyle.StandardPixmap.SP_MediaSeekForward, "Step forward")
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Timeline: drag to any step")
        self.slider.setMinimumWidth(24)  # it stretches; its minimum and the bar's set the surface's narrowest width
        self.step_label = QLabel()  # as wide as its widest text for the run (it does not jitter while playing)
        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed}/s", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_combo.setToolTip("Animation speed in steps per second")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        for widget in (self.restart_button, self.back_button, self.play_button, self.forward_button):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.step_label)
        layout.addWidget(self.speed_combo)
        self.restart_button.clicked.connect(self._on_restart_button_clicked)
        self.back_button.clicked.connect(self._on_back_button_clicked)
        self.play_button.clicked.connect(self._on_play_button_clicked)
        self.forward_button.clicked.connect(self._on_forward_button_clicked)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.speed_combo.currentIndexChanged.connect(self._on_speed_combo_changed)
        animator.playing_changed.connect(self._on_animator_playing_changed)
        model.step_changed.connect(self._on_model_step_changed)
        model.result_changed.connect(self._on_model_result_changed)
        self._on_model_result_changed()

    def _button(self, pixmap: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(self.style().standardIcon(pixmap))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def _on_model_result_changed(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, self._model.last_step)
        self.slider.setPageStep(max(1, self._model.last_step // 20))
        self.slider.blockSignals(False)
        last = self._model.last_step
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance(f"step {last} / {last}") + 8)
        self._on_model_step_changed(self._model.step)

    def _on_model_step_changed(self, step: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        self.step_label.setText(f"step {step} / {self._model.last_step}")

    def _on_animator_playing_changed(self, playing: bool) -> None:
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)

    def _on_restart_button_clicked(self) -> None:
        self._animator.restart()

    def _on_back_button_clicked(self) -> None:
        self._animator.step_by(-1)

    def _on_play_button_clicked(self) -> None:
        self._animator.toggle()

    def _on_forward_button_clicked(self) -> None:
        self._animator.step_by(1)

    def _on_slider_value_changed(self, value: int) -> None:
        self._animator.pause()
        self._model.set_step(value)

    def _on_speed_combo_changed(self, index: int) -> None:
        self._animator.speed = float(self.speed_combo.itemData(index))
