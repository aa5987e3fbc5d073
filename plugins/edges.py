"""Edges: Canny, first derivatives (Sobel, Scharr, Prewitt) and the Laplacian."""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.imageops import to_gray
from vidcv.params import Bool, Choice, Float, Int, Param
from vidcv.plugin import InputColor, Plugin
from vidcv.stagecode import CodeContext, StageCode


class Canny(Plugin):
    """Canny edges; colour input is converted to gray first."""

    name = "canny"
    title = "Canny edges"
    category = "edges"
    summary = (
        "Canny edge detector (cv2.Canny) on the gray image (colour frames are converted to gray first); "
        "'auto' sets the thresholds from the median: (1 -/+ sigma) * median."
    )
    params = (
        Float("low", 50.0, 0.0, 1000.0, step=1.0, help="lower hysteresis threshold"),
        Float("high", 150.0, 0.0, 1000.0, step=1.0, help="upper hysteresis threshold"),
        Choice("aperture", 3, (3, 5, 7), help="Sobel aperture size"),
        Bool("l2gradient", False, help="use the L2 norm for the gradient magnitude"),
        Bool("auto", False, help="derive low and high from the image median"),
        Float("sigma", 0.33, 0.0, 1.0, step=0.01, help="auto: spread around the median"),
    )

    def thresholds(self, gray: np.ndarray) -> tuple[float, float]:
        """(low, high) as used for this image."""
        if not self.p.auto:
            return self.p.low, self.p.high
        median = float(np.median(gray))
        return max(0.0, (1.0 - self.p.sigma) * median), min(255.0, (1.0 + self.p.sigma) * median)

    def input_color(self) -> InputColor:
        return InputColor.GRAY  # edges of the gray image

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        low, high = self.thresholds(gray)
        edges = cv2.Canny(gray, low, high, apertureSize=self.p.aperture, L2gradient=self.p.l2gradient)
        return frame.with_image(edges)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        values = {"APERTURE": p.aperture, "L2GRADIENT": p.l2gradient}
        if p.auto:
            thresholds = """
                median = float(np.median(gray))
                low, high = max(0.0, (1.0 - SIGMA) * median), min(255.0, (1.0 + SIGMA) * median)"""
            doc, values = f"Canny edges, thresholds (1 -/+ {p.sigma:g}) * median", {"SIGMA": p.sigma, **values}
        else:
            thresholds = """
                low, high = LOW, HIGH"""
            doc, values = f"Canny edges, thresholds {p.low:g} and {p.high:g}", {"LOW": p.low, "HIGH": p.high, **values}
        return StageCode(
            f"""
                gray = to_gray(frame.image, frame.color_space){thresholds}
                edges = cv2.Canny(gray, low, high, apertureSize=APERTURE, L2gradient=L2GRADIENT)
                return frame.with_image(edges)""",
            doc,
            values,
        )


class _Gradient(Plugin):
    """Shared shape of the first-derivative operators: x, y or gradient magnitude of the gray image."""

    category = "edges"
    params: ClassVar[tuple[Param, ...]] = (
        Choice("direction", "magnitude", ("x", "y", "magnitude"), help="derivative along x, along y, or magnitude"),
    )

    def derivative(self, gray: np.ndarray, dx: int, dy: int) -> np.ndarray:
        raise NotImplementedError

    def display_gain(self) -> float:
        """What the derivative (float32) is divided by before it is shown as uint8 (cv2.convertScaleAbs).
        When it is not 1 the magnitude is NumPy's exactly rounded sqrt(dx * dx + dy * dy): cv2.magnitude's
        last-bit differences would tip the many exact halves a division makes."""
        return 1.0

    def input_color(self) -> InputColor:
        return InputColor.GRAY  # edges of the gray image

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        direction, gain = self.p.direction, self.display_gain()
        if direction == "x":
            out = self.derivative(gray, 1, 0)
        elif direction == "y":
            out = self.derivative(gray, 0, 1)
        else:
            dx, dy = self.derivative(gray, 1, 0), self.derivative(gray, 0, 1)
            out = cv2.magnitude(dx, dy) if gain == 1.0 else np.sqrt(dx * dx + dy * dy)
        return frame.with_image(cv2.convertScaleAbs(out / gain if gain != 1.0 else out))

    def derivative_code(self) -> tuple[str, str, dict[str, Any]]:
        """The derivative along x and along y as expressions of ``gray``, and the constants they use."""
        raise NotImplementedError

    def to_code(self, ctx: CodeContext) -> StageCode:
        dx, dy, constants = self.derivative_code()
        direction = self.p.direction
        gain = self.display_gain()
        if direction != "magnitude":
            value = dx if direction == "x" else dy
            body = f"return frame.with_image(cv2.convertScaleAbs({value}{' / DISPLAY_GAIN' if gain != 1.0 else ''}))"
        elif gain == 1.0:
            body = f"return frame.with_image(cv2.convertScaleAbs(cv2.magnitude({dx}, {dy})))"
        else:
            body = (
                f"dx, dy = {dx}, {dy}\n"
                "return frame.with_image(cv2.convertScaleAbs(np.sqrt(dx * dx + dy * dy) / DISPLAY_GAIN))"
            )
        if gain != 1.0:
            constants = {**constants, "DISPLAY_GAIN": gain}
        what = "gradient magnitude" if direction == "magnitude" else f"derivative along {direction}"
        return StageCode(f"gray = to_gray(frame.image, frame.color_space)\n{body}", f"{self.title} {what}", constants)


# How much stronger a Sobel kernel answers a step edge than the classic 3x3 (the sum of its positive weights
# over 4): 1x1 and 3x3 are shown as they are, 5x5 (48) divided by 12, 7x7 (640) by 160.
SOBEL_GAIN = {1: 1.0, 3: 1.0, 5: 12.0, 7: 160.0}


class Sobel(_Gradient):
    """Sobel first derivatives."""

    name = "sobel"
    title = "Sobel"
    summary = (
        "Sobel derivative of the gray image (cv2.Sobel, float32) along x, y, or the gradient magnitude, "
        "shown as uint8 (cv2.convertScaleAbs); colour input is converted to gray first. The larger "
        "apertures answer an edge much more strongly (5x5 12 times, 7x7 160 times the 3x3), so with "
        "'normalize' (the default) their result is divided by that gain: every size shows an edge about as "
        "bright as the 3x3 does instead of saturating to white."
    )
    params = (
        *_Gradient.params,
        Choice("ksize", 3, (1, 3, 5, 7), help="Sobel aperture size"),
        Bool(
            "normalize",
            True,
            help="divide by the aperture's gain over the 3x3 (5: 12, 7: 160) so that "
            "5x5 and 7x7 do not saturate; off: cv2.convertScaleAbs of the raw value",
        ),
    )

    def derivative(self, gray: np.ndarray, dx: int, dy: int) -> np.ndarray:
        return cv2.Sobel(gray, cv2.CV_32F, dx, dy, ksize=self.p.ksize)

    def display_gain(self) -> float:
        return SOBEL_GAIN[self.p.ksize] if self.p.normalize else 1.0

    def derivative_code(self) -> tuple[str, str, dict[str, Any]]:
        return (
            "cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=KSIZE)",
            "cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=KSIZE)",
            {"KSIZE": self.p.ksize},
        )


class Scharr(_Gradient):
    """Scharr first derivatives (a more rotation-invariant 3x3)."""

    name = "scharr"
    title = "Scharr"
    summary = (
        "Scharr derivative of the gray image (cv2.Scharr, float32) along x, y, or the gradient "
        "magnitude, shown as uint8; colour input is converted to gray first."
    )

    def derivative(self, gray: np.ndarray, dx: int, dy: int) -> np.ndarray:
        return cv2.Scharr(gray, cv2.CV_32F, dx, dy)

    def derivative_code(self) -> tuple[str, str, dict[str, Any]]:
        return "cv2.Scharr(gray, cv2.CV_32F, 1, 0)", "cv2.Scharr(gray, cv2.CV_32F, 0, 1)", {}


PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32)


class Prewitt(_Gradient):
    """Prewitt first derivatives."""

    name = "prewitt"
    title = "Prewitt"
    summary = (
        "Prewitt derivative of the gray image (cv2.filter2D with the 3x3 Prewitt kernels, float32) along "
        "x, y, or the gradient magnitude, shown as uint8; colour input is converted to gray first."
    )

    def derivative(self, gray: np.ndarray, dx: int, dy: int) -> np.ndarray:
        return cv2.filter2D(gray, cv2.CV_32F, PREWITT_X if dx else PREWITT_X.T)

    def derivative_code(self) -> tuple[str, str, dict[str, Any]]:
        return "cv2.filter2D(gray, cv2.CV_32F, PREWITT_X)", "cv2.filter2D(gray, cv2.CV_32F, PREWITT_X.T)", {}


class Laplacian(Plugin):
    """Laplacian, optionally of the Gaussian-smoothed image (LoG)."""

    name = "laplacian"
    title = "Laplacian"
    category = "edges"
    summary = (
        "Second derivative of the gray image (cv2.Laplacian, int16, shown with cv2.convertScaleAbs); "
        "with gaussian_ksize > 0 the image is smoothed first (Laplacian of Gaussian). Colour input is "
        "converted to gray first."
    )
    params = (
        Choice("ksize", 3, (1, 3, 5, 7), help="Laplacian aperture size"),
        Int("gaussian_ksize", 0, 0, 31, odd=True, help="Gaussian smoothing kernel first (odd; 0 = none)"),
    )

    def input_color(self) -> InputColor:
        return InputColor.GRAY  # edges of the gray image

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        g = self.p.gaussian_ksize
        if g:
            gray = cv2.GaussianBlur(gray, (g, g), 0)
        return frame.with_image(cv2.convertScaleAbs(cv2.Laplacian(gray, cv2.CV_16S, ksize=self.p.ksize)))

    def to_code(self, ctx: CodeContext) -> StageCode:
        g = self.p.gaussian_ksize
        smooth = "gray = cv2.GaussianBlur(gray, (GAUSSIAN_KSIZE, GAUSSIAN_KSIZE), 0)\n" if g else ""
        return StageCode(
            "gray = to_gray(frame.image, frame.color_space)\n"
            + smooth
            + "return frame.with_image(cv2.convertScaleAbs(cv2.Laplacian(gray, cv2.CV_16S, ksize=KSIZE)))",
            "Laplacian of Gaussian" if g else "Laplacian",
            {"KSIZE": self.p.ksize, **({"GAUSSIAN_KSIZE": g} if g else {})},
        )
