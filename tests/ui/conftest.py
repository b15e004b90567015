"""Qt tests run offscreen; no test may leave a worker running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_running_workers(request):
    """Fail a Qt test that leaves a job in the global thread pool (superqt workers run there)."""
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        return
    from PySide6.QtCore import QThreadPool

    assert QThreadPool.globalInstance().waitForDone(10_000), "a worker was still running after the test"
