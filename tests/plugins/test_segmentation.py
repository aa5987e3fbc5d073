"""kmeans equals cv2.kmeans with the same seed, criteria and flags."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, KINDS, run, same


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k, attempts", [(2, 1), (4, 3), (8, 2)])
def test_kmeans_equals_opencv(kind, k, attempts):
    img = IMAGES[kind]
    channels = 1 if img.ndim == 2 else 3
    cv2.setRNGSeed(12345)
    _, labels, centers = cv2.kmeans(
        img.reshape(-1, channels).astype(np.float32),
        k,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        attempts,
        cv2.KMEANS_PP_CENTERS,
    )
    expected = np.clip(np.round(centers), 0, 255).astype(np.uint8)[labels.ravel()].reshape(img.shape)
    out = run("kmeans", img, k=k, attempts=attempts)
    assert same(out.image, expected)
    assert len(np.unique(out.image.reshape(-1, channels), axis=0)) <= k


def test_kmeans_repeats_exactly():
    img = IMAGES["color-61x45"]
    assert same(run("kmeans", img, k=5).image, run("kmeans", img, k=5).image)
