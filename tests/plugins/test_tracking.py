"""Tracking scored with MOT metrics on rendered sequences with known identities (moving, crossing, occluding)."""

import cv2
import motmetrics as mm
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.frame import Frame
from vidcv.presets import parse_preset

DETECT_AND_TRACK = """
pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: morphology
    params: {op: open, ksize: 3}
  - plugin: contours
    params: {mode: external, min_area: 150, draw: none, emit: true}
  - plugin: track
    params: {method: %s}
"""


def render(n_frames=150, size=(640, 360), seed=0):
    """Frames and ground truth [(id, x1, y1, x2, y2)] per frame, four coloured objects on a grey texture.

    A small red square and a big blue one move towards each other on one line: the red one crosses behind
    the blue one and is hidden for several frames, then comes out on the other side. A green one drifts
    across the top, and a yellow one enters late at the bottom and leaves through the left edge.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    background = cv2.GaussianBlur(rng.integers(40, 90, (h, w), dtype=np.uint8), (5, 5), 1)
    background = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
    objects = [  # id, colour (BGR), side, start (x, y), velocity (px/frame), first frame; drawn in this order
        (1, (40, 40, 230), 24, (20.0, 160.0), (4.0, 0.0), 0),
        (2, (230, 80, 40), 64, (560.0, 140.0), (-2.0, 0.0), 0),
        (3, (40, 210, 60), 36, (590.0, 20.0), (-3.0, 0.6), 0),
        (4, (20, 200, 230), 38, (596.0, 290.0), (-4.5, -0.2), 40),
    ]
    frames, truth = [], []
    for t in range(n_frames):
        img = background.copy()
        gt = []
        for oid, color, s, (x0, y0), (vx, vy), start in objects:
            if t < start:
                continue
            x, y = x0 + vx * (t - start), y0 + vy * (t - start)
            box = (x, y, x + s, y + s)
            if box[0] < 0 or box[1] < 0 or box[2] > w or box[3] > h:
                continue
            cv2.rectangle(img, (round(box[0]), round(box[1])), (round(box[2]) - 1, round(box[3]) - 1), color, -1)
            gt.append((oid, *box))
        frames.append(img)
        # an object hidden behind another is still there: ground truth keeps it (a miss if not tracked)
        truth.append(gt)
    return frames, truth


def iou_distances(gt_boxes, hyp_boxes):
    """1 - IoU, NaN below IoU 0.5 (motmetrics' own iou_matrix needs NumPy 1)."""
    d = np.full((len(gt_boxes), len(hyp_boxes)), np.nan)
    for i, a in enumerate(gt_boxes):
        for j, b in enumerate(hyp_boxes):
            ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
            iou = ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix)
            if iou >= 0.5:
                d[i, j] = 1 - iou
    return d


def score(method):
    frames, truth = render()
    pipeline = parse_preset(DETECT_AND_TRACK % method, REG)
    acc = mm.MOTAccumulator(auto_id=True)
    for i, (img, gt) in enumerate(zip(frames, truth)):
        out = pipeline.process(Frame(img, i, i * 1000 / 30))
        dets = out.detections
        assert dets.tracker_id is not None or len(dets) == 0
        ids = [] if dets.tracker_id is None else dets.tracker_id.tolist()
        acc.update([g[0] for g in gt], ids, iou_distances([g[1:] for g in gt], dets.xyxy.tolist()))
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches", "num_frames"], name=method)
    track_ms = pipeline.summaries()[3].ms_mean
    return summary.loc[method], track_ms


@pytest.mark.parametrize("method", ["bytetrack", "botsort"])
def test_tracking_keeps_identities_through_crossings(method):
    result, track_ms = score(method)
    assert result["num_frames"] == 150
    assert result["mota"] >= 0.9, result
    assert result["idf1"] >= 0.9, result
    assert result["num_switches"] <= 3, result
    assert track_ms > 0  # the per-frame cost of the track stage is in the stats


def test_speed_age_and_reset():
    frames, _ = render(20)
    pipeline = parse_preset(DETECT_AND_TRACK % "bytetrack", REG)
    for i, img in enumerate(frames):
        out = pipeline.process(Frame(img, i, i * 1000 / 30))
    dets = out.detections
    speeds = sorted(round(float(s)) for s in dets.data["speed_px_s"])
    assert len(dets) == 3 and dets.data["track_age"].tolist() == [20, 20, 20]
    assert abs(speeds[-1] - 3.6 * 30) < 15  # the fast ones move 3.6 px a frame at 30 fps
    assert [len(t) for t in dets.data["trail"]] == [20, 20, 20]
    centres = (dets.xyxy[:, :2] + dets.xyxy[:, 2:]) / 2
    assert np.allclose([t[-1] for t in dets.data["trail"]], centres, atol=1e-3)  # a trail ends where its box is
    pipeline.reset()
    again = pipeline.process(Frame(frames[0], 0, 0.0))
    assert len(again.detections) and again.detections.tracker_id.min() > 0
    assert all(age == 1 for age in again.detections.data["track_age"])
