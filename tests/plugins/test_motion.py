"""background_subtraction equals OpenCV's MOG2 and KNN on the same sequence; boxes where things move."""

import cv2
import numpy as np
import pytest
from plugin_helpers import REG, same

from vidcv.frame import Frame


def sequence(n=30, size=(96, 128)):
    """A static textured background with a bright square moving right."""
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (7, 7), 2)
    frames = []
    for i in range(n):
        img = background.copy()
        x = 5 + 3 * i
        cv2.rectangle(img, (x, 30), (x + 20, 55), (255, 255, 255), -1)
        frames.append(img)
    return frames


@pytest.mark.parametrize(
    "method, create, threshold",
    [
        ("mog2", cv2.createBackgroundSubtractorMOG2, 16.0),
        ("knn", cv2.createBackgroundSubtractorKNN, 400.0),
    ],
)
@pytest.mark.parametrize("detect_shadows", [True, False])
@pytest.mark.parametrize("gray", [False, True])
def test_masks_equal_opencv(method, create, threshold, detect_shadows, gray):
    frames = sequence()
    if gray:
        frames = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    plugin = REG.create(
        "background_subtraction",
        method=method,
        history=50,
        var_threshold=threshold,
        detect_shadows=detect_shadows,
        min_area=30,
    )
    cv2.setRNGSeed(7)  # KNN samples its model at random: both runs start from the same seed
    outs = [plugin.process(Frame(img.copy(), i, 0.0)) for i, img in enumerate(frames)]
    cv2.setRNGSeed(7)
    reference = create(50, threshold, detect_shadows)
    for i, img in enumerate(frames):
        assert same(outs[i].image, reference.apply(img)), i
    out = outs[-1]
    # the moving square is found where it is in the last frame
    x = 5 + 3 * (len(frames) - 1)
    boxes = out.detections.xyxy
    assert len(boxes) >= 1 and all(out.detections.class_name(c) == "motion" for c in out.detections.class_id)
    assert any(b[0] <= x + 10 <= b[2] and b[1] <= 42 <= b[3] for b in boxes)


def test_reset_starts_learning_again():
    frames = sequence(10)
    plugin = REG.create("background_subtraction", history=20)
    first = [plugin.process(Frame(f.copy(), i, 0.0)).image for i, f in enumerate(frames)]
    plugin.reset()
    again = [plugin.process(Frame(f.copy(), i, 0.0)).image for i, f in enumerate(frames)]
    assert all(same(a, b) for a, b in zip(first, again))
    assert REG.get("background_subtraction").stateful
