"""count: line crossings per direction and zone occupancy/entries, on tracked rendered objects."""

import numpy as np
import pytest
from plugin_helpers import REG
from test_tracking import render

from vidcv.detections import Detections
from vidcv.frame import Frame
from vidcv.presets import parse_preset

TRACKED = """
pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: contours
    params: {min_area: 150, draw: none}
  - plugin: track
  - plugin: count
    params: %s
"""


def run(params):
    frames, _ = render()
    pipeline = parse_preset(TRACKED % params, REG)
    for i, img in enumerate(frames):
        out = pipeline.process(Frame(img, i, i * 1000 / 30))
    return out, pipeline


def test_line_counts_each_crossing_once_per_direction():
    # vertical line at x = 320, drawn downwards: walking along it, x < 320 is on the walker's right, so a
    # crossing towards x > 320 is 'in'. Object 1 goes left to right across x=320; objects 2, 3 and 4 go back.
    out, pipeline = run("{mode: line, line: [320, 0, 320, 360]}")
    counts = out.statuses["count"].counts
    assert counts == {"in": 1, "out": 3}
    assert pipeline.summaries()[3].status.counts == counts


def test_the_direction_follows_the_line_orientation():
    down, _ = run("{mode: line, line: [320, 0, 320, 360]}")
    up, _ = run("{mode: line, line: [320, 360, 320, 0]}")
    assert down.statuses["count"].counts["in"] == up.statuses["count"].counts["out"]
    assert down.statuses["count"].counts["out"] == up.statuses["count"].counts["in"]


def test_a_line_that_does_not_span_the_path_counts_nothing():
    out, _ = run("{mode: line, line: [320, 250, 320, 360]}")  # only object 4's band, which it crosses
    assert out.statuses["count"].counts["in"] + out.statuses["count"].counts["out"] == 1
    out, _ = run("{mode: line, line: [320, 320, 320, 360]}")  # below every path
    assert out.statuses["count"].counts["in"] + out.statuses["count"].counts["out"] == 0


def test_zone_occupancy_and_entries():
    out, _ = run("{mode: zone, zone: [0, 0, 320, 0, 320, 360, 0, 360]}")  # the left half
    counts = out.statuses["count"].counts
    # object 1 starts there (a first appearance inside is an entry) and leaves; 2, 3 and 4 come in and stay
    assert counts["entries"] == 4 and counts["occupancy"] == 3


def test_untracked_detections_are_not_counted_and_drawing():
    plugin = REG.create("count", line=[50, 0, 50, 100])
    for i, x in enumerate((10, 40, 60, 90)):
        f = Frame(np.zeros((100, 100, 3), np.uint8), i, 0.0)
        f.detections = Detections([[x, 40, x + 10, 50]], [0.9], [0], {0: "a"})  # no tracker id
        out = plugin.process(f)
    assert plugin.status().counts == {"in": 0, "out": 0}
    assert out.image[50, 50].any()  # the line is drawn


def test_drawing_a_region_sets_the_line_or_zone():
    assert REG.create("count").region_params(10, 20, 100, 40) == {"line": [10, 40, 110, 40]}
    assert REG.create("count", mode="zone").region_params(10, 20, 100, 40) == {
        "zone": [10, 20, 110, 20, 110, 60, 10, 60]
    }


@pytest.mark.parametrize("anchor", ["center", "bottom"])
def test_counts_reach_the_detection_log(tmp_path, anchor):
    from vidcv.runner import Runner
    from vidcv.sinks import DetectionsLogSink
    from vidcv.sources.base import Source

    frames, _ = render()

    class Frames(Source):
        def _open(self):
            self.i = 0

        def read(self):
            if self.i >= len(frames):
                return None
            self.i += 1
            return Frame(frames[self.i - 1], self.i - 1, (self.i - 1) * 1000 / 30)

    pipeline = parse_preset(TRACKED % f"{{mode: line, line: [320, 0, 320, 360], anchor: {anchor}}}", REG)
    log = tmp_path / "log.jsonl"
    summary = Runner(Frames("frames"), pipeline, [DetectionsLogSink(str(log))]).run()
    import json

    last = json.loads(log.read_text().splitlines()[-1])
    assert last["counts"]["in"] + last["counts"]["out"] == 4
    assert summary.to_dict()["stages"][3]["counts"] == last["counts"]


def test_track_age_and_speed_reach_the_detection_log(tmp_path):
    import json

    from media import run_cli
    from vidcv.bundled import sample_video

    log = tmp_path / "log.jsonl"
    res = run_cli(
        "run", sample_video(), "-p", "track_shapes", "--max-frames", "60", "--detections-jsonl", str(log), "-q"
    )
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    tracked = [d for line in lines for d in line["detections"] if d["track_id"] is not None]
    assert tracked and "counts" in lines[-1]
    assert all(
        set(d) == {"xyxy", "confidence", "class_id", "class_name", "track_id", "track_age", "speed_px_s"}
        for d in tracked
    )
    ages = {}
    for line in lines:  # a track's age grows by one a frame while it is seen on consecutive frames
        for d in line["detections"]:
            if d["track_id"] is not None:
                last = ages.get(d["track_id"])
                if last is not None and last[0] == line["frame"] - 1:
                    assert d["track_age"] == last[1] + 1
                ages[d["track_id"]] = (line["frame"], d["track_age"])
    assert max(age for _, age in ages.values()) > 10


def test_each_crossing_is_one_line_cross_event_on_its_frame_through_the_pipeline():
    frames, _ = render()
    pipeline = parse_preset(TRACKED % "{mode: line, line: [320, 0, 320, 360]}", REG)
    events = []
    for i, img in enumerate(frames):
        out = pipeline.process(Frame(img, i, i * 1000 / 30))
        events += [(e.frame_index, e.direction, e.stage, e.kind.value) for e in out.statuses["count"].events]
        assert all(e.frame_index == i for e in out.statuses["count"].events)
    assert sorted(d for _, d, _, _ in events) == ["in", "out", "out", "out"]  # as the counts
    assert {(s, k) for _, _, s, k in events} == {("count", "line_cross")}
    summary = pipeline.summaries()[3]
    assert summary.events == {"line_cross": 4}
