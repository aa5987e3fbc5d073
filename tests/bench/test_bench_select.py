"""bench/bench_select.py's helpers, without training: the generated videos and their truth, the picks, the labels
and the summary (the benchmark itself runs for an hour; `--quick` checks it end to end in a minute or two)."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys

import cv2
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_select", os.path.join(ROOT, "bench", "bench_select.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_kind_of_stretch_in_a_long_enough_video(bench):
    stretches = bench.plan_video(1200, bench.TRAIN_VIDEO_SEED, 416, 240, 10)
    assert stretches[0].start == 0 and stretches[-1].end == 1200
    assert all(a.end == b.start for a, b in itertools.pairwise(stretches))
    assert all(a.regime != b.regime and a.photo != b.photo for a, b in itertools.pairwise(stretches))
    assert {s.regime for s in stretches} == set(bench.REGIMES)


def test_video_truth_inside_the_frame_and_on_the_shapes(bench, tmp_path):
    path = str(tmp_path / "v.mp4")
    truth, kinds = bench.render_video(path, 60, 7, 208, 120)
    frames = bench.read_frames(path)
    assert len(truth) == len(kinds) == len(frames) == 60
    assert any(truth)
    for boxes in truth:
        for c, x1, y1, x2, y2 in boxes:
            assert 0 <= c < len(bench.CLASSES)
            assert 0 <= x1 < x2 <= 208 and 0 <= y1 < y2 <= 120
    plan = bench.plan_video(60, 7, 208, 120, 10)
    assert kinds == [s.regime for s in plan for _ in range(s.start, s.end)]


def test_picks(bench):
    assert bench.pick_stride(1200, 40) == list(range(0, 1200, 30))
    assert len(bench.pick_stride(1210, 40)) == 40
    a, b = bench.pick_random(1200, 40, 0), bench.pick_random(1200, 40, 1)
    assert a == bench.pick_random(1200, 40, 0) != b
    assert len(set(a)) == 40 and a == sorted(a) and max(a) < 1200


def test_dataset_labels_are_yolo_from_the_truth(bench, tmp_path):
    image = np.zeros((240, 416, 3), np.uint8)
    truth = [[(1, 10.0, 20.0, 50.0, 60.0)]]
    root = str(tmp_path / "ds")
    bench.write_split(root, "train", {0: image}, truth, "train")
    bench.write_data_yaml(root)
    with open(os.path.join(root, "labels", "train", "train_000000.txt")) as fh:
        c, xc, yc, w, h = fh.read().split()
    assert c == "1"
    assert np.allclose([float(xc), float(yc), float(w), float(h)], [30 / 416, 40 / 240, 40 / 416, 40 / 240], atol=1e-6)
    assert cv2.imread(os.path.join(root, "images", "train", "train_000000.jpg")).shape == (240, 416, 3)
    from vidcv.training.dataset import read_dataset

    data = read_dataset(root)
    assert data.task == "detect" and data.names == list(bench.CLASSES) and data.images["train"] == 1


def test_summary_ratios_to_the_stride(bench):
    runs = [
        {"strategy": "stride", "map50": 0.2, "map50_95": 0.1},
        {"strategy": "stride", "map50": 0.4, "map50_95": 0.1},
        {"strategy": "random", "map50": 0.45, "map50_95": 0.05},
    ]
    summary = bench.summarise(runs)
    assert summary["stride"]["map50"]["mean"] == pytest.approx(0.3)
    assert summary["stride"]["map50"]["std"] == pytest.approx(0.1414, abs=1e-4)
    assert summary["random"]["map50"]["ratio"] == pytest.approx(1.5)
    assert summary["random"]["map50_95"]["ratio"] == pytest.approx(0.5)
    assert "stride" in bench.table(summary)
