"""canny, sobel, scharr, prewitt and laplacian equal the direct OpenCV calls on the gray image."""

import cv2
import numpy as np
import pytest

from plugin_helpers import IMAGES, KINDS, REG, gray_of, run, same
from vidcv.errors import ParamError


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("params", [
    {"low": 50, "high": 150},
    {"low": 10, "high": 60, "aperture": 5},
    {"low": 100, "high": 400, "aperture": 7, "l2gradient": True},
])
def test_canny_equals_opencv(kind, params):
    gray = gray_of(IMAGES[kind])
    expected = cv2.Canny(gray, params["low"], params["high"], apertureSize=params.get("aperture", 3),
                         L2gradient=params.get("l2gradient", False))
    out = run("canny", IMAGES[kind], **params)
    assert same(out.image, expected) and out.color_space == "gray"


def test_canny_auto_thresholds_from_the_median():
    gray = gray_of(IMAGES["color-37x53"])
    median = float(np.median(gray))
    expected = cv2.Canny(gray, max(0, 0.7 * median), min(255, 1.3 * median))
    assert same(run("canny", IMAGES["color-37x53"], auto=True, sigma=0.3).image, expected)


def test_canny_on_an_hsv_frame_converts_back_through_bgr():
    img = IMAGES["color-37x53"]
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    gray = cv2.cvtColor(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), cv2.COLOR_BGR2GRAY)
    assert same(run("canny", hsv, frame_space="hsv").image, cv2.Canny(gray, 50, 150))


PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32)
DERIVATIVES = {
    "sobel": lambda g, dx, dy, k: cv2.Sobel(g, cv2.CV_32F, dx, dy, ksize=k),
    "scharr": lambda g, dx, dy, k: cv2.Scharr(g, cv2.CV_32F, dx, dy),
    "prewitt": lambda g, dx, dy, k: cv2.filter2D(g, cv2.CV_32F, PREWITT_X if dx else PREWITT_X.T),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, ksize", [("sobel", k) for k in (1, 3, 5, 7)] + [("scharr", 3), ("prewitt", 3)])
@pytest.mark.parametrize("direction", ["x", "y", "magnitude"])
def test_first_derivatives_equal_opencv(kind, name, direction, ksize):
    gray = gray_of(IMAGES[kind])
    d = DERIVATIVES[name]
    if direction == "x":
        expected = cv2.convertScaleAbs(d(gray, 1, 0, ksize))
    elif direction == "y":
        expected = cv2.convertScaleAbs(d(gray, 0, 1, ksize))
    else:
        expected = cv2.convertScaleAbs(cv2.magnitude(d(gray, 1, 0, ksize), d(gray, 0, 1, ksize)))
    params = {"direction": direction, **({"ksize": ksize} if name == "sobel" else {})}
    assert same(run(name, IMAGES[kind], **params).image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ksize, gaussian_ksize", [(1, 0), (3, 0), (5, 3), (7, 9)])
def test_laplacian_and_log_equal_opencv(kind, ksize, gaussian_ksize):
    gray = gray_of(IMAGES[kind])
    src = cv2.GaussianBlur(gray, (gaussian_ksize, gaussian_ksize), 0) if gaussian_ksize else gray
    expected = cv2.convertScaleAbs(cv2.Laplacian(src, cv2.CV_16S, ksize=ksize))
    assert same(run("laplacian", IMAGES[kind], ksize=ksize, gaussian_ksize=gaussian_ksize).image, expected)


def test_laplacian_gaussian_kernel_must_be_zero_or_odd():
    with pytest.raises(ParamError, match="0 or an odd integer"):
        REG.create("laplacian", gaussian_ksize=4)
