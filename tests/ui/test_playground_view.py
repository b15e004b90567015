"""What the playground shows: surface picture, markers, loss plot, side panel built from the registries."""

from __future__ import annotations

import pytest
import torch
from playground_helpers import wait_computed

from optviz.core.field import GRID
from optviz.core.optimizers import REGISTRY
from optviz.core.surfaces import SURFACES
from optviz.ui.playground.surface_view import marker_spots, marker_tip


def test_markers_tell_global_local_and_saddle_apart_with_tooltips():
    surface = SURFACES["six_hump_camel"]
    spots = marker_spots(surface.minima + surface.saddles)
    kinds = {s["data"]["kind"]: s["symbol"] for s in spots}
    assert set(kinds) == {"global", "local", "saddle"} and len(set(kinds.values())) == 3
    tip = marker_tip(3.0, 2.0, {"kind": "global", "value": 0.0})
    assert "global minimum" in tip and "x = 3" in tip and "y = 2" in tip and "f = 0" in tip


def test_surface_chooser_and_parameters_drive_the_model_and_picture(qtbot, playground):
    panel, model = playground.side_panel, playground.model
    assert [panel.surface_combo.itemData(i) for i in range(panel.surface_combo.count())] == [*SURFACES, "custom"]
    panel.surface_combo.setCurrentIndex(panel.surface_combo.findData("quadratic"))
    kappa = panel.param_editors["kappa"]
    kappa.setValue(100.0)
    assert model.session.surface == "quadratic" and model.session.surface_params == {"kappa": 100.0}
    wait_computed(qtbot, playground)
    assert model.field.key == ("quadratic", (("kappa", 100.0),))
    assert playground.surface_view.image.image.shape == (GRID, GRID)
    (x0, x1), _ = SURFACES["quadratic"].view
    assert playground.surface_view.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([x0, x1], abs=0.5)


def test_side_panel_has_a_section_per_optimizer_and_cuda_only_when_present(playground):
    panel = playground.side_panel
    assert [s.panel.spec.name for s in panel.sections] == list(REGISTRY)
    assert [s.enabled_box.isChecked() for s in panel.sections] == [s.default_enabled for s in REGISTRY.values()]
    cuda = panel.device_combo.model().item(panel.device_combo.findData("cuda"))
    assert cuda.isEnabled() == torch.cuda.is_available()
    assert panel.steps_box.maximum() == 5000


def test_loss_plot_hover_names_the_nearest_curve(playground):
    model, plot = playground.model, playground.loss_plot
    assert len(plot.curves) == 6 and plot.getPlotItem().getAxis("left").logMode
    momentum = 1
    y = plot.curves[momentum].getData()[1][200]
    text, y_found = plot.hover_text(200, y)
    assert text.startswith("Momentum, start 1") and "step 200" in text
    assert y_found == pytest.approx(y)
    loss = model.result.paths.losses[momentum, 0, 200]
    assert f"{loss:.6g}" in text
