"""``optviz train`` as a user runs it: a subprocess, JSON on stdout, exit status 2 and one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training_files import write_idx_folder
from optviz.cli import main

TINY = ["--subset", "200", "--epochs", "1", "--model", "mlp", "--width", "4", "--device", "cpu"]


def optviz(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optviz", "train", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_json_single_run(tmp_path: Path) -> None:
    result = optviz(*TINY, "--json", "--save", str(tmp_path / "c.pt"), "--csv", str(tmp_path / "m.csv"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"test_accuracy", "test_loss", "device", "seconds", "epochs", "config"}
    assert 0 <= report["test_accuracy"] <= 1 and report["device"] == "cpu" and report["seconds"] > 0
    assert list(report["epochs"][0]) == ["train_loss", "val_loss", "train_accuracy", "val_accuracy"]
    assert report["status"] == "finished" and report["config"]["model"] == "mlp"
    assert (tmp_path / "c.pt").stat().st_size > 0 and (tmp_path / "m.csv").read_text().startswith("run,label,step")


def test_json_race_and_kfold() -> None:
    race = optviz(*TINY, "--json", "--optimizer", "adam", "--optimizer", "sgd:lr=0.1", "--schedule", "cosine:warmup=0.5")
    assert race.returncode == 0, race.stderr
    runs = json.loads(race.stdout)["runs"]
    assert [r["label"] for r in runs] == ["adam", "sgd:lr=0.1"] and all("test_accuracy" in r for r in runs)
    folds = optviz(*TINY, "--json", "--kfold", "2")
    assert folds.returncode == 0, folds.stderr
    report = json.loads(folds.stdout)
    assert len(report["folds"]) == 2 and {"mean_accuracy", "std_accuracy", "seconds", "device"} <= set(report)


def test_text_output_per_epoch(tmp_path: Path) -> None:
    write_idx_folder(tmp_path, gz=True)
    result = optviz("--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "2", "--model", "lenet", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("lenet · adam · mnist on cpu: 108 train, 12 validation, 40 test samples")
    assert lines[1].startswith("epoch 1/2  train loss") and lines[2].startswith("epoch 2/2")
    assert lines[3].startswith("finished at step 8: test loss")


@pytest.mark.parametrize("args, words", [
    (["--optimizer", "adamm"], "Unknown optimizer 'adamm'"),
    (["--optimizer", "adam:lr=-1"], "Invalid learning rate: -1"),
    (["--batch-size", "0"], "Invalid --batch-size: 0"),
    (["--dataset", "mnist"], "needs a data folder"),
    (["--dataset", "mnist", "--data-dir", "."], "train-images-idx3-ubyte[.gz]: file not found"),
    (["--schedule", "step:gama=0.5"], "Unknown parameter 'gama' for schedule step"),
    (["--model", "vgg"], "argument --model: invalid choice: 'vgg'"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], words: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY, *args]) == 2  # the entry point in-process; the subprocess case is below
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and words in err


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    result = optviz(*TINY, "--dataset", "mnist", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"optviz: error: {tmp_path}/train-images-idx3-ubyte[.gz]: file not found (expected the train images as an "
        "IDX file of uint8, shape (N, 28, 28))"]
