"""vidcv's own ByteTrack and BoT-SORT (vidcv.mot, behind the `track` stage) against ultralytics' trackers, which
the stage ran before and which stay the reference here (the dev extra installs them, with the lap they import).

On each test sequence, with each method, the new trackers score at least ultralytics' MOTA and IDF1, fed the same
detections (and the same images, for BoT-SORT's camera-motion compensation):

crossing  test_tracking's rendered scene: a small square hidden behind a big one, objects entering and leaving
panning   such a scene filmed by a camera that pans and shakes by up to 22 px a frame: without compensation the
          tracks lose their objects; BoT-SORT's sparse optical flow keeps them
crowd     detections alone of 16 objects that bounce around and cross: jitter, misses, partly hidden objects that
          score low (ByteTrack's second association), false alarms
bars      oriented boxes sliding past each other (test_tracking_kinds), matched by rotated IoU
"""

from __future__ import annotations

import functools
import os
from argparse import Namespace
from dataclasses import replace

os.environ.setdefault("YOLO_AUTOINSTALL", "false")  # ultralytics must never pip-install lap (the dev extra has it)

import cv2
import motmetrics as mm
import numpy as np
import pytest
from plugin_helpers import REG
from test_tracking import DETECT_AND_TRACK, iou_distances, render
from test_tracking_kinds import SIZE_HW, bars
from test_tracking_kinds import detections as bar_detections
from ultralytics.trackers.bot_sort import BOTSORT
from ultralytics.trackers.byte_tracker import BYTETracker
from ultralytics.trackers.utils.gmc import GMC
from ultralytics.trackers.utils.kalman_filter import KalmanFilterXYAH, KalmanFilterXYWH

from vidcv.detections import OBB, Detections
from vidcv.frame import Frame, aabb_of
from vidcv.inference.rotated import probiou
from vidcv.mot.gmc import CameraMotion
from vidcv.mot.kalman import BoxKalman
from vidcv.plugins.tracking import Track
from vidcv.presets import parse_preset

pytestmark = pytest.mark.timeout(300)


class _Boxes:
    """The results-like view ultralytics' trackers read: xywh, conf, cls, boolean indexing."""

    def __init__(self, xyxy, conf, cls, xywhr=None):
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        wh = xyxy[:, 2:] - xyxy[:, :2]
        self.xywh = np.concatenate([xyxy[:, :2] + wh / 2, wh], axis=1)
        if xywhr is not None:
            self.xywhr = xywhr

    def __len__(self):
        return len(self.conf)

    def __getitem__(self, index):
        xywhr = getattr(self, "xywhr", None)
        return _Boxes(self.xyxy[index], self.conf[index], self.cls[index], None if xywhr is None else xywhr[index])


class UltralyticsTrack(Track):
    """The `track` stage as it was: the same parameters, ultralytics' BYTETracker or BOTSORT behind them."""

    def setup(self):
        p = self.p
        buffer = max(1, round(p.track_buffer * (p.frame_rate or 30) / 30))
        args = Namespace(
            tracker_type=p.method,
            track_high_thresh=p.track_high_thresh,
            track_low_thresh=p.track_low_thresh,
            new_track_thresh=p.new_track_thresh,
            track_buffer=buffer,
            match_thresh=p.match_thresh,
            fuse_score=p.fuse_score,
            gmc_method=p.gmc_method if p.gmc_method != "none" else None,
            proximity_thresh=0.5,
            appearance_thresh=0.8,
            with_reid=False,
            model="auto",
        )
        self.reference = (BOTSORT if p.method == "botsort" else BYTETracker)(args)

    def process(self, frame):
        dets = frame.detections
        xyxy = dets.xyxy.astype(np.float32)
        conf, cls = dets.confidence.astype(np.float32), dets.class_id.astype(np.float32)
        obb = dets.data.get(OBB.name)
        boxes = _Boxes(xyxy, conf, cls, None if obb is None else obb.astype(np.float32))
        image = frame.source_image if self.p.method == "botsort" else None
        width = 8 if obb is None else 9  # box (4 or 5 values), track id, score, class, detection index
        out = np.asarray(self.reference.update(boxes, image), np.float64).reshape(-1, width)
        box, (tid, score, cid, idx) = out[:, : width - 4], out[:, width - 4 :].T
        matched = dets[idx.astype(int)]
        if obb is not None:
            matched = matched.with_data(**{OBB.name: box.astype(np.float32)})
            box = aabb_of(box, frame.source_image.shape[:2])
        tracked = replace(
            matched, xyxy=box, confidence=score, class_id=cid.astype(np.int32), tracker_id=tid.astype(np.int64)
        )
        return frame.with_detections(tracked)


def render_panning(n_frames=120, size=(640, 360), seed=1, shake=22.0):
    """Frames and ground truth of five squares moving slowly over a textured world that a shaking camera pans."""
    rng = np.random.default_rng(seed)
    w, h = size
    world_w, world_h = 1500, 520
    world = cv2.GaussianBlur(rng.integers(30, 110, (world_h, world_w), dtype=np.uint8), (7, 7), 2)
    world = cv2.cvtColor(world, cv2.COLOR_GRAY2BGR)
    objects = [  # id, colour (BGR), side, start in the world (x, y), velocity (px/frame)
        (1, (40, 40, 230), 34, (150.0, 150.0), (3.0, 0.5)),
        (2, (230, 80, 40), 44, (420.0, 260.0), (1.0, -0.8)),
        (3, (40, 210, 60), 30, (300.0, 90.0), (2.5, 1.0)),
        (4, (20, 200, 230), 40, (620.0, 200.0), (1.5, 0.0)),
        (5, (200, 40, 200), 36, (760.0, 120.0), (-1.0, 1.2)),
    ]
    frames, truth = [], []
    camera = np.array([60.0, 60.0])
    for t in range(n_frames):
        camera = camera + [5.0, 0.3 * np.sin(t / 10)] + rng.uniform(-shake, shake, 2)
        camera = np.clip(camera, 0, [world_w - w, world_h - h])
        cx, cy = round(camera[0]), round(camera[1])
        img = world[cy : cy + h, cx : cx + w].copy()
        gt = []
        for oid, color, s, (x0, y0), (vx, vy) in objects:
            x, y = x0 + vx * t - cx, y0 + vy * t - cy
            box = (x, y, x + s, y + s)
            if box[0] < 0 or box[1] < 0 or box[2] > w or box[3] > h:
                continue
            cv2.rectangle(img, (round(box[0]), round(box[1])), (round(box[2]) - 1, round(box[3]) - 1), color, -1)
            gt.append((oid, *box))
        frames.append(img)
        truth.append(gt)
    return frames, truth


def crowd(n_frames=200, size=(960, 540), seed=7):
    """Detections (no picture) of 16 objects bouncing around: (frames, truth), each frame carrying detections."""
    rng = np.random.default_rng(seed)
    w, h = size
    n = 16
    side = rng.uniform(30, 60, (n, 2))
    pos = rng.uniform([0, 0], [w - 60, h - 60], (n, 2))
    vel = rng.uniform(-4, 4, (n, 2))
    image = np.zeros((h, w, 3), np.uint8)
    frames, truth = [], []
    for t in range(n_frames):
        vel += rng.normal(0, 0.15, vel.shape)
        pos += vel
        for k in range(2):  # bounce off the edges
            low, high = pos[:, k] < 0, pos[:, k] + side[:, k] > size[k]
            vel[low | high, k] *= -1
            pos[:, k] = np.clip(pos[:, k], 0, size[k] - side[:, k])
        boxes = np.concatenate([pos, pos + side], axis=1)
        truth.append([(i + 1, *b) for i, b in enumerate(boxes.tolist())])
        seen = rng.random(n) > 0.04  # missed now and then
        found = boxes[seen] + rng.normal(0, 1.5, (seen.sum(), 4))
        scores = np.where(rng.random(seen.sum()) < 0.08, rng.uniform(0.12, 0.24, seen.sum()), rng.uniform(0.5, 0.95))
        alarms = rng.poisson(1.0)
        xy = rng.uniform([0, 0], [w - 50, h - 50], (alarms, 2))
        found = np.concatenate([found, np.concatenate([xy, xy + rng.uniform(20, 50, (alarms, 2))], axis=1)])
        scores = np.concatenate([scores, rng.uniform(0.1, 0.4, alarms)])
        dets = Detections(found, scores, np.zeros(len(found), np.int32), {0: "thing"})
        frames.append(Frame(image, t, t * 1000 / 30, detections=dets))
    return frames, truth


def bar_sequence(n_frames=60):
    rng = np.random.default_rng(3)
    image = np.zeros((*SIZE_HW, 3), np.uint8)
    frames, truth = [], []
    for t in range(n_frames):
        found = bar_detections(t, rng, rng.permutation(2))
        frames.append(Frame(image, t, t * 1000 / 30, detections=found))
        obb, ids = bars(t)
        truth.append([(oid, *box) for oid, box in zip(ids, obb.tolist())])
    return frames, truth


def detected(rendered):
    """The rendered frames with the detections of test_tracking's colour pipeline (its stages before track)."""
    frames, truth = rendered
    stages = parse_preset(DETECT_AND_TRACK % "bytetrack", REG).stages[:3]
    out = []
    for i, img in enumerate(frames):
        frame = Frame(img, i, i * 1000 / 30)
        for stage in stages:
            frame = stage.plugin.process(frame)
        out.append(frame)
    return out, truth


@functools.cache
def sequence(name):
    if name == "crossing":
        return detected(render())
    if name == "panning":
        return detected(render_panning())
    if name == "crowd":
        return crowd()
    return bar_sequence()


def score(stage_class, name, **params):
    """MOTA and IDF1 of the `track` stage (``stage_class``) with ``params`` on the sequence ``name``."""
    frames, truth = sequence(name)
    stage = stage_class(**params)
    acc = mm.MOTAccumulator(auto_id=True)
    for frame, gt in zip(frames, truth):
        dets = stage.process(frame).detections
        ids = [] if dets.tracker_id is None else dets.tracker_id.tolist()
        if name == "bars":
            tracked = dets.data[OBB.name] if len(dets) else np.zeros((0, 5), np.float32)
            iou = probiou(np.array([g[1:] for g in gt]), tracked) if len(tracked) else np.zeros((len(gt), 0))
            distances = np.where(iou >= 0.5, 1 - iou, np.nan)
        else:
            distances = iou_distances([g[1:] for g in gt], dets.xyxy.tolist())
        acc.update([g[0] for g in gt], ids, distances)
    summary = mm.metrics.create().compute(acc, metrics=["mota", "idf1"], name="x").loc["x"]
    return float(summary["mota"]), float(summary["idf1"])


# ByteTrack has no camera-motion compensation: gmc_method is BoT-SORT's alone
CASES = [
    (name, method, gmc)
    for name in ("crossing", "panning", "crowd", "bars")
    for method, gmc in (("bytetrack", "none"), ("botsort", "sparseOptFlow"), ("botsort", "none"))
]


@pytest.mark.parametrize(("name", "method", "gmc"), CASES)
def test_vidcv_tracks_at_least_as_well_as_ultralytics(name, method, gmc):
    params = {"method": method, "gmc_method": gmc}
    ours, theirs = score(Track, name, **params), score(UltralyticsTrack, name, **params)
    print(
        f"{name} {method} gmc={gmc}: vidcv MOTA {ours[0]:.4f} IDF1 {ours[1]:.4f}, "
        f"ultralytics MOTA {theirs[0]:.4f} IDF1 {theirs[1]:.4f}"
    )
    assert ours[0] >= theirs[0] - 1e-9 and ours[1] >= theirs[1] - 1e-9, (ours, theirs)


def test_camera_motion_compensation_is_what_keeps_the_panned_objects():
    with_gmc = score(Track, "panning", method="botsort", gmc_method="sparseOptFlow")
    without = score(Track, "panning", method="botsort", gmc_method="none")
    assert with_gmc[0] >= 0.8 and with_gmc[1] >= 0.85, with_gmc
    assert with_gmc[0] > without[0] + 0.3 and with_gmc[1] > without[1] + 0.5, (with_gmc, without)


@pytest.mark.parametrize(("method", "frames"), [("sparseOptFlow", 30), ("orb", 30), ("sift", 12), ("ecc", 3)])
def test_camera_motion_is_ultralytics_gmc(method, frames):
    """The same warp as ultralytics' GMC, frame by frame, on the shaking camera (ECC, at 5000 iterations a frame,
    on three frames)."""
    images, _ = render_panning(frames)
    ours, theirs = CameraMotion(method), GMC(method=method)
    for img in images:
        boxes = np.array([[100.0, 80.0, 160.0, 140.0]])
        assert np.allclose(ours.estimate(img, boxes), theirs.apply(img, boxes), atol=1e-6)


@pytest.mark.parametrize("form", ["xyah", "xywh"])
def test_the_kalman_filter_is_bytetracks_and_botsorts(form):
    ours, theirs = BoxKalman(form), (KalmanFilterXYAH() if form == "xyah" else KalmanFilterXYWH())
    rng = np.random.default_rng(0)
    box = np.array([100.0, 50.0, 0.5 if form == "xyah" else 30.0, 60.0])
    mean, cov = ours.initiate(box)
    ref_mean, ref_cov = theirs.initiate(box)
    for _ in range(20):
        mean, cov = (a[0] for a in ours.predict(mean[None], cov[None]))
        ref_mean, ref_cov = (a[0] for a in theirs.multi_predict(ref_mean[None], ref_cov[None]))
        box = box + rng.normal(0, 2, 4) * [1, 1, 0.01 if form == "xyah" else 1, 1]
        mean, cov = ours.update(mean, cov, box)
        ref_mean, ref_cov = theirs.update(ref_mean, ref_cov, box)
        assert np.allclose(mean, ref_mean, atol=1e-9) and np.allclose(cov, ref_cov, atol=1e-9)
