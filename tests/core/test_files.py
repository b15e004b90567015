"""The one atomic writer: the old file survives every fault, no temporary file stays, modes are kept."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from optviz.cli import main
from optviz.core.files import OutputError, check_output, write_atomic


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_writes_text_bytes_and_streams(tmp_path):
    write_atomic(tmp_path / "a.txt", "héllo")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    write_atomic(tmp_path / "c.bin", lambda fh: fh.write(b"streamed"))
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01" and (tmp_path / "c.bin").read_bytes() == b"streamed"
    assert _names(tmp_path) == ["a.txt", "b.bin", "c.bin"]


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")])
def test_a_full_disk_half_way_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "metrics.csv"
    target.write_text("old,complete\n")

    def half_then_fail(fh):
        fh.write(b"new,cut mid-")
        raise error

    with pytest.raises(OutputError) as err:
        write_atomic(target, half_then_fail)
    assert str(err.value).startswith(f"cannot write {str(target)!r}: ")
    assert ("no space left on device" in str(err.value)) or ("file write failed" in str(err.value))
    assert target.read_text() == "old,complete\n" and _names(tmp_path) == ["metrics.csv"]


def test_ctrl_c_leaves_no_temporary_file(tmp_path):
    def interrupted(fh):
        fh.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "x.json", interrupted)
    assert _names(tmp_path) == []


def test_modes_kept_for_existing_files_and_umask_for_new_ones(tmp_path):
    old = os.umask(0o022)
    try:
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        os.chmod(kept, 0o640)
        write_atomic(kept, "[]")
        write_atomic(tmp_path / "new.json", "[]")
    finally:
        os.umask(old)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_a_kill_between_write_and_rename_keeps_the_old_file(tmp_path):
    target = tmp_path / "s.json"
    target.write_text('{"old": true}')
    code = ("import os, signal\nfrom optviz.core import files\n"
            "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"files.write_atomic({str(target)!r}, '{{\"new\": true}}')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -9
    assert target.read_text() == '{"old": true}'


def test_check_output(tmp_path):
    (tmp_path / "folder").mkdir()
    assert check_output(tmp_path / "ok.csv", (".csv",)) == tmp_path / "ok.csv"
    cases = [(tmp_path / "missing" / "x.csv", "folder"), (tmp_path / "folder", "it is a folder"),
             (tmp_path / ("n" * 300 + ".csv"), "file name too long")]
    for path, reason in cases:
        with pytest.raises(OutputError, match=reason):
            check_output(path)
    with pytest.raises(ValueError, match=r"allowed: a file name ending in \.csv or \.json"):
        check_output(tmp_path / "x.txt", (".csv", ".json"))


def test_read_only_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    if os.access(folder, os.W_OK):  # root writes anywhere: pretend the folder is on a read-only file system
        real_open = os.open

        def refuse(path, *args, **kwargs):
            if str(path).startswith(str(folder)):
                raise OSError(errno.EROFS, "Read-only file system")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match="cannot write .*: (read-only file system|permission denied)"):
        write_atomic(folder / "x.csv", "a")
    assert _names(folder) == []


@pytest.mark.parametrize("where,status,message", [
    ("missing/p.csv", 2, "does not exist"), ("adir.csv", 2, "it is a folder"), ("p.txt", 2, "ending in .csv or .json")])
def test_paths_cli_checks_the_output_before_any_work(tmp_path, capsys, where, status, message):
    (tmp_path / "adir.csv").mkdir()
    args = ["paths", "--surface", "booth", "--start", "0,0", "--optimizer", "sgd", "--out", str(tmp_path / where)]
    assert main(args) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
