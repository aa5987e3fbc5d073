"""Train the demo detector shipped in assets/models/: a YOLOv8n that finds circles, squares and triangles.

Reproducible and offline: the script draws its own dataset with the sample's own drawing code
(scripts/make_sample.py): scenes that look like assets/sample.mp4 (the panning coffee photograph, the
astronaut portrait, the caption), with the sample's shape sizes and colours, anti-aliased sub-pixel edges,
motion blur and compression, varied (sizes 0.75-1.35x, some at any angle, other colours, other scikit-image
photographs, partial overlaps) so that the classes are learnt by shape, not colour or place. It trains
ultralytics' YOLOv8n from its yaml (no downloaded weights) on the CPU, validates on held-out scenes of the
same generator, and exports ONNX with the class names in its metadata.

    .venv/bin/python scripts/train_demo_model.py [--epochs 20] [--train 600] [--val 150] [--imgsz 256]
    .venv/bin/python scripts/train_demo_model.py --from assets/models/shapes_yolov8n.pt --epochs 10

The second form is the fine-tuning stage: it continues from those weights on the same scenes (same seed)
with AdamW at a lower, decaying rate (--lr0, default 0.0003), no warm-up, and mosaic off for the last half.

Writes assets/models/shapes_yolov8n.onnx and .pt, and prints the validation mAP and the time it took.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sample import BACKGROUND_WIDTH, CLASSES, COLORS, PORTRAIT, SHAPE_SIZE, WIDTH, Shape, draw_shape

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "assets", "models")
MAX_OVERLAP = 0.35  # a shape may cover at most this share of another's box: every shape stays recognisable
NEIGHBOUR = 0.4  # share of shapes placed against an earlier one, partly over it (the sample has one such overlap)
FINE_TUNE_LR0 = 0.0003  # about a fifth of the rate ultralytics' "auto" picked (AdamW 0.001429) for the first stage


def backgrounds() -> list[np.ndarray]:
    """scikit-image's bundled public-domain photographs (BGR); the first two are the sample's own,
    the astronaut and the coffee."""
    from skimage import data  # dev dependency: the photographs ship in its wheel

    photos = [
        data.astronaut(),
        data.coffee(),
        data.chelsea(),
        data.rocket(),
        data.hubble_deep_field(),
        data.immunohistochemistry(),
        cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB),
        cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2RGB),
        cv2.cvtColor(data.grass(), cv2.COLOR_GRAY2RGB),
        cv2.cvtColor(data.gravel(), cv2.COLOR_GRAY2RGB),
    ]
    return [cv2.cvtColor(p, cv2.COLOR_RGB2BGR) for p in photos]


def _backdrop(rng: np.random.Generator, photos: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """Mostly the sample's look (a pan over the coffee photograph at its scale, the portrait somewhere,
    the caption), sometimes a crop of another photograph."""
    scale = width / WIDTH
    if rng.random() < 0.85:
        coffee = photos[1]
        bw = max(width + 1, round(BACKGROUND_WIDTH * scale * rng.uniform(0.9, 1.3)))
        bh = max(height + 1, round(coffee.shape[0] * bw / coffee.shape[1]))
        background = cv2.resize(coffee, (bw, bh), interpolation=cv2.INTER_AREA)
        ox, oy = int(rng.integers(0, bw - width + 1)), int(rng.integers(0, bh - height + 1))
        img = background[oy : oy + height, ox : ox + width].copy()
        if rng.random() < 0.7:
            side = min(height, width, round(PORTRAIT * scale * rng.uniform(0.9, 1.1)))
            portrait = cv2.resize(photos[0], (side, side), interpolation=cv2.INTER_AREA)
            px, py = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            img[py : py + side, px : px + side] = portrait
        if rng.random() < 0.5:
            cv2.putText(
                img,
                f"vidcv sample {int(rng.integers(1000)):03d}",
                (round(10 * scale), height - round(10 * scale)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5 * scale,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
    else:
        photo = photos[int(rng.integers(2, len(photos)))]
        h, w = photo.shape[:2]
        crop_w = int(rng.integers(min(w, h) // 2, w + 1))
        crop_h = min(h, max(8, round(crop_w * height / width)))
        y0, x0 = int(rng.integers(0, h - crop_h + 1)), int(rng.integers(0, w - crop_w + 1))
        img = cv2.resize(photo[y0 : y0 + crop_h, x0 : x0 + crop_w], (width, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        img = cv2.flip(img, 1)
    return cv2.convertScaleAbs(img, alpha=float(rng.uniform(0.8, 1.2)), beta=float(rng.uniform(-20, 20)))


def _color(rng: np.random.Generator) -> tuple[int, int, int]:
    """One of the sample's colours, jittered, or a saturated colour of any hue (whatever the class)."""
    if rng.random() < 0.75:
        base = np.array(COLORS[CLASSES[int(rng.integers(len(CLASSES)))]], np.float64)
        return tuple(int(v) for v in np.clip(base + rng.uniform(-25, 25, 3), 0, 255))
    hsv = np.array([[[rng.integers(0, 180), rng.integers(140, 256), rng.integers(110, 256)]]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _overlap(a: tuple, b: tuple) -> float:
    """Intersection of two boxes over the smaller one's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / max(1e-9, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


def make_image(
    rng: np.random.Generator, photos: list[np.ndarray], width: int, height: int | None = None
) -> tuple[np.ndarray, list]:
    """One scene (width x height, square by default) and its labels [(class, x1, y1, x2, y2)] in pixels:
    up to 8 shapes sized like the sample's relative to the frame width, each wholly inside the frame."""
    height = height or width
    img = _backdrop(rng, photos, width, height)
    scale = width / WIDTH
    labels: list = []
    for _ in range(int(rng.integers(2, 9))):
        kind = CLASSES[int(rng.integers(len(CLASSES)))]
        size = SHAPE_SIZE * scale * float(rng.uniform(0.75, 1.35))
        angle = 0.0 if rng.random() < 0.75 else float(rng.uniform(0, 2 * math.pi))
        reach = size * 0.75  # half the diagonal of a square: a rotated shape stays inside
        if width <= 2 * reach or height <= 2 * reach:
            continue
        cx, cy = float(rng.uniform(reach, width - reach)), float(rng.uniform(reach, height - reach))
        if labels and rng.random() < NEIGHBOUR:  # beside an earlier shape, their boxes overlapping a little
            _, x1, y1, x2, y2 = labels[int(rng.integers(len(labels)))]
            gap, heading = (x2 - x1 + size) / 2 * float(rng.uniform(0.6, 0.95)), float(rng.uniform(0, 2 * math.pi))
            cx, cy = (x1 + x2) / 2 + gap * math.cos(heading), (y1 + y2) / 2 + gap * math.sin(heading)
            if not (reach <= cx <= width - reach and reach <= cy <= height - reach):
                continue
        shape = Shape(kind, cx, cy, size, angle, _color(rng))
        box = shape.box()
        if any(_overlap(box, b[1:]) > MAX_OVERLAP for b in labels):
            continue
        speed, heading = float(rng.uniform(0, 16 * scale)), float(rng.uniform(0, 2 * math.pi))
        velocity = (speed * math.cos(heading), speed * math.sin(heading)) if rng.random() < 0.7 else (0.0, 0.0)
        draw_shape(img, shape, velocity)
        labels.append((CLASSES.index(kind), *box))
    quality = int(rng.integers(40, 95))  # the sample's mp4v blocks and ringing, roughly
    img = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
    return img, labels


def write_dataset(root: str, n_train: int, n_val: int, seed: int) -> str:
    """Train and held-out val scenes (three in four 640x360 like the sample, the rest 480x480)."""
    rng = np.random.default_rng(seed)
    photos = backgrounds()
    for split, count in (("train", n_train), ("val", n_val)):
        os.makedirs(os.path.join(root, "images", split), exist_ok=True)
        os.makedirs(os.path.join(root, "labels", split), exist_ok=True)
        for i in range(count):
            w, h = (640, 360) if rng.random() < 0.75 else (480, 480)
            img, labels = make_image(rng, photos, w, h)
            cv2.imwrite(os.path.join(root, "images", split, f"{i:05d}.png"), img)
            with open(os.path.join(root, "labels", split, f"{i:05d}.txt"), "w") as fh:
                fh.writelines(
                    f"{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n"
                    for cls, x1, y1, x2, y2 in labels
                )
    yaml_path = os.path.join(root, "data.yaml")
    with open(yaml_path, "w") as fh:
        fh.write(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n")
        fh.writelines(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
    return yaml_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--val", type=int, default=150)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=MODELS)
    parser.add_argument("--keep", default=None, help="keep the dataset and the training run in this folder")
    parser.add_argument(
        "--from",
        dest="weights",
        default=None,
        help="fine-tune these weights (.pt) instead of training from ultralytics' yolov8n.yaml",
    )
    parser.add_argument("--lr0", type=float, default=FINE_TUNE_LR0, help="fine-tuning learning rate (with --from)")
    args = parser.parse_args()
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    import torch
    from ultralytics import YOLO

    torch.set_num_threads(os.cpu_count() or 1)  # ultralytics leaves a core free; training wants them all

    start = time.monotonic()
    work = args.keep or tempfile.mkdtemp(prefix="vidcv-demo-model-")
    try:
        data = write_dataset(os.path.join(work, "data"), args.train, args.val, args.seed)
        if args.weights and not os.path.isfile(args.weights):
            raise SystemExit(
                f"--from {args.weights}: no such file; give the .pt to fine-tune, e.g. assets/models/shapes_yolov8n.pt"
            )
        # the first stage lets ultralytics pick the optimiser ("auto": AdamW at 0.001429 for these sizes);
        # fine-tuning continues with AdamW at a lower rate decaying to a tenth, no warm-up, mosaic off for
        # the last half of its epochs so that most of it sees whole scenes like the val ones
        stage = (
            {
                "optimizer": "AdamW",
                "lr0": args.lr0,
                "lrf": 0.1,
                "warmup_epochs": 0,
                "close_mosaic": max(1, args.epochs // 2),
            }
            if args.weights
            else {"close_mosaic": max(1, args.epochs // 4)}
        )
        model = YOLO(args.weights or "yolov8n.yaml")
        model.train(
            data=data,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=16,
            device="cpu",
            workers=0,
            seed=args.seed,
            deterministic=True,
            plots=False,
            project=work,
            name="train",
            exist_ok=True,
            verbose=False,
            amp=False,
            val=True,
            cache="ram",
            scale=0.25,
            **stage,
        )  # the sample's shapes vary little in size: zoom augmentation kept small
        best = os.path.join(work, "train", "weights", "best.pt")
        metrics = YOLO(best).val(
            data=data,
            imgsz=args.imgsz,
            batch=16,
            device="cpu",
            workers=0,
            plots=False,
            verbose=False,
            project=work,
            name="val",
            exist_ok=True,
        )
        os.makedirs(args.out, exist_ok=True)
        pt_out = os.path.join(args.out, "shapes_yolov8n.pt")
        shutil.copy(best, pt_out)
        onnx = YOLO(pt_out).export(format="onnx", imgsz=args.imgsz, simplify=False, dynamic=False)
        shutil.move(onnx, os.path.join(args.out, "shapes_yolov8n.onnx"))
        print(
            f"val mAP50 {metrics.box.map50:.3f}  mAP50-95 {metrics.box.map:.3f}  ({args.val} held-out scenes)  "
            f"{(time.monotonic() - start) / 60:.1f} min  -> {args.out}/shapes_yolov8n.onnx"
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
