"""Make assets/sample.mp4 and its ground truth assets/sample_truth.json: a deterministic 10 s clip.

The astronaut portrait (Eileen Collins, NASA, public domain, bundled with scikit-image) glides over a
slowly panning background (scikit-image's "coffee" photograph). Over them move the three shapes the
bundled demo detector knows: a yellow circle, a blue square and a green triangle, each crossing the
vertical middle line (x = 320) that the ``track_shapes`` preset counts, the triangle partly overlapping
the square once. Every kind of plugin has something to work on, a face detector has a face to find and
the demo detector has its own classes. Shapes are drawn with sub-pixel positions and a short virtual
shutter (motion blur); the video is mp4v-compressed.

The truth file holds, per frame, each shape's id, class and box (x1, y1, x2, y2 in pixel-edge
coordinates: the geometric extent of the shape at the frame's time), so that tests can check the
detector and the line counts against the geometry.

    .venv/bin/python scripts/make_sample.py [--out assets/sample.mp4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 30
CLASSES = ("circle", "square", "triangle")  # the demo detector's classes, in its order
SHAPE_SIZE = 56  # box side of each shape at angle 0, in pixels of the 640x360 frame
COLORS = {"circle": (40, 200, 255), "square": (220, 60, 40), "triangle": (60, 190, 60)}  # BGR
SHUTTER = 0.4  # part of a frame interval the virtual shutter is open: the length of the motion blur
PORTRAIT = 200  # side of the astronaut portrait, pixels
BACKGROUND_WIDTH = WIDTH * 3 // 2  # the coffee photograph is scaled to this width, then panned


@dataclass(frozen=True)
class Shape:
    """One shape at one instant: class, centre, box side at angle 0, rotation (radians), colour."""

    kind: str
    cx: float
    cy: float
    size: float
    angle: float = 0.0
    color: tuple[int, int, int] = (255, 255, 255)

    def outline(self) -> np.ndarray:
        """Polygon (N x 2, float) in OpenCV pixel-centre coordinates; a circle as 64 points."""
        h = self.size / 2
        if self.kind == "circle":
            a = np.linspace(0, 2 * math.pi, 64, endpoint=False)
            return np.stack([self.cx + h * np.cos(a), self.cy + h * np.sin(a)], axis=1)
        if self.kind == "square":
            pts = [(-h, -h), (h, -h), (h, h), (-h, h)]
        elif self.kind == "triangle":  # isosceles, apex up at angle 0: base and height equal the size
            pts = [(0.0, -h), (h, h), (-h, h)]
        else:
            raise ValueError(f"unknown shape {self.kind!r}: use one of {', '.join(CLASSES)}")
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.array([(self.cx + x * c - y * s, self.cy + x * s + y * c) for x, y in pts], np.float64)

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned extent in pixel-edge coordinates (pixel i spans [i, i + 1]), as YOLO labels count."""
        if self.kind == "circle":
            h = self.size / 2
            x1, y1, x2, y2 = self.cx - h, self.cy - h, self.cx + h, self.cy + h
        else:
            pts = self.outline()
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
        return float(x1 + 0.5), float(y1 + 0.5), float(x2 + 0.5), float(y2 + 0.5)


def _mask(shape: Shape, dx: float, dy: float, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """Anti-aliased coverage (uint8) of the shape moved by (dx, dy), in the window at (x0, y0) of size w x h."""
    mask = np.zeros((h, w), np.uint8)
    shift = 4
    if shape.kind == "circle":
        centre = (round((shape.cx + dx - x0) * 16), round((shape.cy + dy - y0) * 16))
        cv2.circle(mask, centre, round(shape.size / 2 * 16), 255, -1, cv2.LINE_AA, shift)
    else:
        pts = shape.outline() + (dx - x0, dy - y0)
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, shift)
    return mask


def draw_shape(
    img: np.ndarray,
    shape: Shape,
    velocity: tuple[float, float] = (0.0, 0.0),
    shutter: float = SHUTTER,
    samples: int = 7,
) -> None:
    """Composite a filled shape onto ``img`` (in place), blurred along ``velocity`` (pixels per frame)
    over ``shutter`` of a frame interval centred on the shape's position."""
    vx, vy = velocity[0] * shutter, velocity[1] * shutter
    x1, y1, x2, y2 = shape.box()
    x0, y0 = max(0, math.floor(x1 - abs(vx) / 2) - 2), max(0, math.floor(y1 - abs(vy) / 2) - 2)
    xe = min(img.shape[1], math.ceil(x2 + abs(vx) / 2) + 2)
    ye = min(img.shape[0], math.ceil(y2 + abs(vy) / 2) + 2)
    if xe <= x0 or ye <= y0:
        return
    w, h = xe - x0, ye - y0
    n = samples if (vx or vy) else 1
    offsets = np.linspace(-0.5, 0.5, n) if n > 1 else np.zeros(1)
    alpha = sum(_mask(shape, vx * o, vy * o, x0, y0, w, h).astype(np.float32) for o in offsets) / (255.0 * n)
    roi = img[y0:ye, x0:xe].astype(np.float32)
    roi += (np.array(shape.color, np.float32) - roi) * alpha[:, :, None]
    img[y0:ye, x0:xe] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)


def shapes_at(t: float) -> list[Shape]:
    """The sample's three shapes at time t (seconds), in drawing order (the last is on top)."""
    s = SHAPE_SIZE
    return [
        Shape("square", 320 + 240 * math.sin(1.1 * t + 0.3), 64.0, s, 0.0, COLORS["square"]),
        Shape(
            "triangle",
            320 + 215 * math.sin(0.7 * t + 2.0),
            160 + 55 * math.sin(1.2 * t + 0.6),
            s,
            0.0,
            COLORS["triangle"],
        ),
        Shape("circle", 320 + 250 * math.cos(1.7 * t), 290.0, s, 0.0, COLORS["circle"]),
    ]


def truth(seconds: float = 10.0) -> dict:
    """The sample's geometry: per frame, each shape's id (its index in shapes_at), class and box."""
    frames = []
    for i in range(round(seconds * FPS)):
        objects = [
            {"id": k, "class": sh.kind, "xyxy": [round(v, 2) for v in sh.box()]}
            for k, sh in enumerate(shapes_at(i / FPS))
        ]
        frames.append({"frame": i, "objects": objects})
    return {
        "video": "sample.mp4",
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "classes": list(CLASSES),
        "box_format": "xyxy, pixel-edge coordinates of the whole shape at the frame's time",
        "frames": frames,
    }


def _photos() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data  # dev dependency: ships the photographs in its wheel

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    return astronaut, coffee


def backdrop(coffee: np.ndarray, portrait: np.ndarray, t: float) -> np.ndarray:
    """The sample's frame at time t without the shapes: the panning coffee and the gliding portrait."""
    background = cv2.resize(
        coffee,
        (BACKGROUND_WIDTH, round(coffee.shape[0] * BACKGROUND_WIDTH / coffee.shape[1])),
        interpolation=cv2.INTER_AREA,
    )
    ox = int((background.shape[1] - WIDTH) * (0.5 + 0.5 * math.sin(t * 0.4)))
    oy = int((background.shape[0] - HEIGHT) * (0.5 + 0.5 * math.cos(t * 0.3)))
    frame = background[oy : oy + HEIGHT, ox : ox + WIDTH].copy()
    px = int((WIDTH - PORTRAIT) * (0.5 + 0.45 * math.sin(t * 0.9)))
    py = int((HEIGHT - PORTRAIT) * (0.5 + 0.45 * math.sin(t * 1.4 + 1.0)))
    frame[py : py + PORTRAIT, px : px + PORTRAIT] = portrait
    return frame


def render_frames(seconds: float = 10.0) -> Iterator[np.ndarray]:
    """Yield the frames of the sample clip (uint8 BGR, WIDTH x HEIGHT)."""
    astronaut, coffee = _photos()
    portrait = cv2.resize(astronaut, (PORTRAIT, PORTRAIT), interpolation=cv2.INTER_AREA)
    dt = 1.0 / FPS
    for i in range(round(seconds * FPS)):
        t = i * dt
        frame = backdrop(coffee, portrait, t)
        cv2.putText(
            frame,
            f"vidcv sample {i:03d}",
            (10, HEIGHT - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        for now, before, after in zip(shapes_at(t), shapes_at(t - dt / 2), shapes_at(t + dt / 2)):
            draw_shape(frame, now, (after.cx - before.cx, after.cy - before.cy))
        yield frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets")
    parser.add_argument("--out", default=os.path.join(here, "sample.mp4"))
    parser.add_argument("--truth", default=None, help="truth JSON (default: sample_truth.json beside --out)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    truth_path = args.truth or os.path.join(os.path.dirname(os.path.abspath(args.out)), "sample_truth.json")
    tmp = args.out + ".partial.mp4"
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {args.out}: check that its folder exists and is writable")
    count = 0
    for frame in render_frames(args.seconds):
        writer.write(frame)
        count += 1
    writer.release()
    os.replace(tmp, args.out)
    with open(truth_path, "w") as fh:
        json.dump(truth(args.seconds), fh, separators=(",", ":"))
        fh.write("\n")
    print(
        f"wrote {args.out}: {count} frames, {WIDTH}x{HEIGHT} @ {FPS} fps, {os.path.getsize(args.out) / 1e6:.2f} MB;"
        f" truth {truth_path}"
    )


if __name__ == "__main__":
    main()
