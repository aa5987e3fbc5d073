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
    # vertical line at x = 320, drawn downwards: its left (in image axes) is x > 320... see side_of
    out, pipeline = run("{mode: line, line: [320, 0, 320, 360]}")
    # object 1 goes left to right across x=320; objects 2, 3 and 4 go right to left
    counts = out.meta["counts"]
    assert counts == {"in": 3, "out": 1} or counts == {"in": 1, "out": 3}
    assert counts["in"] + counts["out"] == 4
    assert pipeline.summaries()[3].report == counts


def test_the_direction_follows_the_line_orientation():
    down, _ = run("{mode: line, line: [320, 0, 320, 360]}")
    up, _ = run("{mode: line, line: [320, 360, 320, 0]}")
    assert down.meta["counts"]["in"] == up.meta["counts"]["out"]
    assert down.meta["counts"]["out"] == up.meta["counts"]["in"]


def test_a_line_that_does_not_span_the_path_counts_nothing():
    out, _ = run("{mode: line, line: [320, 250, 320, 360]}")  # only object 4's band, which it crosses
    assert out.meta["counts"]["in"] + out.meta["counts"]["out"] == 1
    out, _ = run("{mode: line, line: [320, 320, 320, 360]}")  # below every path
    assert out.meta["counts"]["in"] + out.meta["counts"]["out"] == 0


def test_zone_occupancy_and_entries():
    out, _ = run("{mode: zone, zone: [0, 0, 320, 0, 320, 360, 0, 360]}")  # the left half
    counts = out.meta["counts"]
    # object 1 starts there (a first appearance inside is an entry) and leaves; 2, 3 and 4 come in and stay
    assert counts["entries"] == 4 and counts["occupancy"] == 3


def test_untracked_detections_are_not_counted_and_drawing():
    plugin = REG.create("count", line=[50, 0, 50, 100])
    for i, x in enumerate((10, 40, 60, 90)):
        f = Frame(np.zeros((100, 100, 3), np.uint8), i, 0.0)
        f.detections = Detections([[x, 40, x + 10, 50]], [0.9], [0], {0: "a"})  # no tracker id
        out = plugin.process(f)
    assert out.meta["counts"] == {"in": 0, "out": 0}
    assert out.image[50, 50].any()  # the line is drawn


def test_drawing_a_region_sets_the_line_or_zone():
    assert REG.create("count").region_params(10, 20, 100, 40) == {"line": [10, 40, 110, 40]}
    assert REG.create("count", mode="zone").region_params(10, 20, 100, 40) == {
        "zone": [10, 20, 110, 20, 110, 60, 10, 60]}


@pytest.mark.parametrize("anchor", ["center", "bottom"])
def test_counts_reach_the_detection_log(tmp_path, anchor):
    from vidcv.runner import Runner
    from vidcv.sinks import DetectionsLogSink
    from vidcv.sources.base import Source

    frames, _ = render()

    class Frames(Source):
        def open(self):
            self.i = 0
            self._set_state("open")

        def read(self):
            if self.i >= len(frames):
                return None
            self.i += 1
            return Frame(frames[self.i - 1], self.i - 1, (self.i - 1) * 1000 / 30)

        def close(self):
            self._set_state("closed")

    pipeline = parse_preset(TRACKED % f"{{mode: line, line: [320, 0, 320, 360], anchor: {anchor}}}", REG)
    log = tmp_path / "log.jsonl"
    summary = Runner(Frames("frames"), pipeline, [DetectionsLogSink(str(log))]).run()
    import json
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["counts"]["in"] + last["counts"]["out"] == 4
    assert summary.to_json()["stages"][3]["report"] == last["counts"]


def test_track_age_and_speed_reach_the_detection_log(tmp_path):
    import json

    from media import run_cli
    from vidcv.bundled import sample_video

    log = tmp_path / "log.jsonl"
    res = run_cli("run", sample_video(), "-p", "track_shapes", "--max-frames", "60", "--detections-jsonl", str(log),
                  "-q")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    tracked = [d for line in lines for d in line["detections"] if d["track_id"] is not None]
    assert tracked and "counts" in lines[-1]
    assert any(line.get("tracks") for line in lines)
    some = next(line["tracks"] for line in lines if line.get("tracks"))
    assert all(set(t) == {"age", "speed_px_s"} for t in some.values())
