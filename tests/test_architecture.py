"""optviz.core and optviz.training never import Qt: checked in a fresh interpreter and in the source."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import optviz

ROOT = Path(optviz.__file__).parent
QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "qtpy", "shiboken6")


def _modules(package: str) -> list[str]:
    path = ROOT / package.split(".", 1)[1]
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)])]


def test_core_and_training_load_without_qt_in_a_fresh_interpreter():
    modules = ["optviz", "optviz.cli"] + _modules("optviz.commands")
    modules += _modules("optviz.core") + _modules("optviz.training")
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {QT!r})\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"Qt modules loaded by the headless packages: {proc.stdout}"
    assert len(modules) > 8


def test_no_qt_import_statements_in_headless_packages():
    pattern = re.compile(r"^\s*(from|import)\s+(" + "|".join(QT) + r")\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for pkg in ("core", "training") for p in (ROOT / pkg).rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_installed_package_ships_the_mnist_asset(tmp_path):
    code = ("from optviz.resources import asset; import numpy as np, io\n"
            "with asset('mnist_5k.npz').open('rb') as f: d = np.load(io.BytesIO(f.read()))\n"
            "print(d['images'].shape, d['labels'].shape)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(5000, 28, 28) (5000,)"
