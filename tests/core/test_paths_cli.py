"""`optviz surfaces` and `optviz paths`: outputs and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from reference import torch_optim_path

from optviz.cli import main
from optviz.core.optimizers import parse_optimizer
from optviz.core.presets import default_session
from optviz.core.session import save_session
from optviz.core.surfaces import get_surface


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optviz", *args], capture_output=True, text=True, timeout=120)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("optviz 0.")


def test_surfaces_json(capsys):
    assert main(["surfaces", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) >= 12
    himmelblau = next(d for d in data if d["name"] == "himmelblau")
    assert set(himmelblau) >= {"name", "formula", "view", "params", "minima", "saddles"}
    assert himmelblau["view"] == [[-5.0, 5.0], [-5.0, 5.0]]
    assert sum(m["kind"] == "global" for m in himmelblau["minima"]) == 4
    assert {"x": 3.0, "y": 2.0, "value": 0.0, "kind": "global"} in himmelblau["minima"]




SPECS = ["sgd:lr=0.001", "momentum:lr=0.0005,momentum=0.8", "nesterov:lr=0.0005", "adagrad:lr=0.3",
         "rmsprop:lr=0.01,alpha=0.9", "adam:lr=0.03,beta1=0.8", "adam:lr=0.01"]


def test_paths_csv_reproduces_torch_optim(capsys):
    args = ["paths", "--surface", "beale", "--start", "1,1", "--start", "-1.5,-1", "--steps", "200"]
    for spec in SPECS:
        args += ["--optimizer", spec]
    assert main(args) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["optimizer", "start", "step", "x", "y", "loss", "grad_norm", "status"]
    labels = sorted({r["optimizer"] for r in rows})
    assert labels == sorted(["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adam#2"])
    surface = get_surface("beale")
    for n, spec in enumerate(SPECS):
        label = "adam#2" if n == len(SPECS) - 1 else spec.partition(":")[0]
        for j, start in enumerate([(1.0, 1.0), (-1.5, -1.0)]):
            mine = np.array([[float(r["x"]), float(r["y"])] for r in rows
                             if r["optimizer"] == label and int(r["start"]) == j])
            assert len(mine) == 201
            np.testing.assert_allclose(mine, torch_optim_path(surface, parse_optimizer(spec), start, 200), rtol=0, atol=1e-9)


def test_paths_omit_rows_after_divergence_and_json_out(tmp_path, capsys):
    assert main(["paths", "--surface", "rosenbrock", "--start", "0,0", "--steps", "50", "--optimizer", "sgd:lr=1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["step"] for r in rows] == ["0", "1", "2"] and rows[-1]["status"] == "diverged"
    out = tmp_path / "p.json"
    assert main(["paths", "--surface", "rosenbrock", "--start", "0,0", "--steps", "50", "--optimizer", "sgd:lr=1",
                 "--optimizer", "adam:lr=0.1", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    sgd, adam = doc["paths"]
    assert sgd["status"] == "diverged" and sgd["diverged_step"] == 2 and len(sgd["x"]) == 3
    assert adam["status"] == "running" and len(adam["x"]) == 51 and doc["device"] == "cpu"


def test_paths_from_session_file(tmp_path, capsys):
    path = tmp_path / "s.json"
    save_session(default_session().with_(steps=10), path)
    assert main(["paths", "--session", str(path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 * 11 and rows[0]["x"] == "1.5"
    assert main(["paths", "--session", str(path), "--steps", "3", "--start", "-1,-1"]) == 0  # flags override
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 * 4 and rows[0]["x"] == "-1.0"


@pytest.mark.parametrize("args,message", [
    (["--surface", "nope", "--start", "0,0", "--optimizer", "sgd"], "Unknown surface 'nope' (allowed: rosenbrock"),
    (["--surface", "booth", "--start", "0", "--optimizer", "sgd"], "Malformed start '0'"),
    (["--surface", "booth", "--start", "0,x", "--optimizer", "sgd"], "Malformed start '0,x'"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "lbfgs"], "Unknown optimizer 'lbfgs'"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "adam:gamma=1"], "Unknown parameter 'gamma'"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "adam:lr=-1"], "Invalid learning rate: -1"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "adam:lr=fast"], "Invalid learning rate: 'fast'"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "sgd", "--steps", "9999"],
     "Invalid steps: 9999 (allowed: an integer in [1, 5000])"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "sgd", "--device", "tpu"],
     "Invalid device: 'tpu' (allowed: auto, cpu, cuda)"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "adam:lr=0.1,lr=0.2"], "Repeated optimizer option 'lr'"),
    (["--surface", "quadratic:kappa=2,kappa=3", "--start", "0,0", "--optimizer", "sgd"],
     "Repeated surface option 'kappa'"),
    (["--surface", "booth", *["--start", "0,0"] * 65, "--optimizer", "sgd"], "Too many --start points: 65"),
    (["--surface", "booth", "--start", "0,0", "--optimizer", "sgd", "--out", ""], "Invalid output file ''"),
    (["--session", "/no/such/file.json"], "session file '/no/such/file.json' does not exist"),
    (["--surface", "booth", "--start", "0,0"], "--optimizer is required"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    assert main(["paths", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_bad_input_in_a_real_process_leaves_no_partial_file(tmp_path):
    out = tmp_path / "p.csv"
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "surface": {"name": "booth"}, "steps": "many"}')
    proc = run_cli("paths", "--session", str(bad), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"optviz: error: session file '{bad}': steps: Invalid steps: 'many' " \
                                  "(allowed: an integer in [1, 5000])"
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]
