"""Multi-object tracking of the detections before it: ByteTrack and BoT-SORT, from ultralytics' trackers."""

from __future__ import annotations

import os
from argparse import Namespace
from dataclasses import replace
from typing import cast

import numpy as np

from vidcv.detections import OBB
from vidcv.frame import Frame, aabb_of
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.tracks import TrackHistory


class _Boxes:
    """The results-like view ultralytics' trackers read: xywh, conf, cls, boolean indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy, self.conf, self.cls = xyxy, conf, cls
        wh = xyxy[:, 2:] - xyxy[:, :2]
        self.xywh = np.concatenate([xyxy[:, :2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: np.ndarray) -> _Boxes:
        return _Boxes(self.xyxy[index], self.conf[index], self.cls[index])


class _RotatedBoxes(_Boxes):
    """The view of oriented boxes: with ``xywhr`` the trackers match by rotated IoU (probiou) and keep the
    angle, and their rows become ``x, y, w, h, angle, track_id, score, cls, idx``."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, xywhr: np.ndarray) -> None:
        super().__init__(xyxy, conf, cls)
        self.xywhr = xywhr

    def __getitem__(self, index: np.ndarray) -> _RotatedBoxes:
        return _RotatedBoxes(self.xyxy[index], self.conf[index], self.cls[index], self.xywhr[index])


class Track(Plugin):
    """Persistent identities for the detections of the stages before it."""

    name = "track"
    title = "Track (ByteTrack / BoT-SORT)"
    category = "tracking"
    summary = (
        "Fills tracker_id of the detections found so far with ultralytics' ByteTrack or BoT-SORT (with "
        "sparse-optical-flow camera-motion compensation). Only confirmed tracks are emitted; a lost track "
        "keeps its id for track_buffer frames. Each track's age (frames), speed (pixels per second) and "
        "trail (recent centres) are per-detection data (track_age, speed_px_s, trail): the detection log "
        "writes age and speed, annotate and the overlays draw trails. Oriented boxes (an obb model) are "
        "matched by rotated IoU and keep their angle; keypoints, masks and polygons follow the detection "
        "their track matched. Seeking or a new source resets it."
    )
    stateful = True
    params = (
        Choice("method", "bytetrack", ("bytetrack", "botsort"), help="association algorithm"),
        Float("track_high_thresh", 0.25, 0.0, 1.0, step=0.05, help="first-stage match threshold"),
        Float("track_low_thresh", 0.1, 0.0, 1.0, step=0.05, help="second-stage threshold for low-score boxes"),
        Float("new_track_thresh", 0.25, 0.0, 1.0, step=0.05, help="score a box needs to start a new track"),
        Int("track_buffer", 30, 1, 1000, help="frames a lost track is kept (at 30 fps; scaled by frame_rate)"),
        Float("match_thresh", 0.8, 0.0, 1.0, step=0.05, help="association cost threshold (1 - IoU)"),
        Bool("fuse_score", True, help="weigh IoU by the detection score when matching"),
        Int("frame_rate", 0, 0, 240, help="frames per second for track_buffer (0: 30)"),
        Choice(
            "gmc_method",
            "sparseOptFlow",
            ("sparseOptFlow", "orb", "sift", "ecc", "none"),
            help="BoT-SORT: camera-motion compensation",
        ),
    )

    def setup(self) -> None:
        # ultralytics pip-installs missing packages at run time unless told not to; vidcv never allows that
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        from ultralytics.trackers.bot_sort import BOTSORT
        from ultralytics.trackers.byte_tracker import BYTETracker

        p = self.p
        buffer = max(1, round(p.track_buffer * (p.frame_rate or 30) / 30))  # track_buffer is given at 30 fps
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
        self.tracker = (BOTSORT if p.method == "botsort" else BYTETracker)(args)
        self.motion = TrackHistory(forget_after=2 * buffer)

    def reset(self) -> None:
        self.setup()

    def reads_source_image(self) -> bool:
        return self.p.method == "botsort"  # its camera-motion compensation reads the original

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        xyxy, conf, cls = (
            dets.xyxy.astype(np.float32),
            dets.confidence.astype(np.float32),
            dets.class_id.astype(np.float32),
        )
        obb = cast("np.ndarray | None", dets.data.get(OBB.name))  # an oriented box is never ragged
        boxes = _Boxes(xyxy, conf, cls) if obb is None else _RotatedBoxes(xyxy, conf, cls, obb.astype(np.float32))
        image = frame.source_image if self.p.method == "botsort" else None
        width = 8 if obb is None else 9  # box (4 or 5 values), track id, score, class, detection index
        out = np.asarray(self.tracker.update(boxes, image), np.float64).reshape(-1, width)
        box, (tid, score, cid, idx) = out[:, : width - 4], out[:, width - 4 :].T
        # masks, polygons, keypoints and other per-detection data follow the detection each track matched
        matched = dets[idx.astype(int)]
        if obb is not None:
            matched = matched.with_data(**{OBB.name: box.astype(np.float32)})
            box = aabb_of(box, frame.source_image.shape[:2])
        tracked = replace(
            matched, xyxy=box, confidence=score, class_id=cid.astype(np.int32), tracker_id=tid.astype(np.int64)
        )
        return frame.with_detections(self.motion.annotate(tracked, frame.pts_ms))
