"""Every bundled preset runs on the sample video without a stage error and does what it says."""

import numpy as np
import pytest

from vidcv.bundled import bundled_preset, bundled_presets, sample_video
from vidcv.presets import load_preset
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource


def run_preset(name, frames=90):
    outs = []
    summary = Runner(
        FileSource(sample_video()), load_preset(bundled_preset(name)), [CallbackSink(outs.append)], max_frames=frames
    ).run()
    return summary, outs


def test_the_common_tasks_have_presets():
    assert {"edges", "hsv_mask", "motion", "document", "auto_edges", "gray", "denoise"} <= set(bundled_presets())


@pytest.mark.parametrize("name", bundled_presets())
def test_bundled_preset_runs_on_the_sample(name):
    summary, outs = run_preset(name, frames=30)
    assert summary.frames == 30
    assert all(s.errors == 0 for s in summary.stages), [(s.name, s.last_error) for s in summary.stages]


def test_hsv_mask_keeps_the_blue_rectangle_only():
    _, outs = run_preset("hsv_mask", frames=60)
    kept = outs[-1].image
    assert kept.ndim == 3 and 0 < np.count_nonzero(kept.any(axis=2)) < kept.shape[0] * kept.shape[1] * 0.1
    blue = kept[kept.any(axis=2)]
    assert np.median(blue[:, 0]) > np.median(blue[:, 2])  # what is kept is blue


def test_motion_finds_the_moving_portrait():
    _, outs = run_preset("motion", frames=90)
    boxes = [len(f.detections) for f in outs[30:]]
    assert min(boxes) >= 1
    assert all(f.detections.class_name(c) == "motion" for f in outs[30:] for c in f.detections.class_id)


def test_document_is_black_and_white():
    _, outs = run_preset("document", frames=5)
    assert set(np.unique(outs[-1].image)) <= {0, 255} and outs[-1].image.ndim == 2
