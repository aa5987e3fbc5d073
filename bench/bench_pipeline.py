"""Benchmark: `vidcv run` against a hand-written single-threaded OpenCV loop doing the same work.

Both run as whole processes (start-up included) on a generated 1280x720 video of 300 frames, with the
pipeline color(gray) -> blur(gaussian, 5) -> canny(50, 150), alternating, several rounds: vidcv run as it
decodes by default (colour, then the first stage's conversion: the loop's work, bit-equal) and with the
opt-in --gray-decode (gray from the luma plane). Prints each round, the median fps and the ratios. Not a test: speed is never asserted in the suite.

    .venv/bin/python bench/bench_pipeline.py [--rounds 5] [--frames 300] [--startup]

``--startup`` also times each side's start-up alone, alternating: ``vidcv run ... --max-frames 1`` against the
loop's imports, open and first frame (``LOOP_STARTUP``), and prints the medians with the CPU time and page faults
of the whole runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HAND_LOOP = r"""
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
n = 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blurred, 50, 150)
    n += 1
print(n)
"""

#: the hand-written loop up to its first frame: what its start-up is
LOOP_STARTUP = r"""
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
ok, frame = cap.read()
edges = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (5, 5), 0), 50, 150)
"""

PRESET = """pipeline:
  - plugin: color
    params: {to: gray}
  - plugin: blur
    params: {method: gaussian, ksize: 5}
  - plugin: canny
    params: {low: 50, high: 150}
"""


def make_video(path: str, frames: int, size: tuple[int, int] = (1280, 720), fps: float = 30.0) -> None:
    """Textured, moving content so that decoding and Canny have realistic work."""
    w, h = size
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (h * 2, w * 2, 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        x, y = (i * 3) % w, (i * 2) % h
        img = texture[y : y + h, x : x + w].copy()
        for k in range(6):
            cx = int(w / 2 + w / 3 * np.sin(i / 20 + k))
            cy = int(h / 2 + h / 3 * np.cos(i / 25 + k * 1.7))
            cv2.circle(img, (cx, cy), 40 + 10 * k, (40 * k, 255 - 30 * k, 128), -1, cv2.LINE_AA)
        cv2.putText(img, f"frame {i}", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(img)
    writer.release()


#: both sides run as an installed program would: Python may cache compiled modules (pip compiles an installed
#: package's modules at install; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would recompile vidcv's
#: ~70 modules at every start, about 80 ms, which no user pays)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], usage: list[tuple[float, int]] | None = None) -> float:
    """Wall seconds of ``cmd``; with ``usage``, its CPU seconds and minor page faults are appended to it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    if usage is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        usage.append(
            (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, after.ru_minflt - before.ru_minflt)
        )
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--startup",
        action="store_true",
        help="also time the start-up of each side alone, and print CPU time and page faults",
    )
    args = parser.parse_args()
    vidcv = shutil.which("vidcv", path=os.path.dirname(sys.executable)) or "vidcv"
    with tempfile.TemporaryDirectory() as tmp:
        video, preset = os.path.join(tmp, "bench.mp4"), os.path.join(tmp, "edges.yaml")
        make_video(video, args.frames)
        with open(preset, "w") as fh:
            fh.write(PRESET)
        commands = {
            "opencv loop": [sys.executable, "-c", HAND_LOOP, video],
            "vidcv run": [vidcv, "run", video, "--pipeline", preset, "--quiet"],  # the default: exact, BGR
            "vidcv run --gray-decode": [vidcv, "run", video, "--pipeline", preset, "--quiet", "--gray-decode"],
        }
        for cmd in commands.values():  # warm the file cache and the interpreters once
            timed(cmd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        usage: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
        for r in range(args.rounds):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, usage[name]))
            print(f"round {r + 1}: " + ", ".join(f"{n} {args.frames / t[-1]:.1f} fps" for n, t in times.items()))
        if args.startup:
            startup = {
                "opencv loop": [sys.executable, "-c", LOOP_STARTUP, video],
                "vidcv run": [*commands["vidcv run"], "--max-frames", "1"],
            }
            started: dict[str, list[float]] = {name: [] for name in startup}
            for _ in range(args.rounds):
                for name, cmd in startup.items():
                    started[name].append(timed(cmd))
    fps = {name: args.frames / statistics.median(t) for name, t in times.items()}
    print(
        f"\n{args.frames} frames 1280x720, color(gray) -> blur(gaussian 5) -> canny(50, 150), "
        f"whole processes, median of {args.rounds} alternating rounds, {os.cpu_count()} CPUs"
    )
    for name, value in fps.items():
        print(f"  {name:<24} {value:7.1f} fps")
    for name in ("vidcv run", "vidcv run --gray-decode"):
        print(f"  ratio {name} / opencv loop: {fps[name] / fps['opencv loop']:.2f}x")
    if args.startup:
        print("\nstart-up alone (to the first frame processed, and exit), and the whole runs' CPU and page faults:")
        for name in started:
            cpu = statistics.median(c for c, _ in usage[name])
            faults = statistics.median(f for _, f in usage[name])
            print(
                f"  {name:<24} start-up {statistics.median(started[name]) * 1000:6.1f} ms   whole run: CPU "
                f"{cpu * 1000:7.1f} ms, {faults:8.0f} page faults"
            )
    print(f"  load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
