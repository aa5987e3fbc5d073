"""Benchmark: at the same labelling budget, do models trained on the frames `vidcv extract --select` picks score
better than on frames taken at a stride (`--every`) or at random?

A generated training video (shapes moving over textured photographs that change along the video, in stretches
of different kinds: plain, small shapes, shapes behind bars, blurred, dark and noisy, recoloured and spinning,
crowded; the drawing code of scripts/make_sample.py) gives ``--budget`` frames to each strategy:

- ``uncertain+diverse`` and ``diverse``: ``vidcv extract VIDEO --pipeline shapes --select MODE --budget B``.
  The pipeline is the bundled preset ``shapes``, the demo detector (assets/models/shapes_yolov8n.onnx) as the
  "current model" a user has before training their own; only the frame indices are taken from the dataset it
  writes. Both choices depend only on the video and the pipeline, so they are the same for every seed.
- ``stride``: the frames ``--every N`` reads, N = frames // budget (frames 0, N, 2N ...), the same for every seed.
- ``random``: ``budget`` frames drawn without replacement, by the seed.

The picked frames are labelled from the generator's truth (as a careful person would, not with the detector's
boxes; a shape less than MIN_VISIBLE visible, behind bars or other shapes, is not labelled) into a vidcv dataset
per run: images/train, labels/train, data.yaml with vidcv_format yolo, and images/val, the same ``--val-frames``
truth-labelled frames spread evenly over a third video for every run (ultralytics keeps best.pt by them). Then
`vidcv train` trains a model from ultralytics' yaml (no weights: from scratch) on the CPU with the seed, and its
best.pt is scored by ultralytics' own validator (``YOLO(best.pt).val``, offline as `vidcv train`'s child sets it
up) on a test dataset: every ``--test-every``-th frame of a separate test video (twice as long, another seed of
the same generator), labelled from its truth. Prints each run, a table per strategy (mean, std, min-max over the
seeds of mAP50 and mAP50-95, ratio of the means to the stride's) and writes them all with ``--json PATH``.

    .venv/bin/python bench/bench_select.py [--budget 40] [--seeds 3] [--epochs 80] [--imgsz 224] [--frames 1200]
    .venv/bin/python bench/bench_select.py --quick      # a tiny run: checks that everything works (minutes)

Not a test: nothing is asserted; it measures, whichever way it falls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_sample import CLASSES, COLORS, SHAPE_SIZE, Shape, draw_shape  # noqa: E402
from train_demo_model import backgrounds  # noqa: E402

FPS = 30
STRATEGIES = ("uncertain+diverse", "diverse", "stride", "random")
BASELINE = "stride"
#: the fixed seeds of the three videos (the runs' seeds change the picks and the trainings, never the videos)
TRAIN_VIDEO_SEED, TEST_VIDEO_SEED, VAL_VIDEO_SEED = 101, 202, 303
TEST_LENGTH = 2  #: the test video is this many times the training video (more stretches: all kinds in it)
PIPELINE = "shapes"  #: the bundled preset: the demo detector, the "current model" of --select
MIN_VISIBLE = 0.3  #: a shape less visible than this (behind bars or other shapes) is not labelled


@dataclass(frozen=True)
class Regime:
    """What a stretch of the video looks like."""

    size: tuple[float, float] = (0.8, 1.2)  #: shape size, times the sample's (scaled to the frame width)
    count: tuple[int, int] = (2, 4)  #: shapes on screen, inclusive
    speed: tuple[float, float] = (1.0, 4.0)  #: pixels per frame
    shutter: float = 0.4  #: motion blur (share of a frame interval)
    defocus: float = 0.0  #: Gaussian blur sigma of the whole frame
    any_colour: bool = False  #: any saturated colour, whatever the class (else the sample's class colours)
    spin: bool = False  #: shapes turn as they move
    bars: int = 0  #: vertical bars in front of the shapes
    dark: bool = False  #: low contrast, dim, noisy


REGIMES = {
    "plain": Regime(),
    "small": Regime(size=(0.35, 0.55), count=(3, 6)),
    "bars": Regime(bars=4),
    "blurred": Regime(speed=(8.0, 14.0), shutter=1.0, defocus=1.6),
    "dark": Regime(dark=True),
    "recoloured": Regime(any_colour=True, spin=True),
    "crowded": Regime(size=(0.6, 1.0), count=(6, 9)),
}
#: the kinds of stretch in each round of the video, dealt in a shuffled order: plain is the common case (twice a
#: round), each hard kind comes once; a video of 8 stretches or more has every kind in it
ROUND = ("plain", "plain", "small", "bars", "blurred", "dark", "recoloured", "crowded")
STRETCH = (50, 200)  #: frames in a stretch, inclusive


@dataclass
class Mover:
    kind: str
    x: float
    y: float
    vx: float
    vy: float
    size: float
    angle: float
    spin: float
    color: tuple[int, int, int]


@dataclass
class Stretch:
    regime: str
    start: int
    end: int  #: exclusive
    photo: int
    pan: tuple[float, float, float, float]  #: background offsets (x0, y0) at the start and (x1, y1) at the end
    movers: list[Mover] = field(default_factory=list)
    bars: list[tuple[float, float, float]] = field(default_factory=list)  #: x, width, speed
    tone: tuple[float, float] = (1.0, 0.0)  #: contrast, brightness


def _colour(rng: np.random.Generator, kind: str, any_colour: bool) -> tuple[int, int, int]:
    if not any_colour:
        base = np.array(COLORS[kind], np.float64)
        return tuple(int(v) for v in np.clip(base + rng.uniform(-20, 20, 3), 0, 255))
    hsv = np.array([[[rng.integers(0, 180), rng.integers(140, 256), rng.integers(110, 256)]]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def plan_video(frames: int, seed: int, width: int, height: int, n_photos: int) -> list[Stretch]:
    """The stretches of a video: kinds dealt round after round from ROUND in a shuffled order (never the same kind
    twice in a row), lengths in STRETCH, each over another photograph (a background that changes along the video),
    with their shapes' starting states."""
    rng = np.random.default_rng(seed)
    base = SHAPE_SIZE * width / 640
    stretches: list[Stretch] = []
    start, last_photo = 0, -1
    deck: list[str] = []
    while start < frames:
        if not deck:
            deck = [ROUND[int(i)] for i in rng.permutation(len(ROUND))]
        at = next((k for k, n in enumerate(deck) if not stretches or n != stretches[-1].regime), 0)
        name = deck.pop(at)
        length = int(rng.integers(STRETCH[0], STRETCH[1] + 1))
        end = min(frames, start + length)
        if frames - end < STRETCH[0] // 2:
            end = frames
        photo = int(rng.integers(n_photos))
        while photo == last_photo:
            photo = int(rng.integers(n_photos))
        last_photo = photo
        regime = REGIMES[name]
        dark = (float(rng.uniform(0.4, 0.55)), float(rng.uniform(-35, -15))) if regime.dark else None
        tone = dark or (float(rng.uniform(0.85, 1.15)), float(rng.uniform(-15, 15)))
        s = Stretch(name, start, end, photo, tuple(float(v) for v in rng.uniform(0, 1, 4)), tone=tone)
        for _ in range(int(rng.integers(regime.count[0], regime.count[1] + 1))):
            kind = CLASSES[int(rng.integers(len(CLASSES)))]
            size = base * float(rng.uniform(*regime.size))
            reach = size * 0.75
            speed, heading = float(rng.uniform(*regime.speed)), float(rng.uniform(0, 2 * math.pi))
            s.movers.append(
                Mover(
                    kind,
                    float(rng.uniform(reach, width - reach)),
                    float(rng.uniform(reach, height - reach)),
                    speed * math.cos(heading),
                    speed * math.sin(heading),
                    size,
                    float(rng.uniform(0, 2 * math.pi)) if regime.spin else 0.0,
                    float(rng.uniform(-0.08, 0.08)) if regime.spin else 0.0,
                    _colour(rng, kind, regime.any_colour),
                )
            )
        for _ in range(regime.bars):
            s.bars.append(
                (float(rng.uniform(0, width)), base * float(rng.uniform(0.2, 0.3)), float(rng.uniform(-1, 1)))
            )
        stretches.append(s)
        start = end
    return stretches


def _mask(shape: Shape, width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(shape.outline() * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    return mask


def _cover(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photograph scaled to 1.5 times the frame (at least), to pan over."""
    scale = max(width * 1.5 / photo.shape[1], height * 1.5 / photo.shape[0])
    return cv2.resize(
        photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )


def _background(big: np.ndarray, s: Stretch, i: int, width: int, height: int) -> np.ndarray:
    u = (i - s.start) / max(1, s.end - s.start - 1)
    fx, fy = s.pan[0] + (s.pan[2] - s.pan[0]) * u, s.pan[1] + (s.pan[3] - s.pan[1]) * u
    ox, oy = int(fx * (big.shape[1] - width)), int(fy * (big.shape[0] - height))
    return big[oy : oy + height, ox : ox + width].copy()


def render_video(
    path: str, frames: int, seed: int, width: int, height: int
) -> tuple[list[list[tuple[int, float, float, float, float]]], list[str]]:
    """Write the video (mp4v, like the sample) and return its truth: per frame, (class, x1, y1, x2, y2) of every
    shape at least MIN_VISIBLE visible, in pixel-edge coordinates, clipped to the frame; and each frame's kind."""
    photos = backgrounds()
    stretches = plan_video(frames, seed, width, height, len(photos))
    rng = np.random.default_rng(seed + 1)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path}")
    truth: list[list[tuple[int, float, float, float, float]]] = []
    kinds: list[str] = []
    for s in stretches:
        regime = REGIMES[s.regime]
        big = _cover(photos[s.photo], width, height)
        for i in range(s.start, s.end):
            img = _background(big, s, i, width, height)
            visible = np.zeros((height, width), np.int16) - 1
            shapes = []
            for k, m in enumerate(s.movers):
                reach = m.size * 0.75
                m.x, m.y, m.angle = m.x + m.vx, m.y + m.vy, m.angle + m.spin
                if not reach <= m.x <= width - reach:
                    m.vx, m.x = -m.vx, float(np.clip(m.x, reach, width - reach))
                if not reach <= m.y <= height - reach:
                    m.vy, m.y = -m.vy, float(np.clip(m.y, reach, height - reach))
                shape = Shape(m.kind, m.x, m.y, m.size, m.angle, m.color)
                draw_shape(img, shape, (m.vx, m.vy), regime.shutter)
                mask = _mask(shape, width, height) > 127
                visible[mask] = k
                shapes.append((shape, int(mask.sum())))
            for j, (x, w, v) in enumerate(s.bars):
                x = (x + v * (i - s.start)) % (width + w) - w
                x0, x1 = max(0, round(x)), min(width, round(x + w))
                if x1 > x0:
                    shade = 60 + 40 * (j % 3)
                    img[:, x0:x1] = (shade, shade + 10, shade + 20)
                    visible[:, x0:x1] = -1
            if regime.defocus:
                img = cv2.GaussianBlur(img, (0, 0), regime.defocus)
            alpha, beta = s.tone
            img = cv2.convertScaleAbs(img, alpha=alpha, beta=beta)
            if regime.dark:
                noise = rng.normal(0, 6, img.shape)
                img = np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8)
            writer.write(img)
            counts = np.bincount(visible[visible >= 0].ravel(), minlength=len(shapes))
            boxes = []
            for k, (shape, area) in enumerate(shapes):
                if area and counts[k] / area >= MIN_VISIBLE:
                    x1, y1, x2, y2 = shape.box()
                    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
                    if x2 - x1 >= 2 and y2 - y1 >= 2:
                        boxes.append((CLASSES.index(shape.kind), x1, y1, x2, y2))
            truth.append(boxes)
            kinds.append(s.regime)
    writer.release()
    return truth, kinds


def read_frames(path: str, wanted: set[int] | None = None) -> dict[int, np.ndarray]:
    """The decoded frames of ``path`` (those in ``wanted``, or all), by index."""
    cap = cv2.VideoCapture(path)
    out: dict[int, np.ndarray] = {}
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        if wanted is None or i in wanted:
            out[i] = img
        i += 1
    cap.release()
    return out


def label_lines(boxes: list[tuple[int, float, float, float, float]], width: int, height: int) -> str:
    return "".join(
        f"{c} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}\n"
        for c, x1, y1, x2, y2 in boxes
    )


def write_split(root: str, split: str, images: dict[int, np.ndarray], truth: list, prefix: str) -> None:
    """Frames and their truth labels into ROOT/images/SPLIT and ROOT/labels/SPLIT (JPEG, as vidcv extract writes)."""
    os.makedirs(os.path.join(root, "images", split), exist_ok=True)
    os.makedirs(os.path.join(root, "labels", split), exist_ok=True)
    for i, img in images.items():
        name = f"{prefix}_{i:06d}"
        cv2.imwrite(os.path.join(root, "images", split, name + ".jpg"), img)
        with open(os.path.join(root, "labels", split, name + ".txt"), "w") as fh:
            fh.write(label_lines(truth[i], img.shape[1], img.shape[0]))


def write_data_yaml(root: str, val: str = "images/val") -> str:
    path = os.path.join(root, "data.yaml")
    with open(path, "w") as fh:
        fh.write(f"path: {root}\ntrain: images/train\nval: {val}\nvidcv_format: yolo\nnames:\n")
        fh.writelines(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
    return path


def pick_stride(frames: int, budget: int) -> list[int]:
    """The frames `--every N` reads, N the stride that gives ``budget`` of them."""
    every = max(1, frames // budget)
    return list(range(0, frames, every))[:budget]


def pick_random(frames: int, budget: int, seed: int) -> list[int]:
    return sorted(int(i) for i in np.random.default_rng(seed).choice(frames, size=budget, replace=False))


def vidcv_bin() -> str:
    return shutil.which("vidcv", path=os.path.dirname(sys.executable)) or "vidcv"


def pick_select(video: str, mode: str, budget: int, work: str) -> tuple[list[int], float]:
    """The frames `vidcv extract --select MODE --budget B` keeps (from its manifest), and the seconds it took."""
    out = os.path.join(work, f"extract-{mode.replace('+', '-')}")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [vidcv_bin(), "extract", video, "--pipeline", PIPELINE, "--out", out, "--select", mode]
    cmd += ["--budget", str(budget), "--quiet"]
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    took = time.monotonic() - start
    picked = set()
    with open(os.path.join(out, "manifest.jsonl")) as fh:
        for line in fh:
            rec = json.loads(line)
            if "frame" in rec:
                picked.add(int(rec["frame"]))
    return sorted(picked), took


def train(dataset: str, run: str, args: argparse.Namespace, seed: int) -> float:
    """`vidcv train` on ``dataset`` into ``run``; its seconds."""
    cmd = [vidcv_bin(), "train", dataset, "--model", args.model, "--epochs", str(args.epochs)]
    cmd += ["--imgsz", str(args.imgsz), "--batch", str(args.batch), "--device", "cpu", "--workers", "0"]
    cmd += ["--seed", str(seed), "--out", run, "--quiet"]
    start = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        raise SystemExit(f"vidcv train failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return time.monotonic() - start


class Evaluator:
    """ultralytics' validator on the test dataset, offline as vidcv train's child sets it up."""

    def __init__(self, work: str) -> None:
        from vidcv.training.child import offline_ultralytics, patch_ultralytics

        self.config = tempfile.mkdtemp(prefix="ultralytics-", dir=work)
        os.environ["YOLO_VERBOSE"] = "False"  # the scores are printed here, one line a run
        offline_ultralytics(self.config)
        patch_ultralytics()
        self.work = work

    def __call__(self, weights: str, data: str, imgsz: int, name: str) -> dict[str, float]:
        from ultralytics import YOLO

        metrics = YOLO(weights).val(
            data=data,
            split="val",
            imgsz=imgsz,
            batch=16,
            device="cpu",
            workers=0,
            plots=False,
            verbose=False,
            project=os.path.join(self.work, "eval"),
            name=name,
            exist_ok=True,
        )
        return {
            "map50": float(metrics.box.map50),
            "map50_95": float(metrics.box.map),
            "precision": float(metrics.box.mp),
            "recall": float(metrics.box.mr),
        }


def spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per strategy: mean, std, min, max over seeds of each metric, and the ratio of the means to the baseline's."""
    out: dict[str, dict[str, Any]] = {}
    for strategy in STRATEGIES:
        mine = [r for r in runs if r["strategy"] == strategy]
        if mine:
            out[strategy] = {m: spread([r[m] for r in mine]) for m in ("map50", "map50_95")}
            out[strategy]["runs"] = len(mine)
    base = out.get(BASELINE)
    for figures in out.values():
        for m in ("map50", "map50_95"):
            b = base[m]["mean"] if base else 0.0
            figures[m]["ratio"] = figures[m]["mean"] / b if b > 0 else None
    return out


def table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"  {'strategy':<18} {'mAP50 mean':>10} {'std':>6} {'min-max':>12} {'/stride':>8}   "
        f"{'mAP50-95 mean':>13} {'std':>6} {'min-max':>12} {'/stride':>8}"
    ]
    for strategy, f in summary.items():
        cells = []
        for m in ("map50", "map50_95"):
            s = f[m]
            ratio = f"{s['ratio']:.2f}x" if s["ratio"] is not None else "-"
            width = 10 if m == "map50" else 13
            cells.append(f"{s['mean']:>{width}.3f} {s['std']:>6.3f} {s['min']:>5.3f}-{s['max']:<6.3f} {ratio:>8}")
        lines.append(f"  {strategy:<18} {cells[0]}   {cells[1]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=40, help="frames labelled per run (default 40)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per strategy (default 3)")
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--imgsz", type=int, default=224)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", default="yolov8n.yaml", help="ultralytics model yaml, trained from scratch")
    parser.add_argument(
        "--frames",
        type=int,
        default=1200,
        help="frames of the training video (the test video has twice as many; default 1200)",
    )
    parser.add_argument("--size", default="416x240", help="frame size WxH (default 416x240)")
    parser.add_argument("--test-every", type=int, default=6, help="score on every Nth test frame (default 6)")
    parser.add_argument("--val-frames", type=int, default=40, help="frames of the fixed val split (default 40)")
    parser.add_argument(
        "--strategies", default=",".join(STRATEGIES), help="comma-separated, of " + ", ".join(STRATEGIES)
    )
    parser.add_argument("--json", metavar="PATH", help="write the settings, every run and the summary here")
    parser.add_argument(
        "--work", metavar="DIR", help="keep the videos, datasets and runs in DIR (default: a temporary folder)"
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run that checks the script works")
    args = parser.parse_args()
    if args.quick:
        args.budget, args.seeds, args.epochs, args.imgsz, args.frames = 8, 1, 1, 160, 240
        args.test_every, args.val_frames = 8, 8
    width, height = (int(v) for v in args.size.lower().split("x"))
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"--strategies: unknown {', '.join(unknown)}; use some of {', '.join(STRATEGIES)}")
    if args.budget > args.frames:
        raise SystemExit(f"--budget {args.budget} is more than --frames {args.frames}")

    started = time.monotonic()
    work = os.path.abspath(args.work) if args.work else tempfile.mkdtemp(prefix="vidcv-bench-select-")
    os.makedirs(work, exist_ok=True)
    try:
        report = run(args, strategies, width, height, work, started)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
            fh.write("\n")
        print(f"wrote {args.json}")


def run(
    args: argparse.Namespace, strategies: list[str], width: int, height: int, work: str, started: float
) -> dict[str, Any]:
    videos = {}
    for name, seed, frames in (
        ("train", TRAIN_VIDEO_SEED, args.frames),
        ("test", TEST_VIDEO_SEED, args.frames * TEST_LENGTH),
        ("val", VAL_VIDEO_SEED, args.frames),
    ):
        path = os.path.join(work, f"{name}.mp4")
        truth, kinds = render_video(path, frames, seed, width, height)
        cap = cv2.VideoCapture(path)
        decoded = 0
        while cap.grab():
            decoded += 1
        cap.release()
        if decoded != frames:
            raise SystemExit(f"{path}: {decoded} frames decoded of {frames} written")
        videos[name] = (path, truth, kinds)
        stretch = Counter(kinds)
        print(
            f"{name} video: {frames} frames {width}x{height}, {sum(len(b) for b in truth)} boxes; frames per kind: "
            + ", ".join(f"{k} {stretch[k]}" for k in REGIMES if stretch[k])
        )

    # the fixed val split (ultralytics keeps best.pt by it) and the test dataset, both labelled from the truth
    val_path, val_truth, _ = videos["val"]
    val_idx = np.linspace(0, len(val_truth) - 1, args.val_frames).round().astype(int)
    val_images = read_frames(val_path, {int(i) for i in val_idx})
    test_path, test_truth, test_kinds = videos["test"]
    test_idx = set(range(0, len(test_truth), args.test_every))
    test_root = os.path.join(work, "test-dataset")
    write_split(test_root, "val", read_frames(test_path, test_idx), test_truth, "test")
    test_yaml = write_data_yaml(test_root)
    test_boxes = sum(len(test_truth[i]) for i in test_idx)
    print(f"test set: {len(test_idx)} frames (every {args.test_every}th of the test video), {test_boxes} boxes")

    train_path, train_truth, train_kinds = videos["train"]
    picks: dict[tuple[str, int], list[int]] = {}
    select_seconds: dict[str, float] = {}
    for mode in ("uncertain+diverse", "diverse"):
        if mode in strategies:
            chosen, took = pick_select(train_path, mode, args.budget, work)
            select_seconds[mode] = took
            for seed in range(args.seeds):
                picks[(mode, seed)] = chosen
            print(f"vidcv extract --select {mode} --budget {args.budget}: {len(chosen)} frames in {took:.1f} s")
    for seed in range(args.seeds):
        if "stride" in strategies:
            picks[("stride", seed)] = pick_stride(len(train_truth), args.budget)
        if "random" in strategies:
            picks[("random", seed)] = pick_random(len(train_truth), args.budget, seed)
    wanted = {i for chosen in picks.values() for i in chosen}
    train_images = read_frames(train_path, wanted)

    evaluate = Evaluator(work)
    runs: list[dict[str, Any]] = []
    print(
        f"\ntraining {args.model} from scratch, {args.epochs} epochs at {args.imgsz} px, batch {args.batch}, CPU "
        f"({os.cpu_count()} CPUs); scoring best.pt with ultralytics' val on the test set"
    )
    for seed in range(args.seeds):
        for strategy in strategies:
            chosen = picks[(strategy, seed)]
            tag = f"{strategy.replace('+', '-')}-s{seed}"
            root = os.path.join(work, "datasets", tag)
            shutil.rmtree(root, ignore_errors=True)
            write_split(root, "train", {i: train_images[i] for i in chosen}, train_truth, "train")
            write_split(root, "val", val_images, val_truth, "val")
            write_data_yaml(root)
            run_dir = os.path.join(work, "runs", tag)
            shutil.rmtree(run_dir, ignore_errors=True)
            seconds = train(root, run_dir, args, seed)
            with open(os.path.join(run_dir, "vidcv_run.json")) as fh:
                record = json.load(fh)
            scores = evaluate(os.path.join(run_dir, "weights", "best.pt"), test_yaml, args.imgsz, tag)
            per_kind = Counter(train_kinds[i] for i in chosen)
            result = {
                "strategy": strategy,
                "seed": seed,
                "frames": chosen,
                "boxes": sum(len(train_truth[i]) for i in chosen),
                "frames_per_kind": {k: per_kind[k] for k in REGIMES},
                "train_seconds": round(seconds, 1),
                "val_metrics": record.get("metrics", {}),
                **{k: round(v, 4) for k, v in scores.items()},
            }
            runs.append(result)
            print(
                f"  {strategy:<18} seed {seed}: mAP50 {scores['map50']:.3f}  mAP50-95 {scores['map50_95']:.3f}  "
                f"(P {scores['precision']:.3f} R {scores['recall']:.3f}; {result['boxes']} boxes; "
                f"trained in {seconds:.0f} s; kinds "
                + " ".join(f"{k}:{n}" for k, n in result["frames_per_kind"].items())
                + ")",
                flush=True,
            )
    summary = summarise(runs)
    elapsed = time.monotonic() - started
    test_kind = Counter(test_kinds[i] for i in test_idx)
    print(
        f"\n{args.budget} frames labelled per run from a {args.frames}-frame {width}x{height} video; {args.model} from "
        f"scratch, {args.epochs} epochs, imgsz {args.imgsz}, batch {args.batch}, CPU; {args.seeds} seeds; scored "
        f"on {len(test_idx)} frames of a separate test video ({test_boxes} boxes); --select's current model: the "
        f"bundled demo detector (preset {PIPELINE}); {os.cpu_count()} CPUs; {elapsed / 60:.1f} min"
    )
    print(table(summary))
    print(f"  load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return {
        "settings": {
            "budget": args.budget,
            "seeds": args.seeds,
            "epochs": args.epochs,
            "imgsz": args.imgsz,
            "batch": args.batch,
            "model": args.model,
            "frames": args.frames,
            "size": [width, height],
            "test_every": args.test_every,
            "test_frames": len(test_idx),
            "test_boxes": test_boxes,
            "test_frames_per_kind": {k: test_kind[k] for k in REGIMES},
            "train_frames_per_kind": {k: Counter(train_kinds)[k] for k in REGIMES},
            "val_frames": args.val_frames,
            "select_pipeline": PIPELINE,
            "select_seconds": select_seconds,
            "metric": "ultralytics YOLO(best.pt).val on the truth-labelled test frames",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "runs": runs,
        "summary": summary,
        "minutes": round(elapsed / 60, 1),
    }


if __name__ == "__main__":
    main()
