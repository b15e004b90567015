"""``optviz train`` as a user runs it: a subprocess, JSON on stdout, exit status 2 and one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training_files import write_idx_folder
from optviz.cli import main
from optviz.core.params import Spec
from optviz.training.config import ConfigError, TrainConfig, specs

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
    assert [r["label"] for r in runs] == ["adam", "sgd"] and all("test_accuracy" in r for r in runs)
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
    (["--batch-size", "0"], "argument --batch-size: Invalid batch size: 0 (allowed: an integer in [1, 65536])"),
    (["--optimizer", "adam:weight_decay=0.1"], "(allowed: 0; a training has one weight decay for every optimizer"),
    (["--optimizer", "adam", "--kfold", "2", "--save", "x.pt"], "--save stores the runs of one training"),
    (["--warmup-epochs", "1", "--schedule", "cosine:warmup=1"], "The warm-up is given twice"),
    (["--schedule", "step:gamma=0.5,gamma=0.2"], "Repeated schedule option 'gamma'"),
    (["--dataset", "mnist"], "needs a data folder"),
    (["--dataset", "mnist", "--data-dir", "."], "train-images-idx3-ubyte[.gz]: file not found"),
    (["--schedule", "step:gama=0.5"], "Unknown parameter 'gama' for schedule step"),
    (["--model", "vgg"], "argument --model: Invalid model: 'vgg' (allowed: mlp, lenet, resnet8"),
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


def _bad_values(spec: Spec) -> list:
    """Values a spec refuses: past each end of its range, a fraction for an integer, an unknown choice."""
    if spec.kind == "choice":
        return ["nope"]
    if spec.kind == "str":
        return [""]
    if spec.kind == "bool":
        return ["maybe", 1]
    out: list = [2.5] if spec.kind == "int" else []
    if spec.high is not None:
        out.append(spec.high if spec.high_open else spec.high * 2 + 1)
    if spec.low is not None:
        out.append(spec.low if spec.low_open else spec.low - 1)
    return out + ([1] if spec.name == "kfold" else [])


@pytest.mark.parametrize("name, value", [(n, v) for n, s in specs().items() for v in _bad_values(s)])
def test_cli_and_session_files_refuse_the_same_values_with_the_same_message(name: str, value, capsys) -> None:
    spec = specs()[name]
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({name: value})
    message = str(info.value)
    assert message.startswith(f"Invalid {spec.words}: ") and "(allowed: " in message
    assert main(["train", *TINY, f"{spec.option}={value}"]) == 2
    out, err = capsys.readouterr()
    if spec.kind == "bool":  # a flag takes no value at all
        assert out == "" and len(err.splitlines()) == 1 and spec.option in err
    else:
        assert out == "" and err == f"optviz: error: argument {spec.option}: {message}\n"


def test_help_lists_every_setting(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for spec in specs().values():
        assert spec.option in text
    for option in ("--optimizer", "--save", "--csv", "--json"):
        assert option in text
    assert "(an integer in [1, 65536]; default 32)" in text and "(0 (off) or an integer in [2, 100]; default 0)" in text


def test_a_race_is_labelled_by_the_core_scheme() -> None:
    from optviz.cli import _sub_parser
    from optviz.commands.train import config_from_args

    args = _sub_parser("train").parse_args(["train", "--optimizer", "adam", "--optimizer", "adam:lr=0.01",
                                            "--optimizer", "sgd", "--device", "cpu"])
    assert [c.label for c in config_from_args(args).optimizers] == ["adam", "adam#2", "sgd"]


def test_every_example_in_the_help_is_accepted():
    """`optviz train --help` suggested sgd:lr=0.1,momentum=0.9, which train itself refused (SGD has no
    momentum in the registry: that is the Momentum entry). Every "e.g." value of a typed flag must parse."""
    import argparse
    import re

    from optviz.cli import SUBCOMMANDS, _sub_parser

    checked = 0
    for name in SUBCOMMANDS:
        sub = next(a for a in _sub_parser(name)._actions if isinstance(a, argparse._SubParsersAction))
        for action in sub.choices[name]._actions:
            if not action.help or "e.g." not in action.help or not callable(action.type):
                continue
            examples = action.help.split("e.g.", 1)[1].split(";")[0].split("(")[0]
            for text in re.split(r"\s+or\s+|,\s+(?=[a-z]+[:\s])", examples.strip().rstrip(".")):
                text = text.strip()
                if text and " " not in text:
                    action.type(text)  # raises argparse.ArgumentTypeError if refused
                    checked += 1
    assert checked >= 4
