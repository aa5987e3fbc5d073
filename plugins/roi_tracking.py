"""Single-object tracking of a region the user draws (OpenCV's MIL; CSRT and KCF with opencv-contrib),
with an appearance re-check that reports the target lost and finds it again."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidcv.detections import Detections
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.imageops import to_bgr_uint8
from vidcv.params import Choice, Float, Ints
from vidcv.plugin import Plugin
from vidcv.status import StageStatus
from vidcv.tracks import TrackHistory

FACTORIES = {"mil": "TrackerMIL_create", "csrt": "TrackerCSRT_create", "kcf": "TrackerKCF_create"}
HIST_BINS = (32, 8, 8)  # hue, saturation, value: value keeps gray video comparable too
HIST_RANGES = (0, 180, 0, 256, 0, 256)


def available_methods() -> list[str]:
    """Methods this OpenCV build has (CSRT and KCF only in opencv-contrib-python)."""
    return [m for m, f in FACTORIES.items() if hasattr(cv2, f)]


def appearance(patch_bgr: np.ndarray) -> np.ndarray:
    """The colour histogram (HSV, 32x8x8 bins, summing to 1) that the re-check compares."""
    hist = cv2.calcHist(
        [cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2HSV)], [0, 1, 2], None, list(HIST_BINS), list(HIST_RANGES)
    )
    return cv2.normalize(hist, None, 1.0, 0.0, cv2.NORM_L1)  # type: ignore[call-overload]  # stubs: dst may be None


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Histogram intersection of two appearances: 1 for the same colours, 0 for none in common."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_INTERSECT))


def crop(image: np.ndarray, box: Sequence[float], inner: bool = False) -> np.ndarray | None:
    """The part of ``box`` (x, y, w, h) inside the image, or with ``inner`` of its central half (half the width
    and height: mostly the target, little background); None when nothing of it is."""
    x, y, w, h = box
    if inner:
        x, y, w, h = x + w / 4, y + h / 4, max(1.0, w / 2), max(1.0, h / 2)
    x, y, w, h = (round(v) for v in (x, y, w, h))
    x0, y0, x1, y1 = max(0, x), max(0, y), min(image.shape[1], x + w), min(image.shape[0], y + h)
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None


class RoiTrack(Plugin):
    """Follow one region from frame to frame."""

    name = "roi_track"
    title = "Region tracker"
    category = "tracking"
    summary = (
        "Follows the region 'roi' (x, y, width, height in source pixels; draw it on the video in the GUI) "
        "with OpenCV's MIL tracker; CSRT and KCF when opencv-contrib-python is installed (this build has: "
        + ", ".join(available_methods())
        + "). Every frame the tracked box is re-checked against the region "
        "first given: the intersection of their colour histograms (HSV, 32x8x8 bins; 1 = same colours) is "
        "the detection's confidence, and below 'min_similarity' the target is 'lost' (the tracker drifted "
        "or the target left): no detection, and each frame the first region's colours are searched for "
        "over the whole frame (histogram back-projection), the tracker restarting where they match again. Emits "
        "one 'target' detection with track id 1 (and its age, speed and trail) while the target is held; "
        "the stage's state says 'tracking', 'lost' or 'no region' and its figure 'similarity' the last "
        "score. Setting the region again re-initialises it."
    )
    stateful = True
    params = (
        Ints("roi", (0, 0, 0, 0), 0, 16384, help="region to follow: x, y, width, height (all 0: none yet)"),
        Choice("method", "mil", tuple(FACTORIES), help="tracker (csrt and kcf need opencv-contrib-python)"),
        Float(
            "min_similarity",
            0.5,
            0.0,
            1.0,
            step=0.05,
            help="colour-histogram intersection with the first region below which the target is lost (0: never)",
        ),
    )

    def setup(self) -> None:
        if self.p.method not in available_methods():
            raise ParamError(
                f"parameter 'method' = {self.p.method!r} needs opencv-contrib-python, which is not "
                f"installed; this OpenCV has: {', '.join(available_methods())}"
            )
        self.tracker: cv2.Tracker | None = None
        self.state = "no region"
        self.score = 0.0
        self.reference: np.ndarray | None = None  # appearance of the first region's central half
        self.size: tuple[int, int] | None = None  # the first region's width and height
        self.motion = TrackHistory()

    def reset(self) -> None:
        self.setup()

    def status(self) -> StageStatus:
        figures = {"similarity": round(self.score, 3)} if self.state != "no region" else {}
        return StageStatus(state=self.state, figures=figures)

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, list[int]]:
        return {"roi": [x, y, width, height]}

    def _start(self, image: np.ndarray, box: tuple[int, int, int, int]) -> None:
        self.tracker = getattr(cv2, FACTORIES[self.p.method])()
        self.tracker.init(image, box)

    def _search(self, image: np.ndarray) -> tuple[tuple[int, int, int, int], float]:
        """Where the first region's colours are densest in the frame (its histogram back-projected, averaged
        over the central half of a region of its size), that region, and its appearance score."""
        assert self.reference is not None and self.size is not None
        w, h = self.size
        hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
        bins = [
            (hsv[:, :, c].astype(np.int32) * n) // top for c, (n, top) in enumerate(zip(HIST_BINS, (180, 256, 256)))
        ]
        likely = self.reference[bins[0], bins[1], bins[2]]  # each pixel's share in the first region's colours
        density = cv2.boxFilter(likely, -1, (max(1, w // 2), max(1, h // 2)))
        _, _, _, (cx, cy) = cv2.minMaxLoc(density)
        box = (
            min(max(0, cx - w // 2), max(0, image.shape[1] - w)),
            min(max(0, cy - h // 2), max(0, image.shape[0] - h)),
            w,
            h,
        )  # kept inside the frame: the trackers cannot start on a region partly outside it
        patch = crop(image, box, inner=True)
        return box, similarity(self.reference, appearance(patch)) if patch is not None else 0.0

    def reads_source_image(self) -> bool:
        return True  # tracks on the colour original

    def process(self, frame: Frame) -> Frame:
        x, y, w, h = self.p.roi
        found = Detections.empty({0: "target"})
        if w > 0 and h > 0:
            image = to_bgr_uint8(frame.source_image)
            box: tuple[float, ...] | None = None  # x, y, w, h
            if self.tracker is None:
                first = crop(image, (x, y, w, h), inner=True)
                if first is None:
                    raise ParamError(
                        f"parameter 'roi' = {list(self.p.roi)} lies outside the "
                        f"{image.shape[1]}x{image.shape[0]} frame: draw the region on the video"
                    )
                self.reference, self.size = appearance(first), (w, h)
                self._start(image, (x, y, w, h))
                box, self.score = (x, y, w, h), 1.0
            elif self.state == "lost":
                found_box, self.score = self._search(image)
                if self.score >= self.p.min_similarity:
                    box = found_box
                    self._start(image, found_box)
            else:
                assert self.reference is not None  # taken with the first region, before the tracker started
                ok, tracked = self.tracker.update(image)
                patch = crop(image, tracked, inner=True) if ok else None
                self.score = similarity(self.reference, appearance(patch)) if patch is not None else 0.0
                if patch is not None and (self.score >= self.p.min_similarity or self.p.min_similarity == 0):
                    box = tuple(float(v) for v in tracked)
            self.state = "tracking" if box is not None else "lost"
            if box is not None:
                bx, by, bw, bh = (float(v) for v in box)
                found = self.motion.annotate(
                    Detections(
                        np.array([[bx, by, bx + bw, by + bh]], np.float32),
                        np.array([min(1.0, self.score)], np.float32),
                        np.array([0], np.int32),
                        {0: "target"},
                        tracker_id=np.array([1]),
                    ),
                    frame.pts_ms,
                )
        return frame.with_detections_added(found)
