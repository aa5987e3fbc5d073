"""Benchmark: `yolo` in vidcv against ultralytics' own predict, same model, same video, CPU, one process.

Runs, alternating for several rounds, on the bundled sample video (300 frames, 640x360) with the bundled
demo model: ultralytics ``predict(stream=True)`` with the ``.pt`` and with the ``.onnx``, and a vidcv Runner
(file source -> yolo stage), every frame, end to end. Prints fps and the ratios. Not a test.

    .venv/bin/python bench/bench_yolo.py [--rounds 3] [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    args = parser.parse_args()

    from ultralytics import YOLO

    from vidcv.bundled import DEMO_MODEL, bundled_models, sample_video
    from vidcv.pipeline import Pipeline
    from vidcv.registry import Registry
    from vidcv.runner import Runner
    from vidcv.sources import FileSource

    onnx = bundled_models()[DEMO_MODEL]
    pt = onnx[:-5] + ".pt"
    video = sample_video()
    registry = Registry()

    def ultralytics_run(weights: str) -> float:
        model = YOLO(weights, task="detect")
        model.predict(np.zeros((360, 640, 3), np.uint8), imgsz=256, device=args.device, verbose=False)  # load
        start = time.perf_counter()
        n = 0
        for _ in model.predict(video, stream=True, imgsz=256, conf=0.25, iou=0.7, device=args.device,
                               verbose=False):
            n += 1
            if n >= args.frames:
                break
        return n / (time.perf_counter() - start)

    def vidcv_run() -> float:
        plugin = registry.create("yolo", device="cuda" if args.device != "cpu" else "cpu")
        start = time.perf_counter()
        summary = Runner(FileSource(video), Pipeline([plugin]), max_frames=args.frames).run()
        return summary.frames / (time.perf_counter() - start)

    runs = {"ultralytics .pt": lambda: ultralytics_run(pt), "ultralytics .onnx": lambda: ultralytics_run(onnx),
            "vidcv yolo": vidcv_run}
    for run in runs.values():  # warm up caches and lazy imports once
        run()
    results: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name, run in runs.items():
            results[name].append(run())
        print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.1f} fps" for n, v in results.items()))
    fps = {name: statistics.median(v) for name, v in results.items()}
    print(f"\n{args.frames} frames of the sample (640x360), demo model at 256, device {args.device}, "
          f"{os.cpu_count()} CPUs, median of {args.rounds} rounds, model load excluded")
    for name, value in fps.items():
        print(f"  {name:<18} {value:7.1f} fps")
    print(f"  vidcv / ultralytics .pt:   {fps['vidcv yolo'] / fps['ultralytics .pt']:.2f}x")
    print(f"  vidcv / ultralytics .onnx: {fps['vidcv yolo'] / fps['ultralytics .onnx']:.2f}x")


if __name__ == "__main__":
    main()
