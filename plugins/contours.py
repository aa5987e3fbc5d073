"""Contours of a binary image: filtered by area, drawn, and emitted as Detections (a blob detector)."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.detections import Detections, xywh_to_xyxy
from vidcv.frame import Frame
from vidcv.imageops import to_bgr, to_gray
from vidcv.params import Bool, Choice, Float
from vidcv.plugin import Plugin, Produces
from vidcv.stagecode import CodeContext, StageCode
from vidcv.status import StageStatus

MODES = {"external": cv2.RETR_EXTERNAL, "list": cv2.RETR_LIST, "ccomp": cv2.RETR_CCOMP, "tree": cv2.RETR_TREE}
DRAW_COLOR = (0, 255, 0)


def find_blobs(binary: np.ndarray, mode: str, min_area: float, max_area: float) -> list[np.ndarray]:
    """Contours of the non-zero pixels whose area lies in [min_area, max_area] (0: no upper bound)."""
    contours, _ = cv2.findContours(binary, MODES[mode], cv2.CHAIN_APPROX_SIMPLE)
    kept = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if area >= min_area and (max_area == 0 or area <= max_area):
            kept.append(contour)
    return kept


def blob_detections(contours: list[np.ndarray], class_name: str) -> Detections:
    """Bounding boxes of the contours as detections of one class, with the contours as polygons."""
    if not contours:
        return Detections.empty({0: class_name})
    xyxy = xywh_to_xyxy([cv2.boundingRect(c) for c in contours])
    return Detections(
        xyxy,
        np.ones(len(xyxy), np.float32),
        np.zeros(len(xyxy), np.int32),
        {0: class_name},
        polygons=[c.reshape(-1, 2) for c in contours],
    )


def with_blob_detections(frame: Frame, contours: list[np.ndarray], class_name: str) -> Frame:
    """A new frame: ``frame`` with the contours' bounding boxes added to its detections as ``class_name``
    detections, in source pixels (``frame`` is left as it was)."""
    return frame.with_detections_added(frame.detections_to_source(blob_detections(contours, class_name)))


class Contours(Plugin):
    """Find, filter, draw and emit the contours of a binary image."""

    name = "contours"
    title = "Contours"
    category = "analysis"
    summary = (
        "cv2.findContours of the non-zero pixels (colour input is converted to gray first; put a "
        "threshold or colour range before it), kept when min_area <= area <= max_area (0: no maximum). "
        "'draw' paints them on the original or on this frame; 'emit' adds their boxes as 'blob' detections. The stage reports the count as 'contours'."
    )
    params = (
        Choice("mode", "external", tuple(MODES), help="retrieval mode: outer contours only, or all of them"),
        Float("min_area", 50.0, 0.0, 1e7, step=10.0, help="smallest area kept, in square pixels"),
        Float("max_area", 0.0, 0.0, 1e7, step=10.0, help="largest area kept (0: no maximum)"),
        Choice("draw", "original", ("original", "frame", "none"), help="draw on the original, on this frame, or not"),
        Bool("emit", True, help="add the bounding boxes to the frame's detections"),
    )

    found = 0  #: contours kept on the last frame

    def status(self) -> StageStatus:
        return StageStatus(figures={"contours": self.found})

    def produces(self) -> Produces:
        return Produces.DETECTIONS if self.p.emit else Produces.NOTHING

    def reads_source_image(self) -> bool:
        return self.p.draw == "original"

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        contours = find_blobs(gray, self.p.mode, self.p.min_area, self.p.max_area)
        self.found = len(contours)
        if self.p.emit:
            frame = with_blob_detections(frame, contours, "blob")
        if self.p.draw == "none":
            return frame
        base = frame.source_image if self.p.draw == "original" else to_bgr(frame.image, frame.color_space)
        canvas = base.copy()
        cv2.drawContours(canvas, contours, -1, DRAW_COLOR, 2)
        return frame.with_image(canvas, "bgr")

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        emit = p.emit and ctx.vidcv_frame  # a standalone script's frames carry no detections
        if p.draw == "none" and not emit:
            return StageCode("return frame", "nothing drawn and no detections here: the frame passes unchanged")
        lines = []
        if emit:
            lines += ["from vidcv.plugins import contours as vidcv_contours", ""]
        find = f"cv2.findContours(gray, cv2.RETR_{p.mode.upper()}, cv2.CHAIN_APPROX_SIMPLE)"
        lines.append("gray = to_gray(frame.image, frame.color_space)")
        if p.max_area:
            lines += [f"found, _ = {find}", "blobs = [c for c in found if MIN_AREA <= cv2.contourArea(c) <= MAX_AREA]"]
            constants = {"MIN_AREA": p.min_area, "MAX_AREA": p.max_area}
            area = f"{p.min_area:g} <= area <= {p.max_area:g}"
        elif p.min_area:
            lines += [f"found, _ = {find}", "blobs = [c for c in found if cv2.contourArea(c) >= MIN_AREA]"]
            constants, area = {"MIN_AREA": p.min_area}, f"area >= {p.min_area:g}"
        else:  # min_area 0, no maximum: every contour is kept
            lines.append(f"blobs, _ = {find}")
            constants, area = {}, "any area"
        if emit:
            lines.append('frame = vidcv_contours.with_blob_detections(frame, blobs, "blob")')
        if p.draw == "none":
            lines.append("return frame")
        else:
            base = "frame.source_image" if p.draw == "original" else "to_bgr(frame.image, frame.color_space)"
            lines += [
                f"canvas = {base}.copy()",
                "cv2.drawContours(canvas, blobs, -1, DRAW_COLOR, 2)",
                'return frame.with_image(canvas, "bgr")',
            ]
        what = "outer contours" if p.mode == "external" else f"contours ({p.mode})"
        done = [f"drawn on the {p.draw}"] if p.draw != "none" else []
        done += ["boxes added as 'blob' detections"] if emit else []
        return StageCode(
            "\n".join(lines),
            f"{what} of the non-zero pixels with {area}, {' and '.join(done)} (cv2.findContours)",
            constants,
        )
