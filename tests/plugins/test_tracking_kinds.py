"""Tracking oriented boxes and pose detections, and counting them, with known identities.

Two long thin bars lie side by side at 45 degrees and slide past each other along their length: their
axis-aligned bounds overlap heavily where they pass, their rotated boxes never do. The tracker must
match them by rotated IoU, keep each identity and the angle, and carry every detection's keypoints.
"""

import collections
import math

import motmetrics as mm
import numpy as np
from plugin_helpers import REG

from vidcv.detections import KEYPOINTS, OBB, Detections
from vidcv.frame import Frame, aabb_of, xywhr_corners
from vidcv.inference.rotated import probiou
from vidcv.presets import parse_preset

SIZE_HW = (480, 640)
ANGLE = math.pi / 4
AXIS = np.array([math.cos(ANGLE), math.sin(ANGLE)])
NORMAL = np.array([-math.sin(ANGLE), math.cos(ANGLE)])


def bars(t: int) -> tuple[np.ndarray, list[int]]:
    """The two bars' xywhr at frame ``t`` and their true ids: 18 px apart across, 4 px a frame along."""
    centre = np.array([320.0, 240.0])
    rows, ids = [], []
    for oid, side, direction in ((1, -1, 1), (2, 1, -1)):
        c = centre + side * 9 * NORMAL + direction * (t - 30) * 4 * AXIS
        rows.append([c[0], c[1], 160.0, 14.0, ANGLE])
        ids.append(oid)
    return np.array(rows, np.float32), ids


def keypoints_of(xywhr: np.ndarray, oid: int) -> np.ndarray:
    """Three keypoints along the bar (its two ends and its centre), whose confidence tells the object."""
    c, half = xywhr[:2], xywhr[2] / 2 * AXIS
    return np.array([[*(c - half), oid / 10], [*c, oid / 10], [*(c + half), oid / 10]], np.float32)


def detections(t: int, rng: np.random.Generator, order: np.ndarray) -> Detections:
    obb, ids = bars(t)
    obb = obb + rng.normal(0, 0.5, obb.shape).astype(np.float32) * [1, 1, 1, 1, 0.01]
    obb, ids = obb[order], [ids[i] for i in order]
    kpts = np.stack([keypoints_of(b, oid) for b, oid in zip(obb, ids)])
    dets = Detections(aabb_of(obb, SIZE_HW), np.full(2, 0.9), np.zeros(2), {0: "bar"})
    return dets.with_data(**{OBB.name: obb, KEYPOINTS.name: kpts})


def run(preset: str, frames: int = 60):
    pipeline = parse_preset(preset, REG)
    rng = np.random.default_rng(3)
    image = np.zeros((*SIZE_HW, 3), np.uint8)
    for t in range(frames):
        found = detections(t, rng, rng.permutation(2))  # input order says nothing
        frame = Frame(image, t, t * 1000 / 30, detections=found)
        yield t, pipeline.process(frame)


TRACK = "pipeline:\n  - plugin: track\n    params: {method: %s}\n"


def test_oriented_boxes_keep_their_identities_and_angles():
    for method in ("bytetrack", "botsort"):
        acc = mm.MOTAccumulator(auto_id=True)
        for t, out in run(TRACK % method):
            dets = out.detections
            truth, ids = bars(t)
            tracked = dets.data[OBB.name]
            assert np.allclose(tracked[:, 4] % math.pi, ANGLE, atol=0.05)  # the angle is kept
            assert np.allclose(dets.xyxy, aabb_of(tracked, SIZE_HW), atol=1e-3)  # xyxy bounds the rotated box
            iou = probiou(truth, tracked) if len(tracked) else np.zeros((2, 0))
            acc.update(ids, dets.tracker_id.tolist(), np.where(iou >= 0.5, 1 - iou, np.nan))
        summary = mm.metrics.create().compute(acc, metrics=["mota", "num_switches", "num_frames"], name=method)
        row = summary.loc[method]
        assert row["num_frames"] == 60 and row["num_switches"] == 0, summary
        assert row["mota"] >= 0.95, summary


def test_axis_aligned_boxes_alone_cannot_tell_the_bars_apart():
    """The reason the angle matters: the two bars' axis-aligned bounds overlap at IoU > 0.6 where they pass."""
    obb, _ = bars(30)
    a, b = aabb_of(obb, SIZE_HW)
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    assert inter / union > 0.6
    assert probiou(obb[:1], obb[1:])[0, 0] < 0.2


def test_keypoints_follow_their_track():
    first_id, errors = {}, []
    for t, out in run(TRACK % "bytetrack"):
        dets = out.detections
        for tid, kpts, obb in zip(dets.tracker_id.tolist(), dets.data[KEYPOINTS.name], dets.data[OBB.name]):
            oid = round(float(kpts[0, 2]) * 10)  # the object whose keypoints these are
            assert first_id.setdefault(tid, oid) == oid  # a track never takes the other bar's keypoints
            assert np.linalg.norm(kpts[1, :2] - obb[:2]) < 3  # and they lie on the track's box
            if t >= 5:  # once the filter has settled, the tracked rectangle is the true one
                truth = xywhr_corners(bars(t)[0][oid - 1])[0]
                ours = xywhr_corners(obb)[0]
                start = min(range(4), key=lambda k: np.abs(np.roll(truth, k, axis=0) - ours).sum())
                errors.append((t, np.abs(np.roll(truth, start, axis=0) - ours).max()))
    assert sorted(first_id.values()) == [1, 2]
    # the Kalman filter smooths the 0.5 px noise at the cost of a small lag: within 8 px on a 160 px bar
    assert max(err for _, err in errors) < 8, errors


def test_count_uses_the_box_centre_for_oriented_boxes():
    # a line across the bars' paths, perpendicular to their motion, through the middle: bar 1 moves along
    # +AXIS (down-right) and bar 2 along -AXIS, so each crosses it once, in opposite directions
    a, b = np.array([320.0, 240.0]) + 120 * NORMAL, np.array([320.0, 240.0]) - 120 * NORMAL
    line = [round(v) for v in (*a, *b)]
    preset = TRACK % "bytetrack" + f"  - plugin: count\n    params: {{mode: line, line: {line}, draw: false}}\n"
    ((_, out),) = collections.deque(run(preset), maxlen=1)  # the last frame
    assert out.statuses["count"].counts == {"in": 1, "out": 1}
