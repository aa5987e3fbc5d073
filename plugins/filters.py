"""Filters: smoothing and sharpening."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.params import Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode


class Blur(Plugin):
    """Box, Gaussian, median or bilateral smoothing."""

    name = "blur"
    title = "Blur"
    category = "filter"
    summary = "Box, Gaussian, median or bilateral smoothing (cv2.blur, GaussianBlur, medianBlur, bilateralFilter)."
    params = (
        Choice("method", "gaussian", ("box", "gaussian", "median", "bilateral"), help="smoothing filter"),
        Int("ksize", 5, 1, 99, odd=True, help="kernel size in pixels (odd; box, gaussian, median)"),
        Float("sigma", 0.0, 0.0, 50.0, help="Gaussian sigma; 0 derives it from ksize"),
        Int("d", 9, 1, 31, help="bilateral: neighbourhood diameter in pixels"),
        Float("sigma_color", 75.0, 1.0, 300.0, step=1.0, help="bilateral: range sigma (colour difference)"),
        Float("sigma_space", 75.0, 1.0, 300.0, step=1.0, help="bilateral: spatial sigma in pixels"),
    )

    def process(self, frame: Frame) -> Frame:
        p, img = self.p, frame.image
        k = p.ksize
        if p.method == "box":
            out = cv2.blur(img, (k, k))
        elif p.method == "gaussian":
            out = cv2.GaussianBlur(img, (k, k), p.sigma)
        elif p.method == "median":
            out = cv2.medianBlur(img, k)
        else:
            out = cv2.bilateralFilter(img, p.d, p.sigma_color, p.sigma_space)
        return frame.with_image(out)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        if p.method == "box":
            return StageCode(
                "return frame.with_image(cv2.blur(frame.image, (KSIZE, KSIZE)))",
                f"box blur, {p.ksize}x{p.ksize} (cv2.blur)",
                {"KSIZE": p.ksize},
            )
        if p.method == "gaussian":
            return StageCode(
                "return frame.with_image(cv2.GaussianBlur(frame.image, (KSIZE, KSIZE), SIGMA))",
                f"Gaussian blur, {p.ksize}x{p.ksize} (cv2.GaussianBlur)",
                {"KSIZE": p.ksize, "SIGMA": p.sigma},
            )
        if p.method == "median":
            return StageCode(
                "return frame.with_image(cv2.medianBlur(frame.image, KSIZE))",
                f"median blur, {p.ksize}x{p.ksize} (cv2.medianBlur)",
                {"KSIZE": p.ksize},
            )
        return StageCode(
            "return frame.with_image(cv2.bilateralFilter(frame.image, D, SIGMA_COLOR, SIGMA_SPACE))",
            "edge-preserving bilateral filter (cv2.bilateralFilter)",
            {"D": p.d, "SIGMA_COLOR": p.sigma_color, "SIGMA_SPACE": p.sigma_space},
        )


class Sharpen(Plugin):
    """Unsharp mask or a Laplacian sharpening kernel."""

    name = "sharpen"
    title = "Sharpen"
    category = "filter"
    summary = (
        "Unsharp mask: (1 + amount) * image - amount * GaussianBlur(image, sigma=radius); or the kernel "
        "[[0,-a,0],[-a,1+4a,-a],[0,-a,0]] with a = amount (cv2.filter2D). Gray and colour frames alike."
    )
    params = (
        Choice("method", "unsharp", ("unsharp", "kernel"), help="sharpening method"),
        Float("amount", 1.0, 0.0, 10.0, step=0.1, help="strength"),
        Float("radius", 1.0, 0.1, 20.0, step=0.1, help="unsharp: Gaussian sigma of the blur, in pixels"),
    )

    def setup(self) -> None:
        a = self.p.amount
        self.kernel = np.array([[0, -a, 0], [-a, 1 + 4 * a, -a], [0, -a, 0]], np.float32)

    def process(self, frame: Frame) -> Frame:
        img, p = frame.image, self.p
        if p.method == "kernel":
            return frame.with_image(cv2.filter2D(img, -1, self.kernel))
        blurred = cv2.GaussianBlur(img, (0, 0), p.radius)
        return frame.with_image(cv2.addWeighted(img, 1.0 + p.amount, blurred, -p.amount, 0))

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        if p.method == "kernel":
            return StageCode(
                "return frame.with_image(cv2.filter2D(frame.image, -1, KERNEL))",
                "sharpening kernel (cv2.filter2D)",
                {"AMOUNT": p.amount},
                {
                    "KERNEL": "np.array([[0, -AMOUNT, 0], [-AMOUNT, 1 + 4 * AMOUNT, -AMOUNT], "
                    "[0, -AMOUNT, 0]], np.float32)"
                },
            )
        return StageCode(
            """
            blurred = cv2.GaussianBlur(frame.image, (0, 0), RADIUS)
            return frame.with_image(cv2.addWeighted(frame.image, 1.0 + AMOUNT, blurred, -AMOUNT, 0))""",
            "unsharp mask: (1 + amount) * image - amount * Gaussian blur",
            {"AMOUNT": p.amount, "RADIUS": p.radius},
        )
