"""Geometry: resize, rotate, flip, crop and translate."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode

INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


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
    summary = (
        "cv2.resize to width x height; with one of them 0 the other keeps the aspect ratio; with both 0 "
        "by 'scale'. Detections stay in source pixels."
    )
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

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        flag = "cv2.INTER_LANCZOS4" if p.interpolation == "lanczos" else f"cv2.INTER_{p.interpolation.upper()}"
        if p.width and p.height:
            size, what, constants = (
                "(WIDTH, HEIGHT)",
                f"to {p.width}x{p.height}",
                {"WIDTH": p.width, "HEIGHT": p.height},
            )
        elif p.width:
            size, what, constants = (
                "(WIDTH, max(1, round(h * WIDTH / w)))",
                f"to width {p.width}, the height keeping the aspect ratio",
                {"WIDTH": p.width},
            )
        elif p.height:
            size, what, constants = (
                "(max(1, round(w * HEIGHT / h)), HEIGHT)",
                f"to height {p.height}, the width keeping the aspect ratio",
                {"HEIGHT": p.height},
            )
        else:
            size, what, constants = (
                "(max(1, round(w * SCALE)), max(1, round(h * SCALE)))",
                f"by {p.scale:g}",
                {"SCALE": p.scale},
            )
        lines = []
        if ctx.vidcv_frame or not (p.width and p.height):  # the size, or the geometry, needs the frame's size
            lines += ["h, w = frame.image.shape[:2]", f"size = {size}"]
            size = "size"
        if ctx.vidcv_frame:
            lines.append("frame.apply_geometry(np.diag([size[0] / w, size[1] / h, 1.0]))")
        lines.append(f"return frame.with_image(cv2.resize(frame.image, {size}, interpolation={flag}))")
        return StageCode("\n".join(lines), f"resize {what} ({p.interpolation} interpolation, cv2.resize)", constants)


def rotation_matrix(
    size_wh: tuple[int, int], angle: float, scale: float, expand: bool
) -> tuple[np.ndarray, tuple[int, int]]:
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
    summary = (
        "cv2.warpAffine with cv2.getRotationMatrix2D about the centre (positive angles turn "
        "counter-clockwise); 'expand' grows the canvas so that no corner is cut. Borders are black."
    )
    params = (
        Float("angle", 0.0, -360.0, 360.0, step=1.0, help="degrees, counter-clockwise"),
        Float("scale", 1.0, 0.05, 10.0, step=0.05, help="zoom factor"),
        Bool("expand", False, help="grow the canvas to keep the corners"),
    )

    def process(self, frame: Frame) -> Frame:
        matrix, size = rotation_matrix(frame.size_wh, self.p.angle, self.p.scale, self.p.expand)
        frame.apply_geometry(matrix)
        return frame.with_image(
            cv2.warpAffine(
                frame.image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
        )

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        lines = ["h, w = frame.image.shape[:2]", "matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), ANGLE, SCALE)"]
        if p.expand:
            lines += [
                "# grow the canvas to fit the corners (rounded first: at 90 degrees cos is 6e-17, not a pixel)",
                "cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])",
                "size = int(np.ceil(round(h * sin + w * cos, 6))), int(np.ceil(round(h * cos + w * sin, 6)))",
                "matrix[0, 2] += size[0] / 2.0 - w / 2.0",
                "matrix[1, 2] += size[1] / 2.0 - h / 2.0",
            ]
        if ctx.vidcv_frame:
            lines.append("frame.apply_geometry(matrix)")
        size = "size" if p.expand else "(w, h)"
        lines += [
            f"image = cv2.warpAffine(frame.image, matrix, {size}, flags=cv2.INTER_LINEAR,",
            "                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)",
            "return frame.with_image(image)",
        ]
        zoom = f", zoom {p.scale:g}" if p.scale != 1 else ""
        canvas = ", the canvas grown to keep the corners" if p.expand else ""
        return StageCode(
            "\n".join(lines),
            f"rotate {p.angle:g} degrees counter-clockwise about the centre{zoom}{canvas} (cv2.warpAffine)",
            {"ANGLE": p.angle, "SCALE": p.scale},
        )


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

    def to_code(self, ctx: CodeContext) -> StageCode:
        mode = self.p.mode
        code, what = {
            "horizontal": (1, "left-right"),
            "vertical": (0, "upside down"),
            "both": (-1, "left-right and upside down"),
        }[mode]
        lines = []
        if ctx.vidcv_frame:
            row_x = "[-1.0, 0, w]" if code in (1, -1) else "[1.0, 0, 0]"
            row_y = "[0, -1.0, h]" if code in (0, -1) else "[0, 1.0, 0]"
            size = {1: "w = frame.image.shape[1]", 0: "h = frame.image.shape[0]", -1: "h, w = frame.image.shape[:2]"}
            lines += [size[code], f"frame.apply_geometry(np.array([{row_x}, {row_y}], np.float64))"]
        axes = {1: "around the y axis", 0: "around the x axis", -1: "around both axes"}[code]
        lines.append(f"return frame.with_image(cv2.flip(frame.image, {code}))  # {code}: {axes}")
        return StageCode("\n".join(lines), f"mirror {what} (cv2.flip)")


class Crop(Plugin):
    """Keep a region of interest."""

    name = "crop"
    title = "Crop"
    category = "geometry"
    summary = (
        "Keep the region x, y, width, height (0 width or height: to the right or bottom edge), clipped to "
        "the frame. Detections stay in source pixels."
    )
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
        return frame.with_image(np.ascontiguousarray(frame.image[p.y : y2, p.x : x2]))

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        rows = "Y:Y + HEIGHT" if p.height else "Y:"
        columns = "X:X + WIDTH" if p.width else "X:"
        constants = {
            "X": p.x,
            "Y": p.y,
            **({"WIDTH": p.width} if p.width else {}),
            **({"HEIGHT": p.height} if p.height else {}),
        }
        lines = [
            f"image = frame.image[{rows}, {columns}]  # clipped to the frame",
            "if image.size == 0:  # the region lies outside the frame: passed on unchanged, as vidcv does",
            "    return frame",
        ]
        if ctx.vidcv_frame:
            lines.append("frame.apply_geometry(np.array([[1, 0, -X], [0, 1, -Y]], np.float64))")
        lines.append("return frame.with_image(np.ascontiguousarray(image))")
        width = f"{p.width} wide" if p.width else "to the right edge"
        height = f"{p.height} high" if p.height else "to the bottom edge"
        return StageCode(
            "\n".join(lines), f"keep the region at x {p.x}, y {p.y}, {width}, {height}, clipped to the frame", constants
        )


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
        matrix = np.array([[1, 0, self.p.dx], [0, 1, self.p.dy]], np.float32)
        frame.apply_geometry(matrix.astype(np.float64))
        return frame.with_image(
            cv2.warpAffine(frame.image, matrix, frame.size_wh, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        )

    def to_code(self, ctx: CodeContext) -> StageCode:
        lines = ["h, w = frame.image.shape[:2]"]
        if ctx.vidcv_frame:
            lines.append("frame.apply_geometry(MATRIX.astype(np.float64))")
        lines += [
            "image = cv2.warpAffine(frame.image, MATRIX, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=0)",
            "return frame.with_image(image)",
        ]
        return StageCode(
            "\n".join(lines),
            f"shift by dx {self.p.dx}, dy {self.p.dy} pixels, black borders, the size kept (cv2.warpAffine)",
            {"DX": self.p.dx, "DY": self.p.dy},
            {"MATRIX": "np.float32([[1, 0, DX], [0, 1, DY]])"},
        )
