"""roi_track follows a drawn region with OpenCV's MIL tracker, re-checks it against the first region's
appearance, reports 'lost' when the tracker drifts or the target leaves, and finds the target again."""

import json
import os

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.bundled import assets_dir, sample_video
from vidcv.errors import ParamError
from vidcv.frame import Frame


def background():
    rng = np.random.default_rng(2)
    return cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (7, 7), 2)


def with_target(img, x, y):
    img = img.copy()
    cv2.rectangle(img, (x, y), (x + 40, y + 40), (20, 20, 230), -1)
    cv2.circle(img, (x + 20, y + 20), 10, (240, 240, 40), -1)
    return img


def moving_square(n=40):
    frames, boxes = [], []
    for t in range(n):
        x, y = 40 + 3 * t, 80 + t
        frames.append(with_target(background(), x, y))
        boxes.append((x, y, x + 41, y + 41))
    return frames, boxes


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix)


def tracker_on(x, y, w, h, **params):
    plugin = REG.create("roi_track", **params)
    for name, value in plugin.region_params(x, y, w, h).items():
        plugin.set_param(name, value)
    plugin.apply_pending()
    return plugin


def test_follows_the_region_it_was_given():
    frames, boxes = moving_square()
    plugin = REG.create("roi_track")
    out = plugin.process(Frame(frames[0], 0, 0.0))
    assert plugin.status().state == "no region" and len(out.detections) == 0
    plugin = tracker_on(40, 80, 41, 41)
    ious = []
    for i, img in enumerate(frames):
        out = plugin.process(Frame(img, i, 0.0))
        assert plugin.status().state in ("tracking", "lost")
        if len(out.detections):
            assert out.detections.tracker_id.tolist() == [1]
            assert 0.5 <= out.detections.confidence[0] <= 1.0  # the appearance score, not a constant
            ious.append(iou(out.detections.xyxy[0], boxes[i]))
    assert len(ious) >= 35 and np.mean(ious) > 0.6


def run_gone_and_back(**params):
    """20 frames of the moving target, 10 without it, 10 with it elsewhere: (states, boxes) per frame."""
    frames, _ = moving_square(20)
    frames += [background()] * 10 + [with_target(background(), 230, 20)] * 10
    plugin = tracker_on(40, 80, 41, 41, **params)
    states, boxes = [], []
    for i, img in enumerate(frames):
        out = plugin.process(Frame(img, i, i * 33.0))
        states.append(plugin.status().state)
        boxes.append(out.detections.xyxy[0] if len(out.detections) else None)
    return states, boxes, plugin


def test_a_target_that_leaves_is_lost_and_found_again_where_it_comes_back():
    states, boxes, plugin = run_gone_and_back()
    assert states[:20] == ["tracking"] * 20
    assert states[20:30] == ["lost"] * 10 and boxes[20:30] == [None] * 10
    assert plugin.status().figures["similarity"] >= 0.5
    back = [i for i in range(30, 40) if states[i] == "tracking"]
    assert back and back[0] <= 31 and back == list(range(back[0], 40))
    assert all(iou(boxes[i], (230, 20, 271, 61)) > 0.6 for i in back)


def test_without_the_recheck_the_tracker_holds_on_to_nothing():
    """What the re-check fixes: MIL alone keeps reporting a box on the empty background."""
    states, boxes, _ = run_gone_and_back(min_similarity=0.0)
    assert states[20:30] == ["tracking"] * 10 and all(b is not None for b in boxes[20:30])


def sample_frames_and_truth(n):
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        truth = json.load(fh)["frames"]
    cap = cv2.VideoCapture(sample_video())
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    return frames, truth[:n]


@pytest.mark.parametrize("shape", ["circle", "triangle"])
def test_on_the_sample_a_fast_shape_is_never_reported_where_it_is_not(shape):
    """The sample's shapes move up to 14 px a frame, which MIL alone loses within a second or two and then
    follows the background with full confidence; re-checked, every box it reports is on the shape, and the
    shape is found again after each loss."""
    frames, truth = sample_frames_and_truth(150)
    k = next(o["id"] for o in truth[0]["objects"] if o["class"] == shape)
    x1, y1, x2, y2 = truth[0]["objects"][k]["xyxy"]
    plugin = tracker_on(round(x1), round(y1), round(x2 - x1), round(y2 - y1))
    held, astray = 0, []
    for i, img in enumerate(frames):
        out = plugin.process(Frame(img.copy(), i, i * 1000 / 30)).detections
        assert plugin.status().state == ("tracking" if len(out) else "lost")
        if len(out):
            held += 1
            if iou(out.xyxy[0], truth[i]["objects"][k]["xyxy"]) < 0.3:
                astray.append(i)
    # a frame or so each time the tracker slides off, before the re-check sees it; OpenCV's MIL is not
    # repeatable from one process to the next (3 to 5 such frames seen here), so the bound is a rate: plain MIL
    # reports a box off the shape in about 80 % of these frames
    assert len(astray) <= 0.08 * held, astray
    assert held >= 0.85 * len(frames), held


def test_a_region_outside_the_frame_says_so():
    plugin = tracker_on(400, 300, 20, 20)
    with pytest.raises(ParamError, match="lies outside the 320x240 frame"):
        plugin.process(Frame(background(), 0, 0.0))


def test_contrib_methods_say_what_they_need():
    if hasattr(cv2, "TrackerCSRT_create"):
        pytest.skip("opencv-contrib is installed here")
    with pytest.raises(ParamError, match="needs opencv-contrib-python"):
        REG.create("roi_track", method="csrt")
