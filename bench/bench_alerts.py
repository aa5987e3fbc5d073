"""Benchmark: what alert senders cost the pipeline, with a healthy receiver, one that hangs, and none at all.

One pipeline that reports about one scene event a frame (in_range -> contours -> track -> four zone stripes,
on a generated 640x360 video of discs crossing them) runs in this process through ``vidcv.runner.Runner``; a
CallbackSink hands each frame's events (``vidcv.status.frame_events``) to the senders, as the events sink
does. Setups, alternating, several rounds: (a) no webhook, (b) a webhook to a healthy receiver, (c) to a
receiver that accepts connections and never answers, (d) to a port where nothing listens, and (a') (a)
again, a control: its ratio to (a) is the noise of the machine. The receivers are processes of their own on
127.0.0.1 (their work is not the pipeline's, though on a small machine they take cores it could use).

Prints each round, the median frames/s and the median CPU time of this process per frame (the pipeline's
threads and the senders'; what others on a shared machine take does not count) with their ratios to (a),
the events sent and missed over all rounds, and how long closing the senders took (after the run: not in
the frames/s). Not a test: speed is never asserted in the suite.

    .venv/bin/python bench/bench_alerts.py [--rounds 3] [--frames 600] [--mqtt]

``--mqtt`` adds (e) an MQTT sender to a local mosquitto, and (f) one to a port where nothing listens.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vidcv.alerts import AlertSummary, Notifier, close_all, make_notifiers
from vidcv.frame import Frame
from vidcv.presets import parse_preset
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import FileSource
from vidcv.status import frame_events

W, H = 640, 360
DISCS = 10
STRIPES = 4

#: a receiver on 127.0.0.1 in a process of its own: ``ok`` answers 204 to every POST (HTTP/1.1, kept alive),
#: ``hang`` accepts connections and never answers; prints its port
RECEIVER = r"""
import http.server, socket, sys, threading, time
mode = sys.argv[1]
if mode == "hang":
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    held = []
    while True:
        held.append(listener.accept()[0])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def preset() -> str:
    zones = "".join(
        f"  - plugin: zone\n    params: {{zone: s{k}, polygon: [{x0}, 0, {x0 + 60}, 0, {x0 + 60}, {H}, {x0}, {H}], "
        f"hysteresis: 2, draw: false}}\n"
        for k, x0 in enumerate(range(60, W - 60, (W - 120) // STRIPES))
    )
    return (
        "pipeline:\n"
        "  - plugin: in_range\n    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}\n"
        "  - plugin: contours\n    params: {min_area: 150, draw: none}\n"
        "  - plugin: track\n" + zones
    )


def make_video(path: str, frames: int, fps: float = 30.0) -> None:
    """Discs of saturated colours going back and forth across the frame at different speeds, on gray."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    rng = np.random.default_rng(0)
    speed = rng.uniform(4, 11, DISCS)
    phase = rng.uniform(0, 2 * W, DISCS)
    lanes = np.linspace(30, H - 30, DISCS).astype(int)
    for i in range(frames):
        img = np.full((H, W, 3), 90, np.uint8)
        for k in range(DISCS):
            x = (phase[k] + speed[k] * i) % (2 * (W - 40))
            x = x if x < W - 40 else 2 * (W - 40) - x  # bounce
            hue = int(180 * k / DISCS)
            color = cv2.cvtColor(np.uint8([[[hue, 255, 230]]]), cv2.COLOR_HSV2BGR)[0, 0].tolist()
            cv2.circle(img, (int(x) + 20, int(lanes[k])), 13, color, -1, cv2.LINE_AA)
        writer.write(img)
    writer.release()


def start_receiver(mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def start_mosquitto(folder: str) -> tuple[subprocess.Popen[bytes], int] | None:
    broker = shutil.which("mosquitto", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if broker is None:
        return None
    port = free_port()
    config = os.path.join(folder, "mosquitto.conf")
    with open(config, "w") as fh:
        fh.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser {getpass.getuser()}\n")
    proc = subprocess.Popen([broker, "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.02)
    proc.kill()
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    fps: float
    cpu_ms: float  #: CPU time of this process (every thread: the pipeline's and the senders') per frame
    frames: int
    events: int
    summaries: list[AlertSummary]
    close_s: float  #: closing the senders after the run


def run_once(video: str, notifiers: Callable[[], list[Notifier]]) -> Result:
    """One run of the pipeline over ``video`` with the senders ``notifiers()`` makes, closed after it."""
    senders = notifiers()
    events = 0

    def forward(frame: Frame) -> None:
        nonlocal events
        for event in frame_events(frame.statuses):
            events += 1
            record = event.to_dict()
            for sender in senders:
                sender.send(record)

    cpu = time.process_time()
    summary = Runner(FileSource(video), parse_preset(preset()), [CallbackSink(forward)]).run()
    cpu = time.process_time() - cpu
    start = time.perf_counter()
    summaries = close_all(senders, timeout=2.0)
    return Result(
        summary.frames / summary.wall_s,
        cpu * 1000 / summary.frames,
        summary.frames,
        events,
        summaries,
        time.perf_counter() - start,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--mqtt", action="store_true", help="also MQTT: a local mosquitto, and nothing listening")
    args = parser.parse_args()
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        video = os.path.join(tmp, "discs.mp4")
        make_video(video, args.frames)
        ok, ok_port = start_receiver("ok")
        hang, hang_port = start_receiver("hang")
        procs += [ok, hang]
        down_port = free_port()
        setups: dict[str, Callable[[], list[Notifier]]] = {
            "(a) no webhook": list,
            "(b) healthy receiver": lambda: make_notifiers([f"http://127.0.0.1:{ok_port}/events"], []),
            "(c) receiver hangs": lambda: make_notifiers([f"http://127.0.0.1:{hang_port}/events"], []),
            "(d) nothing listening": lambda: make_notifiers([f"http://127.0.0.1:{down_port}/events"], []),
            "(a') no webhook, again": list,  # the same as (a): how far apart two equal setups come out here
        }
        if args.mqtt:
            broker = start_mosquitto(tmp)
            if broker is None:
                print("no mosquitto: the MQTT setups are left out")
            else:
                procs.append(broker[0])
                mqtt_port = broker[1]
                setups["(e) mqtt broker"] = lambda: make_notifiers([], [f"127.0.0.1:{mqtt_port}/vidcv/events"])
                setups["(f) mqtt, nothing listening"] = lambda: make_notifiers([], [f"127.0.0.1:{down_port}/e"])
        try:
            run_once(video, list)  # warm the file cache and the imports
            results: dict[str, list[Result]] = {name: [] for name in setups}
            for r in range(args.rounds):
                for name, make in setups.items():
                    results[name].append(run_once(video, make))
                print(
                    f"round {r + 1}: " + ", ".join(f"{n.split(' ')[0]} {v[-1].fps:.1f} fps" for n, v in results.items())
                )
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    base = results["(a) no webhook"]
    base_fps = statistics.median(r.fps for r in base)
    base_cpu = statistics.median(r.cpu_ms for r in base)
    frames, events = base[-1].frames, base[-1].events
    print(
        f"\n{frames} frames {W}x{H}, in_range -> contours -> track -> {STRIPES} zones, {events} events "
        f"({events / max(1, frames):.2f} a frame), Runner in this process, medians of {args.rounds} alternating "
        f"rounds, {os.cpu_count()} CPUs"
    )
    print(f"  {'setup':<30} {'frames/s':>8} {'ratio':>6}   {'CPU ms/frame':>12} {'ratio':>6}   sent, missed; close")
    for name, runs in results.items():
        fps = statistics.median(r.fps for r in runs)
        cpu = statistics.median(r.cpu_ms for r in runs)
        sent = sum(s.sent for r in runs for s in r.summaries)
        missed = sum(s.missed for r in runs for s in r.summaries)
        closing = statistics.median(r.close_s for r in runs)
        print(
            f"  {name:<30} {fps:8.1f} {fps / base_fps:6.3f}   {cpu:12.3f} {cpu / base_cpu:6.3f}   "
            + (f"{sent}, {missed}; {closing * 1000:.0f} ms" if runs[-1].summaries else "-")
        )
    print("the last round's senders:")
    for name, runs in results.items():
        for s in runs[-1].summaries:
            print(f"  {name}: {s.line()}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
