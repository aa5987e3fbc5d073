"""The first increment of the desktop app: frames reach the window newest-wins, the readout updates,
closing stops every thread promptly."""

import threading
import time

import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from vidcv.frame import Frame  # noqa: E402
from vidcv.presets import parse_preset  # noqa: E402
from vidcv.ui.app import ViewerWindow, main  # noqa: E402
from vidcv.ui.bridge import FrameBridge  # noqa: E402
from vidcv.ui.video_view import fit_rect, to_qimage  # noqa: E402


def test_bridge_keeps_only_the_newest_frame(qtbot):
    bridge = FrameBridge()
    fired = []
    bridge.frame_ready.connect(lambda: fired.append(1))
    frames = [Frame(np.zeros((2, 2, 3), np.uint8), i, 0.0) for i in range(5)]
    done = threading.Event()
    threading.Thread(target=lambda: ([bridge.push(f) for f in frames], done.set())).start()
    done.wait(5)
    qtbot.waitUntil(lambda: len(fired) == 1)
    assert bridge.take().index == 4 and bridge.take() is None and bridge.replaced == 4


def test_qimage_wraps_gray_and_bgr_without_copy():
    bgr = np.zeros((3, 5, 3), np.uint8)
    bgr[..., 2] = 255  # red in BGR
    img = to_qimage(bgr)
    assert (img.width(), img.height()) == (5, 3) and img.pixelColor(0, 0).red() == 255
    assert to_qimage(np.full((3, 5), 7, np.uint8)).pixelColor(4, 2).red() == 7
    from PySide6.QtCore import QRect
    assert fit_rect((1600, 900), QRect(0, 0, 800, 800)) == QRect(0, 175, 800, 450)


def test_window_plays_a_file_and_shows_the_readout(qtbot, video_file):
    pipeline = parse_preset("pipeline:\n  - plugin: canny\n")
    window = ViewerWindow(video_file, pipeline, "test", realtime=False)
    qtbot.addWidget(window)
    window.show()
    assert window.start()
    qtbot.waitUntil(lambda: window.displayed >= 5, timeout=10000)
    window.update_readout()
    assert "processed" in window.readout.text() and "canny" in window.readout.text()
    assert window.view._array is not None and window.view._array.ndim == 2  # the processed (edge) image
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 2.0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("vidcv-"))


def test_window_reports_a_bad_source_in_place(qtbot):
    window = ViewerWindow("missing.mp4", parse_preset(""), realtime=False)
    qtbot.addWidget(window)
    assert not window.start()
    assert "no such file" in window.state_label.text()


def test_screenshot_mode_saves_the_window(tmp_path, qapp):
    shot = tmp_path / "shot.png"
    assert main(["pattern:320x240@60", "--frames", "10", "--screenshot", str(shot)]) == 0
    from PySide6.QtGui import QImage
    img = QImage(str(shot))
    assert img.width() > 300 and img.height() > 200
