"""Morphology: erode, dilate, open, close, gradient, top-hat, black-hat."""

from __future__ import annotations

import cv2

from vidcv.frame import Frame
from vidcv.params import Choice, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode

OPS = {
    "erode": cv2.MORPH_ERODE,
    "dilate": cv2.MORPH_DILATE,
    "open": cv2.MORPH_OPEN,
    "close": cv2.MORPH_CLOSE,
    "gradient": cv2.MORPH_GRADIENT,
    "tophat": cv2.MORPH_TOPHAT,
    "blackhat": cv2.MORPH_BLACKHAT,
}
SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}


class Morphology(Plugin):
    """Morphological operation with a structuring element."""

    name = "morphology"
    title = "Morphology"
    category = "morphology"
    summary = (
        "Erode, dilate, open, close, gradient, top-hat or black-hat (cv2.morphologyEx) with a rect, "
        "ellipse or cross element; works on gray and colour frames alike."
    )
    params = (
        Choice("op", "open", tuple(OPS), help="operation"),
        Choice("shape", "rect", tuple(SHAPES), help="structuring element shape"),
        Int("ksize", 3, 1, 51, help="structuring element size in pixels"),
        Int("iterations", 1, 1, 20, help="times the operation is applied"),
    )

    def setup(self) -> None:
        self.kernel = cv2.getStructuringElement(SHAPES[self.p.shape], (self.p.ksize, self.p.ksize))

    def process(self, frame: Frame) -> Frame:
        out = cv2.morphologyEx(frame.image, OPS[self.p.op], self.kernel, iterations=self.p.iterations)
        return frame.with_image(out)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p  # OPS and SHAPES are named as in cv2: MORPH_ and the name in capitals
        times = "" if p.iterations == 1 else f", {p.iterations} times"
        return StageCode(
            f"""
            out = cv2.morphologyEx(frame.image, cv2.MORPH_{p.op.upper()}, KERNEL, iterations=ITERATIONS)
            return frame.with_image(out)""",
            f"{p.op} with a {p.ksize}x{p.ksize} {p.shape} element{times}",
            {"KSIZE": p.ksize, "ITERATIONS": p.iterations},
            {"KERNEL": f"cv2.getStructuringElement(cv2.MORPH_{p.shape.upper()}, (KSIZE, KSIZE))"},
        )
