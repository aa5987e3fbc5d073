"""Garbage inside an H.264 file: skipped as FFmpeg skips it, reported, and bounded (damage to the end is truncation)."""

import json
import logging
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from media import BITS, BLOCK, decode_index, run_cli
from vidcv.errors import TruncatedVideoError
from vidcv.events import SourceState
from vidcv.sources import FileSource
from vidcv.sources import file as file_mod

FRAMES, FPS, SIZE = 300, 30, (640, 360)
GARBAGE = 64 * 1024


def moving_texture(index: int) -> np.ndarray:
    """A textured frame that pans a little each frame (small P-frames, as in real video), its index in the
    top row of blocks (read back by ``decode_index``)."""
    w, h = SIZE
    rng = np.random.default_rng(7)
    texture = np.repeat(np.repeat(rng.integers(40, 215, (h // 4 + 8, w // 4 + 160, 3), dtype=np.uint8), 4, 0), 4, 1)
    img = np.ascontiguousarray(texture[index % 16 : index % 16 + h, 2 * index : 2 * index + w])
    img[:BLOCK] = 90
    for bit in range(BITS):
        img[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if (index >> bit) & 1 else 0
    return img


def mdat_span(data: bytes) -> tuple[int, int]:
    """Where the media data of an MP4 lies (the payload of its top-level ``mdat`` box)."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = len(data) - pos
        if kind == b"mdat":
            return pos + header, pos + size
        pos += size
    raise AssertionError("no mdat box")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 10 s H.264 MP4 (keyframe every 2 s, B-frames), 640x360, with each frame's index in its pixels."""
    path = tmp_path_factory.mktemp("damaged") / "good.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"g": "60", "preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for i in range(FRAMES):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(moving_texture(i), format="bgr24")))
        out.mux(stream.encode())
    return path


def overwrite(clip: Path, dest: Path, start: int, end: int) -> Path:
    """A copy of ``clip`` with bytes ``start:end`` replaced by random ones (the same every time)."""
    data = bytearray(clip.read_bytes())
    data[start:end] = random.Random(1).randbytes(end - start)
    dest.write_bytes(bytes(data))
    return dest


@pytest.fixture(scope="module")
def damaged(clip, tmp_path_factory) -> Path:
    """``clip`` with 64 KB of garbage in the middle of its media data."""
    lo, hi = mdat_span(clip.read_bytes())
    middle = (lo + hi) // 2
    return overwrite(clip, tmp_path_factory.mktemp("damaged") / "damaged.mp4", middle, middle + GARBAGE)


def ffmpeg_frame_count(path: Path) -> int:
    """How many frames the ``ffmpeg`` command decodes from ``path``."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("no ffmpeg command to compare with")
    res = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "quiet",
            "-progress",
            "pipe:1",
            "-i",
            str(path),
            "-fps_mode",
            "passthrough",
            "-f",
            "null",
            "-",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return int([line for line in res.stdout.splitlines() if line.startswith("frame=")][-1].split("=")[1])


def read_every_frame(path: Path, **kw) -> tuple[FileSource, list, BaseException | None]:
    src = FileSource(str(path), backend="pyav", **kw)
    src.open()
    frames, error = [], None
    try:
        while (frame := src.read()) is not None:
            frames.append(frame)
    except TruncatedVideoError as exc:
        error = exc
    finally:
        src.close()
    return src, frames, error


@pytest.mark.parametrize("threads", [1, 4])
def test_garbage_in_the_middle_is_skipped_and_decoding_goes_on_as_ffmpeg_does(damaged, threads, caplog):
    expected = ffmpeg_frame_count(damaged)
    assert expected < FRAMES  # the garbage did cost frames
    with caplog.at_level(logging.WARNING, logger="vidcv.sources.file"):
        src, frames, error = read_every_frame(damaged, decode_threads=threads)
    assert error is None
    assert len(frames) >= expected - 2, (len(frames), expected)
    assert [f.index for f in frames] == list(range(len(frames)))
    # the frames after the damage are the right ones, at their own times: from the last keyframe on, exact
    tail = frames[-60:]
    assert [decode_index(f.image) for f in tail] == list(range(FRAMES - 60, FRAMES))
    assert [round(f.pts_ms * FPS / 1000) for f in tail] == list(range(FRAMES - 60, FRAMES))
    assert src.damaged_packets > 0 and src.frames_lost == FRAMES - len(frames)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert re.search(
        rf"skipped {src.damaged_packets} damaged packets (around \d+\.\d s|from \d+\.\d s to \d+\.\d s); ", warnings[0]
    ), warnings[0]
    assert f"{len(frames)} frames decoded ({src.frames_lost} lost)" in warnings[0]


def test_opencv_stopped_by_the_damage_hands_over_to_pyav_which_goes_on(damaged, caplog):
    """Below 720p OpenCV decodes (``choose_backend``) and stops for good at garbage in the middle: PyAV takes
    over from the next frame, skips the damage and decodes the rest, with the same one warning."""
    expected = ffmpeg_frame_count(damaged)
    src = FileSource(str(damaged))
    with caplog.at_level(logging.WARNING, logger="vidcv.sources.file"), src:
        assert src.decoder == "opencv"
        frames = list(src)
    assert src.decoder == "pyav" and len(frames) >= expected - 2, (len(frames), expected)
    assert [f.index for f in frames] == list(range(len(frames)))
    head = [decode_index(f.image) for f in frames[:60]]
    assert head == list(range(60))  # OpenCV's, before the damage
    tail = frames[-60:]
    assert [decode_index(f.image) for f in tail] == list(range(FRAMES - 60, FRAMES))
    assert [round(f.pts_ms * FPS / 1000) for f in tail] == list(range(FRAMES - 60, FRAMES))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "damaged packets" in warnings[0], warnings


def test_the_source_ends_with_the_damage_in_its_state(damaged):
    details = []
    src = FileSource(str(damaged), backend="pyav")
    src.open(report=lambda event: details.append((event.new, event.detail)))
    frames = list(src)
    src.close()
    state, detail = details[-2]
    assert state is SourceState.ENDED and f"{len(frames)} frames decoded" in detail and "damaged packets" in detail


def test_run_on_a_damaged_file_exits_ok_with_one_warning(damaged, tmp_path):
    stats = tmp_path / "s.json"
    res = run_cli("run", str(damaged), "-p", "edges", "--stats-json", str(stats), "-q")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(r"damaged\.mp4: skipped \d+ damaged packets (around|from) ", lines[0]), (
        res.stderr
    )
    frames = json.loads(stats.read_text())["frames"]
    assert f"; {frames} frames decoded ({FRAMES - frames} lost)" in lines[0]
    assert frames >= ffmpeg_frame_count(damaged) - 2


def test_garbage_to_the_end_is_a_truncated_file_whose_good_frames_are_kept(clip, tmp_path):
    lo, hi = mdat_span(clip.read_bytes())
    start = lo + (hi - lo) * 3 // 4
    bad = overwrite(clip, tmp_path / "tail.mp4", start, hi)
    src, frames, error = read_every_frame(bad)
    assert isinstance(error, TruncatedVideoError) and "looks truncated or damaged" in str(error)
    assert src.state is SourceState.CLOSED and 150 < len(frames) < FRAMES - 30
    assert [decode_index(f.image) for f in frames[:60]] == list(range(60))


def test_a_long_run_of_damaged_packets_ends_the_file_as_truncated(damaged, monkeypatch):
    monkeypatch.setattr(file_mod, "DAMAGED_RUN_LIMIT", 3)
    _, frames, error = read_every_frame(damaged)
    assert isinstance(error, TruncatedVideoError) and "announces 300 frames" in str(error)
    assert 60 < len(frames) < FRAMES // 2 + 30  # stopped at the damage, the frames before it kept
    assert [decode_index(f.image) for f in frames[:60]] == list(range(60))


def test_an_undamaged_clip_reports_no_damage(clip, caplog):
    with caplog.at_level(logging.WARNING, logger="vidcv.sources.file"):
        src, frames, error = read_every_frame(clip)
    assert error is None and len(frames) == FRAMES and src.damaged_packets == 0 and src.frames_lost is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
