"""File → Export in the window: every picture, the animation, the paths and the training metrics, written where
asked, read back; refusals end in one message and no file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from optviz.core.optimizers import OptimizerChoice
from optviz.core.session import OptimizerEntry, Session


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """One window for the module (building one computes a surface's critical points: seconds on a busy CI)."""
    from optviz.ui.main_window import MainWindow

    session = Session(surface="booth", starts=((-6.0, 6.0), (4.0, -6.0)), steps=40,
                      optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.02})),
                                  OptimizerEntry(OptimizerChoice("adam", {"lr": 0.5}))))
    folder = tmp_path_factory.mktemp("export-menu")
    w = MainWindow(session, settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat),
                   remember=False, autoplay=False)
    w.resize(1100, 700)
    w.show()
    assert w.playground.wait_until_computed(60)
    yield w
    w.close()


def test_the_file_menu_has_the_export_submenu_and_paths_export(window, tmp_path):
    file_menu = window.menuBar().actions()[0].menu()
    titles = [a.text() for a in file_menu.actions()]
    assert "&Export" in titles
    export = window.export_menu.menu
    texts = [a.text() for a in export.actions() if a.text()]
    assert texts[:2] == ["Surface view…", "Loss plot…"]
    assert "Animation (GIF or MP4)…" in texts and "Training metrics (CSV)…" in texts


PICTURES = ["surface", "loss", "window", "training_loss", "training_accuracy", "training_lr", "training_gradflow"]


def test_pictures_as_png_and_svg(window, tmp_path):
    menu = window.export_menu
    for what in PICTURES:
        png, svg = tmp_path / f"{what}.png", tmp_path / f"{what}.svg"
        assert menu.export_picture(what, png) and menu.export_picture(what, svg), what
        with Image.open(png) as image:
            w, h = image.size
        assert w > 50 and h > 50, what
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        vw, vh = (float(v) for v in root.get("viewBox").split()[2:])
        assert (round(vw), round(vh)) == (w, h), what  # the same picture, the same size
    # The window: its picture as on screen (every label and field's text) with each plot in vectors over it.
    root = ET.parse(tmp_path / "window.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    base = root.find(f"{ns}image")
    assert base.get("{http://www.w3.org/1999/xlink}href").startswith("data:image/png;base64,")
    overlays = [g for g in root.findall(f"{ns}g") if g.get("transform", "").startswith("translate(")]
    assert len(overlays) >= 2  # the surface view and the loss plot at least
    assert any("Booth" in "".join(g.itertext()) for g in overlays)  # the surface's title, as text
    view = window.playground.surface_view
    with Image.open(tmp_path / "surface.png") as image:
        assert image.size == (view.width(), view.height())  # the widget as shown


def test_paths_as_csv_and_json(window, tmp_path):
    menu = window.export_menu
    assert menu.export_paths(tmp_path / "p.csv") and menu.export_paths(tmp_path / "p.json")
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0] == "optimizer,start,step,x,y,loss,grad_norm,status"
    assert len(rows) == 1 + 2 * 2 * 41  # 2 optimizers × 2 starts × (40 steps + the start)
    doc = json.loads((tmp_path / "p.json").read_text())
    assert [p["optimizer"] for p in doc["paths"]] == ["sgd", "sgd", "adam", "adam"]
    assert doc["surface"] == "booth" and doc["steps"] == 40


def test_animation_from_the_window(window, qtbot, tmp_path):
    out = tmp_path / "a.gif"
    job = window.export_menu.export_animation(out, 320, 240, fps=8, frames=6, view="both")
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=30_000):
        pass
    with Image.open(out) as gif:
        assert gif.n_frames == 6 and gif.size == (320, 240)
    assert "Exported" in window.statusBar().currentMessage()


def test_refusals_show_one_message_and_write_nothing(window, tmp_path):
    menu = window.export_menu
    assert not menu.export_metrics(tmp_path / "m.csv")
    assert "no runs" in window.last_message.text()
    assert not menu.export_picture("surface", tmp_path / "nope" / "s.png")
    assert "does not exist" in window.last_message.text()
    assert menu.export_animation(tmp_path / "a.gif", 320, 240, fps=8, frames=500) is None
    assert "Invalid frame count: 500" in window.last_message.text()
    assert list(tmp_path.iterdir()) == []


def test_animation_dialog_refuses_more_frames_than_steps(qapp, qtbot):
    from PySide6.QtCore import Qt

    from optviz.ui.export_menu import AnimationDialog

    dialog = AnimationDialog(40)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.values() == {"width": 800, "height": 600, "fps": 20, "frames": 41, "view": "surface"}
    frames = dialog.form.editor("frames")
    frames.lineEdit().selectAll()
    qtbot.keyClicks(frames.lineEdit(), "90")
    qtbot.keyClick(frames.lineEdit(), Qt.Key.Key_Return)
    assert dialog.form.problem("frames").startswith("Invalid frame count: 90 (allowed: 2 to 41")
    dialog.accept()
    assert dialog.isVisible()  # OK does nothing while a field is refused
    frames.lineEdit().selectAll()
    qtbot.keyClicks(frames.lineEdit(), "12")
    qtbot.keyClick(frames.lineEdit(), Qt.Key.Key_Return)
    dialog.view_combo.setCurrentIndex(2)
    dialog.accept()
    assert not dialog.isVisible() and dialog.values()["frames"] == 12 and dialog.values()["view"] == "both"


def test_training_metrics_and_plots_after_a_race(window, qtbot, tmp_path):
    import csv

    from PySide6.QtCore import Qt

    training = window.training
    window.show_tab("training")
    training.set_config({"dataset": "shapes", "subset": 200, "model": "mlp", "epochs": 1, "batch_size": 32,
                         "device": "cpu", "optimizers": ["sgd:lr=0.05", "adam:lr=0.003"]})
    with qtbot.waitSignal(training.runs_finished, timeout=60_000):
        qtbot.mouseClick(training.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(list(training.model.runs)) == 2 and not training.is_running(), timeout=10_000)
    menu = window.export_menu
    assert menu.export_metrics(tmp_path / "m.csv")
    with open(tmp_path / "m.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    runs = sorted({r["run"] for r in rows})
    assert len(runs) == 2
    steps = [len([r for r in rows if r["run"] == run]) for run in runs]
    assert steps[0] == steps[1] == len(training.model.runs.get(1).metrics.steps)  # a race: the same batches
    assert all(r["batch_loss"] for r in rows)
    for what in ("training_loss", "training_accuracy"):
        assert menu.export_picture(what, tmp_path / f"{what}.png")
        with Image.open(tmp_path / f"{what}.png") as image:
            colours = image.convert("RGB").getcolors(1 << 16)
        assert colours is None or len(colours) > 20  # curves drawn, not an empty frame
