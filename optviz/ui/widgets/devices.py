"""The device choice as both tabs show it: its words, and cuda greyed out where there is none."""

from __future__ import annotations

from optviz.core.devices import cuda_available
from optviz.ui.widgets.spec_form import SpecForm

DEVICE_TITLES = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA"}
NO_CUDA = "No CUDA device is available here"


def offer_available_devices(form: SpecForm, name: str = "device") -> None:
    """Grey out cuda in ``form``'s device combo when torch sees no CUDA device."""
    form.set_choice_enabled(name, "cuda", cuda_available(), NO_CUDA)
