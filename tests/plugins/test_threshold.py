"""threshold equals cv2.threshold and cv2.adaptiveThreshold on the gray image."""

import cv2
import pytest
from plugin_helpers import IMAGES, KINDS, REG, gray_of, run, same

from vidcv.errors import ParamError

GLOBAL = {
    "binary": cv2.THRESH_BINARY,
    "binary_inv": cv2.THRESH_BINARY_INV,
    "trunc": cv2.THRESH_TRUNC,
    "tozero": cv2.THRESH_TOZERO,
    "tozero_inv": cv2.THRESH_TOZERO_INV,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", sorted(GLOBAL))
@pytest.mark.parametrize("thresh, maxval", [(127, 255), (60, 200), (0, 255), (254.5, 128)])
def test_global_thresholds(kind, method, thresh, maxval):
    expected = cv2.threshold(gray_of(IMAGES[kind]), thresh, maxval, GLOBAL[method])[1]
    assert same(run("threshold", IMAGES[kind], method=method, thresh=thresh, maxval=maxval).image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method, flag", [("otsu", cv2.THRESH_OTSU), ("triangle", cv2.THRESH_TRIANGLE)])
def test_automatic_thresholds_ignore_thresh(kind, method, flag):
    expected = cv2.threshold(gray_of(IMAGES[kind]), 0, 255, cv2.THRESH_BINARY | flag)[1]
    assert same(run("threshold", IMAGES[kind], method=method, thresh=3).image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "method, flag",
    [("adaptive_mean", cv2.ADAPTIVE_THRESH_MEAN_C), ("adaptive_gaussian", cv2.ADAPTIVE_THRESH_GAUSSIAN_C)],
)
@pytest.mark.parametrize("block_size, c", [(3, 0), (11, 2), (25, -5.5)])
def test_adaptive_thresholds(kind, method, flag, block_size, c):
    expected = cv2.adaptiveThreshold(gray_of(IMAGES[kind]), 255, flag, cv2.THRESH_BINARY, block_size, c)
    out = run("threshold", IMAGES[kind], method=method, block_size=block_size, c=c)
    assert same(out.image, expected)


def test_block_size_must_be_odd():
    with pytest.raises(ParamError, match="odd"):
        REG.create("threshold", block_size=10)
