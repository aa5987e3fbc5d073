"""Benchmark: decoding with vidcv's file source (PyAV and OpenCV decoders) against a bare cv2.VideoCapture loop.

Makes 360p, 720p and 1080p clips in H.264 (libx264) and MPEG-4 Part 2 (mp4v) with textured, moving content, then
reads every frame as BGR, alternating the sides, several rounds: ``cv2.VideoCapture.read`` in a loop, and
``FileSource`` with each decoder. Prints each round, the median fps per side, the ratio to the bare loop,
and the decoder ``backend="auto"`` picks. Not a test: speed is never asserted in the suite.

    .venv/bin/python bench/bench_decode.py [--rounds 3] [--frames 240] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vidcv.frame import Frame
from vidcv.sinks import VideoSink
from vidcv.sources import FileSource
from vidcv.sources.file import choose_backend, default_decode_threads


def make_clip(path: str, codec: str, size: tuple[int, int], frames: int) -> None:
    w, h = size
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (h * 2, w * 2, 3), dtype=np.uint8), (0, 0), 3)
    sink = VideoSink(path, 30, codec, hardware="cpu")
    for i in range(frames):
        x, y = (i * 3) % w, (i * 2) % h
        img = texture[y : y + h, x : x + w].copy()
        cv2.circle(img, (int(w / 2 + w / 3 * np.sin(i / 20)), h // 2), h // 8, (0, 0, 255), -1)
        sink.write(Frame(img, i, i * 1000 / 30))
    sink.close()


def bare_loop(path: str, threads: int) -> int:
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
    n = 0
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    cap.release()
    return n


def vidcv_source(path: str, threads: int, backend: str) -> int:
    src = FileSource(path, decode_threads=threads, backend=backend)
    src.open()
    n = sum(1 for _ in src)
    src.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument(
        "--threads",
        type=int,
        default=default_decode_threads(),
        help="decoding threads for every side (default: vidcv's, half the cores)",
    )
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores, {args.threads} decoding thread(s), {args.frames} frames, {args.rounds} rounds")
    sides = {
        "cv2.VideoCapture": lambda p: bare_loop(p, args.threads),
        "vidcv pyav": lambda p: vidcv_source(p, args.threads, "pyav"),
        "vidcv opencv": lambda p: vidcv_source(p, args.threads, "opencv"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for codec, label in (("h264", "H.264"), ("mpeg4", "mp4v")):
            for size in ((640, 360), (1280, 720), (1920, 1080)):
                path = os.path.join(tmp, f"{codec}_{size[1]}.mp4")
                make_clip(path, codec, size, args.frames)
                fps: dict[str, list[float]] = {name: [] for name in sides}
                for _ in range(args.rounds):
                    for name, fn in sides.items():
                        t0 = time.perf_counter()
                        n = fn(path)
                        fps[name].append(n / (time.perf_counter() - t0))
                        assert n == args.frames, (name, n)
                med = {name: statistics.median(v) for name, v in fps.items()}
                base = med["cv2.VideoCapture"]
                print(f"{label} {size[0]}x{size[1]} (auto picks {choose_backend(size)}):")
                for name, v in fps.items():
                    rounds = " ".join(f"{x:5.0f}" for x in v)
                    print(
                        f"  {name:18s} median {med[name]:6.1f} fps  x{med[name] / base:4.2f}   rounds: {rounds}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
