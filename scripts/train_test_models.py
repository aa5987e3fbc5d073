"""Train the tiny YOLO test models in tests/assets/models/: one per task, small and informative.

The parity tests compare vidcv's ONNX decoding with ultralytics' own predict on the same ONNX file. An untrained
model gives every box the same confidence, so these models are trained briefly, on the CPU, on synthetic images this
script draws (coloured shapes on noisy, cluttered backgrounds), until their outputs are confident and varied.

Each model is ultralytics' YOLO11n yaml with a smaller width (0.1-0.4 M parameters, about 1 MB on disk), built
offline from the yaml (no downloaded weights) and trained with fixed seeds, one worker and deterministic algorithms.
detect26 is YOLO26's yaml at the same width; rtdetr is an RT-DETR in miniature (tests/assets/models/tiny_rtdetr.yaml,
0.43 M parameters, built with ultralytics' RTDETR class).

    .venv/bin/python scripts/train_test_models.py                 # every model, a quarter of an hour in all
    .venv/bin/python scripts/train_test_models.py --task pose     # one task
    .venv/bin/python scripts/train_test_models.py --check         # export each .pt to ONNX and predict with it

Writes tests/assets/models/tiny_{detect,segment,pose,obb,classify,detect26,rtdetr}.pt (ultralytics checkpoints:
``YOLO(path)``, or ``RTDETR(path)`` for rtdetr, loads them and ``.export(format="onnx")`` works offline) and prints
each model's parameter count, file size, training time and validation metrics.

The datasets:
  detect    circle / square / triangle, 1-4 a picture, boxes (also detect26's and rtdetr's data)
  segment   the same shapes with their polygons
  pose      one class, "square": rotated squares (up to 30 degrees) with 5 keypoints (corners TL, TR, BR, BL and
            the centre; flip_idx [1, 0, 3, 2, 4]), among unlabelled circles and triangles; some squares are partly
            outside the picture, their outside corners unlabelled (0 0 0)
  obb       rotated rectangles and ellipses of aspect 1.6-3, with their rotated boxes
  classify  one of circle / cross / hexagon / square / star / triangle a picture (six classes, so that top-5 is not
            everything), each class with its own (jittered, overlapping) hue, in ultralytics' classify folder layout
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

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "assets", "models"))
TASKS = ("detect", "segment", "pose", "obb", "classify", "detect26", "rtdetr")

# Per task: the ultralytics yaml, the scale that replaces its "n" row ([depth, width, max_channels]; yolo11n is
# [0.50, 0.25, 1024]), the picture size, the dataset sizes, the training length and any task-specific training
# arguments (segment trains better without the warm-up's 0.1 bias learning rate).
CONFIG = {
    "detect": {
        "yaml": "yolo11n.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 160,
        "train": 480,
        "val": 96,
        "epochs": 16,
    },
    "segment": {
        "yaml": "yolo11n-seg.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 128,
        "train": 480,
        "val": 96,
        "epochs": 16,
        "hyp": {"warmup_bias_lr": 0.0},
    },
    "pose": {
        "yaml": "yolo11n-pose.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 160,
        "train": 480,
        "val": 96,
        "epochs": 12,
    },
    "obb": {
        "yaml": "yolo11n-obb.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 160,
        "train": 480,
        "val": 96,
        "epochs": 16,
    },
    "classify": {
        "yaml": "yolo11n-cls.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 128,
        "train": 720,
        "val": 120,
        "epochs": 12,
    },
    # YOLO26 for its NMS-free end-to-end head (exported with nms=False), on the detect data
    "detect26": {
        "yaml": "yolo26n.yaml",
        "scale": [0.50, 0.125, 256],
        "imgsz": 160,
        "train": 480,
        "val": 96,
        "epochs": 16,
        "task": "detect",
    },
    # RT-DETR (ultralytics' RTDETR class) from the tiny yaml next to the weights, on the detect data
    "rtdetr": {
        "yaml": os.path.join(OUT, "tiny_rtdetr.yaml"),
        "imgsz": 160,
        "train": 480,
        "val": 96,
        "epochs": 32,
        "task": "detect",
    },
}
NAMES = {
    "detect": ("circle", "square", "triangle"),
    "segment": ("circle", "square", "triangle"),
    "pose": ("square",),
    "obb": ("rectangle", "ellipse"),
    "classify": ("circle", "cross", "hexagon", "square", "star", "triangle"),  # sorted, as ultralytics reads folders
    "detect26": ("circle", "square", "triangle"),
    "rtdetr": ("circle", "square", "triangle"),
}
KPT_SHAPE = (5, 3)
FLIP_IDX = (1, 0, 3, 2, 4)


# ----------------------------------------------------------------------------------------------------- drawing


def background(rng: np.random.Generator, size: int, clutter: bool = True) -> np.ndarray:
    """A noisy background: a colour gradient, Gaussian noise and (``clutter``) faint strokes and blobs."""
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    a = float(rng.uniform(0, 2 * math.pi))
    ramp = (math.cos(a) * t[None, :] + math.sin(a) * t[:, None]) / 2 + 0.5
    img = c0[None, None, :] * (1 - ramp[..., None]) + c1[None, None, :] * ramp[..., None]
    for _ in range(int(rng.integers(2, 7)) if clutter else 0):  # low-contrast clutter
        colour = tuple(float(v) for v in np.clip(img.mean((0, 1)) + rng.normal(0, 40, 3), 0, 255))
        p, q = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
        if rng.random() < 0.5:
            cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, int(rng.integers(1, 4)), cv2.LINE_AA)
        else:
            axes = (int(rng.integers(3, size // 6)), int(rng.integers(3, size // 6)))
            cv2.ellipse(img, (int(p[0]), int(p[1])), axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    img += rng.normal(0, rng.uniform(4, 16), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def contrasting(rng: np.random.Generator, img: np.ndarray, centre: tuple[float, float], r: float) -> tuple:
    """A random colour far enough from the background around ``centre``."""
    x, y, r = int(centre[0]), int(centre[1]), max(int(r), 2)
    patch = img[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].reshape(-1, 3)
    ref = patch.mean(0) if len(patch) else img.reshape(-1, 3).mean(0)
    for _ in range(50):
        colour = rng.integers(0, 256, 3)
        if np.linalg.norm(colour - ref) > 120:
            break
    return tuple(int(v) for v in colour)


def rotate(pts: np.ndarray, angle: float, cx: float, cy: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([cx + pts[:, 0] * c - pts[:, 1] * s, cy + pts[:, 0] * s + pts[:, 1] * c], 1).astype(np.float32)


def outline(kind: str, cx: float, cy: float, r: float, angle: float, aspect: float = 1.0) -> np.ndarray:
    """The polygon of a shape of radius ``r`` (its bounding circle) centred on (cx, cy), turned by ``angle``."""
    if kind == "circle":
        a = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        pts = np.stack([np.cos(a), np.sin(a)], 1) * r
    elif kind == "ellipse":  # r is the half major axis
        a = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        pts = np.stack([np.cos(a) * r, np.sin(a) * r / aspect], 1)
    elif kind == "square":
        pts = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], np.float64) * r / math.sqrt(2)
    elif kind == "rectangle":  # r is the half diagonal
        h = r / math.hypot(1.0, 1.0 / aspect)
        pts = np.array([(-h, -h / aspect), (h, -h / aspect), (h, h / aspect), (-h, h / aspect)])
    elif kind == "triangle":
        a = np.array([-math.pi / 2, math.pi / 6, 5 * math.pi / 6])
        pts = np.stack([np.cos(a), np.sin(a)], 1) * r
    elif kind == "hexagon":
        a = np.arange(6) * math.pi / 3
        pts = np.stack([np.cos(a), np.sin(a)], 1) * r
    elif kind == "star":
        a = np.arange(10) * math.pi / 5 - math.pi / 2
        rad = np.where(np.arange(10) % 2 == 0, r, r * 0.42)
        pts = np.stack([np.cos(a) * rad, np.sin(a) * rad], 1)
    elif kind == "cross":
        w = 0.3
        unit = [
            (-w, -1),
            (w, -1),
            (w, -w),
            (1, -w),
            (1, w),
            (w, w),
            (w, 1),
            (-w, 1),
            (-w, w),
            (-1, w),
            (-1, -w),
            (-w, -w),
        ]
        pts = np.array(unit) * r / math.hypot(1, w)
    else:
        raise ValueError(kind)
    return rotate(np.asarray(pts, np.float64), angle, cx, cy)


def fill(img: np.ndarray, pts: np.ndarray, colour: tuple) -> None:
    cv2.fillPoly(img, [np.round(pts * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)


def place(rng: np.random.Generator, size: int, taken: list, rmin: float, rmax: float, margin: float = 1.0):
    """A centre and radius whose circle lies inside the picture and clear of ``taken``; None after 30 tries."""
    for _ in range(30):
        r = float(rng.uniform(rmin, rmax))
        lo, hi = r * margin + 1, size - r * margin - 1
        if hi <= lo:
            continue
        cx, cy = float(rng.uniform(lo, hi)), float(rng.uniform(lo, hi))
        if all(math.hypot(cx - x, cy - y) > r + q + 2 for x, y, q in taken):
            taken.append((cx, cy, r))
            return cx, cy, r
    return None


# ---------------------------------------------------------------------------------------------------- scenes


def scene_shapes(rng: np.random.Generator, size: int, task: str) -> tuple[np.ndarray, list[str]]:
    """detect / segment: 1-4 non-overlapping circles, squares and triangles. Returns the picture and label rows."""
    img, taken, rows = background(rng, size), [], []
    names = NAMES[task]
    for _ in range(int(rng.integers(1, 5))):
        spot = place(rng, size, taken, size * 0.07, size * 0.2)
        if spot is None:
            continue
        cx, cy, r = spot
        cls = int(rng.integers(len(names)))
        pts = outline(names[cls], cx, cy, r, float(rng.uniform(0, 2 * math.pi)))
        fill(img, pts, contrasting(rng, img, (cx, cy), r))
        norm = np.clip(pts / size, 0.0, 1.0)
        if task == "detect":
            (x1, y1), (x2, y2) = norm.min(0), norm.max(0)
            rows.append(f"{cls} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
        else:
            rows.append(f"{cls} " + " ".join(f"{v:.6f}" for v in norm.reshape(-1)))
    return img, rows


def scene_pose(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[str]]:
    """1-3 rotated squares (some partly outside the picture) with 5 keypoints, and 0-2 unlabelled distractors.

    Corners outside the picture are unlabelled (0 0 0).
    """
    img, taken, rows = background(rng, size), [], []
    frame = np.array([(0, 0), (size, 0), (size, size), (0, size)], np.float32)
    for _ in range(int(rng.integers(0, 3))):  # distractors first, so that squares are drawn over them
        spot = place(rng, size, taken, size * 0.07, size * 0.16)
        if spot is not None:
            kind = ("circle", "triangle")[int(rng.integers(2))]
            pts = outline(kind, spot[0], spot[1], spot[2], float(rng.uniform(0, 2 * math.pi)))
            fill(img, pts, contrasting(rng, img, spot[:2], spot[2]))
    for _ in range(int(rng.integers(1, 4))):
        spot = place(rng, size, taken, size * 0.1, size * 0.24, margin=0.4 if rng.random() < 0.3 else 1.0)
        if spot is None:
            continue
        cx, cy, r = spot
        angle = float(rng.uniform(-math.pi / 6, math.pi / 6))
        corners = outline("square", cx, cy, r, angle)  # TL, TR, BR, BL (image y points down)
        visible_area, visible = cv2.intersectConvexConvex(corners, frame)
        if visible is None or visible_area < 0.4 * cv2.contourArea(corners):
            continue
        fill(img, corners, contrasting(rng, img, (cx, cy), r))
        inner = np.clip(visible.reshape(-1, 2) / size, 0, 1)
        (x1, y1), (x2, y2) = inner.min(0), inner.max(0)
        kpts = []
        for x, y in [*corners, (cx, cy)]:
            inside = 0 <= x < size and 0 <= y < size
            kpts += [x / size, y / size, 2.0] if inside else [0.0, 0.0, 0.0]
        rows.append(
            f"0 {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f} "
            + " ".join(f"{v:.6f}" for v in kpts)
        )
    return img, rows


def scene_obb(rng: np.random.Generator, size: int) -> tuple[np.ndarray, list[str]]:
    """1-4 rotated rectangles and ellipses with their rotated boxes (x1 y1 ... x4 y4, normalised)."""
    img, taken, rows = background(rng, size), [], []
    for _ in range(int(rng.integers(1, 5))):
        spot = place(rng, size, taken, size * 0.1, size * 0.24)
        if spot is None:
            continue
        cx, cy, r = spot
        cls = int(rng.integers(2))
        angle, aspect = float(rng.uniform(0, math.pi)), float(rng.uniform(1.6, 3.0))
        pts = outline(NAMES["obb"][cls], cx, cy, r, angle, aspect)
        fill(img, pts, contrasting(rng, img, (cx, cy), r))
        if cls == 0:
            box = pts
        else:  # the ellipse's rotated box: half axes r and r / aspect
            box = rotate(
                np.array([(-r, -r / aspect), (r, -r / aspect), (r, r / aspect), (-r, r / aspect)]), angle, cx, cy
            )
        rows.append(f"{cls} " + " ".join(f"{v:.6f}" for v in np.clip(box / size, 0, 1).reshape(-1)))
    return img, rows


def scene_classify(rng: np.random.Generator, size: int, cls: int) -> np.ndarray:
    """One shape of class ``cls``, roughly centred, at a random size and a small angle, on a background without clutter.

    Each class also has its own hue, jittered so that neighbouring classes overlap: a tiny model trained from scratch
    for a few epochs learns the colour cue at once and the shape only partly, so its probabilities are varied.
    """
    img = background(rng, size, clutter=False)
    r = float(rng.uniform(size * 0.25, size * 0.4))
    cx, cy = (float(rng.uniform(size / 2 - size * 0.1, size / 2 + size * 0.1)) for _ in range(2))
    pts = outline(NAMES["classify"][cls], cx, cy, r, float(rng.uniform(-math.pi / 12, math.pi / 12)))
    hue = (cls * 180 / len(NAMES["classify"]) + rng.uniform(-22, 22)) % 180  # OpenCV hue: 0-180
    hsv = np.uint8([[[hue, rng.integers(120, 256), rng.integers(120, 256)]]])
    fill(img, pts, tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]))
    return img


def scene_for(task: str, rng: np.random.Generator, size: int, i: int) -> np.ndarray:
    """The ``i``-th picture of a sequence for a model of ``task`` (classify: the classes in turn)."""
    if task == "classify":
        return scene_classify(rng, size, i % len(NAMES["classify"]))
    if task == "pose":
        return scene_pose(rng, size)[0]
    if task == "obb":
        return scene_obb(rng, size)[0]
    return scene_shapes(rng, size, task)[0]


# --------------------------------------------------------------------------------------------------- datasets


def write_dataset(task: str, root: str, n_train: int, n_val: int, size: int, seed: int) -> str:
    """Draw the task's dataset under ``root``; return what ``train(data=...)`` takes (a yaml, or a folder)."""
    rng = np.random.default_rng(seed)
    names = NAMES[task]
    for split, count in (("train", n_train), ("val", n_val)):
        if task == "classify":  # root/split/class/*.png
            for name in names:
                os.makedirs(os.path.join(root, split, name), exist_ok=True)
            for i in range(count):
                cls = i % len(names)
                img = scene_classify(rng, size, cls)
                cv2.imwrite(os.path.join(root, split, names[cls], f"{i:05d}.png"), img)
            continue
        os.makedirs(os.path.join(root, "images", split), exist_ok=True)
        os.makedirs(os.path.join(root, "labels", split), exist_ok=True)
        for i in range(count):
            img, rows = (
                scene_pose(rng, size)
                if task == "pose"
                else scene_obb(rng, size)
                if task == "obb"
                else scene_shapes(rng, size, task)
            )
            cv2.imwrite(os.path.join(root, "images", split, f"{i:05d}.png"), img)
            with open(os.path.join(root, "labels", split, f"{i:05d}.txt"), "w") as fh:
                fh.write("".join(row + "\n" for row in rows))
    if task == "classify":
        return root
    yaml_path = os.path.join(root, "data.yaml")
    with open(yaml_path, "w") as fh:
        fh.write(f"path: {root}\ntrain: images/train\nval: images/val\n")
        if task == "pose":
            fh.write(f"kpt_shape: {list(KPT_SHAPE)}\nflip_idx: {list(FLIP_IDX)}\n")
        fh.write("names:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(names)))
    return yaml_path


def model_yaml(task: str, folder: str) -> str:
    """Write the task's yolo11n yaml with its scale replaced; the file name keeps the "yolo11n" that selects it."""
    from ultralytics.nn.tasks import yaml_model_load
    from ultralytics.utils import YAML

    cfg = CONFIG[task]
    d = yaml_model_load(cfg["yaml"])
    d = {k: v for k, v in d.items() if k not in ("scale", "yaml_file")}
    d["scales"] = {"n": list(cfg["scale"])}
    d["nc"] = len(NAMES[task])
    if task == "pose":
        d["kpt_shape"] = list(KPT_SHAPE)
    path = os.path.join(folder, os.path.basename(cfg["yaml"]))  # e.g. yolo11n-seg.yaml: scale "n", task segment
    YAML.save(path, d)
    return path


def load(task: str, path: str):
    """An ultralytics model of the task from a yaml, a .pt or an .onnx: RTDETR for rtdetr, YOLO for the rest."""
    from ultralytics import RTDETR, YOLO

    return RTDETR(path) if task == "rtdetr" else YOLO(path, task=CONFIG[task].get("task", task))


def metrics_of(results) -> dict[str, float]:
    d = getattr(results, "results_dict", None) or {}
    return {k.replace("metrics/", ""): round(float(v), 4) for k, v in d.items() if k != "fitness"}


# ------------------------------------------------------------------------------------------------------ train


def train(task: str, work: str, seed: int, out: str, epochs: int | None) -> dict:
    cfg = CONFIG[task]
    folder = os.path.join(work, task)
    os.makedirs(folder, exist_ok=True)
    t0 = time.perf_counter()
    base = cfg.get("task", task)  # the ultralytics task (detect26 is a detect model)
    data = write_dataset(base, os.path.join(folder, "data"), cfg["train"], cfg["val"], cfg["imgsz"], seed)
    t_data = time.perf_counter() - t0
    model = load(task, cfg["yaml"] if task == "rtdetr" else model_yaml(task, folder))
    params = sum(p.numel() for p in model.model.parameters())
    # Short runs: light mosaic, one warm-up epoch and an optimizer step every batch (nbs=batch). Classify: no
    # RandAugment or erasing (they would recolour or hide the shape), crops of 80-100 % of the picture.
    hyp = {"mosaic": 0.5, "close_mosaic": 3, "scale": 0.3, "degrees": 0.0, "fliplr": 0.5, "mixup": 0.0}
    if task == "classify":
        hyp = {"auto_augment": None, "erasing": 0.0, "scale": 0.2, "fliplr": 0.5}
    hyp.update(optimizer="AdamW", lr0=0.004, warmup_epochs=1, patience=100)
    hyp.update(cfg.get("hyp", {}))
    t1 = time.perf_counter()
    results = model.train(
        data=data,
        epochs=epochs or cfg["epochs"],
        imgsz=cfg["imgsz"],
        batch=16,
        nbs=16,
        device="cpu",
        workers=0,
        seed=seed,
        deterministic=True,
        amp=False,
        plots=False,
        cache=False,
        val=True,
        project=folder,
        name="run",
        exist_ok=True,
        verbose=False,
        **hyp,
    )
    t_train = time.perf_counter() - t1
    best = os.path.join(folder, "run", "weights", "best.pt")
    os.makedirs(out, exist_ok=True)
    dest = os.path.join(out, f"tiny_{task}.pt")
    shutil.copyfile(best, dest)
    return {
        "task": task,
        "params": params,
        "bytes": os.path.getsize(dest),
        "data_s": round(t_data, 1),
        "train_s": round(t_train, 1),
        "imgsz": cfg["imgsz"],
        "metrics": metrics_of(results),
        "path": dest,
    }


# ------------------------------------------------------------------------------------------------------ check


def check(task: str, out: str, work: str, seed: int, n_images: int = 12) -> dict:
    """Export the .pt to ONNX in ``work`` and predict with the ONNX file on freshly drawn pictures."""
    cfg = CONFIG[task]
    base = cfg.get("task", task)  # the ultralytics task
    folder = os.path.join(work, f"check_{task}")
    os.makedirs(folder, exist_ok=True)
    pt = os.path.join(folder, f"tiny_{task}.pt")
    shutil.copyfile(os.path.join(out, f"tiny_{task}.pt"), pt)
    onnx_path = load(task, pt).export(format="onnx", imgsz=cfg["imgsz"])  # the defaults, as the tests call it
    rng = np.random.default_rng(seed + 1000)
    images = []
    for i in range(n_images):
        if task == "classify":
            images.append(scene_classify(rng, cfg["imgsz"], i % len(NAMES[task])))
        elif base in ("detect", "segment"):
            images.append(scene_shapes(rng, cfg["imgsz"], base)[0])
        else:
            images.append((scene_pose if task == "pose" else scene_obb)(rng, cfg["imgsz"])[0])
    model = load(task, onnx_path)
    report: dict = {"task": task, "onnx": onnx_path}
    confs, kconfs, angles, top5, classes, n_kept, right = [], [], [], [], [], [], 0
    for i, img in enumerate(images):
        r = model.predict(img, imgsz=cfg["imgsz"], verbose=False)[0]
        if task == "classify":
            top5.append([round(float(p), 3) for p in np.sort(r.probs.data.numpy())[::-1][:5]])
            right += r.names[r.probs.top1] == NAMES[task][i % len(NAMES[task])]
            continue
        boxes = r.obb if task == "obb" else r.boxes
        n_kept.append(len(boxes))
        confs += boxes.conf.numpy().tolist()
        classes += boxes.cls.numpy().astype(int).tolist()
        if task == "obb":
            angles += np.degrees(boxes.xywhr.numpy()[:, 4]).tolist()
        if task == "pose" and r.keypoints is not None and r.keypoints.conf is not None:
            kconfs += r.keypoints.conf.numpy().reshape(-1).tolist()

    def stats(v):
        if not v:
            return {"n": 0}
        return {"n": len(v), "min": round(min(v), 3), "max": round(max(v), 3), "mean": round(float(np.mean(v)), 3)}

    if task == "classify":
        report.update(top1_right=f"{right}/{len(images)}", top5=top5)
    else:
        report.update(kept_per_image=n_kept, conf=stats(confs), classes=sorted(set(classes)))
    if task == "pose":
        report["kpt_conf"] = stats(kconfs)
    if task == "obb":
        report["angle_deg"] = stats(angles)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, action="append", help="train only this task (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override every task's epoch count")
    parser.add_argument("--out", default=OUT, help=f"where the .pt files go (default {OUT})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not train: export each existing .pt to ONNX (in a temporary folder) and predict",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (datasets, runs)")
    args = parser.parse_args()
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    tasks = args.task or list(TASKS)

    work = tempfile.mkdtemp(prefix="vidcv-test-models-")
    summary, start = [], time.perf_counter()
    try:
        for task in tasks:
            if args.check:
                rep = check(task, args.out, work, args.seed)
            else:
                rep = train(task, work, args.seed, args.out, args.epochs)
                rep["bytes"] = f"{rep['bytes']} ({rep['bytes'] / 1e6:.2f} MB)"
            summary.append(rep)
            print(f"\n== {task}: " + ", ".join(f"{k}={v}" for k, v in rep.items() if k != "task"), flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nsummary ({time.perf_counter() - start:.0f} s in all)")
    for rep in summary:
        print(f"  {rep['task']:9s} " + ", ".join(f"{k}={v}" for k, v in rep.items() if k != "task"))


if __name__ == "__main__":
    sys.exit(main())
