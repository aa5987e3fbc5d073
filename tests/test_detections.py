import numpy as np
import pytest

from vidcv.detections import Detections


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
