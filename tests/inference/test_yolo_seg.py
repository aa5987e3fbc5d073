"""Segmentation: a YOLOv8n-seg built from its yaml and exported offline; vidcv's boxes and masks against
ultralytics' predict on the same ONNX model."""

import os

import numpy as np
import pytest

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def seg_model(tmp_path_factory):
    os.environ["YOLO_OFFLINE"] = "1"
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("seg")
    model = YOLO("yolov8n-seg.yaml")
    # An untrained head scores every class near 0; a larger class bias gives NMS and masks work to do.
    head = model.model.model[-1]
    for conv in head.cv3:
        torch.nn.init.constant_(conv[-1].bias, -2.0)
    pt = folder / "seg.pt"
    model.save(str(pt))
    onnx = YOLO(str(pt)).export(format="onnx", imgsz=160, simplify=False, verbose=False)
    return onnx


def scene(h, w, seed):
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    for _ in range(4):
        cv2.circle(
            img,
            tuple(int(v) for v in rng.integers(20, min(h, w) - 20, 2)),
            int(rng.integers(8, 30)),
            tuple(int(v) for v in rng.integers(0, 255, 3)),
            -1,
        )
    return img


def test_segment_boxes_and_masks_match_ultralytics(seg_model):
    from ultralytics import YOLO
    from ultralytics.utils import ops

    from vidcv.inference.yolo import YoloModel

    ours_model = YoloModel(seg_model, device="cpu")
    assert ours_model.info.task == "segment" and ours_model.info.mask_dim == 32
    theirs_model = YOLO(seg_model, task="segment")
    compared = 0
    ious = []
    for h, w, seed in ((160, 160, 1), (240, 320, 2), (300, 200, 3)):
        img = scene(h, w, seed)
        theirs = theirs_model.predict(img, conf=0.1, iou=0.7, imgsz=160, verbose=False)[0]
        ours = ours_model(img, conf=0.1, iou=0.7)
        assert len(ours) == len(theirs.boxes)
        if not len(ours):
            continue
        their_masks = ops.scale_masks(theirs.masks.data[None].float(), (h, w))[0].numpy() > 0.5
        # Both keep NMS order (score first), so detections pair up by position; an untrained head gives many
        # boxes of one size, so pairing by box alone would be ambiguous.
        for i, (box, cls, mask) in enumerate(
            zip(theirs.boxes.xyxy.numpy(), theirs.boxes.cls.numpy().astype(int), their_masks)
        ):
            assert ours.class_id[i] == cls and np.abs(ours.xyxy[i] - box).max() < 1.0
            inter = np.logical_and(ours.masks[i], mask).sum()
            union = np.logical_or(ours.masks[i], mask).sum()
            # equal at network resolution; resizing to the source (cv2 against torch bilinear) can split an
            # exact 0.5 tie on a boundary row the other way, which costs a small mask up to an eighth
            ious.append(1.0 if union == 0 else inter / union)
            compared += 1
        assert ours.masks.shape == (len(ours), h, w) and len(ours.polygons) == len(ours)
    assert compared > 0, "the test model found nothing to compare"
    assert min(ious) >= 0.85 and np.mean(ious) >= 0.97
