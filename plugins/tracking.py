"""Multi-object tracking of the detections before it: ByteTrack and BoT-SORT, vidcv's own (``vidcv.mot``)."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import numpy as np

from vidcv.detections import OBB
from vidcv.frame import Frame, aabb_of
from vidcv.mot.tracker import MultiTracker, TrackerSettings
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.tracks import TrackHistory


class Track(Plugin):
    """Persistent identities for the detections of the stages before it."""

    name = "track"
    title = "Track (ByteTrack / BoT-SORT)"
    category = "tracking"
    summary = (
        "Fills tracker_id of the detections found so far with ByteTrack or BoT-SORT (with camera-motion "
        "compensation: sparse optical flow by default), in NumPy and OpenCV. Only confirmed tracks are emitted; "
        "a lost track keeps its id for track_buffer frames. Each track's age (frames), speed (pixels per second) "
        "and trail (recent centres) are per-detection data (track_age, speed_px_s, trail): the detection log "
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
        p = self.p
        buffer = max(1, round(p.track_buffer * (p.frame_rate or 30) / 30))  # track_buffer is given at 30 fps
        self.tracker = MultiTracker(
            TrackerSettings(
                method=p.method,
                track_high_thresh=p.track_high_thresh,
                track_low_thresh=p.track_low_thresh,
                new_track_thresh=p.new_track_thresh,
                track_buffer=buffer,
                match_thresh=p.match_thresh,
                fuse_score=p.fuse_score,
                gmc=None if p.gmc_method == "none" else p.gmc_method,
            )
        )
        self.motion = TrackHistory(forget_after=2 * buffer)

    def reset(self) -> None:
        self.setup()

    def reads_source_image(self) -> bool:
        return self.p.method == "botsort"  # its camera-motion compensation reads the original

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        obb = cast("np.ndarray | None", dets.data.get(OBB.name))  # an oriented box is never ragged
        image = frame.source_image if self.p.method == "botsort" else None
        out = self.tracker.update(dets.xyxy if obb is None else obb, dets.confidence, dets.class_id, image)
        # masks, polygons, keypoints and other per-detection data follow the detection each track matched
        matched = dets[out.index]
        box = out.boxes
        if obb is not None:
            matched = matched.with_data(**{OBB.name: box.astype(np.float32)})
            box = aabb_of(box, frame.source_image.shape[:2])
        tracked = replace(
            matched,
            xyxy=box,
            confidence=out.scores,
            class_id=out.classes.astype(np.int32),
            tracker_id=out.ids,
        )
        return frame.with_detections(self.motion.annotate(tracked, frame.pts_ms))
