"""roi_track follows a drawn region with OpenCV's MIL tracker."""

import cv2
import numpy as np
import pytest

from plugin_helpers import REG
from vidcv.errors import ParamError
from vidcv.frame import Frame


def moving_square(n=40):
    rng = np.random.default_rng(2)
    background = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (7, 7), 2)
    frames, boxes = [], []
    for t in range(n):
        img = background.copy()
        x, y = 40 + 3 * t, 80 + t
        cv2.rectangle(img, (x, y), (x + 40, y + 40), (20, 20, 230), -1)
        cv2.circle(img, (x + 20, y + 20), 10, (240, 240, 40), -1)
        frames.append(img)
        boxes.append((x, y, x + 41, y + 41))
    return frames, boxes


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix)


def test_follows_the_region_it_was_given():
    frames, boxes = moving_square()
    plugin = REG.create("roi_track")
    out = plugin.process(Frame(frames[0], 0, 0.0))
    assert plugin.status().state == "no region" and len(out.detections) == 0
    for name, value in plugin.region_params(40, 80, 41, 41).items():
        plugin.set_param(name, value)
    plugin.apply_pending()
    ious = []
    for i, img in enumerate(frames):
        out = plugin.process(Frame(img, i, 0.0))
        assert plugin.status().state in ("tracking", "lost")
        if len(out.detections):
            assert out.detections.tracker_id.tolist() == [1]
            ious.append(iou(out.detections.xyxy[0], boxes[i]))
    assert len(ious) >= 35 and np.mean(ious) > 0.6


def test_contrib_methods_say_what_they_need():
    if hasattr(cv2, "TrackerCSRT_create"):
        pytest.skip("opencv-contrib is installed here")
    with pytest.raises(ParamError, match="needs opencv-contrib-python"):
        REG.create("roi_track", method="csrt")
