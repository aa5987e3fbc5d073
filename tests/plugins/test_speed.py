"""speed: generated tracks moving at known speeds, in the image and on a ground plane seen in perspective, give
those speeds in pixels and in metres per second, whatever the frame intervals.

Tolerances: boxes are float32 (about 3e-5 px at these coordinates) and speeds are stored as float32, so a speed
fitted from exact positions is within about 1e-5 of the truth, relative; 1e-4 leaves room for that and nothing
more. Through a real track stage the Kalman filter lags a new track's velocity for its first frames: after
20 frames it was within 0.3 % of the truth here; 1 % is asked."""

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.detections import Detections
from vidcv.frame import Frame
from vidcv.presets import parse_preset

H, W = 240, 320
DT = 40.0  # ms a frame (25 fps)
EXACT = 1e-4


def frame_at(i, anchors, pts=None, ids=True):
    """Frame ``i`` with a 10x20 box standing on each anchor (x, y: its bottom centre); track ids 1, 2, ..."""
    boxes = [[x - 5, y - 20, x + 5, y] for x, y in anchors]
    f = Frame(np.full((H, W, 3), 60, np.uint8), i, i * DT if pts is None else pts)
    f.detections = Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        [0.9] * len(anchors),
        [0] * len(anchors),
        {0: "person"},
        tracker_id=np.arange(1, len(anchors) + 1) if ids else None,
    )
    return f


def speeds(out, name="speed_px_s"):
    return np.asarray(out.detections.data[name], float)


def test_steady_motion_gives_its_speed_in_pixels_per_second_from_the_second_frame():
    plugin = REG.create("speed")
    v1, v2 = (120.0, -50.0), (0.0, 30.0)  # px/s: 130 and 30
    for i in range(40):
        t = i * DT / 1000
        out = plugin.process(frame_at(i, [(40 + v1[0] * t, 200 + v1[1] * t), (250, 20 + v2[1] * t)]))
        got = speeds(out)
        if i == 0:
            assert np.all(np.isnan(got))  # one point: no speed yet
        else:
            assert got == pytest.approx([130.0, 30.0], rel=EXACT)
        assert np.all(np.isnan(speeds(out, "speed_m_s")))  # no scale: no metres
    figures = plugin.status().figures
    assert figures["mean_px_s"] == pytest.approx(80.0, rel=EXACT) and figures["max_px_s"] == pytest.approx(130.0)
    assert "mean_m_s" not in figures and plugin.status().state == ""


def test_uneven_frame_intervals_still_give_the_speed():
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(15, 90, 60))  # ms: a stream with dropped and bunched frames
    plugin = REG.create("speed", window=0.3)
    for i, t in enumerate(times):
        s = (t - times[0]) / 1000
        out = plugin.process(frame_at(i, [(20 + 90 * s, 100 + 40 * s)], pts=float(t)))
    assert speeds(out)[0] == pytest.approx(np.hypot(90, 40), rel=EXACT)


def test_the_speed_is_measured_over_the_window():
    """50 px/s, then 150 px/s from t = 1 s: once the window has passed the change, only the new speed counts."""
    plugin = REG.create("speed", window=0.5)

    def x_at(t):
        return 10 + 50 * t if t <= 1 else 60 + 150 * (t - 1)

    got = {}
    for i in range(60):
        t = i * DT / 1000
        got[round(t, 2)] = speeds(plugin.process(frame_at(i, [(x_at(t), 100)])))[0]
    assert got[0.96] == pytest.approx(50, rel=EXACT)
    assert 50 < got[1.2] < 150  # the window holds both
    assert got[1.52] == pytest.approx(150, rel=EXACT) and got[2.36] == pytest.approx(150, rel=EXACT)


#: a ground rectangle 4 m wide and 10 m long seen in perspective: its near side wide at the bottom of the image
QUAD = [(120, 220), (280, 220), (230, 60), (170, 60)]
GROUND = [(0, 0), (4, 0), (4, 10), (0, 10)]


def test_a_ground_homography_gives_metres_per_second_across_the_perspective():
    to_image = cv2.getPerspectiveTransform(np.float32(GROUND), np.float32(QUAD)).astype(np.float64)
    plugin = REG.create(
        "speed", scale="ground", ground=[v for p in QUAD for v in p], ground_width_m=4.0, ground_length_m=10.0
    )
    walkers = [((1.0, 0.5), (0.6, 1.2)), ((3.5, 1.0), (-0.2, 3.0)), ((0.5, 9.0), (1.4, 0.8))]  # start, m/s
    truth = [np.hypot(*v) for _, v in walkers]
    px_seen = []
    for i in range(50):  # 2 s: the third walker goes past the far side (the plane goes on)
        t = i * DT / 1000
        ground = np.array([[x0 + vx * t, y0 + vy * t] for (x0, y0), (vx, vy) in walkers])
        image = cv2.perspectiveTransform(ground[None], to_image)[0]
        out = plugin.process(frame_at(i, [tuple(p) for p in image]))
        if i:
            assert speeds(out, "speed_m_s") == pytest.approx(truth, rel=EXACT)
            px_seen.append(speeds(out))
    # in the image the same speed is slower far away and changes as a walker moves: what the ground undoes
    assert np.ptp(np.array(px_seen)[:, 1]) > 5
    figures = plugin.status().figures
    assert figures["max_m_s"] == pytest.approx(max(truth), abs=1e-3) and plugin.status().state == ""


def test_a_line_scale_turns_pixels_into_metres():
    plugin = REG.create("speed", scale="line", line=[0, 0, 300, 400], line_m=10.0)  # 500 px = 10 m
    for i in range(5):
        out = plugin.process(frame_at(i, [(20 + 4 * i, 100)]))  # 100 px/s
    assert speeds(out, "speed_m_s")[0] == pytest.approx(2.0, rel=EXACT)
    record = out.detections.to_records()[0]
    assert record["speed_m_s"] == pytest.approx(2.0) and record["speed_px_s"] == pytest.approx(100.0)


def test_a_scale_given_later_applies_to_the_points_already_seen():
    plugin = REG.create("speed")
    for i in range(5):
        plugin.process(frame_at(i, [(20 + 4 * i, 100)]))
    plugin.set_param("scale", "line")
    plugin.set_param("line", [0, 0, 100, 0])
    plugin.apply_pending()
    out = plugin.process(frame_at(5, [(40, 100)]))
    assert speeds(out, "speed_m_s")[0] == pytest.approx(1.0, rel=EXACT)  # line_m 1 m over 100 px
    plugin.set_param("anchor", "center")  # other points: measured afresh
    plugin.apply_pending()
    assert np.isnan(speeds(plugin.process(frame_at(6, [(44, 100)])))[0])


@pytest.mark.parametrize(
    ("params", "state"),
    [
        ({"scale": "line"}, "no scale line: pixels per second only"),
        (
            {"scale": "ground", "ground": [0, 0, 10, 10, 20, 20, 30, 30]},
            "ground points are not a convex quadrilateral: pixels per second only",
        ),
        (
            {"scale": "ground", "ground": [0, 0, 100, 100, 100, 0, 0, 100]},  # crossed: not in order around it
            "ground points are not a convex quadrilateral: pixels per second only",
        ),
    ],
)
def test_an_unusable_scale_says_why_and_gives_pixels_only(params, state):
    plugin = REG.create("speed", **params)
    for i in range(3):
        out = plugin.process(frame_at(i, [(20 + 4 * i, 100)]))
    assert plugin.status().state == state
    assert speeds(out)[0] == pytest.approx(100, rel=EXACT) and np.isnan(speeds(out, "speed_m_s")[0])


def test_without_track_ids_there_is_no_speed_and_the_state_says_so():
    plugin = REG.create("speed", scale="line", line=[0, 0, 100, 0])
    for i in range(5):
        out = plugin.process(frame_at(i, [(20 + 4 * i, 100)], ids=False))
    assert np.all(np.isnan(speeds(out))) and np.all(np.isnan(speeds(out, "speed_m_s")))
    assert plugin.status().state == "no track ids: no speed" and plugin.status().figures == {}


def test_reset_forgets_the_tracks():
    plugin = REG.create("speed")
    for i in range(5):
        plugin.process(frame_at(i, [(20 + 4 * i, 100)]))
    plugin.reset()
    assert np.isnan(speeds(plugin.process(frame_at(5, [(40, 100)])))[0])
    assert speeds(plugin.process(frame_at(6, [(44, 100)])))[0] == pytest.approx(100, rel=EXACT)


def test_time_going_back_without_a_reset_starts_afresh():
    plugin = REG.create("speed")
    for i in range(5):
        plugin.process(frame_at(i, [(20 + 4 * i, 100)]))
    assert np.isnan(speeds(plugin.process(frame_at(0, [(20, 100)])))[0])


def test_region_sets_the_scale_it_is_drawn_for():
    assert REG.create("speed").region_params(10, 20, 30, 40) is None
    assert REG.create("speed", scale="line").region_params(10, 20, 30, 40) == {"line": [10, 20, 40, 60]}
    assert REG.create("speed", scale="ground").region_params(10, 20, 30, 40) == {
        "ground": [10, 20, 40, 20, 40, 60, 10, 60]
    }


def test_the_speed_is_written_under_the_box_and_the_scale_drawn():
    plugin = REG.create("speed", scale="line", line=[10, 230, 110, 230])
    for i in range(5):
        out = plugin.process(frame_at(i, [(100 + 4 * i, 100)]))
    img = out.image
    assert np.any(img[102:120, 110:150] != 60)  # the label, just below the box (bottom at y = 100)
    assert np.any(img[230, 10:110] != 60)  # the scale line
    assert np.all(img[:80] == 60)  # nothing above the box
    plain = REG.create("speed", draw=False)
    for i in range(5):
        out = plain.process(frame_at(i, [(100 + 4 * i, 100)]))
    assert np.all(out.image == 60)


def test_through_a_track_stage_the_speed_of_a_moving_blob_is_its_truth():
    pipeline = parse_preset(
        "pipeline:\n"
        "  - plugin: in_range\n    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}\n"
        "  - plugin: contours\n    params: {min_area: 50, draw: none}\n"
        "  - plugin: track\n"
        "  - plugin: speed\n    params: {scale: line, line: [0, 0, 150, 0], line_m: 3.0}\n",
        REG,
    )
    for i in range(40):
        img = np.full((H, W, 3), 90, np.uint8)
        x = 40 + 6 * i  # 150 px/s = 3 m/s
        cv2.rectangle(img, (x - 10, 100), (x + 10, 130), (0, 0, 255), -1)
        out = pipeline.process(Frame(img, i, i * DT))
        if i >= 20:
            assert speeds(out) == pytest.approx([150.0], rel=0.01)
            assert speeds(out, "speed_m_s") == pytest.approx([3.0], rel=0.01)
