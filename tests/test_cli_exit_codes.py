"""The command line's one rule for exit statuses (optviz.cli's docstring): 2 and one line for bad input, found
before any work starts; 1 and one line for a failure while working; no file created or left half-written."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from optviz.cli import main
from optviz.commands import basins as basins_command
from optviz.core.files import OutputError, write_atomic


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def spare(tmp_path, monkeypatch) -> Path:
    """The temporary folder where a result that could not be written is kept: one of this test's own."""
    folder = tmp_path / "spare"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def no_work(monkeypatch):
    """Every command's work refuses to start: a check that comes too late fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the arguments were checked")

    from optviz.commands import export, paths, sweep
    from optviz.training.trainer import Trainer

    monkeypatch.setattr(Trainer, "run", refuse)
    monkeypatch.setattr(basins_command, "basins", refuse)
    monkeypatch.setattr(sweep, "sweep", refuse)
    monkeypatch.setattr(paths, "simulate", refuse)
    monkeypatch.setattr(export, "_write_paths", refuse)
    monkeypatch.setattr(export, "_render", refuse)
    monkeypatch.setattr("optviz.training.checkpoint.load_checkpoint", refuse)
    monkeypatch.setattr("optviz.ui.app.run_gui", refuse)  # the GUI: no window either


def kept_in(spare: Path) -> list[Path]:
    """The files kept in the spare folder (torch may leave caches of its own there: folders)."""
    return sorted(p for p in spare.iterdir() if p.is_file())


def one_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# Each command with an output flag: (the command line without it, the flag, its suffix or "" for any).
OUTPUTS = {
    "train --save": (["train", "--subset", "100", "--epochs", "1", "--model", "mlp"], "--save", ""),
    "train --csv": (["train", "--subset", "100", "--epochs", "1", "--model", "mlp"], "--csv", ""),
    "paths": (["paths", "--surface", "booth", "--optimizer", "adam", "--start", "1,1"], "--out", ".csv"),
    "basins": (["basins", "--surface", "booth", "--optimizer", "adam"], "--out", ".npz"),
    "sweep": (["sweep", "--surface", "booth", "--optimizer", "adam", "--start", "1,1", "--x", "lr:1e-4:1"], "--out",
              ".npz"),
    "export": (["export"], "--out", ".png"),
    "landscape": (["landscape", "--checkpoint", "c.pt"], "--out", ".npz"),
    "gui": (["--tab", "playground"], "--screenshot", ".png"),
}
SUFFIXES = {"paths": ".csv or .json", "basins": ".npz or .png", "sweep": ".npz or .png",
            "export": ".png or .svg or .gif or .mp4 or .csv or .json", "landscape": ".npz or .png", "gui": ".png"}


@pytest.mark.parametrize("command", OUTPUTS)
@pytest.mark.parametrize("where, reason", [("folder", "it is a folder"),
                                           ("missing", "folder '{folder}' does not exist")])
def test_an_output_that_cannot_be_written_is_bad_input_found_before_any_work(tmp_path, capsys, no_work, command,
                                                                             where, reason):
    argv, flag, suffix = OUTPUTS[command]
    target = tmp_path / f"x{suffix}"
    if where == "folder":
        target.mkdir()
    else:
        target = tmp_path / "missing" / target.name
    before = files_under(tmp_path)
    assert main([*argv, flag, str(target)]) == 2
    ending = f" ending in {SUFFIXES[command]}" if command in SUFFIXES else ""
    assert one_error(capsys) == (f"optviz: error: {flag}: cannot write {str(target)!r}: "
                                 f"{reason.format(folder=tmp_path / 'missing')} (allowed: a file name{ending} in a "
                                 "folder that exists and is writable)")
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("command", [c for c in OUTPUTS if c in SUFFIXES])
def test_a_suffix_not_allowed_is_bad_input(tmp_path, capsys, no_work, command):
    argv, flag, _ = OUTPUTS[command]
    assert main([*argv, flag, str(tmp_path / "x.txt")]) == 2
    assert one_error(capsys) == (f"optviz: error: {flag}: Invalid output file {str(tmp_path / 'x.txt')!r} (allowed: "
                                 f"a file name ending in {SUFFIXES[command]})")
    assert files_under(tmp_path) == []


def test_an_output_that_would_replace_an_input_is_refused(tmp_path, capsys, no_work):
    train = OUTPUTS["train --save"][0]
    assert main([*train, "--save", str(tmp_path / "r.pt"), "--csv", str(tmp_path / "." / "r.pt")]) == 2
    assert one_error(capsys) == (f"optviz: error: --csv: {str(tmp_path / '.' / 'r.pt')!r} is also the file of --save: "
                                 "one would replace the other (allowed: another file name)")
    session = tmp_path / "s.json"
    session.write_text('{"version": 1, "surface": {"name": "booth"}}')
    assert main(["paths", "--session", str(session), "--out", str(session)]) == 2
    assert one_error(capsys).startswith(f"optviz: error: --out: {str(session)!r} is also the file of --session: ")
    assert session.read_text() == '{"version": 1, "surface": {"name": "booth"}}'


SWEEP = ["sweep", "--surface", "booth", "--optimizer", "adam", "--start", "1,1", "--x", "lr:1e-4:1"]
LR_SWEEP = ["sweep-lr", "--optimizer", "sgd", "--lr", "1e-3:1", "--model", "mlp", "--subset", "100", "--epochs", "1"]


@pytest.mark.parametrize("argv, flag", [
    (SWEEP + ["--x", "lr:1e-2:1"], "--x"),
    (SWEEP + ["--y", "momentum:0:0.9", "--y", "momentum:0:0.5"], "--y"),
    (SWEEP + ["--surface", "himmelblau"], "--surface"),
    (SWEEP + ["--start", "2,2"], "--start"),
    (SWEEP + ["--start", "-1.5,2"], "--start"),  # a negative value is joined to its flag first
    (["basins", "--surface", "booth", "--optimizer", "adam", "--resolution", "8", "--resolution", "16"],
     "--resolution"),
    (["basins", "--surface", "booth", "--formula", "x*y", "--formula", "x+y", "--optimizer", "adam"], "--formula"),
    (["paths", "--surface", "booth", "--surface", "rosenbrock", "--optimizer", "adam"], "--surface"),
    (["paths", "--surface", "booth", "--optimizer", "adam", "--steps", "5", "--steps", "10"], "--steps"),
    (LR_SWEEP + ["--lr", "1e-2:1"], "--lr"),
    (["train", "--epochs", "1", "--epochs", "2"], "--epochs"),
    (["landscape", "--checkpoint", "a.pt", "--checkpoint", "b.pt"], "--checkpoint"),
    (["--tab", "training", "--tab", "playground"], "--tab"),
])
def test_a_flag_given_twice_is_refused_not_silently_replaced(tmp_path, capsys, no_work, argv, flag):
    out = tmp_path / "o.npz"
    if argv[0] in ("sweep", "basins"):
        argv = [*argv, "--out", str(out)]
    assert main(argv) == 2
    assert one_error(capsys) == f"optviz: error: argument {flag}: given twice (give it once)"
    assert files_under(tmp_path) == []


def test_repeatable_flags_still_repeat(capsys):
    assert main(["paths", "--surface", "booth", "--optimizer", "sgd", "--optimizer", "adam", "--start", "1,1",
                 "--start", "-1,2", "--steps", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "optimizer,start,step,x,y,loss,grad_norm,status" and len(rows) == 1 + 2 * 2 * 3


@pytest.mark.parametrize("argv, line", [
    (SWEEP[:-1] + ["lr:1:1e-4:log"],
     "Invalid --x 'lr:1:1e-4:log': LOW must be below HIGH (got 1 and 0.0001; e.g. lr:0.0001:1)"),
    (SWEEP[:-1] + ["lr:0.1:0.1"], "Invalid --x 'lr:0.1:0.1': LOW must be below HIGH (got 0.1 and 0.1)"),
    (SWEEP + ["--y", "momentum:0.99:0"],
     "Invalid --y 'momentum:0.99:0': LOW must be below HIGH (got 0.99 and 0; e.g. momentum:0:0.99)"),
    (LR_SWEEP[:4] + ["1:1e-3"] + LR_SWEEP[5:],
     "Invalid --lr '1:1e-3': LOW must be below HIGH (got 1 and 0.001; e.g. 0.001:1)"),
    (LR_SWEEP[:4] + ["1:1e-3", "--copies", "1"] + LR_SWEEP[5:],  # one copy: the reversed range was taken as LOW
     "Invalid --lr '1:1e-3': LOW must be below HIGH (got 1 and 0.001; e.g. 0.001:1)"),
    (["paths", "--formula", "x*y", "--view", "1,-1,0,1", "--optimizer", "adam", "--start", "0,0"],
     "Invalid view box: [1.0, -1.0, 0.0, 1.0] (allowed: four numbers xmin, xmax, ymin, ymax with xmin < xmax and "
     "ymin < ymax, each in [-1e+06, 1e+06], at least 1e-06 wide)"),
    (["basins", "--formula", "x*y", "--view", "-1,1,1,0", "--optimizer", "adam"],
     "Invalid view box: [-1.0, 1.0, 1.0, 0.0] (allowed: four numbers xmin, xmax, ymin, ymax with xmin < xmax and "
     "ymin < ymax, each in [-1e+06, 1e+06], at least 1e-06 wide)"),
])
def test_a_reversed_range_is_refused_saying_low_must_be_below_high(tmp_path, capsys, no_work, monkeypatch, argv,
                                                                   line):
    from optviz.training import lr_sweep

    monkeypatch.setattr(lr_sweep, "sweep_lr", lambda *a, **k: pytest.fail("the sweep started"))
    if argv[0] in ("sweep", "basins"):
        argv = [*argv, "--out", str(tmp_path / "o.npz")]
    assert main(argv) == 2
    assert one_error(capsys) == f"optviz: error: {line}"
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("command", [["train", "--subset", "100", "--epochs", "1", "--model", "mlp"], LR_SWEEP])
@pytest.mark.parametrize("folder, words", [
    ("none", "Data folder for fashion-mnist not found: {folder}"),
    ("empty", "{folder}/train-images-idx3-ubyte[.gz]: file not found (expected the train images as an IDX file "
              "of uint8, shape (N, 28, 28))"),
])
def test_missing_dataset_files_are_bad_input_in_every_command(tmp_path, capsys, command, folder, words):
    (tmp_path / "empty").mkdir()
    assert main([*command, "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / folder)]) == 2
    assert one_error(capsys) == f"optviz: error: {words.format(folder=tmp_path / folder)}"


@pytest.mark.parametrize("folder, words", [
    ("none", "Data folder for mnist not found: {folder}"),
    ("empty", "{folder}/train-images-idx3-ubyte[.gz]: file not found (expected the train images as an IDX file "
              "of uint8, shape (N, 28, 28))"),  # was a screenshot of the failed training, and status 0
])
def test_a_screenshot_whose_training_has_no_data_is_bad_input(tmp_path, capsys, no_work, folder, words):
    (tmp_path / "empty").mkdir()
    session = tmp_path / "s.json"
    session.write_text(json.dumps({"version": 1, "surface": {"name": "booth"},
                                   "training": {"dataset": "mnist", "data_dir": str(tmp_path / folder),
                                                "model": "lenet", "epochs": 1}}))
    shot = tmp_path / "shot.png"
    assert main(["--screenshot", str(shot), "--tab", "training", "--session", str(session)]) == 2
    assert one_error(capsys) == (f"optviz: error: the session's training cannot start: "
                                 f"{words.format(folder=tmp_path / folder)}")
    assert not shot.exists()


def failing_in(folder: Path, write):
    """``write`` (a write_atomic) failing with a full disk for files in ``folder``, working elsewhere."""
    def patched(path, data):
        if Path(path).parent == folder:
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as exc:
                raise OutputError(f"cannot write {str(path)!r}: {exc.strerror.lower()}") from None
        write(path, data)
    return patched


def test_a_map_that_cannot_be_saved_after_the_work_is_kept_and_its_race_printed(tmp_path, spare, capsys,
                                                                                 monkeypatch):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(basins_command, "write_atomic", failing_in(out_dir, write_atomic))
    target = out_dir / "b.npz"
    assert main(["basins", "--surface", "booth", "--optimizer", "adam:lr=0.5", "--resolution", "6", "--steps", "20",
                 "--engine", "eager", "--device", "cpu", "--out", str(target)]) == 1
    out, err = capsys.readouterr()
    (kept,) = kept_in(spare)
    assert err.strip().splitlines() == [f"optviz: error: cannot write {str(target)!r}: no space left on device; "
                                        f"kept it as {str(kept)!r} instead"]
    assert out.splitlines()[0].startswith("optimizer") and out.splitlines()[1].startswith("adam")  # the race
    assert kept.name.startswith("b-") and kept.suffix == ".npz"
    with np.load(kept) as arrays:
        assert arrays["adam/labels"].shape == (6, 6) and list(arrays["optimizers"]) == ["adam"]
    assert files_under(out_dir) == []


def test_where_the_spare_copy_fails_too_nothing_is_left_anywhere(tmp_path, spare, capsys, monkeypatch):
    def full(path, data):
        raise OutputError(f"cannot write {str(path)!r}: no space left on device")

    monkeypatch.setattr(basins_command, "write_atomic", full)
    target = tmp_path / "b.npz"
    assert main(["basins", "--surface", "booth", "--optimizer", "adam", "--resolution", "4", "--steps", "5",
                 "--engine", "eager", "--device", "cpu", "--out", str(target)]) == 1
    assert one_error(capsys) == f"optviz: error: cannot write {str(target)!r}: no space left on device"
    assert kept_in(spare) == [] and [p.name for p in tmp_path.iterdir()] == ["spare"]


def test_a_training_whose_files_cannot_be_saved_keeps_both_and_says_so_in_one_line(tmp_path, spare, capsys,
                                                                                    monkeypatch):
    from optviz.training import checkpoint

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(checkpoint, "write_atomic", failing_in(out_dir, checkpoint.write_atomic))
    save, csv = out_dir / "c.pt", out_dir / "m.csv"
    assert main(["train", "--subset", "200", "--epochs", "1", "--model", "mlp", "--width", "4", "--device", "cpu",
                 "--json", "--save", str(save), "--csv", str(csv)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "finished"  # printed before the files
    kept_pt, kept_csv = sorted(kept_in(spare), key=lambda p: p.suffix != ".pt")
    assert err.strip().splitlines() == [
        f"optviz: error: cannot write {str(save)!r}: no space left on device; kept it as {str(kept_pt)!r} instead; "
        f"cannot write {str(csv)!r}: no space left on device; kept it as {str(kept_csv)!r} instead"]
    assert checkpoint.load_checkpoint(str(kept_pt)).config.model == "mlp"
    assert kept_csv.read_text().startswith("run,label,step")
    assert files_under(out_dir) == []


def test_sweep_lr_says_one_copy(capsys):
    assert main([*LR_SWEEP, "--copies", "1", "--device", "cpu"]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("1 copy of mlp, ")


def test_the_real_command_exits_2_with_one_line_and_writes_nothing(tmp_path):
    """As a user runs it: a subprocess, a flag given twice, a path in a missing folder."""
    env_cmd = [sys.executable, "-m", "optviz"]
    proc = subprocess.run([*env_cmd, *SWEEP, "--x", "lr:1:2", "--out", str(tmp_path / "s.npz")], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "optviz: error: argument --x: given twice (give it once)\n"
    proc = subprocess.run([*env_cmd, "basins", "--surface", "booth", "--optimizer", "adam", "--out",
                           str(tmp_path / "no" / "b.png")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"optviz: error: --out: cannot write {str(tmp_path / 'no' / 'b.png')!r}: folder ")
    assert files_under(tmp_path) == []
