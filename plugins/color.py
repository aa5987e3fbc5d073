"""Colour-space conversion."""

from __future__ import annotations

from vidcv.frame import Frame
from vidcv.imageops import COLOR_SPACES, convert_color
from vidcv.params import Choice
from vidcv.plugin import Plugin


class ColorConvert(Plugin):
    """Convert the frame to another colour space (from whatever space it is in now)."""

    name = "color"
    title = "Colour space"
    category = "color"
    summary = ("Convert to bgr, gray, hsv, hls, lab, ycrcb or rgb from the frame's current space; "
               "a gray frame converts back to 3 channels.")
    params = (Choice("to", "gray", COLOR_SPACES, help="target colour space"),)

    def process(self, frame: Frame) -> Frame:
        target = self.p.to
        return frame.with_image(convert_color(frame.image, frame.color_space, target), target)
