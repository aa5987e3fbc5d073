"""Viola-Jones detection with OpenCV's Haar cascades."""

from __future__ import annotations

import os

import cv2
import cv2.data
import numpy as np

from vidcv.detections import Detections, xywh_to_xyxy
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.imageops import to_gray
from vidcv.params import Bool, FilePath, Float, Int, shown
from vidcv.plugin import Plugin, Produces


def shipped_cascades() -> dict[str, str]:
    """Cascades that ship with opencv-python, by name without .xml."""
    folder = cv2.data.haarcascades
    return {name[:-4]: os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.endswith(".xml")}


SHIPPED = tuple(shipped_cascades())


def class_name_of(cascade: str) -> str:
    """A readable class for a cascade: haarcascade_frontalface_default -> face."""
    stem = os.path.splitext(os.path.basename(cascade))[0].removeprefix("haarcascade_")
    rules = (
        ("catface", "cat face"),
        ("face", "face"),
        ("eye", "eye"),
        ("smile", "smile"),
        ("fullbody", "person"),
        ("upperbody", "upper body"),
        ("lowerbody", "lower body"),
        ("plate", "license plate"),
    )
    return next((name for key, name in rules if key in stem), stem)


def resolve_cascade(value: str) -> str:
    shipped = shipped_cascades()
    if value in shipped:
        return shipped[value]
    if os.path.isfile(value):
        return value
    raise ParamError(
        f"parameter 'cascade' = {shown(value)} is not allowed: expected a cascade shipped with OpenCV "
        f"({', '.join(shipped)}) or the path of a cascade .xml file"
    )


class Haar(Plugin):
    """Viola-Jones cascade detector."""

    name = "haar"
    title = "Haar cascade (Viola-Jones)"
    category = "detection"
    summary = (
        "cv2.CascadeClassifier.detectMultiScale on the gray image (colour frames converted, optionally "
        "histogram-equalised first); boxes become detections named after the cascade (face, eye, "
        "person, ...). Confidence is the support of each box: n / (n + min_neighbors + 1) for n "
        "neighbouring raw detections. The frame image is left as it is."
    )
    params = (
        FilePath(
            "cascade",
            "haarcascade_frontalface_default",
            help="a cascade shipped with OpenCV (name without .xml) or a path to a cascade file",
            suggestions=SHIPPED,
            provenance=True,
        ),
        Float("scale_factor", 1.1, 1.01, 2.0, step=0.01, help="image pyramid step"),
        Int("min_neighbors", 5, 0, 50, help="neighbouring detections needed to keep a box", provenance=True),
        Int("min_size", 30, 0, 4096, help="smallest object, in pixels (square)"),
        Int("max_size", 0, 0, 8192, help="largest object, in pixels (0: no limit)"),
        Bool("equalize", True, help="equalise the gray histogram first (helps in poor light)"),
    )

    def setup(self) -> None:
        path = resolve_cascade(self.p.cascade)
        try:
            classifier = cv2.CascadeClassifier(path)
        except (cv2.error, SystemError):  # OpenCV raises on a malformed file instead of returning an empty one
            classifier = cv2.CascadeClassifier()
        if classifier.empty():
            raise ParamError(f"parameter 'cascade': {path} is not a valid cascade file")
        self.classifier = classifier
        self.names = {0: class_name_of(path)}

    def detect(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y, w, h) rows and their neighbour counts, exactly as detectMultiScale2 returns them."""
        p = self.p
        max_size = (p.max_size, p.max_size) if p.max_size else (0, 0)
        boxes, counts = self.classifier.detectMultiScale2(
            gray,
            scaleFactor=p.scale_factor,
            minNeighbors=p.min_neighbors,
            minSize=(p.min_size, p.min_size),
            maxSize=max_size,
        )
        return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(counts, np.float32).reshape(-1)

    def produces(self) -> Produces:
        return Produces.DETECTIONS

    def process(self, frame: Frame) -> Frame:
        gray = to_gray(frame.image, frame.color_space)
        if self.p.equalize:
            gray = cv2.equalizeHist(gray)
        boxes, counts = self.detect(gray)
        xyxy = xywh_to_xyxy(boxes)
        confidence = counts / (counts + self.p.min_neighbors + 1)
        found = Detections(xyxy, confidence, np.zeros(len(boxes), np.int32), self.names)
        return frame.with_detections_added(frame.detections_to_source(found))
