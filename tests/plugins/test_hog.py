"""hog_people equals HOGDescriptor.detectMultiScale with the default people detector, plus NMS."""

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.frame import Frame


def scene():
    """Two upright person-like silhouettes on a textured background, large enough for 64x128 windows."""
    rng = np.random.default_rng(5)
    img = cv2.GaussianBlur(rng.integers(60, 200, (240, 320, 3), dtype=np.uint8), (9, 9), 3)
    for x in (60, 200):
        cv2.ellipse(img, (x, 60), (14, 18), 0, 0, 360, (30, 30, 30), -1)  # head
        cv2.rectangle(img, (x - 22, 80), (x + 22, 150), (40, 40, 40), -1)  # torso
        cv2.rectangle(img, (x - 18, 150), (x - 4, 215), (35, 35, 35), -1)  # legs
        cv2.rectangle(img, (x + 4, 150), (x + 18, 215), (35, 35, 35), -1)
    return img


def same_boxes(a, b):
    """The same boxes, in any order (HOG's parallel search does not fix one)."""
    return a.shape == b.shape and np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])


HOG = cv2.HOGDescriptor()
HOG.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize(
    "win_stride, padding, scale, hit_threshold, group_threshold",
    [(8, 8, 1.05, 0.0, 2), (4, 16, 1.1, -0.5, 0), (8, 0, 1.2, 0.2, 1)],
)
def test_hog_equals_detectmultiscale(gray, win_stride, padding, scale, hit_threshold, group_threshold):
    img = scene()
    if gray:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    boxes, weights = HOG.detectMultiScale(
        img,
        hitThreshold=hit_threshold,
        winStride=(win_stride, win_stride),
        padding=(padding, padding),
        scale=scale,
        groupThreshold=group_threshold,
    )
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    weights = np.asarray(weights, np.float32).reshape(-1)
    out = REG.create(
        "hog_people",
        win_stride=win_stride,
        padding=padding,
        scale=scale,
        hit_threshold=hit_threshold,
        group_threshold=group_threshold,
        overlap=0.0,
    ).process(Frame(img.copy(), 0, 0.0))
    expected = np.column_stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]]) if len(boxes) else np.zeros((0, 4))
    assert same_boxes(out.detections.xyxy, expected.astype(np.float32))
    assert np.allclose(np.sort(out.detections.confidence), np.sort(1 / (1 + np.exp(-weights))))
    assert all(out.detections.class_name(c) == "person" for c in out.detections.class_id)


def test_overlap_suppression_equals_nmsboxes():
    img = scene()
    boxes, weights = HOG.detectMultiScale(
        img, hitThreshold=-0.5, winStride=(4, 4), padding=(8, 8), scale=1.05, groupThreshold=0
    )
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    weights = np.asarray(weights, np.float32).reshape(-1)
    ranked = (weights - weights.min() + 1.0).tolist()
    keep = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), ranked, 0.0, 0.3), np.int64).reshape(-1)
    out = REG.create("hog_people", win_stride=4, hit_threshold=-0.5, group_threshold=0, overlap=0.3).process(
        Frame(img.copy(), 0, 0.0)
    )
    kept = boxes[keep]
    assert len(boxes) > len(keep) >= 1
    assert same_boxes(out.detections.xyxy, np.column_stack([kept[:, :2], kept[:, :2] + kept[:, 2:]]))


def test_win_stride_must_be_a_multiple_of_four():
    from vidcv.errors import ParamError

    with pytest.raises(ParamError, match="multiple of 4"):
        REG.create("hog_people", win_stride=6)
