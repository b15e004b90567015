"""The training engine never imports Qt: it runs in a worker thread, the CLI and tests without a display."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import optviz.training

PACKAGE = Path(optviz.training.__file__).parent
QT = ("PySide6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "superqt", "shiboken6")


def test_no_qt_import_in_the_source() -> None:
    pattern = re.compile(rf"^\s*(from|import)\s+({'|'.join(QT)})\b", re.MULTILINE)
    offenders = [p.name for p in PACKAGE.glob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_importing_the_engine_loads_no_qt() -> None:
    modules = [f"optviz.training.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    code = (f"import sys; import {', '.join(modules)}; import optviz.commands.train; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
