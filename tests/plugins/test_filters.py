"""blur and sharpen equal the direct OpenCV calls."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, REG, run, same

from vidcv.errors import ParamError


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "params, call",
    [
        ({"method": "box", "ksize": 3}, lambda i: cv2.blur(i, (3, 3))),
        ({"method": "box", "ksize": 9}, lambda i: cv2.blur(i, (9, 9))),
        ({"method": "gaussian", "ksize": 5}, lambda i: cv2.GaussianBlur(i, (5, 5), 0)),
        ({"method": "gaussian", "ksize": 7, "sigma": 2.5}, lambda i: cv2.GaussianBlur(i, (7, 7), 2.5)),
        ({"method": "median", "ksize": 3}, lambda i: cv2.medianBlur(i, 3)),
        ({"method": "median", "ksize": 7}, lambda i: cv2.medianBlur(i, 7)),
        (
            {"method": "bilateral", "d": 5, "sigma_color": 40, "sigma_space": 10},
            lambda i: cv2.bilateralFilter(i, 5, 40, 10),
        ),
    ],
)
def test_blur_equals_opencv(kind, params, call):
    img = IMAGES[kind]
    assert same(run("blur", img, **params).image, call(img))


@pytest.mark.parametrize("ksize", [2, 4, 100])
def test_blur_rejects_even_or_huge_kernels(ksize):
    with pytest.raises(ParamError, match="odd integer"):
        REG.create("blur", ksize=ksize)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("amount, radius", [(0.5, 1.0), (1.5, 3.0), (0.0, 1.0)])
def test_unsharp_mask_equals_opencv(kind, amount, radius):
    img = IMAGES[kind]
    expected = cv2.addWeighted(img, 1 + amount, cv2.GaussianBlur(img, (0, 0), radius), -amount, 0)
    assert same(run("sharpen", img, method="unsharp", amount=amount, radius=radius).image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("amount", [0.5, 1.0, 2.0])
def test_kernel_sharpen_equals_filter2d(kind, amount):
    img = IMAGES[kind]
    a = amount
    kernel = np.array([[0, -a, 0], [-a, 1 + 4 * a, -a], [0, -a, 0]], np.float32)
    assert same(run("sharpen", img, method="kernel", amount=amount).image, cv2.filter2D(img, -1, kernel))
