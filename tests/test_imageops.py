import cv2
import numpy as np
import pytest

from vidcv.frame import Frame
from vidcv.imageops import convert_color, to_bgr_uint8, to_gray


@pytest.mark.parametrize(
    "image, expected",
    [
        (np.full((2, 3), 9, np.uint8), 9),
        (np.full((2, 3, 1), 9, np.uint8), 9),
        (np.full((2, 3, 4), 9, np.uint8), 9),
        (np.full((2, 3, 3), 9 * 256, np.uint16), 9),
        (np.full((2, 3, 3), 0.5, np.float32), 127),
        (np.full((2, 3, 3), 300, np.int32), 255),
    ],
)
def test_everything_becomes_uint8_bgr(image, expected):
    out = to_bgr_uint8(image)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3) and int(out[0, 0, 0]) == expected


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="channels"):
        to_bgr_uint8(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="unknown colour space"):
        convert_color(np.zeros((2, 2, 3), np.uint8), "bgr", "cmyk")


def test_gray_helpers_and_frame_space():
    img = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    assert np.array_equal(to_gray(img), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    assert np.array_equal(to_gray(img, "rgb"), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    f = Frame(img, 0, 0.0)
    assert f.color_space == "bgr" and f.source_image is img and f.size_wh == (5, 4)
    gray = f.with_image(to_gray(img))
    assert gray.color_space == "gray" and f.color_space == "bgr"  # a new frame; this one is left as it was
    assert gray.with_image(img).color_space == "bgr"
