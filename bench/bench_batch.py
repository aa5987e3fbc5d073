"""Benchmark: `vidcv batch --workers 2` against a shell loop of `vidcv run` over the same clips.

8 clips cut from the bundled sample (640x360, the demo detector's shapes moving), the `track_shapes` preset
(YOLO on ONNX Runtime, ByteTrack, line counting, annotation); each input writes detections.jsonl and
stats.json either way. Both sides run as whole processes (start-up included), alternating, several rounds;
prints each round, the medians, frames per second and the ratio loop / batch. With --ray, also
`vidcv batch --engine ray` against a Ray head started here on loopback (token authentication on), once the
cluster is up (its start is reported apart). With --scaling 1,2,4,8,16, the batch's time for each worker
count (on a machine with that many cores). The load average is printed before and after: other work on the
machine skews every figure. Not a test: speed is never asserted in the suite.

    .venv/bin/python bench/bench_batch.py [--rounds 3] [--clips 8] [--frames 90] [--ray] [--scaling 1,2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import cv2

PRESET = "track_shapes"


def make_clips(folder: str, count: int, frames: int) -> list[str]:
    """``count`` clips of ``frames`` frames each, from successive stretches of the bundled sample."""
    from vidcv.bundled import sample_video

    cap = cv2.VideoCapture(sample_video())
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    images = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        images.append(img)
    cap.release()
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"clip{i + 1:02d}.mp4")
        h, w = images[0].shape[:2]
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
        start = (i * 37) % max(1, total - frames)
        for img in images[start : start + frames]:
            writer.write(img)
        writer.release()
        paths.append(path)
    return paths


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def loop_command(vidcv: str, clips: list[str], out: str) -> list[str]:
    """A shell loop of `vidcv run`, one process per clip, writing what the batch writes per input."""
    lines = [
        f'mkdir -p "{out}/{i}" && "{vidcv}" run "{clip}" -p {PRESET} --detections-jsonl "{out}/{i}/detections.jsonl"'
        f' --stats-json "{out}/{i}/stats.json" -q'
        for i, clip in enumerate(clips)
    ]
    return ["bash", "-ec", "\n".join(lines)]


def start_ray_head(tmp: str) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """A Ray head on 127.0.0.2 with every core, token authentication on; returns it, its address and the
    environment that carries the token."""
    ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), RAY_USAGE_STATS_ENABLED="0")
    log_path = os.path.join(tmp, "ray-head.log")
    with open(log_path, "w") as log:
        head = subprocess.Popen(
            [
                ray,
                "start",
                "--head",
                "--node-ip-address=127.0.0.2",
                f"--port={port}",
                f"--num-cpus={os.cpu_count() or 1}",
                "--include-dashboard=false",
                f"--temp-dir={tmp}/ray",
                "--disable-usage-stats",
                "--block",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open(log_path) as fh:
            if "Ray runtime started" in fh.read():
                break
        if head.poll() is not None:
            raise SystemExit(f"the Ray head did not start: see {log_path}")
        time.sleep(0.2)
    return head, f"127.0.0.2:{port}", {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=90, help="frames per clip (the sample has 300)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="also --engine ray on a local Ray head")
    parser.add_argument("--scaling", default="", help="worker counts to time the batch with, e.g. 1,2,4,8,16")
    args = parser.parse_args()
    vidcv = shutil.which("vidcv", path=os.path.dirname(sys.executable)) or "vidcv"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="vb", dir="/tmp") as tmp:
        clips = make_clips(os.path.join(tmp, "clips"), args.clips, args.frames)
        frames = args.clips * args.frames
        print(f"{args.clips} clips of {args.frames} frames (640x360), preset {PRESET}, {args.rounds} rounds")

        def batch(n: int, *extra: str, env: dict[str, str] | None = None) -> float:
            out = tempfile.mkdtemp(dir=tmp)  # a fresh folder: nothing to resume
            return timed(
                [
                    vidcv,
                    "batch",
                    os.path.join(tmp, "clips"),
                    "-p",
                    PRESET,
                    "--out",
                    out,
                    "--workers",
                    str(n),
                    "-q",
                    *extra,
                ],
                env,
            )

        loops, batches = [], []
        for r in range(args.rounds):
            loops.append(timed(loop_command(vidcv, clips, tempfile.mkdtemp(dir=tmp))))
            batches.append(batch(args.workers))
            print(
                f"round {r + 1}: loop of vidcv run {loops[-1]:6.1f} s   vidcv batch --workers {args.workers} "
                f"{batches[-1]:6.1f} s"
            )
        loop_s, batch_s = statistics.median(loops), statistics.median(batches)
        print(f"loop of vidcv run:          {loop_s:6.1f} s  {frames / loop_s:6.1f} fps")
        print(f"vidcv batch --workers {args.workers}:    {batch_s:6.1f} s  {frames / batch_s:6.1f} fps")
        print(f"ratio (loop / batch):       {loop_s / batch_s:6.2f}x")

        if args.ray:
            t0 = time.perf_counter()
            head, address, env = start_ray_head(tmp)
            print(f"Ray head on {address} started in {time.perf_counter() - t0:.1f} s")
            try:
                rays = []
                for r in range(args.rounds):
                    rays.append(batch(args.workers, "--engine", "ray", "--address", address, env=env))
                    print(f"round {r + 1}: vidcv batch --engine ray {rays[-1]:6.1f} s")
                ray_s = statistics.median(rays)
                print(
                    f"vidcv batch --engine ray:   {ray_s:6.1f} s  {frames / ray_s:6.1f} fps "
                    f"({loop_s / ray_s:.2f}x the loop, {batch_s / ray_s:.2f}x the local engine)"
                )
            finally:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()

        if args.scaling:
            counts = [int(n) for n in args.scaling.split(",")]
            base = None
            for n in counts:
                t = statistics.median(batch(n) for _ in range(args.rounds))
                base = base or t
                print(
                    f"--workers {n:3d}: {t:6.1f} s  {frames / t:7.1f} fps  {base / t:5.2f}x the time of "
                    f"--workers {counts[0]}"
                )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
