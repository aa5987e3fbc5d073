"""features equals ORB, SIFT and FAST detection drawn with cv2.drawKeypoints."""

import cv2
import pytest
from plugin_helpers import IMAGES, KINDS, bgr_of, gray_of, run_staged, same

BIG = {k: cv2.resize(v, (v.shape[1] * 4, v.shape[0] * 4), interpolation=cv2.INTER_LINEAR) for k, v in IMAGES.items()}


def detect(method, gray, limit):
    if method == "orb":
        return list(cv2.ORB_create(nfeatures=limit).detect(gray, None))
    if method == "sift":
        return list(cv2.SIFT_create(nfeatures=limit).detect(gray, None))
    kps = cv2.FastFeatureDetector_create().detect(gray, None)
    return sorted(kps, key=lambda k: -k.response)[:limit]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["orb", "sift", "fast"])
@pytest.mark.parametrize("limit", [10, 500])
def test_keypoints_equal_opencv(kind, method, limit):
    img = BIG[kind]
    keypoints = detect(method, gray_of(img), limit)
    expected = cv2.drawKeypoints(bgr_of(img), keypoints, None, (0, 255, 0))
    out = run_staged("features", img, method=method, max_features=limit)
    assert same(out.image, expected) and out.color_space == "bgr"
    assert out.statuses["features"].figures == {"keypoints": len(keypoints)}
    assert len(keypoints) <= limit and (limit == 500 or len(keypoints) > 0)
