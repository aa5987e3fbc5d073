"""Colour: colour-space conversion and colour-range masks."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.imageops import COLOR_SPACES, convert_color, to_bgr
from vidcv.params import Choice, Ints
from vidcv.plugin import InputColor, Plugin
from vidcv.stagecode import CodeContext, StageCode


class ColorConvert(Plugin):
    """Convert the frame to another colour space (from whatever space it is in now)."""

    name = "color"
    title = "Colour space"
    category = "color"
    summary = (
        "Convert to bgr, gray, hsv, hls, lab, ycrcb or rgb from the frame's current space; "
        "a gray frame converts back to 3 channels."
    )
    params = (Choice("to", "gray", COLOR_SPACES, help="target colour space"),)

    def input_color(self) -> InputColor:
        return InputColor.GRAY if self.p.to == "gray" else InputColor.ANY

    def process(self, frame: Frame) -> Frame:
        target = self.p.to
        return frame.with_image(convert_color(frame.image, frame.color_space, target), target)

    def to_code(self, ctx: CodeContext) -> StageCode:
        return StageCode(
            "return frame.with_image(convert_color(frame.image, frame.color_space, TO), TO)",
            f"to {self.p.to} from the frame's current colour space",
            {"TO": self.p.to},
        )


class InRange(Plugin):
    """Keep the pixels whose colour lies between two bounds (HSV or BGR)."""

    name = "in_range"
    title = "Colour range"
    category = "color"
    summary = (
        "Mask of the pixels within [lower, upper] in HSV (H 0..179, S and V 0..255) or BGR "
        "(cv2.inRange); 'masked' keeps those pixels of the BGR image. Gray input is treated as BGR."
    )
    params = (
        Choice("space", "hsv", ("hsv", "bgr"), help="colour space of the bounds"),
        Ints("lower", (0, 80, 80), 0, 255, help="lower bound, one value per channel (H is 0..179)"),
        Ints("upper", (179, 255, 255), 0, 255, help="upper bound, one value per channel"),
        Choice("output", "mask", ("mask", "masked"), help="the mask, or the BGR image where the mask is set"),
    )

    def process(self, frame: Frame) -> Frame:
        bgr = to_bgr(frame.image, frame.color_space)
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV) if self.p.space == "hsv" else bgr
        mask = cv2.inRange(img, np.array(self.p.lower, np.uint8), np.array(self.p.upper, np.uint8))
        if self.p.output == "mask":
            return frame.with_image(mask)
        return frame.with_image(cv2.bitwise_and(bgr, bgr, mask=mask), "bgr")

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        convert = "cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)" if p.space == "hsv" else "bgr"
        last = (
            "return frame.with_image(mask)"
            if p.output == "mask"
            else 'return frame.with_image(cv2.bitwise_and(bgr, bgr, mask=mask), "bgr")'
        )
        return StageCode(
            f"""
            bgr = to_bgr(frame.image, frame.color_space)
            lower, upper = np.array(LOWER, np.uint8), np.array(UPPER, np.uint8)
            mask = cv2.inRange({convert}, lower, upper)
            {last}""",
            f"{p.output} of the pixels within [lower, upper] in {p.space.upper()} (cv2.inRange)",
            {"LOWER": p.lower, "UPPER": p.upper},
        )
