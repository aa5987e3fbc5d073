"""The bundled demo detector and the bundled sample agree: the sample shows the model's three classes, its
known geometry (assets/sample_truth.json, written by scripts/make_sample.py) is what the model finds, and
track_shapes counts exactly the line crossings that geometry implies."""

import itertools
import json
import os
import sys

import cv2
import numpy as np
import pytest
import yaml

from vidcv.bundled import DEMO_MODEL, assets_dir, bundled_models, bundled_preset, sample_video
from vidcv.presets import load_preset
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
import make_sample  # the generator of the sample and its truth

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def truth():
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        return json.load(fh)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix + 1e-9)


def centres(truth, k):
    return np.array(
        [
            [
                (f["objects"][k]["xyxy"][0] + f["objects"][k]["xyxy"][2]) / 2,
                (f["objects"][k]["xyxy"][1] + f["objects"][k]["xyxy"][3]) / 2,
            ]
            for f in truth["frames"]
        ]
    )


def test_the_truth_file_is_what_the_sample_script_writes(truth):
    assert truth == json.loads(json.dumps(make_sample.truth()))
    cap = cv2.VideoCapture(sample_video())
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    count, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert (size, count, fps) == ((truth["width"], truth["height"]), len(truth["frames"]), truth["fps"])


def test_the_sample_shows_the_model_classes_moving_and_overlapping_once(truth):
    from vidcv.inference.yolo import YoloModel

    names = YoloModel(bundled_models()[DEMO_MODEL], device="cpu").info.names
    assert truth["classes"] == [names[i] for i in sorted(names)] == ["circle", "square", "triangle"]
    assert all(sorted(o["class"] for o in f["objects"]) == truth["classes"] for f in truth["frames"])
    for k in range(3):
        path = centres(truth, k)
        assert np.ptp(path[:, 0]) > 300  # each shape travels across the frame
    overlapping = [
        any(iou(a["xyxy"], b["xyxy"]) > 0 for i, a in enumerate(f["objects"]) for b in f["objects"][i + 1 :])
        for f in truth["frames"]
    ]
    starts = [i for i in range(1, len(overlapping)) if overlapping[i] and not overlapping[i - 1]]
    assert len(starts) == 1 and 5 <= sum(overlapping) <= 40  # one partial overlap, for about a second


def test_the_demo_model_finds_each_shape_of_the_sample(truth):
    """The right class at IoU >= 0.8 for every shape in at least 95% of the frames, and no other boxes."""
    from vidcv.registry import default_registry

    plugin = default_registry().create("yolo", device="cpu")
    cap = cv2.VideoCapture(sample_video())
    frames_ok, misses, extra = 0, [], 0
    for expected in truth["frames"]:
        ok, img = cap.read()
        assert ok
        dets = plugin.model(img)
        found = [(dets.class_name(c), b) for c, b in zip(dets.class_id.tolist(), dets.xyxy.tolist())]
        matched = [
            any(name == o["class"] and iou(box, o["xyxy"]) >= 0.8 for name, box in found) for o in expected["objects"]
        ]
        frames_ok += all(matched)
        misses += [(expected["frame"], o["class"]) for o, m in zip(expected["objects"], matched) if not m]
        extra += sum(not any(iou(box, o["xyxy"]) >= 0.5 for o in expected["objects"]) for _, box in found)
    cap.release()
    n = len(truth["frames"])
    assert frames_ok >= 0.95 * n, f"{frames_ok}/{n} frames with every shape found; missed {misses[:20]}"
    assert extra <= 0.01 * n, f"{extra} boxes on no shape"


def expected_crossings(truth, line):
    """Crossings of the line segment by each shape's centre, by the count stage's rule: 'in' from the right
    to the left of someone walking along the line from its first point to its second, 'out' the other way."""
    (x1, y1), (x2, y2) = np.array(line, float).reshape(2, 2)
    counts = {"in": 0, "out": 0}
    for k in range(3):
        path = centres(truth, k)
        side = np.sign((x2 - x1) * (path[:, 1] - y1) - (y2 - y1) * (path[:, 0] - x1))
        for before, after in itertools.pairwise(side):
            if before and after and before != after:
                counts["in" if before > 0 else "out"] += 1
    return counts


def test_track_shapes_counts_the_crossings_of_the_geometry(truth):
    with open(bundled_preset("track_shapes")) as fh:
        stages = yaml.safe_load(fh)["pipeline"]
    line = next(s["params"]["line"] for s in stages if s["plugin"] == "count")
    want = expected_crossings(truth, line)
    assert sum(want.values()) >= 6 and min(want.values()) >= 2  # every shape crosses, both ways
    pipeline = load_preset(bundled_preset("track_shapes"))
    outs = []
    summary = Runner(FileSource(sample_video()), pipeline, [CallbackSink(outs.append)]).run()
    assert summary.frames == len(truth["frames"])
    counts = next(s["counts"] for s in summary.to_dict()["stages"] if s.get("counts"))
    assert counts == want
