"""Box to polygon (vidcv.dataset.segment) on generated images whose shapes' masks are known."""

import cv2
import numpy as np
import pytest

from vidcv.dataset.propagate import LabelError
from vidcv.dataset.segment import box_to_polygon

W, H = 320, 240
STAR = np.array(
    [
        [220, 60],
        [235, 100],
        [280, 105],
        [245, 130],
        [260, 175],
        [220, 150],
        [185, 180],
        [195, 135],
        [165, 105],
        [205, 100],
    ]
)


def texture(seed: int = 3) -> np.ndarray:
    """A textured background: smoothed colour noise at two scales, and a few rectangles."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 120, np.float32)
    for cell, amp in ((3, 35), (16, 55)):
        noise = rng.normal(0, 1, (H // cell + 1, W // cell + 1, 3)).astype(np.float32)
        img += amp * cv2.resize(noise, (W, H), interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, (W, H)))
        cv2.rectangle(img, (x, y), (x + 25, y + 15), [int(v) for v in rng.integers(0, 255, 3)], -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def scene(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An image with a red disc (centre 100, 120, radius 35) and a yellow-blue star, and their masks."""
    img = texture(seed)
    disc, star = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
    cv2.circle(disc, (100, 120), 35, 255, -1)
    cv2.fillPoly(star, [STAR.astype(np.int32)], 255)
    img[disc > 0] = (40, 40, 220)
    img[star > 0] = (200, 160, 40)
    return img, disc > 0, star > 0


def filled(polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    return mask > 0


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def check_polygon(polygon: np.ndarray) -> None:
    assert polygon.dtype == np.float32 and polygon.ndim == 2 and polygon.shape[1] == 2 and len(polygon) >= 3
    assert (polygon >= 0).all() and (polygon[:, 0] <= W).all() and (polygon[:, 1] <= H).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_the_outline_of_a_disc_and_of_a_star(seed):
    img, disc, star = scene(seed)
    for name, mask, box in (("disc", disc, (58, 78, 142, 162)), ("star", star, (158, 52, 288, 188))):
        polygon = box_to_polygon(img, box)
        check_polygon(polygon)
        assert 6 <= len(polygon) <= 40, (name, len(polygon))  # simplified, not every pixel of the edge
        assert iou(filled(polygon), mask) >= 0.85, name


def test_a_box_partly_outside_the_image():
    img, disc, _ = scene()
    img = np.ascontiguousarray(img[:, 80:])  # the disc cut by the left edge: x from -15 to 55
    visible = disc[:, 80:]
    polygon = box_to_polygon(img, (-30, 78, 62, 162))  # the box reaches past the image
    check_polygon(polygon)
    assert (polygon[:, 0] <= img.shape[1]).all()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    assert iou(mask > 0, visible) >= 0.85


def test_a_gray_image():
    img, disc, _ = scene()
    polygon = box_to_polygon(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (58, 78, 142, 162))
    check_polygon(polygon)
    assert iou(filled(polygon), disc) >= 0.8


def test_where_grabcut_finds_nothing_the_box_is_the_polygon():
    img, _, _ = scene()
    corners = [[10, 20], [13, 20], [13, 23], [10, 23]]
    np.testing.assert_array_equal(box_to_polygon(img, (10, 20, 13, 23)), corners)  # tiny
    np.testing.assert_array_equal(box_to_polygon(img, (13, 23, 10, 20)), corners)  # drawn from the far corner
    flat = np.full((H, W, 3), 128, np.uint8)
    np.testing.assert_array_equal(box_to_polygon(flat, (40, 50, 90, 100)), [[40, 50], [90, 50], [90, 100], [40, 100]])
    # the whole image: nothing outside the box to learn the background from; corners clipped to the image
    whole = box_to_polygon(img, (-5, -5, W + 5, H + 5))
    np.testing.assert_array_equal(whole, [[0, 0], [W, 0], [W, H], [0, H]])
    assert whole.dtype == np.float32


def test_what_cannot_be_outlined_is_said_in_one_line():
    img, _, _ = scene()
    with pytest.raises(LabelError, match=r"lies outside the 320x240 image: draw it on the image"):
        box_to_polygon(img, (400, 10, 450, 60))
    with pytest.raises(LabelError, match="uint8 BGR or gray"):
        box_to_polygon(img.astype(np.float32), (10, 10, 50, 50))
    with pytest.raises(LabelError, match=r"\(n, 4\) array"):
        box_to_polygon(img, (10, 10, 50))
