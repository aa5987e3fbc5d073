"""Benchmark: `yolo` in vidcv against ultralytics' own predict, same model, same video, CPU, one process.

Runs, alternating for several rounds, on the bundled sample video (300 frames, 640x360) with the bundled
demo model: ultralytics ``predict(stream=True)`` with the ``.pt`` and with the ``.onnx``, and a vidcv Runner
(file source -> yolo stage), every frame, end to end. Prints fps and the ratios. Not a test.

    .venv/bin/python bench/bench_yolo.py [--rounds 3] [--frames 300]

With ``--batch N`` it measures batching instead (no ultralytics): the vidcv Runner with the demo weights
exported for one image against the same weights exported with a fixed batch of N, N frames per inference call;
and exported with a dynamic batch (and input size), one frame per call against N; alternating; prints fps and
the ratios. Then the inference alone (letterbox, ONNX Runtime, decoding), which a busy machine disturbs less:
``--pairs`` times N frames of the sample as N calls and as one batched call, back to back in alternating order,
and the median of the pairs' ratios.

    .venv/bin/python bench/bench_yolo.py --batch 4 [--rounds 5] [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    parser.add_argument("--batch", type=int, default=0, help="measure N frames per inference call against 1")
    parser.add_argument("--pairs", type=int, default=150, help="with --batch: interleaved inference-only pairs")
    args = parser.parse_args()
    if args.batch > 1:
        batch_main(args)
        return

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
        for _ in model.predict(video, stream=True, imgsz=256, conf=0.25, iou=0.7, device=args.device, verbose=False):
            n += 1
            if n >= args.frames:
                break
        return n / (time.perf_counter() - start)

    def vidcv_run() -> float:
        plugin = registry.create("yolo", device="cuda" if args.device != "cpu" else "cpu")
        start = time.perf_counter()
        summary = Runner(FileSource(video), Pipeline([plugin]), max_frames=args.frames).run()
        return summary.frames / (time.perf_counter() - start)

    runs = {
        "ultralytics .pt": lambda: ultralytics_run(pt),
        "ultralytics .onnx": lambda: ultralytics_run(onnx),
        "vidcv yolo": vidcv_run,
    }
    results = alternate(runs, args.rounds)
    fps = {name: statistics.median(v) for name, v in results.items()}
    print(
        f"\n{args.frames} frames of the sample (640x360), demo model at 256, device {args.device}, "
        f"{os.cpu_count()} CPUs, median of {args.rounds} rounds, model load excluded"
    )
    for name, value in fps.items():
        print(f"  {name:<18} {value:7.1f} fps")
    print(f"  vidcv / ultralytics .pt:   {fps['vidcv yolo'] / fps['ultralytics .pt']:.2f}x")
    print(f"  vidcv / ultralytics .onnx: {fps['vidcv yolo'] / fps['ultralytics .onnx']:.2f}x")


def alternate(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each run once to warm caches and lazy imports, then ``rounds`` rounds of every run in turn; fps per run."""
    for run in runs.values():
        run()
    results: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
        print(f"round {r + 1}: " + ", ".join(f"{n} {v[-1]:.1f} fps" for n, v in results.items()))
    return results


def batch_main(args: argparse.Namespace) -> None:
    """The Runner with 1 and with ``args.batch`` frames per inference call, on a fixed-batch and a dynamic export."""
    import shutil
    import tempfile

    from ultralytics import YOLO

    from vidcv.bundled import DEMO_MODEL, bundled_models, sample_video
    from vidcv.pipeline import Pipeline
    from vidcv.registry import Registry
    from vidcv.runner import Runner
    from vidcv.sources import FileSource

    pt, video, registry = bundled_models()[DEMO_MODEL][:-5] + ".pt", sample_video(), Registry()
    device = "cuda" if args.device != "cpu" else "cpu"
    folder = tempfile.mkdtemp(prefix="bench_batch_")
    models = {}
    for name, options in (
        ("fixed1", {}),
        (f"fixed{args.batch}", {"batch": args.batch}),
        ("dynamic", {"dynamic": True}),
    ):
        copy = os.path.join(folder, f"{name}.pt")  # the export lands beside its weights: a temporary copy
        shutil.copyfile(pt, copy)
        models[name] = YOLO(copy, task="detect").export(format="onnx", imgsz=256, verbose=False, **options)

    def vidcv_run(model: str, batch: int) -> float:
        plugin = registry.create("yolo", model=model, device=device)
        start = time.perf_counter()
        summary = Runner(FileSource(video), Pipeline([plugin]), max_frames=args.frames, batch=batch).run()
        return summary.frames / (time.perf_counter() - start)

    n = args.batch
    runs = {
        "fixed1 batch 1": lambda: vidcv_run(models["fixed1"], 1),
        f"fixed{n} batch {n}": lambda: vidcv_run(models[f"fixed{n}"], n),
        "dynamic batch 1": lambda: vidcv_run(models["dynamic"], 1),
        f"dynamic batch {n}": lambda: vidcv_run(models["dynamic"], n),
    }
    results = alternate(runs, args.rounds)
    fps = {name: statistics.median(v) for name, v in results.items()}
    print(
        f"\n{args.frames} frames of the sample (640x360), demo model at 256, device {args.device}, "
        f"{os.cpu_count()} CPUs, median of {args.rounds} rounds, model load excluded"
    )
    for name, value in fps.items():
        print(f"  {name:<20} {value:7.1f} fps")
    for batched, one in ((f"fixed{n} batch {n}", "fixed1 batch 1"), (f"dynamic batch {n}", "dynamic batch 1")):
        paired = statistics.median(b / o for b, o in zip(results[batched], results[one]))  # each round's ratio
        print(f"  {batched} / {one}: {fps[batched] / fps[one]:.2f}x (median of the rounds' ratios {paired:.2f}x)")
    inference_pairs(models, n, args.pairs, video, device)
    shutil.rmtree(folder, ignore_errors=True)


def inference_pairs(models: dict[str, str], n: int, pairs: int, video: str, device: str) -> None:
    """N frames as N inference calls and as one batched call, back to back, alternating which goes first."""
    import cv2

    from vidcv.inference.yolo import YoloModel

    capture, frames = cv2.VideoCapture(video), []
    while len(frames) < 60 + n:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    ratios: dict[str, list[float]] = {"fixed": [], "dynamic": []}
    rates: dict[str, list[float]] = {}
    one, many, dynamic = (YoloModel(models[k], device) for k in ("fixed1", f"fixed{n}", "dynamic"))
    sides = {
        "fixed": (lambda imgs: [one(i) for i in imgs], many.predict_batch),
        "dynamic": (lambda imgs: [dynamic(i) for i in imgs], dynamic.predict_batch),
    }
    for k in range(pairs):
        images = frames[(k * n) % 60 : (k * n) % 60 + n]
        for name, (single, batched) in sides.items():
            times = {}
            for label, call in (
                (("batch", batched), ("single", single)) if k % 2 else (("single", single), ("batch", batched))
            ):
                start = time.perf_counter()
                call(images)
                times[label] = time.perf_counter() - start
            ratios[name].append(times["single"] / times["batch"])
            for label, seconds in times.items():
                rates.setdefault(f"{name} {label}", []).append(n / seconds)
    print(f"\ninference only, {pairs} alternating pairs of {n} frames:")
    for name, values in rates.items():
        print(f"  {name:<16} {statistics.median(values):7.1f} frames/s (median)")
    for name, values in ratios.items():
        q = statistics.quantiles(values, n=4)
        print(f"  {name}: batch {n} / one at a time {statistics.median(values):.2f}x (quartiles {q[0]:.2f}-{q[2]:.2f})")


if __name__ == "__main__":
    main()
