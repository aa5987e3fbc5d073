"""Test helpers: synthetic media with each frame's index written into its pixels, the CLI, thread checks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.sinks.base import Sink

BITS = 10
BLOCK = 16


def encode_index(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A frame whose top row of blocks spells ``index`` in binary (robust to lossy codecs)."""
    rng = np.random.default_rng(index)
    img = np.full((height, width, 3), 90, np.uint8)
    img[BLOCK * 2 :] = rng.integers(0, 255, (height - BLOCK * 2, width, 3), dtype=np.uint8) // 4 + 64
    for bit in range(BITS):
        value = 255 if (index >> bit) & 1 else 0
        img[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = value
    cv2.circle(img, (width // 2 + (index * 7) % (width // 3), height // 2), 20, (0, 0, 255), -1)
    return img


def decode_index(img: np.ndarray) -> int:
    """Read back the index written by ``encode_index``."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    index = 0
    for bit in range(BITS):
        block = gray[2 : BLOCK - 2, bit * BLOCK + 2 : (bit + 1) * BLOCK - 2]
        if block.mean() > 127:
            index |= 1 << bit
    return index


def write_video(
    path: str, frames: int, fps: float = 30.0, size: tuple[int, int] = (320, 240), fourcc: str | None = None
) -> str:
    ext = os.path.splitext(path)[1].lower()
    fourcc = fourcc or {".avi": "MJPG", ".mkv": "XVID"}.get(ext, "mp4v")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), path
    for i in range(frames):
        writer.write(encode_index(i, *size))
    writer.release()
    return path


def read_all(path: str, start: int = 0, count: int | None = None) -> list[np.ndarray]:
    """The frames of ``path`` decoded by OpenCV: all of them, or ``count`` from frame ``start``."""
    cap = cv2.VideoCapture(path)
    if start:
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while count is None or len(frames) < count:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


#: coloured blobs as detections (class "blob"), the detector of the dataset tests
BLOBS = """pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: contours
    params: {min_area: 100, draw: none}
"""
SLOW_BLOBS = BLOBS + "  - plugin: kmeans\n    params: {k: 6, attempts: 3}\n"  #: the same, slowed down (kill tests)


def vidcv_cmd() -> list[str]:
    """The installed console script (the tests run against an installed vidcv)."""
    exe = shutil.which("vidcv", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "vidcv.cli.main"]


def run_cli(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*vidcv_cmd(), *args], capture_output=True, text=True, timeout=timeout, **kw)


def wait_for_fragments(proc: subprocess.Popen, partial: str, fragments: int, timeout: float = 60) -> None:
    """Wait until the recording in progress ``partial`` holds ``fragments`` whole fragments, ``proc`` ends, or
    ``timeout`` seconds pass (the caller asserts what it needs)."""
    from vidcv.media.mp4 import playable_prefix

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(partial) and playable_prefix(partial)[1] >= fragments:
            return
        time.sleep(0.1)


def record_then_kill(args: list[str], partial: str, fragments: int = 2) -> None:
    """`vidcv run ARGS` (a recording), SIGKILLed once its file in progress, ``partial``, holds ``fragments``
    whole fragments (about a second each)."""
    proc = subprocess.Popen([*vidcv_cmd(), "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_fragments(proc, partial, fragments)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)


def vidcv_threads() -> list[threading.Thread]:
    """Runner threads still alive (there must be none once a run is stopped)."""
    return [t for t in threading.enumerate() if t.name.startswith("vidcv-") and t.is_alive()]


@contextmanager
def full_tmpfs(free_pages: int = 1, size: str = "3m") -> Iterator[str]:
    """A tmpfs mounted for the test with ``free_pages`` pages left free (a file fills the rest); skips the test
    where mounting needs what is missing (root, a mount command)."""
    import pytest

    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = tempfile.mkdtemp(prefix="vidcv-full-")
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder], capture_output=True, text=True
    )
    if res.returncode != 0:
        os.rmdir(folder)
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        st = os.statvfs(folder)
        with open(os.path.join(folder, "filler"), "wb") as fh:
            fh.write(b"\0" * ((st.f_bavail - free_pages) * st.f_frsize))
        yield folder
    finally:
        subprocess.run(["umount", folder], check=True)
        os.rmdir(folder)


SHAPE_NAMES = {0: "square", 1: "circle"}


def make_shapes_dataset(root: str, frames: int = 16) -> str:
    """A vidcv yolo dataset of ``frames`` 96x96 images, each a red square and a blue circle at known places; 12
    frames go to train and 4 to val (frame split, seed 0)."""
    from vidcv.dataset.writer import DatasetWriter
    from vidcv.detections import Detections

    rng = np.random.default_rng(0)
    writer = DatasetWriter(root, "yolo", (0.75, 0.25, 0.0), "frame", seed=0)
    writer.open()
    try:
        for i in range(frames):
            img = np.full((96, 96, 3), 60, np.uint8) + rng.integers(0, 20, (96, 96, 3), dtype=np.uint8)
            boxes = []
            for cls in (0, 1):
                s = int(rng.integers(18, 30))
                x, y = (int(v) for v in rng.integers(0, 96 - s, 2))
                if cls == 0:
                    cv2.rectangle(img, (x, y), (x + s - 1, y + s - 1), (40, 40, 230), -1)
                else:
                    cv2.circle(img, (x + s // 2, y + s // 2), s // 2, (230, 80, 40), -1)
                boxes.append((x, y, x + s, y + s))
            dets = Detections(np.array(boxes, np.float32), np.ones(2, np.float32), np.array([0, 1]), names=SHAPE_NAMES)
            writer.add("shapes", i, img, dets, {"source": "generated"})
    finally:
        writer.close()
    return root


def write_textured_video(
    path: str, frames: int, codec: str = "h264", size: tuple[int, int] = (320, 240), fps: int = 30, seed: int = 0
) -> str:
    """Saturated, textured footage (what a macro lens or foliage gives): random colour blobs, every channel over
    the whole range, with fine random texture on top, panning 4 px a frame; encoded by FFmpeg (PyAV) as
    ``codec`` (h264: libx264 CRF 18; mpeg4: quantiser 3) in 4:2:0. Its saturated colours clip in the BGR decode
    and not in the luma plane: where the luma path and the colour decode differ most."""
    import av

    w, h = size
    rng = np.random.default_rng(seed)
    wide = w + 4 * frames
    coarse = rng.integers(0, 256, (h // 12 + 2, wide // 12 + 2, 3), dtype=np.uint8)
    base = cv2.resize(coarse, (wide, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    texture = np.clip(base + rng.integers(-70, 71, (h, wide, 3)), 0, 255).astype(np.uint8)
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264" if codec == "h264" else codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "h264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.options = {"qmin": "3", "qmax": "3"}  # a fixed quantiser, as -q:v 3
        for i in range(frames):
            image = np.ascontiguousarray(texture[:, 4 * i : 4 * i + w])
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


#: the scene of the zone tests: a red square (square_video) found by colour, tracked, watched by a zone it
#: enters around frame 55 and leaves around frame 95 (its bottom centre, x = 2 i + 15, past 120 + 5 and 200 + 5)
ZONE_FPS = 25
ZONE_PRESET = """pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 150, 120], upper: [8, 255, 255]}
  - plugin: contours
    params: {min_area: 200, draw: original}
  - plugin: track
  - plugin: zone
    params: {zone: door, polygon: [[120, 100], [200, 100], [200, 230], [120, 230]], draw: false}
"""


def square_video(path: str, frames: int = 150, size: tuple[int, int] = (320, 240)) -> str:
    """A red 30x30 square crossing the frame left to right at 2 px a frame at ZONE_FPS, each frame numbered
    (``decode_index``)."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), ZONE_FPS, size)
    for i in range(frames):
        img = encode_index(i, *size)
        img[BLOCK * 2 :] = 90
        cv2.rectangle(img, (2 * i, 150), (2 * i + 29, 179), (0, 0, 255), -1)
        writer.write(img)
    writer.release()
    return path


class CollectSink(Sink):
    """A sink that keeps every frame the pipeline gave out, in ``got``."""

    def __init__(self) -> None:
        self.got: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.got.append(frame)

    def close(self) -> None:
        pass
