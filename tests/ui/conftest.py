"""GUI tests run offscreen, with settings and outputs in a temporary folder of their own."""

import os
import time

import pytest

from media import vidcv_threads

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCV_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VIDCV_OUTPUT_DIR", str(tmp_path / "outputs"))


@pytest.fixture
def window(qtbot):
    """A main window on nothing yet; closed (and checked clean) at the end."""
    from vidcv.ui.main_window import MainWindow
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    win = MainWindow(Session(), Settings())
    qtbot.addWidget(win)
    win.show()
    yield win
    t0 = time.monotonic()
    win.close()
    assert time.monotonic() - t0 < 2.5
    assert vidcv_threads() == []
