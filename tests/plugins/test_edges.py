"""canny, sobel, scharr, prewitt and laplacian equal the direct OpenCV calls on the gray image."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, REG, gray_of, run, same

from vidcv.errors import ParamError


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "params",
    [
        {"low": 50, "high": 150},
        {"low": 10, "high": 60, "aperture": 5},
        {"low": 100, "high": 400, "aperture": 7, "l2gradient": True},
    ],
)
def test_canny_equals_opencv(kind, params):
    gray = gray_of(IMAGES[kind])
    expected = cv2.Canny(
        gray,
        params["low"],
        params["high"],
        apertureSize=params.get("aperture", 3),
        L2gradient=params.get("l2gradient", False),
    )
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


def sobel_gain(ksize):
    """The documented display scale's divisor: the Sobel kernel's positive weights over the 3x3's (4), at least 1."""
    kx, ky = cv2.getDerivKernels(1, 0, ksize)
    kernel = np.outer(ky, kx)
    return max(1.0, float(kernel[kernel > 0].sum()) / 4.0)


def expected_derivative(name, gray, direction, ksize, gain=1.0):
    d = DERIVATIVES[name]
    if direction == "x":
        value = d(gray, 1, 0, ksize)
    elif direction == "y":
        value = d(gray, 0, 1, ksize)
    elif gain == 1.0:
        value = cv2.magnitude(d(gray, 1, 0, ksize), d(gray, 0, 1, ksize))
    else:  # the documented exactly rounded magnitude, then divided
        dx, dy = d(gray, 1, 0, ksize), d(gray, 0, 1, ksize)
        value = np.sqrt(dx * dx + dy * dy)
    return cv2.convertScaleAbs(value / gain if gain != 1.0 else value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, ksize", [("sobel", k) for k in (1, 3, 5, 7)] + [("scharr", 3), ("prewitt", 3)])
@pytest.mark.parametrize("direction", ["x", "y", "magnitude"])
def test_first_derivatives_equal_opencv(kind, name, direction, ksize):
    """Sobel divides by its aperture's gain over the 3x3 (1, 1, 12, 160), as its help says."""
    gray = gray_of(IMAGES[kind])
    gain = sobel_gain(ksize) if name == "sobel" else 1.0
    params = {"direction": direction, **({"ksize": ksize} if name == "sobel" else {})}
    assert same(run(name, IMAGES[kind], **params).image, expected_derivative(name, gray, direction, ksize, gain))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ksize", [1, 3, 5, 7])
@pytest.mark.parametrize("direction", ["x", "y", "magnitude"])
def test_sobel_unnormalised_is_the_plain_opencv_call(kind, ksize, direction):
    gray = gray_of(IMAGES[kind])
    out = run("sobel", IMAGES[kind], direction=direction, ksize=ksize, normalize=False).image
    assert same(out, expected_derivative("sobel", gray, direction, ksize))


def test_every_sobel_size_shows_an_edge_as_bright_as_the_3x3():
    """A 40-level step: the 3x3 shows 160 on it; 5x5 and 7x7 show the same instead of saturating to white."""
    img = np.full((60, 80), 100, np.uint8)
    img[:, 40:] = 140
    bright = {k: run("sobel", img, ksize=k).image[30, 38:42].max() for k in (3, 5, 7)}
    assert bright == {3: 160, 5: 160, 7: 160}
    raw = run("sobel", img, ksize=7, normalize=False).image
    assert raw[30, 38:42].max() == 255  # the defect it fixes


def test_sobel_7_on_the_sample_keeps_its_grays():
    from vidcv.bundled import sample_video

    cap = cv2.VideoCapture(sample_video())
    frame = cap.read()[1]
    cap.release()
    shown = run("sobel", frame, ksize=7).image
    raw = run("sobel", frame, ksize=7, normalize=False).image
    classic = run("sobel", frame, ksize=3).image
    assert np.mean(raw == 255) > 0.5  # white but for flat areas
    assert np.mean(shown == 255) < 0.1 and np.mean(shown == 255) < 2 * np.mean(classic == 255)
    assert len(np.unique(shown)) > 100


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
