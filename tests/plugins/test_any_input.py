"""No plugin crashes on a gray, colour or other-space frame of any size: each converts what it needs."""

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.frame import Frame
from vidcv.pipeline import Pipeline

NAMES = REG.names()


def inputs():
    rng = np.random.default_rng(1)
    color = cv2.GaussianBlur(rng.integers(0, 255, (23, 31, 3), dtype=np.uint8), (3, 3), 1)
    return {
        "bgr": (color, "bgr"),
        "gray": (cv2.cvtColor(color, cv2.COLOR_BGR2GRAY), "gray"),
        "hsv": (cv2.cvtColor(color, cv2.COLOR_BGR2HSV), "hsv"),
        "lab": (cv2.cvtColor(color, cv2.COLOR_BGR2LAB), "lab"),
        "tiny": (color[:7, :5].copy(), "bgr"),
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", sorted(inputs()))
def test_plugin_accepts_any_frame(name, kind):
    image, space = inputs()[kind]
    pipeline = Pipeline([REG.create(name)])
    errors = []
    source = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    out = pipeline.process(Frame(image.copy(), 0, 0.0, source_image=source.copy(), color_space=space), errors.append)
    assert errors == []
    assert out.image.dtype == np.uint8 and out.image.ndim in (2, 3)
    assert out.image.ndim == 2 or out.image.shape[2] == 3
    assert (out.color_space == "gray") == (out.image.ndim == 2)
