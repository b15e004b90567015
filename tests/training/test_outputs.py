"""Training outputs under faults: checked before training, written atomically, one line and status 1 on failure."""

from __future__ import annotations

import dataclasses
import errno
import json

import pytest
import torch

from optviz.cli import main
from optviz.core.files import OutputError
from optviz.training import checkpoint
from optviz.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from optviz.training.trainer import Trainer

TINY = ["train", "--subset", "200", "--epochs", "1", "--model", "mlp", "--width", "4", "--device", "cpu"]


@pytest.mark.parametrize("flag", ["--save", "--csv"])
@pytest.mark.parametrize("where,reason", [("missing/out.x", "does not exist"), ("adir", "it is a folder")])
def test_bad_output_paths_are_refused_before_training(tmp_path, capsys, monkeypatch, flag, where, reason):
    (tmp_path / "adir").mkdir()
    trained = []
    monkeypatch.setattr(Trainer, "run", lambda self, *a, **k: trained.append(1))
    assert main([*TINY, flag, str(tmp_path / where)]) == 2  # bad input, found before any work
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0] and str(tmp_path / where) in err[0]
    assert trained == []


def test_a_full_disk_keeps_the_old_checkpoint_and_still_prints_the_result(tmp_path, capsys, monkeypatch):
    target = tmp_path / "c.pt"
    target.write_bytes(b"the previous checkpoint")

    def full(obj, fh, *args, **kwargs):
        fh.write(b"PK\x03\x04 half a zip")
        raise RuntimeError("[enforce fail at inline_container.cc] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(checkpoint.torch, "save", full)
    assert main([*TINY, "--json", "--save", str(target)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "finished"  # the training's result is not lost
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"optviz: error: cannot write {str(target)!r}: ")
    assert target.read_bytes() == b"the previous checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_a_full_disk_keeps_the_old_csv(tmp_path, tiny, monkeypatch):
    result = Trainer(tiny).run()
    path = tmp_path / "m.csv"
    path.write_text("run,label\n0,old\n")
    real = checkpoint.write_atomic

    def full_half_way(p, data):
        def writer(fh):
            fh.write(data.encode()[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(p, writer)

    monkeypatch.setattr(checkpoint, "write_atomic", full_half_way)
    with pytest.raises(OutputError, match="no space left on device"):
        checkpoint.write_metrics_csv(str(path), result.metrics)
    assert path.read_text() == "run,label\n0,old\n"


def test_damaged_checkpoints_give_one_clear_message(tmp_path, tiny):
    result = Trainer(tiny).run()
    good = tmp_path / "good.pt"
    save_checkpoint(str(good), result.config, result.runs, result.data)
    payload = torch.load(good, weights_only=True)

    def variant(name, change):
        data = torch.load(good, weights_only=True)
        change(data)
        path = tmp_path / name
        torch.save(data, path)
        return path

    other = dataclasses.replace(tiny, model="lenet")
    cases = {
        variant("no-data.pt", lambda d: d.pop("data")): "missing 'data'",
        variant("no-runs.pt", lambda d: d.pop("runs")): "missing 'runs'",
        variant("other-model.pt", lambda d: d.update(config=other.to_dict())): "damaged optviz checkpoint",
        variant("no-weights.pt", lambda d: d["runs"][0]["model"].clear()): "damaged optviz checkpoint",
    }
    assert payload["format"] == "optviz-checkpoint"
    for path, message in cases.items():
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(str(path))
        assert str(err.value).startswith(f"{path}: ") and message in str(err.value) and "\n" not in str(err.value)
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not an optviz checkpoint"):
        load_checkpoint(str(truncated))


def test_gui_export_reports_a_failed_torch_save(tmp_path, tiny, monkeypatch):
    """The runs list's export returns one line (shown in a message box) for torch.save's RuntimeError too."""
    from optviz.training.events import RunStarted
    from optviz.training.export import write_checkpoint
    from optviz.training.records import RunRecords

    records = RunRecords()
    events = []
    result = Trainer(tiny).run(events.append)
    started = next(e for e in events if isinstance(e, RunStarted))
    record = records.add(tiny, 0, started)
    for event in events[events.index(started) + 1:]:
        record.add(event)
    record.result = result.alone(0, record.metrics)
    target = tmp_path / "x.pt"
    assert write_checkpoint(record, str(target)) == "" and target.stat().st_size > 0
    before = target.read_bytes()
    monkeypatch.setattr(checkpoint.torch, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    message = write_checkpoint(record, str(target))
    assert message == f"cannot write {str(target)!r}: disk full" and target.read_bytes() == before


def test_out_of_memory_is_one_line_with_what_to_try(capsys, monkeypatch):
    def oom(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)")

    monkeypatch.setattr(Trainer, "run", oom)
    assert main([*TINY, "--batch-size", "64"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["optviz: error: Out of memory on the GPU (batch size 64, model mlp, width 4): try a smaller batch "
                   "size, a narrower or shallower model, or the CPU"]


def test_out_of_memory_in_the_gui_job_ends_the_job_with_the_advice(tiny):
    from optviz.training.jobs import JobEnded, TrainingJob

    def runner(on_event, control):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    job = TrainingJob(1, tiny, runner)
    job.start()
    assert job.join(30)
    ended = [e for e in job.drain() if isinstance(e, JobEnded)]
    assert ended and ended[0].error.startswith("Out of memory on the GPU (batch size 32")
