"""equalize and brightness_contrast equal the direct OpenCV calls."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, run, same


def equalized(img, fn):
    if img.ndim == 2:
        return fn(img)
    ycrcb = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)
    ycrcb[:, :, 0] = fn(np.ascontiguousarray(ycrcb[:, :, 0]))
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


@pytest.mark.parametrize("kind", KINDS)
def test_global_equalization(kind):
    assert same(run("equalize", IMAGES[kind], method="global").image, equalized(IMAGES[kind], cv2.equalizeHist))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("clip_limit, tile", [(2.0, 8), (4.5, 3), (1.0, 1)])
def test_clahe(kind, clip_limit, tile):
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile, tile))
    out = run("equalize", IMAGES[kind], method="clahe", clip_limit=clip_limit, tile=tile)
    assert same(out.image, equalized(IMAGES[kind], clahe.apply))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha, beta, gamma", [(1.0, 0.0, 1.0), (1.5, -20.0, 1.0), (0.7, 35.0, 2.2), (2.0, 0.0, 0.5)])
def test_brightness_contrast_gamma(kind, alpha, beta, gamma):
    img = IMAGES[kind]
    expected = cv2.convertScaleAbs(img, alpha=alpha, beta=beta)
    if gamma != 1.0:
        lut = np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** (1.0 / gamma)), 0, 255).astype(np.uint8)
        expected = cv2.LUT(expected, lut)
    assert same(run("brightness_contrast", img, alpha=alpha, beta=beta, gamma=gamma).image, expected)
