"""Train the demo detector shipped in assets/models/: a YOLOv8n that finds coloured shapes.

Reproducible and offline: the script draws its own dataset (circles, squares and triangles of random
colour, size and angle pasted over crops of scikit-image's bundled public-domain photographs), trains
ultralytics' YOLOv8n from its yaml (no downloaded weights) on the CPU, and exports ONNX with the class
names in its metadata.

    .venv/bin/python scripts/train_demo_model.py [--epochs 30] [--train 500] [--imgsz 256]

Writes assets/models/shapes_yolov8n.onnx and .pt, and prints the validation mAP.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle")
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "assets", "models")


def backgrounds() -> list[np.ndarray]:
    from skimage import data  # dev dependency: the photographs ship in its wheel

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field(),
              data.immunohistochemistry(), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB),
              cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2RGB), cv2.cvtColor(data.grass(), cv2.COLOR_GRAY2RGB),
              cv2.cvtColor(data.gravel(), cv2.COLOR_GRAY2RGB)]
    return [cv2.cvtColor(p, cv2.COLOR_RGB2BGR) for p in photos]


def shape_points(kind: str, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    if kind == "square":
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        pts = [(x * r * 0.75, y * r * 0.75) for x, y in corners]
    else:  # triangle
        pts = [(r * math.cos(a), r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    c, s = math.cos(angle), math.sin(angle)
    return np.array([(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts], np.float32)


def make_image(rng: np.random.Generator, photos: list[np.ndarray], size: int) -> tuple[np.ndarray, list]:
    """One scene and its labels [(class, x1, y1, x2, y2)] in pixels."""
    photo = photos[rng.integers(len(photos))]
    h, w = photo.shape[:2]
    crop = int(rng.integers(min(h, w) // 3, min(h, w)))
    y0, x0 = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    img = cv2.resize(photo[y0:y0 + crop, x0:x0 + crop], (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        img = cv2.flip(img, 1)
    img = cv2.convertScaleAbs(img, alpha=float(rng.uniform(0.7, 1.3)), beta=float(rng.uniform(-30, 30)))
    labels: list = []
    for _ in range(int(rng.integers(1, 6))):
        kind = CLASSES[int(rng.integers(len(CLASSES)))]
        r = float(rng.uniform(size * 0.05, size * 0.16))
        cx, cy = float(rng.uniform(r, size - r)), float(rng.uniform(r, size - r))
        box = (cx - r, cy - r, cx + r, cy + r)
        if any(max(0, min(box[2], b[3]) - max(box[0], b[1])) * max(0, min(box[3], b[4]) - max(box[1], b[2])) > 0
               for b in labels):
            continue  # no overlaps: every shape fully visible
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        if kind == "circle":
            cv2.circle(img, (round(cx), round(cy)), round(r), color, -1, cv2.LINE_AA)
            x1, y1, x2, y2 = cx - r, cy - r, cx + r, cy + r
        else:
            pts = shape_points(kind, cx, cy, r, float(rng.uniform(0, 2 * math.pi)))
            cv2.fillPoly(img, [np.round(pts).astype(np.int32)], color, cv2.LINE_AA)
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
        labels.append((CLASSES.index(kind), x1, y1, x2, y2))
    return img, labels


def write_dataset(root: str, n_train: int, n_val: int, size: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    photos = backgrounds()
    for split, count in (("train", n_train), ("val", n_val)):
        os.makedirs(os.path.join(root, "images", split), exist_ok=True)
        os.makedirs(os.path.join(root, "labels", split), exist_ok=True)
        for i in range(count):
            img, labels = make_image(rng, photos, size)
            cv2.imwrite(os.path.join(root, "images", split, f"{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            with open(os.path.join(root, "labels", split, f"{i:05d}.txt"), "w") as fh:
                for cls, x1, y1, x2, y2 in labels:
                    fh.write(f"{cls} {(x1 + x2) / 2 / size:.6f} {(y1 + y2) / 2 / size:.6f} "
                             f"{(x2 - x1) / size:.6f} {(y2 - y1) / size:.6f}\n")
    yaml_path = os.path.join(root, "data.yaml")
    with open(yaml_path, "w") as fh:
        fh.write(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n")
        fh.writelines(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
    return yaml_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--val", type=int, default=100)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=MODELS)
    args = parser.parse_args()
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    from ultralytics import YOLO

    work = tempfile.mkdtemp(prefix="vidcv-demo-model-")
    try:
        data = write_dataset(os.path.join(work, "data"), args.train, args.val, args.imgsz, args.seed)
        model = YOLO("yolov8n.yaml")
        model.train(data=data, epochs=args.epochs, imgsz=args.imgsz, batch=16, device="cpu", workers=0,
                    seed=args.seed, deterministic=True, plots=False, project=work, name="train", exist_ok=True,
                    verbose=False, amp=False, val=True)
        metrics = model.val(data=data, imgsz=args.imgsz, batch=16, device="cpu", workers=0, plots=False,
                            verbose=False)
        best = os.path.join(work, "train", "weights", "best.pt")
        os.makedirs(args.out, exist_ok=True)
        pt_out = os.path.join(args.out, "shapes_yolov8n.pt")
        shutil.copy(best, pt_out)
        onnx = YOLO(pt_out).export(format="onnx", imgsz=args.imgsz, simplify=False, dynamic=False)
        shutil.move(onnx, os.path.join(args.out, "shapes_yolov8n.onnx"))
        print(f"mAP50 {metrics.box.map50:.3f}  mAP50-95 {metrics.box.map:.3f}  -> {args.out}/shapes_yolov8n.onnx")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
