"""Motion: background subtraction (MOG2, KNN) with motion boxes as Detections."""

from __future__ import annotations

import cv2

from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.plugins.contours import find_blobs, with_blob_detections
from vidcv.stagecode import CodeContext, StageCode

FOREGROUND = 200  # MOG2 and KNN mark shadows 127 and foreground 255


class BackgroundSubtraction(Plugin):
    """Foreground mask from a learned background model, and boxes around what moves."""

    name = "background_subtraction"
    title = "Background subtraction"
    category = "motion"
    summary = (
        "Foreground mask of cv2.createBackgroundSubtractorMOG2 or ...KNN (shadows 127, motion 255), and "
        "boxes of the moving regions (area >= min_area, shadows excluded) as 'motion' detections. "
        "For KNN, var_threshold is its dist2Threshold (400 is typical; 16 for MOG2). Changing a "
        "parameter, seeking or a new source starts learning again."
    )
    stateful = True
    params = (
        Choice("method", "mog2", ("mog2", "knn"), help="background model"),
        Int("history", 500, 1, 10000, help="frames the model remembers"),
        Float(
            "var_threshold",
            16.0,
            1.0,
            5000.0,
            step=1.0,
            help="MOG2: squared Mahalanobis distance threshold; KNN: squared distance threshold",
        ),
        Bool("detect_shadows", True, help="mark shadows (127) apart from motion"),
        Float("min_area", 100.0, 0.0, 1e7, step=10.0, help="smallest motion region reported, in square pixels"),
    )

    def setup(self) -> None:
        p = self.p
        self.model: cv2.BackgroundSubtractor
        if p.method == "mog2":
            self.model = cv2.createBackgroundSubtractorMOG2(p.history, p.var_threshold, p.detect_shadows)
        else:
            self.model = cv2.createBackgroundSubtractorKNN(p.history, p.var_threshold, p.detect_shadows)

    def reset(self) -> None:
        self.setup()

    def process(self, frame: Frame) -> Frame:
        image = frame.image if frame.image.ndim == 2 else to_bgr(frame.image, frame.color_space)
        mask = self.model.apply(image)
        _, moving = cv2.threshold(mask, FOREGROUND, 255, cv2.THRESH_BINARY)
        regions = find_blobs(moving, "external", self.p.min_area, 0)
        frame = with_blob_detections(frame, regions, "motion")
        return frame.with_image(mask)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        create = "cv2.createBackgroundSubtractorMOG2" if p.method == "mog2" else "cv2.createBackgroundSubtractorKNN"
        lines = []
        if ctx.vidcv_frame:
            lines += ["from vidcv.plugins import contours as vidcv_contours", ""]
        lines += [
            "image = frame.image if frame.image.ndim == 2 else to_bgr(frame.image, frame.color_space)",
            "mask = SUBTRACTOR.apply(image)",
        ]
        if ctx.vidcv_frame:
            lines += [
                "# boxes of the moving regions (shadows excluded) as 'motion' detections",
                "_, moving = cv2.threshold(mask, FOREGROUND, 255, cv2.THRESH_BINARY)",
                'regions = vidcv_contours.find_blobs(moving, "external", MIN_AREA, 0)',
                'frame = vidcv_contours.with_blob_detections(frame, regions, "motion")',
            ]
        lines.append("return frame.with_image(mask)")
        shadows = "shadows 127, motion 255" if p.detect_shadows else "motion 255"
        name = "MOG2" if p.method == "mog2" else "KNN"
        boxes = ", and boxes of the moving regions as 'motion' detections" if ctx.vidcv_frame else ""
        return StageCode(
            "\n".join(lines),
            f"foreground mask of a {name} background model ({shadows}){boxes}",
            {
                "HISTORY": p.history,
                "VAR_THRESHOLD": p.var_threshold,
                "DETECT_SHADOWS": p.detect_shadows,
                **({"MIN_AREA": p.min_area} if ctx.vidcv_frame else {}),
            },
            {"SUBTRACTOR": f"{create}(HISTORY, VAR_THRESHOLD, DETECT_SHADOWS)"},
        )
