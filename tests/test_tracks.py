"""Track motion (vidcv/tracks.py) and the per-detection data fields it relies on (vidcv/detections.py)."""

import math
import re

import numpy as np
import pytest

from vidcv.detections import FIELDS, TRACK_AGE, TRACK_SPEED, TRAIL, DataField, Detections, data_field
from vidcv.tracks import MAX_TRAIL, TrackHistory

FPS = 30.0


def tracked(xyxy, ids, names=None):
    n = len(xyxy)
    return Detections(
        np.asarray(xyxy, np.float32).reshape(-1, 4),
        np.full(n, 0.9, np.float32),
        np.zeros(n, np.int32),
        names or {0: "thing"},
        tracker_id=ids,
    )


def moving_box(i, step=3.0):
    """A 20x20 box moving ``step`` px right per frame."""
    return [10 + step * i, 20, 30 + step * i, 40]


def expected_speed(centres, times_ms):
    """The code's definition: straight distance first -> last centre of the trail over the time between."""
    (x0, y0), (x1, y1) = centres[0], centres[-1]
    return math.hypot(x1 - x0, y1 - y0) / ((times_ms[-1] - times_ms[0]) / 1000.0)


def test_a_moving_box_gets_age_speed_and_trail():
    hist = TrackHistory()
    results = []
    times = [i * 1000.0 / FPS for i in range(10)]
    for i, t in enumerate(times):
        results.append(hist.annotate(tracked([moving_box(i)], [7]), t))
    ages = [int(r.data[TRACK_AGE.name][0]) for r in results]
    assert ages == list(range(1, 11))
    speeds = [float(r.data[TRACK_SPEED.name][0]) for r in results]
    assert speeds[0] == 0.0  # one point: no motion yet
    centres = [(20 + 3.0 * i, 30.0) for i in range(10)]
    for k in range(1, 10):
        assert speeds[k] == pytest.approx(expected_speed(centres[: k + 1], times[: k + 1]), rel=1e-5)
        assert speeds[k] == pytest.approx(90.0, rel=1e-5)  # 3 px per frame at 30 fps
    last_trail = results[-1].data[TRAIL.name][0]
    assert last_trail.dtype == np.float32 and last_trail.shape == (10, 2)
    np.testing.assert_allclose(last_trail, centres)  # oldest first
    np.testing.assert_allclose(results[2].data[TRAIL.name][0], centres[:3])
    # the boxes themselves are untouched
    np.testing.assert_allclose(results[-1].xyxy, [moving_box(9)])


def test_the_trail_is_capped_and_speed_uses_the_kept_points():
    hist = TrackHistory()
    n = MAX_TRAIL + 6
    times = [i * 1000.0 / FPS for i in range(n)]
    for i, t in enumerate(times):
        out = hist.annotate(tracked([moving_box(i, step=1.0)], [1]), t)
    trail = out.data[TRAIL.name][0]
    assert trail.shape == (MAX_TRAIL, 2)
    assert trail[0, 0] == pytest.approx(20 + (n - MAX_TRAIL))
    assert trail[-1, 0] == pytest.approx(20 + n - 1)
    assert int(out.data[TRACK_AGE.name][0]) == n
    assert float(out.data[TRACK_SPEED.name][0]) == pytest.approx(30.0, rel=1e-5)


def test_untracked_detections_get_age_0_nan_speed_and_no_trail():
    hist = TrackHistory()
    for ids in (None, [-1, -1]):
        out = hist.annotate(tracked([[0, 0, 10, 10], [5, 5, 9, 9]], ids), 0.0)
        np.testing.assert_array_equal(out.data[TRACK_AGE.name], [0, 0])
        assert np.isnan(out.data[TRACK_SPEED.name]).all()
        assert [t.shape for t in out.data[TRAIL.name]] == [(0, 2), (0, 2)]
    assert hist.history == {}


def test_tracked_and_untracked_rows_side_by_side():
    hist = TrackHistory()
    hist.annotate(tracked([[0, 0, 10, 10]], [4]), 0.0)
    out = hist.annotate(tracked([[6, 8, 16, 18], [50, 50, 60, 60]], [4, -1]), 100.0)
    np.testing.assert_array_equal(out.data[TRACK_AGE.name], [2, 0])
    assert float(out.data[TRACK_SPEED.name][0]) == pytest.approx(100.0)  # 10 px in 0.1 s
    assert np.isnan(out.data[TRACK_SPEED.name][1])
    assert out.data[TRAIL.name][1].shape == (0, 2)


def test_a_frame_without_detections_is_fine():
    out = TrackHistory().annotate(Detections.empty(), 0.0)
    assert len(out) == 0
    assert out.data[TRACK_AGE.name].shape == (0,) and out.data[TRAIL.name] == []


def test_a_track_unseen_for_more_than_forget_after_frames_is_forgotten():
    hist = TrackHistory(forget_after=2)
    hist.annotate(tracked([[0, 0, 10, 10]], [7]), 0.0)  # frame 1
    hist.annotate(Detections.empty(), 33.0)  # frame 2
    hist.annotate(Detections.empty(), 66.0)  # frame 3: unseen for 2 frames, still remembered
    assert 7 in hist.history
    hist.annotate(Detections.empty(), 100.0)  # frame 4: unseen for 3 > 2: forgotten
    assert 7 not in hist.history and 7 not in hist.first_seen and 7 not in hist.last_seen
    out = hist.annotate(tracked([[30, 0, 40, 10]], [7]), 133.0)  # frame 5: a new life
    assert int(out.data[TRACK_AGE.name][0]) == 1
    assert float(out.data[TRACK_SPEED.name][0]) == 0.0
    np.testing.assert_allclose(out.data[TRAIL.name][0], [[35, 5]])


def test_a_track_back_within_forget_after_keeps_its_age_and_trail():
    hist = TrackHistory(forget_after=2)
    hist.annotate(tracked([[0, 0, 10, 10]], [7]), 0.0)  # frame 1
    hist.annotate(Detections.empty(), 100.0)  # frame 2
    hist.annotate(Detections.empty(), 200.0)  # frame 3
    out = hist.annotate(tracked([[30, 0, 40, 10]], [7]), 300.0)  # frame 4: gone for only 2 frames
    assert int(out.data[TRACK_AGE.name][0]) == 4
    np.testing.assert_allclose(out.data[TRAIL.name][0], [[5, 5], [35, 5]])
    assert float(out.data[TRACK_SPEED.name][0]) == pytest.approx(100.0)  # 30 px in 0.3 s


def two_tracks():
    hist = TrackHistory()
    hist.annotate(tracked([[0, 0, 10, 10], [100, 0, 110, 10]], [1, 2]), 0.0)
    return hist.annotate(tracked([[10, 0, 20, 10], [100, 20, 110, 30]], [1, 2]), 500.0)


def test_the_fields_survive_indexing():
    out = two_tracks()
    second = out[1]
    np.testing.assert_array_equal(second.data[TRACK_AGE.name], [2])
    np.testing.assert_allclose(second.data[TRACK_SPEED.name], [40.0])  # 20 px in 0.5 s
    np.testing.assert_allclose(second.data[TRAIL.name][0], [[105, 5], [105, 25]])
    picked = out[np.array([True, False])]
    np.testing.assert_allclose(picked.data[TRACK_SPEED.name], [20.0])
    np.testing.assert_allclose(picked.data[TRAIL.name][0], [[5, 5], [15, 5]])
    reordered = out[[1, 0]]
    np.testing.assert_array_equal(reordered.tracker_id, [2, 1])
    np.testing.assert_allclose(reordered.data[TRACK_SPEED.name], [40.0, 20.0])


def test_merge_fills_the_fields_of_detections_that_lack_them():
    out = two_tracks()
    plain = Detections(
        np.array([[0, 0, 5, 5]], np.float32), np.array([0.4], np.float32), np.array([0], np.int32), {0: "other"}
    )
    merged = Detections.merge([plain, out])
    assert len(merged) == 3
    np.testing.assert_array_equal(merged.tracker_id, [-1, 1, 2])
    np.testing.assert_array_equal(merged.data[TRACK_AGE.name], [0, 2, 2])  # fill 0
    speed = merged.data[TRACK_SPEED.name]
    assert np.isnan(speed[0]) and speed[1:].tolist() == pytest.approx([20.0, 40.0])  # fill NaN
    trails = merged.data[TRAIL.name]
    assert len(trails) == 3 and trails[0].shape == (0, 2)  # fill: an empty trail
    np.testing.assert_allclose(trails[2], [[105, 5], [105, 25]])
    # order of parts does not matter to the filling
    merged = Detections.merge([out, plain])
    np.testing.assert_array_equal(merged.data[TRACK_AGE.name], [2, 2, 0])
    assert np.isnan(merged.data[TRACK_SPEED.name][2])


# --- declared fields ------------------------------------------------------------------------------------


def test_the_motion_fields_are_declared():
    assert FIELDS["track_age"] is TRACK_AGE and TRACK_AGE.logged and not TRACK_AGE.points
    assert FIELDS["speed_px_s"] is TRACK_SPEED and TRACK_SPEED.logged and math.isnan(TRACK_SPEED.fill)
    assert FIELDS["trail"] is TRAIL and TRAIL.ragged and TRAIL.points and not TRAIL.logged


def test_a_field_with_the_wrong_shape_is_refused_naming_it():
    boxes = np.array([[0, 0, 1, 1], [0, 0, 2, 2]], np.float32)
    base = Detections(boxes, [0.5, 0.5], [0, 0])
    with pytest.raises(ValueError, match="track_age"):
        base.with_data(track_age=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="speed_px_s"):
        base.with_data(speed_px_s=[1.0, 2.0, 3.0])  # three values for two detections
    with pytest.raises(ValueError, match="trail"):
        base.with_data(trail=[np.zeros((1, 2))])  # one trail for two detections
    with pytest.raises(ValueError, match="track_age"):
        Detections(boxes, [0.5, 0.5], [0, 0], data={"track_age": [1]})


def test_an_undeclared_key_is_refused():
    with pytest.raises(ValueError, match=re.escape("Detections.data['wingspan'] is not a declared field")):
        Detections(np.array([[0, 0, 1, 1]], np.float32), [0.5], [0], data={"wingspan": [3.0]})
    assert "wingspan" not in FIELDS


def test_redeclaring_a_field_differently_is_refused_and_the_same_declaration_is_fine():
    with pytest.raises(ValueError, match="track_age"):
        data_field("track_age", np.float32)
    assert FIELDS["track_age"] == DataField(
        "track_age", np.int32, logged=True, help="frames since the track was first seen"
    )
    assert data_field("track_age", np.int32, logged=True, help="frames since the track was first seen") == TRACK_AGE


def test_to_records_include_logged_fields_rounded_nan_as_none_and_no_trail():
    dets = Detections(
        np.array([[1.234, 2, 3, 4], [5, 6, 7, 8]], np.float32),
        [0.123456, 0.5],
        [0, 1],
        {0: "car", 1: "dog"},
        tracker_id=[3, -1],
    )
    dets = dets.with_data(
        track_age=[12, 0], speed_px_s=[1.234567, np.nan], trail=[np.array([[1, 2], [3, 4]]), np.zeros((0, 2))]
    )
    first, second = dets.to_records()
    assert first == {
        "xyxy": [1.23, 2.0, 3.0, 4.0],
        "confidence": 0.1235,
        "class_id": 0,
        "class_name": "car",
        "track_id": 3,
        "track_age": 12,
        "speed_px_s": 1.2346,
    }
    assert type(first["track_age"]) is int
    assert second["track_id"] is None and second["track_age"] == 0 and second["speed_px_s"] is None
    assert "trail" not in first and "trail" not in second


def test_records_of_annotated_tracks():
    hist = TrackHistory()
    for i in range(10):
        out = hist.annotate(tracked([moving_box(i)], [7]), i * 1000.0 / FPS)
    (record,) = out.to_records()
    assert record["track_id"] == 7 and record["track_age"] == 10
    assert record["speed_px_s"] == pytest.approx(90.0, abs=1e-4)
    assert set(record) == {"xyxy", "confidence", "class_id", "class_name", "track_id", "track_age", "speed_px_s"}
