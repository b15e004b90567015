"""`optviz --screenshot` fails with one line and a non-zero status when there is nothing to show."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_cli(*args, cwd):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "optviz", *args], capture_output=True, text=True, timeout=180,
                          env=env, cwd=cwd)


def test_training_that_cannot_start_is_refused_before_the_screenshot(tmp_path):
    """A missing data folder is bad input (status 2), found before any window (optviz.cli's rule)."""
    session = tmp_path / "s.json"
    session.write_text(json.dumps({"version": 1, "surface": {"name": "booth"},
                                   "training": {"dataset": "mnist", "data_dir": str(tmp_path / "none"),
                                                "model": "lenet", "epochs": 1}}))
    out = tmp_path / "shot.png"
    proc = run_cli("--screenshot", str(out), "--tab", "training", "--session", str(session), cwd=tmp_path)
    assert proc.returncode == 2 and not out.exists()
    errors = [line for line in proc.stderr.splitlines() if line.startswith("optviz:")]
    assert errors == [f"optviz: error: the session's training cannot start: Data folder for mnist "
                      f"not found: {tmp_path / 'none'}"]
    assert "Traceback" not in proc.stderr


def test_bad_session_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    proc = run_cli("--screenshot", str(tmp_path / "x.png"), "--session", str(bad), cwd=tmp_path)
    assert proc.returncode == 2 and "is not valid JSON" in proc.stderr and "Traceback" not in proc.stderr


def test_a_screenshot_is_a_png_file_in_a_folder_that_exists(tmp_path):
    """`--screenshot x.gif` wrote PNG data into x.gif and exited 0."""
    proc = run_cli("--screenshot", str(tmp_path / "x.gif"), cwd=tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "x.gif").exists()
    assert proc.stderr.strip().splitlines()[-1] == \
        f"optviz: error: --screenshot: Invalid output file '{tmp_path / 'x.gif'}' (allowed: a file name ending in .png)"
    proc = run_cli("--screenshot", str(tmp_path / "none" / "x.png"), cwd=tmp_path)
    assert proc.returncode == 2 and "folder" in proc.stderr and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
