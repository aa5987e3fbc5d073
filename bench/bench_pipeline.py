"""Benchmark: `vidcv run` against a hand-written OpenCV loop doing the same work, on several clips.

Both run as whole processes (start-up included), alternating (the order turns each round), several rounds: the
loop (``cv2.VideoCapture`` and the same OpenCV calls), ``vidcv run`` as it decodes by default (colour, then the
first stage's conversion: the loop's work, bit-equal) and ``vidcv run --gray-decode`` (the opt-in luma path:
gray from the luma plane), both with the run's own choice of how frames go through the stages (``--threads 0``,
the default). Prints each round, the median fps of each side and the median of each round's ratio to the loop,
the CPU time of the runs and the cores other processes took meanwhile, and a table. Not a test: speed is never
asserted in the suite.

Clips (``--clips``, NAME-CODEC-HEIGHT): ``tex`` random colour texture, saturated, panning 4 px a frame (what
foliage or a macro lens gives: Canny finds edges everywhere), ``sample`` smooth texture with moving discs and
text (like the bundled sample); codec ``h264`` (libx264 CRF 18) or ``mpeg4`` (MPEG-4 Part 2); height 360, 720
or 1080 (16:9). Pipelines (``--pipelines``): ``canny`` color(gray) -> blur(gaussian 5) -> canny(50, 150),
``light`` color(gray) -> threshold(binary 127).

    .venv/bin/python bench/bench_pipeline.py [--clips tex-h264-720,...] [--pipelines canny,light]
        [--rounds 5] [--frames 600] [--keep DIR] [--one-at-a-time] [--extra NAME=ARGS ...] [--startup]

``--keep DIR`` keeps the generated clips there and reuses them in later runs. ``--one-at-a-time`` adds both
vidcv sides with ``--threads 1`` (one frame at a time whatever the stages cost). ``--extra 'w2=--threads 2'``
adds a side: ``vidcv run`` with those arguments (an A/B of a setting in the same rounds); leading ``NAME=VALUE``
words are set in its environment instead (``--extra 't1=OPENCV_FOR_THREADS_NUM=1'``). ``--max-others CORES``
does a round again when other processes kept more than CORES cores busy during it (a shared machine).
``--startup`` also times each side's start-up alone on the first clip, alternating: ``vidcv run ...
--max-frames 1`` against the loop's imports, open and first frame, and prints the medians with the CPU time and
page faults of the whole runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import cv2
import numpy as np

#: what each pipeline is, as OpenCV calls on ``frame`` (BGR): the loop's body
CALLS = {
    "canny": "out = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (5, 5), 0), 50, 150)",
    "light": "out = cv2.threshold(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 127, 255, cv2.THRESH_BINARY)[1]",
}
PRESETS = {
    "canny": """pipeline:
  - plugin: color
    params: {to: gray}
  - plugin: blur
    params: {method: gaussian, ksize: 5}
  - plugin: canny
    params: {low: 50, high: 150}
""",
    "light": """pipeline:
  - plugin: color
    params: {to: gray}
  - plugin: threshold
    params: {method: binary, thresh: 127}
""",
}
DESCRIBED = {
    "canny": "color(gray) -> blur(gaussian 5) -> canny(50, 150)",
    "light": "color(gray) -> threshold(binary 127)",
}

#: the hand-written loop: read, the same calls, count
HAND_LOOP = r"""
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
n = 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    {calls}
    n += 1
print(n)
"""

#: the hand-written loop up to its first frame: what its start-up is
LOOP_STARTUP = r"""
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1])
ok, frame = cap.read()
{calls}
"""

DEFAULT_CLIPS = "tex-h264-720,tex-h264-1080,tex-mpeg4-720,sample-mpeg4-720"
SIZES = {360: (640, 360), 720: (1280, 720), 1080: (1920, 1080)}


@dataclass(frozen=True)
class Clip:
    kind: str  #: tex or sample
    codec: str  #: h264 or mpeg4
    height: int

    @classmethod
    def parse(cls, spec: str) -> Clip:
        try:
            kind, codec, height = spec.split("-")
            clip = cls(kind, codec, int(height))
        except ValueError:
            raise SystemExit(f"clip {spec!r}: expected NAME-CODEC-HEIGHT, e.g. tex-h264-720") from None
        if kind not in ("tex", "sample") or codec not in ("h264", "mpeg4") or clip.height not in SIZES:
            raise SystemExit(f"clip {spec!r}: NAME tex or sample, CODEC h264 or mpeg4, HEIGHT 360, 720 or 1080")
        return clip

    @property
    def size(self) -> tuple[int, int]:
        return SIZES[self.height]

    @property
    def label(self) -> str:
        return f"{self.kind} {'H.264' if self.codec == 'h264' else 'MPEG-4'} {self.size[0]}x{self.size[1]}"


def textured_frames(size: tuple[int, int], frames: int, seed: int = 0):
    """Saturated, textured footage: random colour blobs, every channel over the whole range, with fine random
    texture on top, panning 4 px a frame (the recipe of the tests' ``write_textured_video``)."""
    w, h = size
    rng = np.random.default_rng(seed)
    wide = w + 4 * frames
    coarse = rng.integers(0, 256, (h // 12 + 2, wide // 12 + 2, 3), dtype=np.uint8)
    base = cv2.resize(coarse, (wide, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    texture = np.clip(base + rng.integers(-70, 71, (h, wide, 3), dtype=np.int16), 0, 255).astype(np.uint8)
    del base
    for i in range(frames):
        yield np.ascontiguousarray(texture[:, 4 * i : 4 * i + w])


def sample_frames(size: tuple[int, int], frames: int):
    """Smooth texture, moving, with discs and text drawn on it (the bundled sample's kind of content)."""
    w, h = size
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (h * 2, w * 2, 3), dtype=np.uint8), (0, 0), 3)
    for i in range(frames):
        x, y = (i * 3) % w, (i * 2) % h
        img = texture[y : y + h, x : x + w].copy()
        for k in range(6):
            cx = int(w / 2 + w / 3 * np.sin(i / 20 + k))
            cy = int(h / 2 + h / 3 * np.cos(i / 25 + k * 1.7))
            cv2.circle(img, (cx, cy), (40 + 10 * k) * h // 720, (40 * k, 255 - 30 * k, 128), -1, cv2.LINE_AA)
        cv2.putText(img, f"frame {i}", (40, 80 * h // 720), cv2.FONT_HERSHEY_SIMPLEX, 2 * h / 720, (255,) * 3, 3)
        yield img


def make_clip(path: str, clip: Clip, frames: int, fps: int = 30) -> None:
    """Encode ``frames`` of ``clip``'s content with FFmpeg (PyAV): libx264 CRF 18 (veryfast) or MPEG-4 Part 2
    at quantiser 3, 4:2:0."""
    import av

    w, h = clip.size
    images = textured_frames(clip.size, frames) if clip.kind == "tex" else sample_frames(clip.size, frames)
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264" if clip.codec == "h264" else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if clip.codec == "h264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.options = {"qmin": "3", "qmax": "3"}
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def clip_file(folder: str, clip: Clip, frames: int) -> str:
    """The clip's file in ``folder``, made unless it is there already (``--keep``)."""
    path = os.path.join(folder, f"{clip.kind}-{clip.codec}-{clip.height}-{frames}.mp4")
    if not os.path.isfile(path):
        start = time.perf_counter()
        make_clip(path + ".part.mp4", clip, frames)
        os.replace(path + ".part.mp4", path)
        print(f"made {path} in {time.perf_counter() - start:.1f} s", flush=True)
    return path


#: both sides run as an installed program would: Python may cache compiled modules (pip compiles an installed
#: package's modules at install; an editable checkout under PYTHONDONTWRITEBYTECODE=1 would recompile vidcv's
#: ~70 modules at every start, about 80 ms, which no user pays)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since it started (``/proc/stat``; steal counted as busy);
    0 where there is no such file."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], usage: list[tuple[float, int]] | None = None, others: list[float] | None = None) -> float:
    """Wall seconds of ``cmd``; with ``usage``, its CPU seconds and minor page faults are appended to it; with
    ``others``, the cores that other processes kept busy meanwhile (the machine's busy time less the run's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = busy_cpu_s()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    busy = busy_cpu_s() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if usage is not None:
        usage.append((cpu, after.ru_minflt - before.ru_minflt))
    if others is not None:
        others.append(max(0.0, busy - cpu) / wall)
    return wall


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


@dataclass
class Result:
    clip: Clip
    pipeline: str
    fps: dict[str, float]  #: median fps per side
    ratio: dict[str, float]  #: median of the rounds' ratios to the loop, per vidcv side
    cpu: dict[str, float]  #: median CPU seconds of a whole run, per side
    load: str  #: the load average when the rounds ended
    others: float  #: the median of the cores other processes kept busy during the rounds kept


def compare(
    commands: dict[str, list[str]],
    frames: int,
    rounds: int,
    usage: dict[str, list[tuple[float, int]]],
    max_others: float | None = None,
) -> tuple[dict[str, float], dict[str, float], float]:
    """Alternating rounds (each round starts one side later); the median fps per side, the median of each
    round's ratio to the loop, and the median of the cores other processes took meanwhile. With
    ``max_others``, a round in which other processes kept more cores busy than that during any side is done
    again (at most ``2 * rounds`` retries)."""
    for cmd in commands.values():  # warm the file cache and the interpreters once
        timed(cmd)
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    busy: list[float] = []
    retries = 0
    while len(busy) < rounds:
        r = len(busy) + retries
        wall: dict[str, float] = {}
        others: list[float] = []
        spent: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall[name] = timed(commands[name], spent[name], others)
        line = ", ".join(f"{n} {frames / wall[n]:.1f}" for n in names) + f"; others {max(others):.2f} cores"
        if max_others is not None and max(others) > max_others and retries < 2 * rounds:
            retries += 1
            print(f"  (again: {line})", flush=True)
            continue
        for name in names:
            times[name].append(wall[name])
            usage[name] += spent[name]
        busy.append(max(others))
        print(f"  round {len(busy)}: {line}", flush=True)
    fps = {name: frames / statistics.median(t) for name, t in times.items()}
    loop = times["loop"]
    ratio = {name: statistics.median(a / b for a, b in zip(loop, t, strict=True)) for name, t in times.items()}
    return fps, ratio, statistics.median(busy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=DEFAULT_CLIPS, help=f"comma-separated (default {DEFAULT_CLIPS})")
    parser.add_argument("--pipelines", default="canny", help="comma-separated: canny, light (default canny)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--keep", metavar="DIR", help="keep the generated clips in DIR and reuse them")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="another side: vidcv run (default decode) with ARGS added, e.g. 'w2=--threads 2'; leading "
        "NAME=VALUE words go to its environment",
    )
    parser.add_argument(
        "--max-others",
        type=float,
        metavar="CORES",
        help="do a round again when other processes kept more than CORES cores busy during it (a shared machine)",
    )
    parser.add_argument(
        "--vidcv", metavar="CMD", help="the vidcv command to time (default: the one beside this Python)"
    )
    parser.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="add the vidcv sides with --threads 1: one frame at a time, whatever the stages cost",
    )
    parser.add_argument(
        "--no-gray", action="store_true", help="leave out the --gray-decode side (for a quicker A/B of the default)"
    )
    parser.add_argument(
        "--startup",
        action="store_true",
        help="also time the start-up of each side alone (first clip and pipeline), and print CPU time and page faults",
    )
    args = parser.parse_args()
    clips = [Clip.parse(spec) for spec in args.clips.split(",") if spec]
    pipelines = [p for p in args.pipelines.split(",") if p]
    if unknown := [p for p in pipelines if p not in PRESETS]:
        raise SystemExit(f"unknown pipeline(s) {', '.join(unknown)}: use {', '.join(PRESETS)}")
    extras: dict[str, tuple[dict[str, str], list[str]]] = {}
    for spec in args.extra:
        name, _, rest = spec.partition("=")
        words = shlex.split(rest)
        env = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        extras[name] = (env, words)
    vidcv = args.vidcv or shutil.which("vidcv", path=os.path.dirname(sys.executable)) or "vidcv"
    started_at = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or tmp
        os.makedirs(folder, exist_ok=True)
        for name in pipelines:
            with open(os.path.join(tmp, f"{name}.yaml"), "w") as fh:
                fh.write(PRESETS[name])
        for clip in clips:
            video = clip_file(folder, clip, args.frames)
            for name in pipelines:
                preset = os.path.join(tmp, f"{name}.yaml")
                run = [vidcv, "run", video, "--pipeline", preset, "--quiet"]
                commands = {"loop": [sys.executable, "-c", HAND_LOOP.format(calls=CALLS[name]), video], "vidcv": run}
                if not args.no_gray:
                    commands["vidcv --gray-decode"] = [*run, "--gray-decode"]
                if args.one_at_a_time:
                    commands["vidcv --threads 1"] = [*run, "--threads", "1"]
                    if not args.no_gray:
                        commands["vidcv --gray-decode --threads 1"] = [*run, "--gray-decode", "--threads", "1"]
                for extra, (env, extra_args) in extras.items():
                    commands[extra] = ["env", *(f"{k}={v}" for k, v in env.items()), *run, *extra_args]
                print(f"{clip.label}, {name} (load {load()}):", flush=True)
                usage: dict[str, list[tuple[float, int]]] = {side: [] for side in commands}
                fps, ratio, others = compare(commands, args.frames, args.rounds, usage, args.max_others)
                cpu = {side: statistics.median(c for c, _ in u) for side, u in usage.items()}
                results.append(Result(clip, name, fps, ratio, cpu, load(), others))
                if args.startup and len(results) == 1:
                    startup(commands, video, name, args.rounds, usage)
    print(
        f"\n{args.frames} frames a clip, whole processes, median of {args.rounds} alternating rounds, "
        f"{os.cpu_count()} CPUs; ratio: the median of the rounds' ratios to the loop; cpu: seconds of CPU a run; "
        "others: cores other processes kept busy (median of the rounds); load: the load average after the rounds"
    )
    sides = [side for side in results[0].fps if side != "loop"] if results else []
    print(
        "| clip | pipeline | loop fps | "
        + " | ".join(f"{s} fps (ratio)" for s in sides)
        + " | cpu loop/vidcv | others | load |"
    )
    print("|---|---|---|" + "---|" * len(sides) + "---|---|---|")
    for res in results:
        cells = " | ".join(f"{res.fps[s]:.1f} ({res.ratio[s]:.2f}x)" for s in sides)
        print(
            f"| {res.clip.label} | {res.pipeline} | {res.fps['loop']:.1f} | {cells} | "
            f"{res.cpu['loop']:.2f}/{res.cpu['vidcv']:.2f} | {res.others:.2f} | {res.load} |"
        )
    print(f"took {time.perf_counter() - started_at:.0f} s; load average now {load()}")


def startup(
    commands: dict[str, list[str]], video: str, name: str, rounds: int, usage: dict[str, list[tuple[float, int]]]
) -> None:
    """Each side's start-up alone, alternating, with the CPU and page faults of its whole runs."""
    sides = {
        "loop": [sys.executable, "-c", LOOP_STARTUP.format(calls=CALLS[name]), video],
        "vidcv": [*commands["vidcv"], "--max-frames", "1"],
    }
    started: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, cmd in sides.items():
            started[side].append(timed(cmd))
    print("  start-up alone (to the first frame processed, and exit), and the whole runs' CPU and page faults:")
    for side in sides:
        cpu = statistics.median(c for c, _ in usage[side])
        faults = statistics.median(f for _, f in usage[side])
        print(
            f"    {side:<8} start-up {statistics.median(started[side]) * 1000:6.1f} ms   whole run: CPU "
            f"{cpu * 1000:7.1f} ms, {faults:8.0f} page faults"
        )


if __name__ == "__main__":
    main()
