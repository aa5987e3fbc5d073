"""Shared inputs for the plugin tests: smooth random colour and gray images of odd sizes."""

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.registry import Registry

REG = Registry()
SIZES = ((37, 53), (61, 45))  # (height, width), odd on purpose


def images():
    """{'color-37x53': ..., 'gray-37x53': ..., ...} with structure worth processing (edges, blobs, texture)."""
    out = {}
    for h, w in SIZES:
        rng = np.random.default_rng(h * w)
        img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (5, 5), 1.5)
        cv2.circle(img, (w // 3, h // 2), min(h, w) // 5, (250, 40, 30), -1)
        cv2.rectangle(img, (w // 2, h // 4), (w - 5, h // 2), (20, 220, 240), -1)
        out[f"color-{h}x{w}"] = img
        out[f"gray-{h}x{w}"] = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return out


IMAGES = images()
KINDS = sorted(IMAGES)


def gray_of(img):
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def bgr_of(img):
    return img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def run(name, image, frame_space="bgr", **params):
    """Run plugin ``name`` on a copy of ``image`` (the source image too) and return the output frame."""
    frame = Frame(image.copy(), 0, 0.0, color_space=frame_space)
    return REG.create(name, **params).process(frame)


def run_staged(name, image, **params):
    """Like ``run``, through a one-stage pipeline: the frame's ``statuses`` hold what the stage reported."""
    from vidcv.pipeline import Pipeline

    return Pipeline([REG.create(name, **params)]).process(Frame(image.copy(), 0, 0.0))


def same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
