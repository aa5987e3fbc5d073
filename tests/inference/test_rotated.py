"""Oriented-box IoU and NMS equal ultralytics' own (batch_probiou, TorchNMS.fast_nms) on random boxes."""

import numpy as np
import pytest

from vidcv.frame import map_xywhr, xywhr_corners
from vidcv.inference.rotated import fast_nms, probiou


def random_boxes(rng, n):
    return np.column_stack(
        [
            rng.uniform(0, 200, n),
            rng.uniform(0, 200, n),
            rng.uniform(5, 60, n),
            rng.uniform(5, 60, n),
            rng.uniform(-np.pi / 4, 3 * np.pi / 4, n),
        ]
    ).astype(np.float32)


@pytest.mark.parametrize("seed", range(3))
def test_probiou_and_fast_nms_equal_ultralytics(seed):
    import torch
    from ultralytics.utils.metrics import batch_probiou
    from ultralytics.utils.nms import TorchNMS

    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 80)
    boxes[40:] = boxes[:40] + rng.normal(0, 3, (40, 5)).astype(np.float32)  # overlapping pairs
    boxes[:, 2:4] = np.abs(boxes[:, 2:4]) + 1
    scores = rng.uniform(0.3, 1.0, 80).astype(np.float32)
    want = batch_probiou(torch.from_numpy(boxes), torch.from_numpy(boxes)).numpy()
    assert np.allclose(probiou(boxes, boxes), want, atol=2e-4)  # float32 rounding near IoU 1 (the diagonal)
    keep = TorchNMS.fast_nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.7, iou_func=batch_probiou).numpy()
    assert fast_nms(boxes, scores, 0.7).tolist() == keep.tolist()


def test_rotated_boxes_follow_rotations_flips_and_scales():
    box = np.array([[50, 40, 30, 10, 0.3]], np.float32)
    angle = np.deg2rad(90)
    rotate = np.array([[np.cos(angle), -np.sin(angle), 100], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    flip = np.array([[-1.0, 0, 200], [0, 1, 0], [0, 0, 1]])
    half = np.diag([0.5, 0.5, 1.0])
    for m in (rotate, flip, half, flip @ rotate @ half):
        mapped = map_xywhr(box, m)
        corners = xywhr_corners(box)[0]
        want = corners @ m[:2, :2].T + m[:2, 2]
        got = xywhr_corners(mapped)[0]
        assert any(
            np.allclose(np.roll(got, k, axis=0), want, atol=1e-3)
            or np.allclose(np.roll(got[::-1], k, axis=0), want, atol=1e-3)
            for k in range(4)
        )
