"""Geometry: resize, rotate, flip, crop and translate."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin

INTERPOLATION = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA,
                 "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


def resize_target(size_wh: tuple[int, int], width: int, height: int, scale: float) -> tuple[int, int]:
    """Output size: both given; one given (the other keeps the aspect ratio); or neither (``scale``)."""
    w, h = size_wh
    if width and height:
        return width, height
    if width:
        return width, max(1, round(h * width / w))
    if height:
        return max(1, round(w * height / h)), height
    return max(1, round(w * scale)), max(1, round(h * scale))


class Resize(Plugin):
    """Scale the frame."""

    name = "resize"
    title = "Resize"
    category = "geometry"
    summary = ("cv2.resize to width x height; with one of them 0 the other keeps the aspect ratio; with both 0 "
               "by 'scale'. Detections stay in source pixels.")
    params = (
        Int("width", 0, 0, 8192, help="output width in pixels (0: from height or scale)"),
        Int("height", 0, 0, 8192, help="output height in pixels (0: from width or scale)"),
        Float("scale", 0.5, 0.01, 10.0, step=0.05, help="factor used when width and height are both 0"),
        Choice("interpolation", "area", tuple(INTERPOLATION), help="interpolation"),
    )

    def process(self, frame: Frame) -> Frame:
        w, h = frame.size_wh
        size = resize_target((w, h), self.p.width, self.p.height, self.p.scale)
        frame.apply_geometry(np.diag([size[0] / w, size[1] / h, 1.0]))
        return frame.with_image(cv2.resize(frame.image, size, interpolation=INTERPOLATION[self.p.interpolation]))


def rotation_matrix(size_wh: tuple[int, int], angle: float, scale: float, expand: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix of a rotation about the centre, and the output size (grown to fit with ``expand``)."""
    w, h = size_wh
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
    if not expand:
        return matrix, (w, h)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    # rounded first: at 90 degrees cos is 6e-17, which must not add a pixel
    new_w, new_h = math.ceil(round(h * sin + w * cos, 6)), math.ceil(round(h * cos + w * sin, 6))
    matrix[0, 2] += new_w / 2.0 - w / 2.0
    matrix[1, 2] += new_h / 2.0 - h / 2.0
    return matrix, (new_w, new_h)


class Rotate(Plugin):
    """Rotate about the centre."""

    name = "rotate"
    title = "Rotate"
    category = "geometry"
    summary = ("cv2.warpAffine with cv2.getRotationMatrix2D about the centre (positive angles turn "
               "counter-clockwise); 'expand' grows the canvas so that no corner is cut. Borders are black.")
    params = (
        Float("angle", 0.0, -360.0, 360.0, step=1.0, help="degrees, counter-clockwise"),
        Float("scale", 1.0, 0.05, 10.0, step=0.05, help="zoom factor"),
        Bool("expand", False, help="grow the canvas to keep the corners"),
    )

    def process(self, frame: Frame) -> Frame:
        matrix, size = rotation_matrix(frame.size_wh, self.p.angle, self.p.scale, self.p.expand)
        frame.apply_geometry(matrix)
        return frame.with_image(cv2.warpAffine(frame.image, matrix, size, flags=cv2.INTER_LINEAR,
                                               borderMode=cv2.BORDER_CONSTANT, borderValue=0))


class Flip(Plugin):
    """Mirror the frame."""

    name = "flip"
    title = "Flip"
    category = "geometry"
    summary = "Mirror horizontally (left-right), vertically (upside down) or both (cv2.flip)."
    params = (Choice("mode", "horizontal", ("horizontal", "vertical", "both"), help="mirror axis"),)

    def process(self, frame: Frame) -> Frame:
        code = {"horizontal": 1, "vertical": 0, "both": -1}[self.p.mode]
        w, h = frame.size_wh
        sx, sy = (-1.0 if code in (1, -1) else 1.0), (-1.0 if code in (0, -1) else 1.0)
        frame.apply_geometry(np.array([[sx, 0, w if sx < 0 else 0], [0, sy, h if sy < 0 else 0]], np.float64))
        return frame.with_image(cv2.flip(frame.image, code))


class Crop(Plugin):
    """Keep a region of interest."""

    name = "crop"
    title = "Crop"
    category = "geometry"
    summary = ("Keep the region x, y, width, height (0 width or height: to the right or bottom edge), clipped to "
               "the frame. Detections stay in source pixels.")
    params = (
        Int("x", 0, 0, 16384, help="left edge in pixels"),
        Int("y", 0, 0, 16384, help="top edge in pixels"),
        Int("width", 0, 0, 16384, help="width in pixels (0: to the right edge)"),
        Int("height", 0, 0, 16384, help="height in pixels (0: to the bottom edge)"),
    )

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, int]:
        return {"x": x, "y": y, "width": width, "height": height}

    def process(self, frame: Frame) -> Frame:
        w, h = frame.size_wh
        p = self.p
        x2 = w if p.width == 0 else min(w, p.x + p.width)
        y2 = h if p.height == 0 else min(h, p.y + p.height)
        if p.x >= x2 or p.y >= y2:
            raise ValueError(f"crop region x={p.x}, y={p.y} lies outside the {w}x{h} frame")
        frame.apply_geometry(np.array([[1, 0, -p.x], [0, 1, -p.y]], np.float64))
        return frame.with_image(np.ascontiguousarray(frame.image[p.y:y2, p.x:x2]))


class Translate(Plugin):
    """Shift the frame by whole pixels."""

    name = "translate"
    title = "Translate"
    category = "geometry"
    summary = "Shift by dx, dy pixels (cv2.warpAffine); uncovered borders are black, the size is kept."
    params = (
        Int("dx", 0, -8192, 8192, help="shift right in pixels (negative: left)"),
        Int("dy", 0, -8192, 8192, help="shift down in pixels (negative: up)"),
    )

    def process(self, frame: Frame) -> Frame:
        matrix = np.float32([[1, 0, self.p.dx], [0, 1, self.p.dy]])
        frame.apply_geometry(matrix.astype(np.float64))
        return frame.with_image(cv2.warpAffine(frame.image, matrix, frame.size_wh, borderMode=cv2.BORDER_CONSTANT,
                                               borderValue=0))
