"""Thresholds: global, Otsu, triangle and adaptive."""

from __future__ import annotations

import cv2

from vidcv.frame import Frame
from vidcv.imageops import to_gray
from vidcv.params import Choice, Float, Int
from vidcv.plugin import InputColor, Plugin
from vidcv.stagecode import CodeContext, StageCode

_GLOBAL = {
    "binary": cv2.THRESH_BINARY,
    "binary_inv": cv2.THRESH_BINARY_INV,
    "trunc": cv2.THRESH_TRUNC,
    "tozero": cv2.THRESH_TOZERO,
    "tozero_inv": cv2.THRESH_TOZERO_INV,
}
_AUTO = {"otsu": cv2.THRESH_OTSU, "triangle": cv2.THRESH_TRIANGLE}
_ADAPTIVE = {"adaptive_mean": cv2.ADAPTIVE_THRESH_MEAN_C, "adaptive_gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C}


class Threshold(Plugin):
    """Threshold the gray image."""

    name = "threshold"
    title = "Threshold"
    category = "threshold"
    summary = (
        "Global (cv2.threshold), Otsu and triangle (threshold chosen from the histogram, 'thresh' ignored) "
        "and adaptive (cv2.adaptiveThreshold) thresholds of the gray image; colour input is converted "
        "to gray first."
    )
    params = (
        Choice("method", "binary", (*_GLOBAL, *_AUTO, *_ADAPTIVE), help="thresholding method"),
        Float("thresh", 127.0, 0.0, 255.0, step=1.0, help="threshold value (global methods)"),
        Float("maxval", 255.0, 0.0, 255.0, step=1.0, help="value given to pixels that pass"),
        Int("block_size", 11, 3, 255, odd=True, help="adaptive: neighbourhood size in pixels (odd)"),
        Float("c", 2.0, -100.0, 100.0, step=0.5, help="adaptive: constant subtracted from the local mean"),
    )

    def input_color(self) -> InputColor:
        return InputColor.GRAY  # a threshold of the gray image

    def process(self, frame: Frame) -> Frame:
        p = self.p
        gray = to_gray(frame.image, frame.color_space)
        if p.method in _ADAPTIVE:
            out = cv2.adaptiveThreshold(gray, p.maxval, _ADAPTIVE[p.method], cv2.THRESH_BINARY, p.block_size, p.c)
        elif p.method in _AUTO:
            _, out = cv2.threshold(gray, 0, p.maxval, cv2.THRESH_BINARY | _AUTO[p.method])
        else:
            _, out = cv2.threshold(gray, p.thresh, p.maxval, _GLOBAL[p.method])
        return frame.with_image(out)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p  # the methods are named as their cv2 flags: THRESH_OTSU, ADAPTIVE_THRESH_MEAN_C ...
        if p.method in _ADAPTIVE:
            kind = p.method.removeprefix("adaptive_")  # mean or gaussian
            return StageCode(
                f"""
                gray = to_gray(frame.image, frame.color_space)
                out = cv2.adaptiveThreshold(gray, MAXVAL, cv2.ADAPTIVE_THRESH_{kind.upper()}_C, cv2.THRESH_BINARY,
                                            BLOCK_SIZE, C)
                return frame.with_image(out)""",
                f"adaptive {kind} threshold, {p.block_size}x{p.block_size} block, C {p.c:g}, max {p.maxval:g}",
                {"MAXVAL": p.maxval, "BLOCK_SIZE": p.block_size, "C": p.c},
            )
        if p.method in _AUTO:
            return StageCode(
                f"""
                gray = to_gray(frame.image, frame.color_space)
                _, out = cv2.threshold(gray, 0, MAXVAL, cv2.THRESH_BINARY | cv2.THRESH_{p.method.upper()})
                return frame.with_image(out)""",
                f"{p.method.capitalize()} threshold, max {p.maxval:g}",
                {"MAXVAL": p.maxval},
            )
        return StageCode(
            f"""
            gray = to_gray(frame.image, frame.color_space)
            _, out = cv2.threshold(gray, THRESH, MAXVAL, cv2.THRESH_{p.method.upper()})
            return frame.with_image(out)""",
            f"{p.method} threshold at {p.thresh:g}, max {p.maxval:g}",
            {"THRESH": p.thresh, "MAXVAL": p.maxval},
        )
