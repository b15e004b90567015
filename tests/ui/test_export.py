"""`optviz export` and the export functions behind File → Export: files read back with Pillow, imageio and an XML
parser have the asked size and frame count; errors are one line; nothing half-written is ever left."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from optviz.cli import main
from optviz.core.session import Session, OptimizerEntry, save_session
from optviz.core.optimizers import OptimizerChoice


@pytest.fixture
def session_file(tmp_path):
    session = Session(surface="booth", starts=((-6.0, 6.0), (5.0, -5.0)), steps=40,
                      optimizers=(OptimizerEntry(OptimizerChoice("sgd", {"lr": 0.02})),
                                  OptimizerEntry(OptimizerChoice("adam", {"lr": 0.5}))))
    path = tmp_path / "s.json"
    save_session(session, path)
    return path


def export(qapp, monkeypatch, *args: str) -> int:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # the command sets it; the test restores it
    return main(["export", *args])


def read_mp4(imageio, path) -> tuple[list, dict]:
    """Every frame and the metadata, read with imageio's ffmpeg plugin (which leaves its pipes to the garbage
    collector: collected here, with their ResourceWarning silenced, so that no later test is blamed)."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        reader = imageio.get_reader(str(path), "ffmpeg")
        try:
            frames = [frame for frame in reader]  # not list(): the reader says its length is infinite
            meta = reader.get_meta_data()
        finally:
            reader.close()
        del reader
        gc.collect()
    return frames, meta


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def test_gif_has_the_asked_frames_size_and_rate(qapp, monkeypatch, session_file, tmp_path):
    out = tmp_path / "a.gif"
    assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(out), "--size", "240x200",
                  "--frames", "12", "--fps", "10") == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 12
        assert gif.size == (240, 200)
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            assert gif.info["duration"] == 100
            frames.append(np.asarray(gif.convert("RGB")))
    # The paths grow: the first and last frames differ, and every frame differs from the one before.
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))
    assert leftovers(tmp_path) == []


def test_mp4_reads_back_with_imageio(qapp, monkeypatch, session_file, tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    out = tmp_path / "a.mp4"
    assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(out), "--size", "241x201",
                  "--frames", "10", "--fps", "5") == 0
    frames, meta = read_mp4(imageio, out)
    fps = meta["fps"]
    assert len(frames) == 10
    assert frames[0].shape == (200, 240, 3)  # MP4 (yuv420p) rounds odd sides down
    assert fps == pytest.approx(5)
    assert leftovers(tmp_path) == []


def test_png_and_svg_of_both_views(qapp, monkeypatch, session_file, tmp_path):
    png, svg = tmp_path / "a.png", tmp_path / "a.svg"
    for out in (png, svg):
        assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(out), "--size", "500x300",
                      "--view", "both") == 0
    with Image.open(png) as image:
        assert image.size == (500, 300)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a picture, not a blank
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 500 300"
    texts = "".join(root.itertext())
    assert "Booth" in texts and "step" in texts  # the surface's title and the loss plot's axis, as text
    # Lines are in page coordinates (no scaling transform that needs vector-effect to keep them 1 px wide), and
    # each plot's clip paths are its own (the loss plot drawn over its place, ids made unique).
    ns = "{http://www.w3.org/2000/svg}"
    for group in root.iter(f"{ns}g"):
        if any(child.tag == f"{ns}polyline" for child in group):
            assert group.get("transform", "matrix(1,0,0,1,0,0)").startswith("matrix(1,0,0,1,")
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) and any(i.startswith("plot1-") for i in ids)


def test_csv_and_json_are_optviz_paths_formats(qapp, monkeypatch, session_file, tmp_path, capsys):
    for suffix in ("csv", "json"):
        mine, theirs = tmp_path / f"e.{suffix}", tmp_path / f"p.{suffix}"
        assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(mine), "--steps", "25") == 0
        assert main(["paths", "--session", str(session_file), "--steps", "25", "--out", str(theirs)]) == 0
        if suffix == "json":
            a, b = json.loads(mine.read_text()), json.loads(theirs.read_text())
            a.pop("device"), b.pop("device")
            assert a == b and a["steps"] == 25
        else:
            assert mine.read_text() == theirs.read_text()
            assert mine.read_text().startswith("optimizer,start,step,x,y,loss,grad_norm,status\n")


@pytest.mark.parametrize("args, status, words", [
    (["--frames", "42"], 2, "Invalid frame count: 42 (allowed: 2 to 41"),
    (["--fps", "0"], 2, "Invalid frame rate: 0 (allowed: an integer in [1, 60])"),
    (["--size", "100x300"], 2, "Invalid width: 100"),
    (["--size", "big"], 2, "Invalid --size: 'big'"),
    (["--view", "3d"], 2, "Invalid --view: '3d'"),
])
def test_bad_input_is_one_line_and_writes_nothing(qapp, monkeypatch, session_file, tmp_path, capsys, args,
                                                  status, words):
    out = tmp_path / "a.gif"
    assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(out), *args) == status
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not out.exists() and leftovers(tmp_path) == []


def test_unwritable_targets(qapp, monkeypatch, session_file, tmp_path, capsys):
    assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(tmp_path / "no" / "a.gif")) == 2
    assert "folder" in capsys.readouterr().err
    assert export(qapp, monkeypatch, "--session", str(session_file), "--out", str(tmp_path / "a.bmp")) == 2
    assert ".png or .svg or .gif or .mp4 or .csv or .json" in capsys.readouterr().err


@pytest.fixture
def renderer(qapp):
    from optviz.core.field import with_points
    from optviz.ui.export import FrameRenderer
    from optviz.ui.playground.compute import compute_field, compute_points, compute_result

    session = Session(surface="booth", starts=((-6.0, 6.0),), steps=30,
                      optimizers=(OptimizerEntry(OptimizerChoice("momentum", {"lr": 0.01})),))
    field = with_points(compute_field(session), *compute_points(session)[1:])
    r = FrameRenderer(session, compute_result(session, session.steps, False), field, (300, 240))
    yield r
    r.close()


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_a_cancelled_animation_leaves_the_old_file_and_no_temporary(renderer, tmp_path, suffix):
    from optviz.ui.export import write_animation

    out = tmp_path / f"a{suffix}"
    out.write_bytes(b"old")
    seen = []
    assert write_animation(renderer, out, 10, 8, lambda done, total: seen.append(done) or done < 3) is False
    assert seen == [1, 2, 3]
    assert out.read_bytes() == b"old" and leftovers(tmp_path) == []
    assert write_animation(renderer, out, 10, 8) is True
    assert out.read_bytes()[:3] != b"old"


def test_frames_are_labelled_with_their_step_and_show_the_trail_growing(renderer):
    first, last = renderer.frame(0), renderer.frame(30)
    assert first.shape == (240, 300, 3)
    assert renderer.model.step == 30
    assert (first != last).any()
    unlabelled = np.asarray(_rgb(renderer.image(30, label=False)))
    assert (unlabelled != last).any()  # the label is drawn on the frame


def _rgb(image):
    from optviz.ui.export import image_array

    return image_array(image)


def test_gui_animation_export_cancel_and_finish(renderer, qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from optviz.ui.export import AnimationExport

    out = tmp_path / "b.gif"
    job = AnimationExport(renderer, out, fps=10, frames=31)
    with qtbot.waitSignal(job.finished, timeout=10_000) as blocker:
        job.start()
        qtbot.waitUntil(lambda: job.dialog.value() >= 2, timeout=10_000)
        cancel = [b for b in job.dialog.findChildren(QPushButton) if b.text() == "Cancel"]
        qtbot.mouseClick(cancel[0], Qt.MouseButton.LeftButton)
    assert blocker.args == ["cancelled"]
    assert not out.exists() and leftovers(tmp_path) == []


def test_gui_animation_export_writes_the_file(qapp, qtbot, tmp_path):
    from optviz.core.field import with_points
    from optviz.ui.export import AnimationExport, FrameRenderer
    from optviz.ui.playground.compute import compute_field, compute_points, compute_result

    session = Session(surface="booth", starts=((-6.0, 6.0),), steps=30,
                      optimizers=(OptimizerEntry(OptimizerChoice("momentum", {"lr": 0.01})),))
    field = with_points(compute_field(session), *compute_points(session)[1:])
    renderer = FrameRenderer(session, compute_result(session, session.steps, False), field, (260, 220))
    out = tmp_path / "c.gif"
    job = AnimationExport(renderer, out, fps=10, frames=5)
    with qtbot.waitSignal(job.finished, timeout=20_000) as blocker:
        job.start()
    assert blocker.args == [""]
    with Image.open(out) as gif:
        assert gif.n_frames == 5 and gif.size == (260, 220)
