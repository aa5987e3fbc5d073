"""Frame (vidcv/frame.py): construction, with_image, geometry bookkeeping and mapping detections."""

import numpy as np
import pytest

from vidcv.detections import TRACK_AGE, TRACK_SPEED, TRAIL, Detections
from vidcv.frame import Frame, map_detections
from vidcv.status import StageStatus


def bgr(h=4, w=6, value=0):
    return np.full((h, w, 3), value, np.uint8)


def boxes(xyxy, **kw):
    n = len(xyxy)
    return Detections(np.asarray(xyxy, np.float32), np.full(n, 0.5, np.float32), np.zeros(n, np.int32), **kw)


# --- construction ---------------------------------------------------------------------------------------


def test_source_image_defaults_to_the_image():
    img = bgr()
    f = Frame(img, 3, 100.0)
    assert f.source_image is img
    assert f.color_space == "bgr"
    assert f.to_source is None and f.path is None and len(f.detections) == 0


def test_an_explicit_source_image_is_kept():
    img, src = bgr(value=1), bgr(value=2)
    f = Frame(img, 0, 0.0, source_image=src)
    assert f.source_image is src and f.image is img


def test_a_2d_image_is_gray_whatever_space_was_given():
    f = Frame(np.zeros((4, 6), np.uint8), 0, 0.0, color_space="bgr")
    assert f.color_space == "gray"
    assert Frame(bgr(), 0, 0.0, color_space="hsv").color_space == "hsv"


def test_size_wh_is_width_then_height():
    assert Frame(bgr(h=4, w=6), 0, 0.0).size_wh == (6, 4)
    assert Frame(np.zeros((7, 11), np.uint8), 0, 0.0).size_wh == (11, 7)


# --- with_image ------------------------------------------------------------------------------------------


def test_with_image_returns_a_new_frame_and_leaves_the_original_untouched():
    img = bgr(value=5)
    dets = boxes([[0, 0, 2, 2]])
    statuses = {"count": StageStatus(counts={"in": 1})}
    f = Frame(img, 7, 233.3, detections=dets, statuses=statuses, path="/x/y.png")
    gray = np.full((4, 6), 9, np.uint8)
    g = f.with_image(gray)
    assert g is not f
    assert g.image is gray and g.color_space == "gray"
    assert f.image is img and f.color_space == "bgr"  # the original is as it was
    assert int(f.image[0, 0, 0]) == 5
    # everything else is shared, not copied
    assert g.index == 7 and g.pts_ms == 233.3 and g.path == "/x/y.png"
    assert g.source_image is img
    assert g.detections is dets
    assert g.statuses is statuses
    assert g.stage_images is f.stage_images
    assert g.captured_at == f.captured_at


def test_with_image_colour_space_rules():
    hsv = Frame(bgr(), 0, 0.0, color_space="hsv")
    assert hsv.with_image(bgr(value=1)).color_space == "hsv"  # colour keeps the current space
    assert hsv.with_image(bgr(value=1), "rgb").color_space == "rgb"  # unless told
    assert hsv.with_image(np.zeros((4, 6), np.uint8)).color_space == "gray"
    assert hsv.with_image(np.zeros((4, 6), np.uint8), "hsv").color_space == "gray"  # 2-D is always gray
    gray = Frame(np.zeros((4, 6), np.uint8), 0, 0.0)
    assert gray.with_image(bgr()).color_space == "bgr"  # colour after gray is BGR
    assert gray.with_image(bgr(), "lab").color_space == "lab"  # an explicit space is honoured
    assert gray.color_space == "gray"


# --- geometry -------------------------------------------------------------------------------------------


def test_apply_geometry_composes_translation_then_scale():
    f = Frame(bgr(100, 200), 0, 0.0)
    f.apply_geometry(np.array([[1, 0, -10], [0, 1, -20]], np.float64))  # crop at x=10, y=20 (2x3)
    np.testing.assert_allclose(f.to_source, [[1, 0, 10], [0, 1, 20], [0, 0, 1]])
    f.apply_geometry(np.diag([2.0, 2.0, 1.0]))  # then a 2x resize (3x3)
    # image pixel (x, y) -> source pixel (x / 2 + 10, y / 2 + 20)
    np.testing.assert_allclose(f.to_source, [[0.5, 0, 10], [0, 0.5, 20], [0, 0, 1]])
    for x, y, sx, sy in [(0, 0, 10, 20), (40, 60, 30, 50), (100, 10, 60, 25)]:
        np.testing.assert_allclose(f.to_source @ [x, y, 1], [sx, sy, 1])


def test_detections_round_trip_under_a_crop():
    src = bgr(100, 200)
    f = Frame(src[20:80, 50:150].copy(), 0, 0.0, source_image=src)  # image 100x60 cut at (50, 20)
    f.apply_geometry(np.array([[1, 0, -50], [0, 1, -20]], np.float64))
    found = boxes([[10, 10, 30, 40], [0, 0, 100, 60]])
    in_source = f.detections_to_source(found)
    np.testing.assert_allclose(in_source.xyxy, [[60, 30, 80, 60], [50, 20, 150, 80]])
    back = f.detections_to_image(in_source)
    np.testing.assert_allclose(back.xyxy, found.xyxy)
    np.testing.assert_array_equal(back.confidence, found.confidence)
    # a source box reaching outside the crop is clipped to the processed image
    outside = f.detections_to_image(boxes([[0, 0, 60, 30], [140, 70, 200, 100]]))
    np.testing.assert_allclose(outside.xyxy, [[0, 0, 10, 10], [90, 50, 100, 60]])


def test_detections_round_trip_under_a_2x_resize():
    src = bgr(80, 100)
    f = Frame(np.zeros((160, 200, 3), np.uint8), 0, 0.0, source_image=src)
    f.apply_geometry(np.diag([2.0, 2.0, 1.0]))
    found = boxes([[20, 40, 60, 100]])
    in_source = f.detections_to_source(found)
    np.testing.assert_allclose(in_source.xyxy, [[10, 20, 30, 50]])
    np.testing.assert_allclose(f.detections_to_image(in_source).xyxy, [[20, 40, 60, 100]])


def test_without_geometry_detections_pass_through_unchanged():
    f = Frame(bgr(), 0, 0.0)
    dets = boxes([[1, 1, 3, 3]])
    assert f.detections_to_source(dets) is dets
    assert f.detections_to_image(dets) is dets


# --- map_detections -------------------------------------------------------------------------------------


def test_map_detections_maps_polygons_point_fields_and_masks():
    masks = np.zeros((2, 20, 20), bool)
    masks[0, 4, 2] = True  # (x=2, y=4)
    masks[1, 0:2, 0:3] = True
    dets = boxes(
        [[1, 2, 3, 4], [0, 0, 2, 1]],
        tracker_id=[4, 5],
        masks=masks,
        polygons=[[[1, 2], [3, 2], [3, 4]], [[0, 0], [2, 1]]],
    )
    dets = dets.with_data(
        **{TRACK_AGE.name: [3, 8], TRACK_SPEED.name: [1.5, np.nan], TRAIL.name: [[[0, 0], [1, 1]], np.zeros((0, 2))]}
    )
    m = np.array([[1, 0, 5], [0, 1, 3], [0, 0, 1]], np.float64)  # shift by (+5, +3)
    out = map_detections(dets, m, (20, 20))
    np.testing.assert_allclose(out.xyxy, [[6, 5, 8, 7], [5, 3, 7, 4]])
    np.testing.assert_allclose(out.polygons[0], [[6, 5], [8, 5], [8, 7]])
    np.testing.assert_allclose(out.polygons[1], [[5, 3], [7, 4]])
    trails = out.data[TRAIL.name]
    np.testing.assert_allclose(trails[0], [[5, 3], [6, 4]])
    assert trails[1].shape == (0, 2)
    # fields that are not points are kept as they were
    np.testing.assert_array_equal(out.data[TRACK_AGE.name], [3, 8])
    np.testing.assert_array_equal(out.data[TRACK_SPEED.name], np.array([1.5, np.nan], np.float32))
    # masks are warped: the pixel at (2, 4) lands at (7, 7)
    assert out.masks.shape == (2, 20, 20)
    assert list(zip(*np.nonzero(out.masks[0]))) == [(7, 7)]
    assert out.masks[1].sum() == 6 and out.masks[1][3:5, 5:8].all()
    # the input is untouched, and the rest travels along
    np.testing.assert_allclose(dets.polygons[0], [[1, 2], [3, 2], [3, 4]])
    np.testing.assert_allclose(dets.data[TRAIL.name][0], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(out.tracker_id, [4, 5])
    np.testing.assert_array_equal(out.confidence, dets.confidence)


def test_map_detections_scales_polygons_and_trails():
    dets = boxes([[10, 10, 20, 30]], polygons=[[[10, 10], [20, 30]]])
    dets = dets.with_data(**{TRAIL.name: [[[10, 10], [20, 30]]]})
    out = map_detections(dets, np.diag([0.5, 0.5, 1.0]), (100, 100))
    np.testing.assert_allclose(out.xyxy, [[5, 5, 10, 15]])
    np.testing.assert_allclose(out.polygons[0], [[5, 5], [10, 15]])
    np.testing.assert_allclose(out.data[TRAIL.name][0], [[5, 5], [10, 15]])


@pytest.mark.parametrize("m", [None, np.eye(3)])
def test_map_detections_with_no_change_returns_the_same_object(m):
    dets = boxes([[1, 1, 2, 2]])
    assert map_detections(dets, m, (10, 10)) is dets


def test_map_detections_of_nothing_returns_the_same_object():
    empty = Detections.empty({0: "a"})
    assert map_detections(empty, np.diag([2.0, 2.0, 1.0]), (10, 10)) is empty
