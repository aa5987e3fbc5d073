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
def make_window(qtbot):
    """``make_window(session=None)``: a shown main window; each is closed (and checked clean) at the end.

    Closing answers the unsaved-changes question for the test: its pipeline edits are not kept, as if
    the user discarded them (tests of that question answer it themselves)."""
    from vidcv.ui.main_window import MainWindow
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings

    made = []

    def make(session=None):
        win = MainWindow(session or Session(), Settings())  # not qtbot.addWidget: closed below, answering
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.session.modified = False
        t0 = time.monotonic()
        win.close()
        assert time.monotonic() - t0 < 2.5
    assert vidcv_threads() == []


@pytest.fixture
def window(make_window):
    """A main window on nothing yet; closed (and checked clean) at the end."""
    return make_window()
