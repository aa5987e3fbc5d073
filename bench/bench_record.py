"""Benchmark: recording the live test pattern to H.264 in real time, against the same run without recording.

For each libx264 preset asked for, runs ``pattern:WxH@FPS`` through an empty pipeline for ``--seconds``
seconds into a VideoSink (the same sink `vidcv run --output` and the GUI use), and once without any output.
Prints, per run: frames written, frames the live source dropped (the runner's newest-wins hand-off), the
frames per second achieved, and the CPU share (process CPU time over wall time, in cores and as a share of
the machine); then the ratio of CPU used with and without recording. Not a test: speed is never asserted.

    .venv/bin/python bench/bench_record.py [--size 1920x1080] [--fps 30] [--seconds 10]
        [--presets veryfast,superfast,ultrafast] [--codec h264] [--hardware auto]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vidcv.media import encode
from vidcv.pipeline import Pipeline
from vidcv.runner import Runner
from vidcv.sinks import VideoSink
from vidcv.sources import PatternSource


def one_run(
    size: tuple[int, int], fps: float, seconds: float, out: str | None, codec: str, hardware: str
) -> dict[str, float | str]:
    frames = int(seconds * fps)
    sinks = [VideoSink(out, fps, codec, hardware=hardware)] if out else []
    runner = Runner(
        PatternSource(f"pattern:{size[0]}x{size[1]}@{fps:g}", *size, fps), Pipeline(), sinks, max_frames=frames
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    summary = runner.run()  # closing the sink (the rewrite as a plain MP4) is part of the run
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "written": summary.frames,
        "read": summary.frames_read,
        "dropped": summary.dropped,
        "fps": summary.frames / wall,
        "cpu_cores": cpu / wall,
        "encoder": sinks[0].encoder_name if sinks else "-",
        "mb": os.path.getsize(out) / 1e6 if out and os.path.exists(out) else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--presets", default="veryfast,superfast,ultrafast", help="libx264 presets to try")
    ap.add_argument("--codec", default="h264")
    ap.add_argument("--hardware", default="auto", choices=("auto", "cpu", "gpu"))
    ap.add_argument("--rounds", type=int, default=2, help="runs of each case")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    cores = os.cpu_count() or 1
    print(
        f"live pattern {args.size}@{args.fps:g} for {args.seconds:g} s, {cores} cores, "
        f"default libx264 preset {encode.X264_PRESET}"
    )

    def show(label: str, r: dict) -> None:
        print(
            f"  {label:28s} written {r['written']:5d}  dropped {r['dropped']:4d}  {r['fps']:5.1f} fps  "
            f"CPU {r['cpu_cores']:.2f} cores ({100 * r['cpu_cores'] / cores:4.0f}% of the machine)  "
            f"{r['mb']:6.1f} MB  {r['encoder']}",
            flush=True,
        )

    bases = [one_run(size, args.fps, args.seconds, None, args.codec, args.hardware) for _ in range(args.rounds)]
    for base in bases:
        show("no recording", base)
    base_cpu = sum(b["cpu_cores"] for b in bases) / len(bases)
    with tempfile.TemporaryDirectory() as tmp:
        presets = args.presets.split(",") if args.codec == "h264" else [""]
        for preset in presets:
            if preset:
                for opts in encode._QUALITY_OPTIONS["libx264"].values():
                    opts["preset"] = preset
            for _ in range(args.rounds):
                r = one_run(size, args.fps, args.seconds, os.path.join(tmp, "rec.mp4"), args.codec, args.hardware)
                show(f"recording {args.codec} {preset}".rstrip(), r)
                print(
                    f"  {'':28s} ratio: CPU x{r['cpu_cores'] / max(1e-9, base_cpu):.1f} of the run without "
                    f"recording; drops {r['dropped']} vs {bases[0]['dropped']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
