"""color and in_range equal cv2.cvtColor and cv2.inRange."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, bgr_of, run, same

from vidcv.imageops import COLOR_SPACES

BGR_TO = {
    "gray": cv2.COLOR_BGR2GRAY,
    "hsv": cv2.COLOR_BGR2HSV,
    "hls": cv2.COLOR_BGR2HLS,
    "lab": cv2.COLOR_BGR2LAB,
    "ycrcb": cv2.COLOR_BGR2YCrCb,
    "rgb": cv2.COLOR_BGR2RGB,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", COLOR_SPACES)
def test_color_equals_cvtcolor(kind, target):
    img = IMAGES[kind]
    out = run("color", img, to=target)
    if img.ndim == 2:  # a gray frame goes through three channels
        expected = {"gray": img, "bgr": bgr_of(img), "rgb": cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)}.get(target)
        if expected is None:
            expected = cv2.cvtColor(bgr_of(img), BGR_TO[target])
    else:
        expected = img if target == "bgr" else cv2.cvtColor(img, BGR_TO[target])
    assert same(out.image, expected) and out.color_space == target


def test_color_chain_tracks_the_current_space():
    img = IMAGES["color-37x53"]
    hsv = run("color", img, to="hsv")
    from vidcv.registry import Registry

    lab = Registry().create("color", to="lab").process(hsv)
    expected = cv2.cvtColor(cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV), cv2.COLOR_HSV2BGR), cv2.COLOR_BGR2LAB)
    assert same(lab.image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "space, lower, upper",
    [
        ("hsv", [0, 80, 80], [179, 255, 255]),
        ("hsv", [100, 50, 50], [130, 255, 255]),
        ("bgr", [0, 0, 100], [120, 120, 255]),
        ("bgr", [200, 0, 0], [255, 255, 255]),
    ],
)
@pytest.mark.parametrize("output", ["mask", "masked"])
def test_in_range_equals_inrange(kind, space, lower, upper, output):
    img = IMAGES[kind]
    bgr = bgr_of(img)
    src = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV) if space == "hsv" else bgr
    mask = cv2.inRange(src, np.array(lower, np.uint8), np.array(upper, np.uint8))
    expected = mask if output == "mask" else cv2.bitwise_and(bgr, bgr, mask=mask)
    out = run("in_range", img, space=space, lower=lower, upper=upper, output=output)
    assert same(out.image, expected)


def test_in_range_reads_an_hsv_frame_in_its_own_space():
    img = IMAGES["color-37x53"]
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    out = run("in_range", hsv, frame_space="hsv", space="hsv", lower=[0, 0, 0], upper=[90, 255, 255])
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    assert same(out.image, cv2.inRange(cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV), (0, 0, 0), (90, 255, 255)))
