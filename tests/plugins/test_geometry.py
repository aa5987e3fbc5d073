"""resize, rotate, flip, crop and translate equal the direct OpenCV calls."""

import math

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, run, same

INTER = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "width, height, scale, size",
    [
        (20, 30, 0.5, lambda w, h: (20, 30)),
        (40, 0, 0.5, lambda w, h: (40, max(1, round(h * 40 / w)))),
        (0, 25, 0.5, lambda w, h: (max(1, round(w * 25 / h)), 25)),
        (0, 0, 1.7, lambda w, h: (round(w * 1.7), round(h * 1.7))),
    ],
)
@pytest.mark.parametrize("interpolation", sorted(INTER))
def test_resize(kind, width, height, scale, size, interpolation):
    img = IMAGES[kind]
    h, w = img.shape[:2]
    expected = cv2.resize(img, size(w, h), interpolation=INTER[interpolation])
    out = run("resize", img, width=width, height=height, scale=scale, interpolation=interpolation)
    assert same(out.image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("angle, scale", [(0, 1.0), (30, 1.0), (-90, 0.8), (145.5, 1.3)])
def test_rotate_in_place(kind, angle, scale):
    img = IMAGES[kind]
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
    expected = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    assert same(run("rotate", img, angle=angle, scale=scale).image, expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("angle", [90, 30, -45])
def test_rotate_expand_keeps_every_corner(kind, angle):
    img = IMAGES[kind]
    h, w = img.shape[:2]
    out = run("rotate", img, angle=angle, expand=True).image
    rad = math.radians(angle)
    assert out.shape[1] == math.ceil(round(h * abs(math.sin(rad)) + w * abs(math.cos(rad)), 6))
    assert out.shape[0] == math.ceil(round(h * abs(math.cos(rad)) + w * abs(math.sin(rad)), 6))
    if angle == 90:
        assert out.shape[:2] == (w, h)
    # every source pixel lands inside the canvas: the non-black area is the whole image
    ones = np.full(img.shape[:2], 255, np.uint8)
    covered = run("rotate", ones, angle=angle, expand=True).image
    assert int((covered > 0).sum()) >= 0.97 * w * h
    assert covered[0, 0] == 0 or angle % 90 == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode, code", [("horizontal", 1), ("vertical", 0), ("both", -1)])
def test_flip(kind, mode, code):
    assert same(run("flip", IMAGES[kind], mode=mode).image, cv2.flip(IMAGES[kind], code))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x, y, width, height", [(0, 0, 10, 10), (5, 7, 0, 0), (30, 20, 100, 100), (1, 2, 3, 4)])
def test_crop(kind, x, y, width, height):
    img = IMAGES[kind]
    h, w = img.shape[:2]
    x2 = w if width == 0 else min(w, x + width)
    y2 = h if height == 0 else min(h, y + height)
    assert same(run("crop", img, x=x, y=y, width=width, height=height).image, img[y:y2, x:x2])


def test_crop_outside_the_frame_is_a_clear_error():
    with pytest.raises(ValueError, match="crop region x=500, y=0 lies outside the 53x37 frame"):
        run("crop", IMAGES["gray-37x53"], x=500)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dx, dy", [(0, 0), (5, -3), (-20, 11)])
def test_translate(kind, dx, dy):
    img = IMAGES[kind]
    h, w = img.shape[:2]
    expected = cv2.warpAffine(
        img, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    assert same(run("translate", img, dx=dx, dy=dy).image, expected)
