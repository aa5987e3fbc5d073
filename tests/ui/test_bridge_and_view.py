import threading

import numpy as np
from PySide6.QtCore import QRect

from vidcv.detections import Detections
from vidcv.frame import Frame
from vidcv.ui.bridge import FrameBridge
from vidcv.ui.video_view import VideoView, fit_rect, to_qimage


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
    assert fit_rect((1600, 900), QRect(0, 0, 800, 800)) == QRect(0, 175, 800, 450)
    assert fit_rect((100, 50), QRect(0, 0, 800, 800), one_to_one=True) == QRect(350, 375, 100, 50)


def test_overlays_are_drawn_from_detections(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    frame = Frame(np.zeros((100, 100, 3), np.uint8), 0, 0.0)
    masks = np.zeros((1, 100, 100), bool)
    masks[0, 60:90, 60:90] = True
    frame.detections = Detections(
        [[10, 10, 50, 50], [60, 60, 90, 90]], [0.9, 0.8], [0, 1], {0: "face", 1: "cat"}, tracker_id=[3, -1]
    )
    view.show_frame(frame)
    with_overlay = view.grab().toImage()
    view.set_overlays(False)
    without = view.grab().toImage()
    assert with_overlay != without
    rect = view.image_rects()[0]
    edge = with_overlay.pixelColor(rect.x() + int(10 * rect.width() / 100), rect.y() + int(30 * rect.height() / 100))
    assert edge.red() > 100  # a box edge where the first detection is
    frame.detections = Detections([[60, 60, 90, 90]], [0.8], [1], {1: "cat"}, masks=masks)
    view.set_overlays(True)
    view.show_frame(frame)
    view.grab()  # masks paint without error


def test_track_trails_are_drawn(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(200, 200)
    frame = Frame(np.zeros((100, 100, 3), np.uint8), 0, 0.0)
    frame.detections = Detections([[40, 40, 60, 60]], [0.9], [0], {0: "x"}, tracker_id=[3])
    view.show_frame(frame)
    plain = view.grab().toImage()
    frame.detections = frame.detections.with_data(trail=[[(5.0, 90.0), (20.0, 80.0), (50, 50)]])
    view.show_frame(frame)
    assert view.grab().toImage() != plain
