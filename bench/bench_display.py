"""Benchmark: GUI-thread time per displayed 1080p frame in vidcv's video view.

Runs offscreen: wraps each frame (no copy), paints it scaled into a 1280x720 view (``repaint`` paints
synchronously, so the time is the GUI thread's), with and without detection overlays; beside it, the
common peer: convert to an RGB QImage copy, ``QPixmap.fromImage``, smooth ``scaled`` and a ``QLabel``.
Prints mean and p95 milliseconds and the ratio. Not a test.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_display.py [--frames 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QLabel

from vidcv.detections import Detections
from vidcv.frame import Frame
from vidcv.ui.video_view import VideoView


def frames(n: int, gray: bool) -> list[Frame]:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8), (0, 0), 4)
    out = []
    for i in range(n):
        img = np.roll(base, i * 7, axis=1)
        image = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if gray else img
        frame = Frame(image, i, i * 33.3, source_image=img)
        xyxy = [[100 + 40 * k + i, 100 + 30 * k, 300 + 40 * k + i, 400 + 30 * k] for k in range(10)]
        frame.detections = Detections(xyxy, [0.9] * 10, list(range(10)), {k: f"class{k}" for k in range(10)})
        out.append(frame)
    return out


def time_view(view: VideoView, batch: list[Frame], overlays: bool) -> list[float]:
    view.set_overlays(overlays)
    times = []
    for frame in batch:
        start = time.perf_counter()
        view.show_frame(frame)
        view.repaint()
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_label(label: QLabel, batch: list[Frame]) -> list[float]:
    times = []
    for frame in batch:
        start = time.perf_counter()
        rgb = (
            cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            if frame.image.ndim == 3
            else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2RGB)
        )
        image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
        pixmap = QPixmap.fromImage(image).scaled(
            label.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        label.setPixmap(pixmap)
        label.repaint()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> float:
    times = times[5:]  # warm-up
    mean = statistics.fmean(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    print(f"  {name:<44} {mean:6.2f} ms mean  {p95:6.2f} ms p95")
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    view = VideoView()
    view.resize(1280, 720)
    view.show()
    label = QLabel()
    label.resize(1280, 720)
    label.show()
    app.processEvents()
    print(
        f"GUI-thread time per displayed 1920x1080 frame into a 1280x720 view ({args.frames} frames, "
        f"{os.environ['QT_QPA_PLATFORM']})"
    )
    color, gray = frames(args.frames, gray=False), frames(args.frames, gray=True)
    vidcv = report("vidcv view, BGR frame", time_view(view, color, overlays=False))
    report("vidcv view, BGR frame + 10 boxes overlay", time_view(view, color, overlays=True))
    report("vidcv view, gray frame", time_view(view, gray, overlays=False))
    view.set_mode("side_by_side")
    report("vidcv view, side by side (original + gray)", time_view(view, gray, overlays=False))
    peer = report("peer: RGB copy, QPixmap, smooth scaled, QLabel", time_label(label, color))
    print(f"  ratio peer / vidcv (BGR): {peer / vidcv:.2f}x")


if __name__ == "__main__":
    main()
