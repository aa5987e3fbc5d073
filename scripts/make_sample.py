"""Make assets/sample.mp4: a deterministic 10 s clip of public-domain photographs in motion.

The astronaut portrait (Eileen Collins, NASA, public domain, bundled with scikit-image) glides over a
slowly panning background (scikit-image's "coffee" photograph), with a few moving shapes, so that
every kind of plugin has something to work on and a face detector has a face to find.

    .venv/bin/python scripts/make_sample.py [--out assets/sample.mp4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import math
import os

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 30


def _photos() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data  # dev dependency: ships the photographs in its wheel

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    return astronaut, coffee


def render_frames(seconds: float = 10.0):
    """Yield the frames of the sample clip (uint8 BGR, WIDTH x HEIGHT)."""
    astronaut, coffee = _photos()
    portrait = cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA)
    background = cv2.resize(coffee, (WIDTH * 3 // 2, int(coffee.shape[0] * WIDTH * 1.5 / coffee.shape[1])),
                            interpolation=cv2.INTER_AREA)
    n = int(round(seconds * FPS))
    for i in range(n):
        t = i / FPS
        ox = int((background.shape[1] - WIDTH) * (0.5 + 0.5 * math.sin(t * 0.4)))
        oy = int((background.shape[0] - HEIGHT) * (0.5 + 0.5 * math.cos(t * 0.3)))
        frame = background[oy:oy + HEIGHT, ox:ox + WIDTH].copy()
        px = int((WIDTH - 200) * (0.5 + 0.45 * math.sin(t * 0.9)))
        py = int((HEIGHT - 200) * (0.5 + 0.45 * math.sin(t * 1.4 + 1.0)))
        frame[py:py + 200, px:px + 200] = portrait
        cx = int(WIDTH * (0.5 + 0.4 * math.cos(t * 1.7)))
        cv2.circle(frame, (cx, HEIGHT - 40), 22, (40, 200, 255), -1, cv2.LINE_AA)
        rx = int((t * 90) % (WIDTH + 80)) - 80
        cv2.rectangle(frame, (rx, 20), (rx + 60, 60), (220, 60, 40), -1)
        cv2.putText(frame, f"vidcv sample {i:03d}", (10, HEIGHT - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        yield frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "assets", "sample.mp4"))
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    tmp = args.out + ".partial.mp4"
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"cannot write {args.out}")
    count = 0
    for frame in render_frames(args.seconds):
        writer.write(frame)
        count += 1
    writer.release()
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {count} frames, {WIDTH}x{HEIGHT} @ {FPS} fps, {os.path.getsize(args.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
