"""zone: inside now, entries, exits and dwell per zone and class, on generated tracks with known truth
(objects entering, leaving, standing on the edge and jittering, occluded and back with the same id)."""

import json

import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.detections import Detections
from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.presets import parse_preset
from vidcv.status import merged_counts

SQUARE = [[100, 100], [300, 100], [300, 300], [100, 300]]
DT = 40.0  # ms a frame (25 fps)
FRAMES = 61
NAMES = {0: "person", 1: "car"}


def inside(x, y, poly=SQUARE):
    (x1, y1), (x2, y2) = poly[0], poly[2]
    return x1 < x < x2 and y1 < y < y2


def paths():
    """{track id: (class id, {frame: (x, y) anchor (bottom centre)})}: where each track is seen."""
    jitter = [2 if i % 2 else -2 for i in range(FRAMES)]
    return {
        1: (0, {i: (50 + 5 * i, 200) for i in range(FRAMES)}),  # left to right, through the zone
        2: (1, {i: (200, min(50 + 4 * i, 200)) for i in range(FRAMES)}),  # in from the top, stays
        3: (0, {i: (100 + jitter[i], 200) for i in range(FRAMES)}),  # on the left edge, +-2 px
        4: (0, {i: (200, 250 + 5 * i if i <= 10 else 300 + jitter[i]) for i in range(FRAMES)}),  # in, then edge
        5: (0, {i: (40 + 5 * i, 150) for i in range(FRAMES) if not 30 <= i < 38}),  # occluded inside
        6: (1, {i: (250, 350 - 5 * i) for i in range(FRAMES) if not 20 <= i <= 50}),  # leaves while occluded
    }


def frame_at(i, tracks, ids=True):
    seen = [(tid, cls, path[i]) for tid, (cls, path) in tracks.items() if i in path]
    boxes = [[x - 10, y - 20, x + 10, y] for _, _, (x, y) in seen]
    dets = Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        [0.9] * len(seen),
        [c for _, c, _ in seen],
        NAMES,
        tracker_id=np.array([t for t, _, _ in seen], np.int64) if ids else None,
    )
    f = Frame(np.zeros((400, 400, 3), np.uint8), i, i * DT)
    f.detections = dets
    return f


def run(tracks=None, ids=True, **params):
    tracks = tracks or paths()
    plugin = REG.create("zone", **{"zone": "door", "polygon": SQUARE, **params})
    outs = []
    for i in range(FRAMES):
        outs.append(plugin.process(frame_at(i, tracks, ids)))
    return plugin, outs


def first_inside(path):
    return min(i for i, (x, y) in path.items() if inside(x, y))


def test_entries_exits_and_inside_equal_the_truth():
    tracks = paths()
    plugin, outs = run(tracks)
    counts = plugin.status().counts
    # entries: 1, 2, 4 (first seen inside), 5, 6; exits: 1, 5, 6; never the edge-stander 3
    assert counts["door"]["entered"] == 5 and counts["door"]["exited"] == 3
    assert counts["door"]["entered_by_class"]["person"] == 3 and counts["door"]["entered_by_class"]["car"] == 2
    assert counts["door"]["exited_by_class"]["person"] == 2 and counts["door"]["exited_by_class"]["car"] == 1
    # at the end 2 (car, stays) and 4 (person, on the edge after being inside) are in
    assert counts["door"]["inside"] == 2
    assert counts["door"]["inside_by_class"]["person"] == 1 and counts["door"]["inside_by_class"]["car"] == 1
    assert plugin.status().state == ""
    h = plugin.p.hysteresis
    # inside now, on every frame where no moving object is within the hysteresis band of the edge
    for i, out in enumerate(outs):
        moving = {t: p[i] for t, (_, p) in tracks.items() if i in p and t not in (3, 4)}
        if any(abs(x - e) <= h for x, _ in moving.values() for e in (100, 300)) or any(
            abs(y - e) <= h for _, y in moving.values() for e in (100, 300)
        ):
            continue
        truth = sum(inside(x, y) for x, y in moving.values()) + (1 if 4 in tracks else 0)  # 4 is in from frame 0
        got = sum(1 for z in out.detections.data["zone"] if z == "door")
        assert got == truth, i


def test_dwell_is_within_one_frame_of_the_truth():
    tracks = paths()
    _, outs = run(tracks)
    checked = 0
    for i, out in enumerate(outs):
        dets = out.detections
        for k, tid in enumerate(dets.tracker_id.tolist()):
            if tid == 3:
                assert np.isnan(dets.data["dwell_s"][k]) and dets.data["zone"][k] == ""
                continue
            x, y = tracks[tid][1][i]
            if tid == 4 or (inside(x, y) and dets.data["zone"][k] == "door"):
                truth = (i - first_inside(tracks[tid][1])) * DT / 1000
                assert abs(float(dets.data["dwell_s"][k]) - truth) <= DT / 1000 + 1e-6, (i, tid)
                checked += 1
            elif not inside(x, y) and min(abs(x - 100), abs(x - 300), abs(y - 100), abs(y - 300)) > 5:  # past h
                assert np.isnan(dets.data["dwell_s"][k]), (i, tid)
    assert checked > 100
    # the occluded track 5 keeps its time in the zone: after the gap it counts from its first frame inside
    k = outs[40].detections.tracker_id.tolist().index(5)
    assert outs[40].detections.data["dwell_s"][k] == pytest.approx((40 - 13) * DT / 1000, abs=1e-4)


def test_an_edge_stander_counts_at_most_once_and_without_hysteresis_would_not():
    stander = {3: paths()[3]}
    plugin, _ = run(stander)
    assert plugin.status().counts["door"]["entered"] == 0
    inside_first = {4: paths()[4]}
    plugin, _ = run(inside_first)
    assert plugin.status().counts["door"]["entered"] == 1 and plugin.status().counts["door"]["exited"] == 0
    plugin, _ = run(stander, hysteresis=0)
    assert plugin.status().counts["door"]["entered"] > 1  # what the hysteresis prevents


def test_class_filter_and_centre_anchor():
    plugin, outs = run(classes="car")
    counts = plugin.status().counts
    assert counts["door"]["entered"] == 2 and "person" not in counts["door"]["entered_by_class"]
    assert all(z in ("", "door") for out in outs for z in out.detections.data["zone"])
    plugin, _ = run(classes="1")
    assert plugin.status().counts["door"]["entered"] == 2
    # anchored at the centre, track 4 (box 20 px tall on the bottom edge) is 10 px inside: still one entry
    plugin, _ = run({4: paths()[4]}, anchor="center")
    assert plugin.status().counts["door"]["entered"] == 1 and plugin.status().counts["door"]["inside"] == 1


def test_without_track_ids_it_counts_inside_only_and_says_so():
    plugin, outs = run(ids=False)
    status = plugin.status()
    assert "no track ids" in status.state
    assert set(status.counts["door"]) == {"inside", "inside_by_class"}  # no entries or exits without ids
    i = FRAMES - 1
    truth = sum(100 <= p[i][0] <= 300 and 100 <= p[i][1] <= 300 for _, p in paths().values() if i in p)  # edge in
    assert status.counts["door"]["inside"] == truth


def test_polygon_values():
    plugin = REG.create("zone", polygon=[[0, 0], [10, 0], [10, 10], [0, 10], [-5, 5]])
    assert plugin.p.polygon == [0, 0, 10, 0, 10, 10, 0, 10, -5, 5]
    assert REG.create("zone", polygon=[0, 0, 10, 0, 10, 10]).p.polygon == [0, 0, 10, 0, 10, 10]
    for bad in ([[0, 0], [1, 1]], [0, 0, 1, 1, 2], [[0, 0, 1], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 1e9]], "0,0"):
        with pytest.raises(ParamError, match="polygon"):
            REG.create("zone", polygon=bad)
    assert REG.create("zone").region_params(10, 20, 100, 40) == {"polygon": [10, 20, 110, 20, 110, 60, 10, 60]}


def test_drawing_writes_the_polygon():
    _, outs = run(draw=True)
    assert outs[-1].image[200, 100].any() and outs[-1].image[300, 200].any()
    _, outs = run(draw=False)
    assert not outs[-1].image.any()


TWO_ZONES = """
pipeline:
  - plugin: zone
    params: {zone: door, polygon: [[100, 100], [300, 100], [300, 300], [100, 300]]}
  - plugin: zone
    params: {zone: hall, polygon: [[0, 0], [400, 0], [400, 180], [0, 180]], draw: false}
"""


def test_two_zones_through_the_runner_reach_the_stats_and_the_detection_log(tmp_path):
    from vidcv.runner import Runner
    from vidcv.sinks import DetectionsLogSink
    from vidcv.sources.base import Source

    tracks = paths()

    class Frames(Source):
        def _open(self):
            self.i = 0

        def read(self):
            if self.i >= FRAMES:
                return None
            self.i += 1
            return frame_at(self.i - 1, tracks)

    pipeline = parse_preset(TWO_ZONES, REG)
    log = tmp_path / "log.jsonl"
    summary = Runner(Frames("frames"), pipeline, [DetectionsLogSink(str(log))]).run()
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == FRAMES
    last = lines[-1]
    stages = summary.to_dict()["stages"]
    assert last["counts"] == {**stages[0]["counts"], **stages[1]["counts"]}
    assert last["counts"]["door"]["entered"] == 5 and last["counts"]["door"]["inside"] == 2
    assert set(last["counts"]) == {"door", "hall"}  # each zone's counts nested under its name
    # frame 20: track 5 at (140, 150) is in both zones: dwell is the later zone's (hall: in since frame 0)
    line = lines[20]
    rec = next(d for d in line["detections"] if d["track_id"] == 5)
    assert rec["dwell_s"] == pytest.approx(20 * DT / 1000) and rec["zone"] == "door,hall"
    outside = next(d for d in line["detections"] if d["track_id"] == 3)  # (100, 200): on door's edge, below hall
    assert outside["dwell_s"] is None and outside["zone"] == ""
    assert merged_counts(s.status for s in pipeline.summaries() if s.status) == last["counts"]


def test_zone_names_are_per_detection_data():
    pipeline = parse_preset(TWO_ZONES, REG)
    tracks = paths()
    for i in range(21):
        out = pipeline.process(frame_at(i, tracks))
    zones = dict(zip(out.detections.tracker_id.tolist(), out.detections.data["zone"].tolist()))
    assert zones[5] == "door,hall" and zones[3] == "" and zones[1] == "door" and zones[2] == "door,hall"


def run_events(tracks=None, **params):
    """Every event the zone reported, frame by frame (its status after each frame, as the pipeline reads it)."""
    tracks = tracks or paths()
    plugin = REG.create("zone", **{"zone": "door", "polygon": SQUARE, **params})
    events = []
    for i in range(FRAMES):
        plugin.process(frame_at(i, tracks))
        events += plugin.status().events
    return plugin, events


def test_entries_and_exits_are_reported_as_events_one_per_track_and_change():
    plugin, events = run_events()
    kinds = [(e.kind.value, e.track_id) for e in events]
    enters = sorted(t for k, t in kinds if k == "zone_enter")
    exits = sorted(t for k, t in kinds if k == "zone_exit")
    assert enters == [1, 2, 4, 5, 6] and exits == [1, 5, 6]  # as the counts: 5 in, 3 out, never track 3
    assert all(e.zone == "door" and e.class_name in ("person", "car") for e in events)
    # an exit carries the seconds the track was inside, as its last dwell_s said
    track1 = paths()[1][1]
    first = first_inside(track1)
    last_inside = max(i for i, (x, y) in track1.items() if inside(x, y))
    (out1,) = [e for e in events if e.kind.value == "zone_exit" and e.track_id == 1]
    assert out1.value == pytest.approx((last_inside + 1 - first) * DT / 1000, abs=DT / 1000 + 1e-6)
    assert [e.frame_index for e in events] == sorted(e.frame_index for e in events)


def test_dwell_and_count_above_are_reported_once_per_stay_and_per_rise():
    tracks = {
        1: (0, dict.fromkeys(range(FRAMES), (200, 200))),  # inside throughout
        2: (0, dict.fromkeys(range(20, 40), (210, 200))),  # inside frames 20-39
    }
    plugin, events = run_events(tracks, dwell_event=1.0, max_inside=1)
    dwell = [(e.track_id, e.frame_index) for e in events if e.kind.value == "dwell"]
    assert dwell == [(1, 25)]  # 25 frames of 40 ms; track 2 stays only 0.76 s
    above = [(e.frame_index, e.value) for e in events if e.kind.value == "count_above"]
    assert above == [(20, 2.0)]  # once when the second came in, not again while two stay
    _, none = run_events(tracks)
    assert {e.kind.value for e in none} == {"zone_enter"}  # track 2 vanishes inside: no exit seen


def test_a_class_appearing_in_the_zone_is_one_event_when_none_of_it_was_inside():
    tracks = {
        1: (0, dict.fromkeys(range(10, 40), (200, 200))),  # a person inside frames 10-39
        2: (0, dict.fromkeys(range(20, 50), (210, 200))),  # another person from 20: the class was there already
        3: (1, dict.fromkeys(range(30, 45), (220, 200))),  # a car from 30
    }
    _, events = run_events(tracks, appear_event=True)
    appeared = [(e.frame_index, e.class_name, e.value) for e in events if e.kind.value == "class_appeared"]
    assert appeared == [(10, "person", 1.0), (30, "car", 1.0)]
    # without track ids too: detections inside, by class; a class gone and back appears again
    plugin = REG.create("zone", zone="door", polygon=SQUARE, appear_event=True)
    seen = []
    for i in range(FRAMES):
        back = {1: (0, {i: (200, 200)})} if i < 10 or i >= 20 else {}
        plugin.process(frame_at(i, back, ids=False))
        seen += [(e.frame_index, e.class_name) for e in plugin.status().events]
    assert seen == [(0, "person"), (20, "person")]
    _, none = run_events(tracks)
    assert "class_appeared" not in {e.kind.value for e in none}
