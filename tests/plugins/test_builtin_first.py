"""color, blur and canny equal the direct OpenCV calls, on colour and gray inputs of odd sizes."""

import cv2
import numpy as np
import pytest

from vidcv.frame import Frame
from vidcv.imageops import COLOR_SPACES
from vidcv.registry import Registry

REG = Registry()


def images():
    rng = np.random.default_rng(7)
    smooth = cv2.GaussianBlur(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8), (7, 7), 2)
    return {"color": smooth, "gray": cv2.cvtColor(smooth, cv2.COLOR_BGR2GRAY)}


def run(name, image, space="bgr", **params):
    frame = Frame(image.copy(), 0, 0.0, color_space=space)
    return REG.create(name, **params).process(frame)


BGR_TO = {"gray": cv2.COLOR_BGR2GRAY, "hsv": cv2.COLOR_BGR2HSV, "hls": cv2.COLOR_BGR2HLS,
          "lab": cv2.COLOR_BGR2LAB, "ycrcb": cv2.COLOR_BGR2YCrCb, "rgb": cv2.COLOR_BGR2RGB}


@pytest.mark.parametrize("target", COLOR_SPACES)
def test_color_from_bgr_equals_cvtcolor(target):
    img = images()["color"]
    out = run("color", img, to=target)
    expected = img if target == "bgr" else cv2.cvtColor(img, BGR_TO[target])
    assert np.array_equal(out.image, expected) and out.color_space == target


@pytest.mark.parametrize("target", COLOR_SPACES)
def test_color_from_gray_goes_through_three_channels(target):
    gray = images()["gray"]
    out = run("color", gray, to=target)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    expected = {"gray": gray, "bgr": bgr, "rgb": cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)}.get(target)
    if expected is None:
        expected = cv2.cvtColor(bgr, BGR_TO[target])
    assert np.array_equal(out.image, expected)


def test_color_chain_tracks_the_current_space():
    img = images()["color"]
    hsv = run("color", img, to="hsv")
    back = REG.create("color", to="bgr").process(hsv)
    assert np.array_equal(back.image, cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV), cv2.COLOR_HSV2BGR))
    lab = REG.create("color", to="lab").process(run("color", img, to="hsv"))
    expected = cv2.cvtColor(cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV), cv2.COLOR_HSV2BGR), cv2.COLOR_BGR2LAB)
    assert np.array_equal(lab.image, expected)


@pytest.mark.parametrize("kind", ["color", "gray"])
@pytest.mark.parametrize("params, call", [
    ({"method": "box", "ksize": 3}, lambda i: cv2.blur(i, (3, 3))),
    ({"method": "box", "ksize": 9}, lambda i: cv2.blur(i, (9, 9))),
    ({"method": "gaussian", "ksize": 5}, lambda i: cv2.GaussianBlur(i, (5, 5), 0)),
    ({"method": "gaussian", "ksize": 7, "sigma": 2.5}, lambda i: cv2.GaussianBlur(i, (7, 7), 2.5)),
    ({"method": "median", "ksize": 3}, lambda i: cv2.medianBlur(i, 3)),
    ({"method": "median", "ksize": 7}, lambda i: cv2.medianBlur(i, 7)),
    ({"method": "bilateral", "d": 5, "sigma_color": 40, "sigma_space": 10},
     lambda i: cv2.bilateralFilter(i, 5, 40, 10)),
])
def test_blur_equals_opencv(kind, params, call):
    img = images()[kind]
    assert np.array_equal(run("blur", img, **params).image, call(img))


def test_blur_rejects_even_kernels():
    from vidcv.errors import ParamError

    with pytest.raises(ParamError, match="odd integer"):
        REG.create("blur", ksize=4)


@pytest.mark.parametrize("kind", ["color", "gray"])
@pytest.mark.parametrize("params", [
    {"low": 50, "high": 150},
    {"low": 10, "high": 60, "aperture": 5},
    {"low": 100, "high": 400, "aperture": 7, "l2gradient": True},
])
def test_canny_equals_opencv_on_the_gray_image(kind, params):
    img = images()[kind]
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    expected = cv2.Canny(gray, params["low"], params["high"], apertureSize=params.get("aperture", 3),
                         L2gradient=params.get("l2gradient", False))
    out = run("canny", img, **params)
    assert np.array_equal(out.image, expected) and out.color_space == "gray"


def test_canny_auto_thresholds_from_the_median():
    img = images()["color"]
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    median = float(np.median(gray))
    expected = cv2.Canny(gray, max(0, 0.7 * median), min(255, 1.3 * median))
    assert np.array_equal(run("canny", img, auto=True, sigma=0.3).image, expected)


def test_canny_on_an_hsv_frame_converts_back_through_bgr():
    img = images()["color"]
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    gray = cv2.cvtColor(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), cv2.COLOR_BGR2GRAY)
    assert np.array_equal(run("canny", hsv, space="hsv").image, cv2.Canny(gray, 50, 150))
