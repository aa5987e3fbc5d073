"""Smoothing filters."""

from __future__ import annotations

import cv2

from vidcv.frame import Frame
from vidcv.params import Choice, Float, Int
from vidcv.plugin import Plugin


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
