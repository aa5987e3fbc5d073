"""morphology equals cv2.morphologyEx with the same structuring element."""

import cv2
import pytest
from plugin_helpers import IMAGES, KINDS, run, same

OPS = {
    "erode": cv2.MORPH_ERODE,
    "dilate": cv2.MORPH_DILATE,
    "open": cv2.MORPH_OPEN,
    "close": cv2.MORPH_CLOSE,
    "gradient": cv2.MORPH_GRADIENT,
    "tophat": cv2.MORPH_TOPHAT,
    "blackhat": cv2.MORPH_BLACKHAT,
}
SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize(
    "shape, ksize, iterations", [("rect", 3, 1), ("ellipse", 5, 2), ("cross", 4, 1), ("rect", 1, 3)]
)
def test_morphology_equals_opencv(kind, op, shape, ksize, iterations):
    kernel = cv2.getStructuringElement(SHAPES[shape], (ksize, ksize))
    expected = cv2.morphologyEx(IMAGES[kind], OPS[op], kernel, iterations=iterations)
    out = run("morphology", IMAGES[kind], op=op, shape=shape, ksize=ksize, iterations=iterations)
    assert same(out.image, expected)


def test_erode_equals_cv2_erode():
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    img = IMAGES["gray-37x53"]
    assert same(run("morphology", img, op="erode").image, cv2.erode(img, kernel))
