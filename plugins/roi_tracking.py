"""Single-object tracking of a region the user draws (OpenCV's MIL; CSRT and KCF with opencv-contrib)."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.detections import Detections
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.params import Choice, Ints
from vidcv.plugin import Plugin
from vidcv.status import StageStatus
from vidcv.tracks import TrackHistory

FACTORIES = {"mil": "TrackerMIL_create", "csrt": "TrackerCSRT_create", "kcf": "TrackerKCF_create"}


def available_methods() -> list[str]:
    """Methods this OpenCV build has (CSRT and KCF only in opencv-contrib-python)."""
    return [m for m, f in FACTORIES.items() if hasattr(cv2, f)]


class RoiTrack(Plugin):
    """Follow one region from frame to frame."""

    name = "roi_track"
    title = "Region tracker"
    category = "tracking"
    summary = ("Follows the region 'roi' (x, y, width, height in source pixels; draw it on the video in the GUI) "
               "with OpenCV's MIL tracker; CSRT and KCF when opencv-contrib-python is installed (this build has: "
               + ", ".join(available_methods()) + "). Emits one 'target' detection with track id 1 (and its age, speed "
               "and trail) while the target is held; the stage's state says 'tracking', 'lost' or 'no region'. Setting the region again "
               "re-initialises it.")
    stateful = True
    params = (
        Ints("roi", (0, 0, 0, 0), 0, 16384, help="region to follow: x, y, width, height (all 0: none yet)"),
        Choice("method", "mil", tuple(FACTORIES), help="tracker (csrt and kcf need opencv-contrib-python)"),
    )

    def setup(self) -> None:
        if self.p.method not in available_methods():
            raise ParamError(f"parameter 'method' = {self.p.method!r} needs opencv-contrib-python, which is not "
                             f"installed; this OpenCV has: {', '.join(available_methods())}")
        self.tracker = None
        self.state = "no region"
        self.motion = TrackHistory()

    def reset(self) -> None:
        self.setup()

    def status(self) -> StageStatus:
        return StageStatus(state=self.state)

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, list[int]]:
        return {"roi": [x, y, width, height]}

    def process(self, frame: Frame) -> Frame:
        x, y, w, h = self.p.roi
        found = Detections.empty({0: "target"})
        if w > 0 and h > 0:
            image = frame.source_image
            if self.tracker is None:
                self.tracker = getattr(cv2, FACTORIES[self.p.method])()
                self.tracker.init(image, (x, y, w, h))
                ok, box = True, (x, y, w, h)
            else:
                ok, box = self.tracker.update(image)
            self.state = "tracking" if ok else "lost"
            if ok:
                bx, by, bw, bh = (float(v) for v in box)
                found = self.motion.annotate(Detections([[bx, by, bx + bw, by + bh]], [1.0], [0], {0: "target"},
                                                        tracker_id=np.array([1])), frame.pts_ms)
        frame.detections = Detections.merge([frame.detections, found])
        return frame
