"""optviz.core.movie without Qt: frame counts and sizes read back, identical frames kept, steps, sizes, errors."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
from PIL import Image

from optviz.core.movie import MovieWriter, even_size, frame_steps, parse_size
from optviz.core.params import ParamError


def frames(n: int, h: int = 40, w: int = 64) -> list[np.ndarray]:
    out = []
    for k in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 1] = np.linspace(0, 255, w, dtype=np.uint8)  # a gradient, as a surface
        f[5:10, 2 + 3 * k: 5 + 3 * k] = (228, 26, 28)  # a red head moving right
        out.append(f)
    return out


def test_gif_keeps_every_frame_even_identical_ones(tmp_path):
    which = [0, 0, 1, 2, 2, 2, 3]
    seq = [frames(4)[i] for i in which]
    writer = MovieWriter(tmp_path / "a.gif", 25, colors=[(228, 26, 28)])
    for f in seq:
        writer.add(f)
    writer.close()
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == len(seq) and gif.size == (64, 40)
        for k, want in enumerate(seq):
            gif.seek(k)
            assert gif.info["duration"] == 40
            got = np.asarray(gif.convert("RGB")).astype(int)
            head = got[5:10, 2 + 3 * which[k]: 5 + 3 * which[k]]
            assert (head == (228, 26, 28)).all()  # the reserved colour, exactly
            assert np.abs(got - want).max() <= 12  # 256 colours for a gradient of 256 greens and a red


def test_mp4_reads_back(tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    writer = MovieWriter(tmp_path / "a.mp4", 12)
    for f in frames(9):
        writer.add(f)
    writer.close()
    with warnings.catch_warnings():  # imageio's reader leaves its pipes to the garbage collector
        warnings.simplefilter("ignore", ResourceWarning)
        reader = imageio.get_reader(str(tmp_path / "a.mp4"), "ffmpeg")
        try:
            got = [frame for frame in reader]  # not list(): the reader says its length is infinite
        finally:
            reader.close()
        del reader
        gc.collect()
    assert len(got) == 9 and got[0].shape == (40, 64, 3)


def test_abort_and_errors_leave_nothing(tmp_path):
    (tmp_path / "old.gif").write_bytes(b"old")
    writer = MovieWriter(tmp_path / "old.gif", 10)
    writer.add(frames(1)[0])
    with pytest.raises(ValueError, match="frame 1 is 30×20, the first was 64×40"):
        writer.add(np.zeros((20, 30, 3), np.uint8))
    writer.abort()
    with pytest.raises(ValueError, match="even width and height"):
        MovieWriter(tmp_path / "b.mp4", 10).add(np.zeros((21, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="no frames"):
        MovieWriter(tmp_path / "c.gif", 10).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.gif"]
    assert (tmp_path / "old.gif").read_bytes() == b"old"
    with pytest.raises(ParamError, match=r"Invalid frame rate: 0 \(allowed: an integer in \[1, 60\]\)"):
        MovieWriter(tmp_path / "d.gif", 0)
    with pytest.raises(ValueError, match="ending in .gif or .mp4"):
        MovieWriter(tmp_path / "d.avi", 10)


def test_frame_steps_sizes():
    assert frame_steps(300, 4) == [0, 100, 200, 300]
    steps = frame_steps(300, 301)
    assert steps == list(range(301))
    assert len(set(frame_steps(1000, 77))) == 77
    with pytest.raises(ParamError, match=r"Invalid frame count: 12 \(allowed: 2 to 11"):
        frame_steps(10, 12)
    assert parse_size("640x480") == (640, 480) and parse_size("640×480") == (640, 480)
    with pytest.raises(ValueError, match="Invalid --size"):
        parse_size("640")
    with pytest.raises(ParamError, match="Invalid height: 9000"):
        parse_size("640x9000")
    assert even_size(641, 481, ".mp4") == (640, 480) and even_size(641, 481, ".gif") == (641, 481)
