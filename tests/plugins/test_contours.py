"""contours equals cv2.findContours filtered by area; boxes become 'blob' detections."""

import cv2
import numpy as np
import pytest
from plugin_helpers import IMAGES, run, run_staged, same

MODES = {"external": cv2.RETR_EXTERNAL, "list": cv2.RETR_LIST, "ccomp": cv2.RETR_CCOMP, "tree": cv2.RETR_TREE}


def blobs_image():
    img = np.zeros((71, 97), np.uint8)
    cv2.rectangle(img, (5, 5), (25, 20), 255, -1)  # area ~ 300
    cv2.circle(img, (60, 40), 15, 255, -1)  # area ~ 700
    cv2.circle(img, (60, 40), 5, 0, -1)  # a hole: an inner contour
    cv2.rectangle(img, (85, 60), (88, 63), 255, -1)  # area 9: small
    return img


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("min_area, max_area", [(0, 0), (50, 0), (50, 500), (1000, 0)])
def test_contours_equal_findcontours(mode, min_area, max_area):
    img = blobs_image()
    contours, _ = cv2.findContours(img, MODES[mode], cv2.CHAIN_APPROX_SIMPLE)
    kept = [c for c in contours if cv2.contourArea(c) >= min_area and (max_area == 0 or cv2.contourArea(c) <= max_area)]
    out = run_staged("contours", img, mode=mode, min_area=min_area, max_area=max_area, draw="frame")
    canvas = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    cv2.drawContours(canvas, kept, -1, (0, 255, 0), 2)
    assert same(out.image, canvas) and out.statuses["contours"].figures == {"contours": len(kept)}
    boxes = [cv2.boundingRect(c) for c in kept]
    assert out.detections.xyxy.tolist() == [[x, y, x + w, y + h] for x, y, w, h in boxes]
    assert all(out.detections.class_name(c) == "blob" for c in out.detections.class_id)
    assert len(out.detections.polygons or []) == len(kept)


def test_draw_on_the_original_and_no_emit():
    original = IMAGES["color-37x53"]
    mask = cv2.inRange(original, (0, 0, 0), (255, 255, 100))
    from vidcv.frame import Frame
    from vidcv.registry import Registry

    frame = Frame(mask, 0, 0.0, source_image=original)
    out = Registry().create("contours", draw="original", emit=False, min_area=0).process(frame)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    canvas = original.copy()
    cv2.drawContours(canvas, contours, -1, (0, 255, 0), 2)
    assert same(out.image, canvas) and len(out.detections) == 0
    assert same(frame.source_image, original)  # the original itself is never drawn on


def test_colour_input_is_converted_and_draw_none_keeps_the_frame():
    img = IMAGES["color-61x45"]
    out = run("contours", img, draw="none", min_area=0)
    assert same(out.image, img)
    contours, _ = cv2.findContours(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    assert len(out.detections) == len(contours)
