import numpy as np
import pytest

from vidcv.detections import Detections, data_field
from vidcv.frame import map_detections


def make(n=3, names=None, **kw):
    xyxy = np.array([[i * 10, i * 5, i * 10 + 8, i * 5 + 6] for i in range(n)], np.float32)
    return Detections(xyxy, np.linspace(0.9, 0.5, n), np.arange(n) % 2, names or {0: "cat", 1: "dog"}, **kw)


def test_arrays_are_typed_and_validated():
    d = make()
    assert d.xyxy.dtype == np.float32 and d.confidence.dtype == np.float32 and d.class_id.dtype == np.int32
    assert len(d) == 3
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        Detections(np.zeros((2, 3)), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="x2 >= x1"):
        Detections([[10, 0, 5, 5]], [0.5], [0])
    with pytest.raises(ValueError, match="NaN"):
        Detections([[np.nan, 0, 5, 5]], [0.5], [0])
    with pytest.raises(ValueError, match="confidence has 1 rows"):
        Detections(np.zeros((2, 4)), [0.5], [0, 0])
    with pytest.raises(ValueError, match="masks"):
        Detections(np.zeros((1, 4)), [0.5], [0], masks=np.zeros((2, 4, 4)))


def test_empty_and_indexing():
    e = Detections.empty({0: "cat"})
    assert len(e) == 0 and e.is_empty() and e.xyxy.shape == (0, 4) and e.names == {0: "cat"}
    d = make(4, tracker_id=[5, 6, 7, 8], masks=np.zeros((4, 5, 5), bool), polygons=[np.zeros((3, 2))] * 4)
    sel = d[d.confidence > 0.7]
    assert len(sel) == 2 and list(sel.tracker_id) == [5, 6] and sel.masks.shape == (2, 5, 5)
    assert len(sel.polygons) == 2
    one = d[2]
    assert len(one) == 1 and one.tracker_id[0] == 7
    assert len(d[np.array([3, 0])]) == 2
    with pytest.raises(IndexError):
        d[np.array([True, False])]


def test_merge_remaps_clashing_class_ids():
    faces = Detections([[0, 0, 10, 10]], [0.9], [0], {0: "face"})
    people = Detections([[5, 5, 50, 90], [1, 1, 2, 2]], [0.8, 0.7], [0, 1], {0: "person", 1: "face"})
    merged = Detections.merge([faces, people])
    assert len(merged) == 3
    names = [merged.class_name(c) for c in merged.class_id]
    assert names == ["face", "person", "face"]
    assert merged.class_id[0] == merged.class_id[2]
    assert Detections.merge([]).is_empty()


def test_merge_keeps_tracker_ids_and_marks_untracked():
    a = make(2, tracker_id=[1, 2])
    b = make(1)
    m = Detections.merge([a, b])
    assert list(m.tracker_id) == [1, 2, -1]
    assert [r["track_id"] for r in m.to_records()] == [1, 2, None]


def test_records_schema():
    rec = make(1).to_records()[0]
    assert set(rec) == {"xyxy", "confidence", "class_id", "class_name", "track_id"}
    assert rec["class_name"] == "cat" and rec["track_id"] is None and len(rec["xyxy"]) == 4


# --- per-detection data -------------------------------------------------------------------------------
KEYPOINTS = data_field("test_keypoints", np.float32, (None, 3), points=True, help="a keypoints-like test field")


def test_a_declared_field_is_one_line_validated_and_kept_through_indexing():
    kpts = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    dets = Detections(
        [[0, 0, 10, 10], [5, 5, 20, 20]], [0.9, 0.4], [0, 1], {0: "a", 1: "b"}, data={KEYPOINTS.name: kpts}
    )
    assert np.array_equal(dets[np.array([False, True])].data[KEYPOINTS.name], kpts[1:])
    assert np.array_equal(dets[1].data[KEYPOINTS.name], kpts[1:])
    with pytest.raises(ValueError, match=r"data\['test_keypoints'\] must have shape \(2, K, 3\), got \(2, 4, 2\)"):
        Detections(dets.xyxy, dets.confidence, dets.class_id, data={KEYPOINTS.name: kpts[..., :2]})
    with pytest.raises(ValueError, match=r"shape \(2, K, 3\), got \(1, 4, 3\)"):
        dets.with_data(test_keypoints=kpts[:1])
    with pytest.raises(ValueError, match=r"data\['nope'\] is not a declared field"):
        dets.with_data(nope=[1, 2])
    with pytest.raises(ValueError, match="already declared differently"):
        data_field("test_keypoints", np.float32, (None, 2))


def test_merge_fills_what_a_part_lacks_and_refuses_mismatched_shapes():
    a = Detections([[0, 0, 1, 1]], [0.5], [0], {0: "a"}, data={KEYPOINTS.name: np.ones((1, 2, 3), np.float32)})
    b = Detections([[0, 0, 2, 2], [1, 1, 3, 3]], [0.6, 0.7], [0, 0], {0: "a"})
    merged = Detections.merge([a, Detections.empty(), b])
    assert merged.data[KEYPOINTS.name].shape == (3, 2, 3)
    assert np.array_equal(merged.data[KEYPOINTS.name][1:], np.zeros((2, 2, 3), np.float32))  # the field's fill
    c = Detections([[0, 0, 1, 1]], [0.5], [0], {0: "a"}, data={KEYPOINTS.name: np.ones((1, 5, 3), np.float32)})
    with pytest.raises(ValueError, match="'test_keypoints' have different shapes"):
        Detections.merge([a, c])


def test_point_fields_follow_the_boxes_through_geometry():
    kpts = np.array([[[10, 20, 0.9], [30, 40, 0.5]]], np.float32)
    dets = Detections([[10, 20, 30, 40]], [0.9], [0], data={KEYPOINTS.name: kpts, "track_age": [7]})
    half = np.diag([0.5, 0.5, 1.0])
    mapped = map_detections(dets, half, (100, 100))
    assert np.allclose(mapped.data[KEYPOINTS.name], [[[5, 10, 0.9], [15, 20, 0.5]]])  # x, y scaled; scores kept
    assert mapped.data["track_age"].tolist() == [7]
    assert np.allclose(mapped.xyxy, [[5, 10, 15, 20]])
