"""The colour conversion left to the thread that processes a frame (``Source.defer_conversion``): the reading
thread only decodes, the frame's image is made where it is processed. The images, numbers and times are the
very ones ``read`` gives, bit for bit, on textured H.264 and MPEG-4 Part 2, whichever thread converts them; a
file's run defers while PyAV decodes (from 720p, or asked; frames in parallel convert in their workers), the
window's and a live source's do not, and below 720p OpenCV decodes and converts as before."""

import os
import threading

import cv2
import numpy as np
import pytest

from media import CollectSink, run_cli, write_textured_video
from vidcv.frame import Frame, PendingFrame
from vidcv.media.decode import VideoReader
from vidcv.presets import parse_preset
from vidcv.registry import Registry
from vidcv.runner import Processing, Runner
from vidcv.sources import FileSource, parse_source

REG = Registry()
EDGES = """pipeline:
  - plugin: color
    params: {to: gray}
  - plugin: blur
    params: {method: gaussian, ksize: 5}
  - plugin: canny
    params: {low: 50, high: 150}
"""
FRAMES = 12


@pytest.fixture(scope="module", params=["h264", "mpeg4"])
def clip(request, tmp_path_factory):
    """A small saturated, textured clip (below 720p: OpenCV decodes it unless PyAV is asked for)."""
    path = str(tmp_path_factory.mktemp(f"defer_{request.param}") / f"texture_{request.param}.mp4")
    return write_textured_video(path, FRAMES, request.param, (320, 240))


def in_thread(fn):
    """``fn()`` called in another thread, and what it returned."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


@pytest.mark.parametrize("gray", [False, True])
def test_a_frame_read_unconverted_converts_in_any_thread_to_what_read_gives(clip, gray):
    plain, unconverted = VideoReader(clip, threads=1), VideoReader(clip, threads=1)
    plain.gray = unconverted.gray = gray
    later = []
    while (decoded := plain.read()) is not None:
        pending = unconverted.read_unconverted()
        assert pending is not None and pending.pts_ms == decoded.pts_ms
        later.append((pending, decoded.image))
    assert unconverted.read_unconverted() is None
    for pending, image in later:  # converted after every frame was decoded, in another thread
        made = in_thread(pending.convert)
        assert made.shape == image.shape == ((240, 320) if gray else (240, 320, 3))
        assert np.array_equal(made, image)
    plain.close()
    unconverted.close()


def test_the_reader_asks_for_its_threads_with_the_coded_size(clip):
    asked = []
    reader = VideoReader(clip, threads=lambda size: asked.append(size) or 1)
    assert asked == [(320, 240)] and reader.read() is not None
    reader.close()


def test_a_deferring_file_source_hands_pending_frames_equal_to_what_it_reads(clip):
    assert FileSource.can_defer_conversion
    plain = FileSource(clip)
    plain.open()
    assert plain.decoder == "opencv"  # a small MP4: OpenCV decodes when nothing asks for PyAV
    deferring = FileSource(clip, backend="pyav")
    deferring.defer_conversion = True
    deferring.open()
    got = []
    while (item := deferring.read_deferred()) is not None:
        got.append(item)
    assert isinstance(got[0], Frame)  # decoded on opening, converted then
    assert all(isinstance(item, PendingFrame) for item in got[1:]) and len(got) == FRAMES
    deferring.close()  # the source thread closes the file while frames still wait for the processing thread
    for item in got:
        expected = plain.read()
        frame = in_thread(item.frame) if isinstance(item, PendingFrame) else item
        assert (frame.index, frame.pts_ms, frame.color_space) == (expected.index, expected.pts_ms, "bgr")
        assert frame.image is frame.source_image and np.array_equal(frame.image, expected.image)
    assert plain.read() is None
    plain.close()


def test_from_720p_pyav_decodes_and_defers_with_one_thread_on_two_cores(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    path = write_textured_video(str(tmp_path / "hd.mp4"), 3, "h264", (1280, 720))
    source = FileSource(path)
    source.defer_conversion = True
    threads = []
    monkeypatch.setattr(
        FileSource, "threads_for", lambda self, size, deferred=False: threads.append((size, deferred)) or 1
    )
    assert not source.converts_later  # not open yet
    source.open()
    assert source.decoder == "pyav" and threads == [((1280, 720), True)] and source.converts_later
    assert [type(source.read_deferred()) for _ in range(4)] == [Frame, PendingFrame, PendingFrame, type(None)]
    source.close()
    threads.clear()
    asked = FileSource(path, backend="opencv")  # OpenCV converts as it decodes: its threads stay as they were
    asked.defer_conversion = True
    asked.open()
    # PyAV probes the file first; OpenCV, which decodes, opens with the threads of a frame it converts itself
    assert asked.decoder == "opencv" and threads[-1] == ((1280, 720), False) and not asked.converts_later
    asked.close()
    from vidcv.sources.file import default_decode_threads

    assert default_decode_threads((1280, 720), deferred=True) == 1 and default_decode_threads((1280, 720)) == 3


def test_opencv_decoding_or_no_deferral_asked_gives_frames(clip):
    small = FileSource(clip)  # below 720p OpenCV decodes: it converts as it decodes, deferral or not
    small.defer_conversion = True
    small.open()
    assert small.decoder == "opencv" and not small.converts_later
    assert all(isinstance(f, Frame) for f in iter(small.read_deferred, None))
    small.close()
    plain = FileSource(clip, backend="pyav")
    plain.open()
    assert not plain.converts_later and all(isinstance(f, Frame) for f in iter(plain.read_deferred, None))
    plain.close()


def test_light_stages_keep_opencvs_threads_where_the_processing_thread_converts(clip, monkeypatch):
    """Light stages run OpenCV single-threaded so as to leave the cores to FFmpeg's decoding threads; where
    the processing thread converts the frames, the decoder has one thread of its own, and the thread that
    converts and runs the stages keeps OpenCV's threads."""
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    light = {"read_s": 0.0004, "stages_s": 0.0003, "single_s": 0.0003, "cpu_s": 0.0015}
    converting = Runner(FileSource(clip, backend="pyav"), parse_preset(EDGES, REG), workers=None)
    converting.open()
    assert converting.source.converts_later
    assert converting.choose_processing(**light) == Processing(1, None)
    decoding = Runner(FileSource(clip), parse_preset(EDGES, REG), workers=None)  # OpenCV: converts as it reads
    decoding.open()
    assert not decoding.source.converts_later
    assert decoding.choose_processing(**light) == Processing(1, 1)
    for runner in (converting, decoding):
        runner.source.close()


def edges_run(clip, **kw):
    collect = CollectSink()
    runner = Runner(FileSource(clip, backend="pyav"), parse_preset(EDGES, REG), [collect], **kw)
    runner.run()
    assert runner.error is None
    return runner, collect.got


@pytest.mark.parametrize("workers", [1, 3, None])
def test_a_file_run_converts_in_the_threads_that_process_and_computes_the_same_pixels(clip, workers, monkeypatch):
    converted_in = set()
    convert = VideoReader.convert

    def spy(self, frame):
        converted_in.add(threading.current_thread().name)
        return convert(self, frame)

    monkeypatch.setattr(VideoReader, "convert", spy)
    runner, got = edges_run(clip, workers=workers)
    assert runner.defers_conversion() and runner.source.defer_conversion
    converted_in.discard("MainThread")  # the first frame, decoded and converted on opening
    assert converted_in and not converted_in & {"vidcv-source", "vidcv-sink"}
    if workers == 3:
        assert len(converted_in) == 3  # each worker converts the frames it processes
    assert [f.index for f in got] == list(range(FRAMES))
    cap = cv2.VideoCapture(clip)
    for frame in got:  # the direct OpenCV calls on OpenCV's BGR decode
        ok, bgr = cap.read()
        assert ok
        expected = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (5, 5), 0), 50, 150)
        assert np.array_equal(frame.image, expected) and np.array_equal(frame.source_image, bgr)


def test_the_luma_path_defers_its_gray_too(clip):
    runner, got = edges_run(clip, gray_source=True)
    assert runner.source.deliver_gray and runner.source.defer_conversion
    plain = VideoReader(clip, threads=1)
    plain.gray = True
    for frame in got:
        gray = plain.read().image
        assert frame.source_image.ndim == 2 and np.array_equal(frame.source_image, gray)
    plain.close()


def test_the_window_and_a_live_source_do_not_defer(clip):
    assert not Runner(FileSource(clip), parse_preset(EDGES, REG), editable=True).defers_conversion()
    assert not Runner(parse_source("pattern:"), parse_preset(EDGES, REG)).defers_conversion()


def test_vidcv_run_at_720p_converts_in_the_processing_thread_and_writes_the_direct_opencv_pixels(tmp_path):
    """End to end: `vidcv run` of a 720p textured clip (PyAV decodes, the processing thread converts) writes, as
    a lossless PNG sequence, the direct OpenCV calls on OpenCV's own BGR decode."""
    clip = write_textured_video(str(tmp_path / "hd.mp4"), 4, "h264", (1280, 720), seed=3)
    preset = tmp_path / "edges.yaml"
    preset.write_text(EDGES)
    frames = tmp_path / "frames"
    res = run_cli("run", clip, "-p", str(preset), "-o", f"{frames}/", "-q")
    assert res.returncode == 0, res.stderr
    names = sorted(os.listdir(frames))
    cap = cv2.VideoCapture(clip)
    assert len(names) == 4
    for name in names:
        ok, bgr = cap.read()
        assert ok
        expected = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (5, 5), 0), 50, 150)
        assert np.array_equal(cv2.imread(str(frames / name), cv2.IMREAD_UNCHANGED), expected)
