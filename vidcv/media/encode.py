"""Encoding BGR frames into a video file with FFmpeg (PyAV): the codec and encoder choice, quality, NVENC.

H.264 is the default in MP4, MOV and MKV; it plays in browsers and every player. An NVIDIA GPU's encoder
(NVENC) is used when one answers, the CPU encoder otherwise (libx264, libx265, SVT-AV1), and the log says
which. MP4 and MOV are written fragmented (a fragment every second) so that a write cut short keeps every
second before the cut (see ``vidcv.media.mp4``).
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
from fractions import Fraction
from typing import NamedTuple, cast

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

CODECS = ("h264", "hevc", "av1", "mpeg4", "mjpeg")
QUALITIES = ("low", "medium", "high")
DEFAULT_QUALITY = "medium"

#: extension -> (FFmpeg container format, default codec, codecs it takes)
CONTAINERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    ".mp4": ("mp4", "h264", ("h264", "hevc", "av1", "mpeg4", "mjpeg")),
    ".m4v": ("mp4", "h264", ("h264", "hevc", "av1", "mpeg4", "mjpeg")),
    ".mov": ("mov", "h264", ("h264", "hevc", "mpeg4", "mjpeg")),
    ".mkv": ("matroska", "h264", CODECS),
    ".avi": ("avi", "mjpeg", ("h264", "mpeg4", "mjpeg")),
}
#: containers written as fragmented MP4 (a fragment per keyframe, a keyframe every second)
FRAGMENTED_FORMATS = ("mp4", "mov")
FRAGMENT_FLAGS = "frag_keyframe+empty_moov+default_base_moof"

CPU_ENCODERS = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1", "mpeg4": "mpeg4", "mjpeg": "mjpeg"}
GPU_ENCODERS = {"h264": "h264_nvenc", "hevc": "hevc_nvenc", "av1": "av1_nvenc"}

#: libx264's preset for every write. "veryfast" held 1080p30 from the live pattern source on 2 loaded cores
#: (bench/bench_record.py: 0-1 of 450 frames dropped, as many as without recording; 0.41-0.47 cores);
#: "superfast" and "ultrafast" dropped no fewer and wrote files 2-3x larger; "medium" dropped 31.
X264_PRESET = "veryfast"

#: quality -> encoder options (constant quality: the file size follows the content)
_QUALITY_OPTIONS: dict[str, dict[str, dict[str, str]]] = {
    "libx264": {q: {"preset": X264_PRESET, "crf": c} for q, c in zip(QUALITIES, ("28", "23", "18"))},
    "libx265": {
        q: {"preset": "veryfast", "crf": c, "x265-params": "log-level=error"}
        for q, c in zip(QUALITIES, ("32", "28", "23"))
    },
    "libsvtav1": {q: {"preset": "10", "crf": c} for q, c in zip(QUALITIES, ("44", "35", "28"))},
    **{
        name: {q: {"preset": "p4", "rc": "vbr", "cq": c, "b": "0"} for q, c in zip(QUALITIES, ("32", "26", "20"))}
        for name in GPU_ENCODERS.values()
    },
}
#: quality -> fixed quantiser for the MPEG-4 Part 2 and MJPEG encoders (lower is better)
_QSCALE = {"low": 8, "medium": 4, "high": 2}


class EncoderChoice(NamedTuple):
    """The FFmpeg encoder that will write a codec, and why (for the log)."""

    codec: str
    encoder: str
    reason: str


@functools.cache
def encoder_opens(name: str) -> bool:
    """True when the FFmpeg encoder ``name`` opens here (NVENC needs an NVIDIA GPU and its driver); asked
    once per process."""
    try:
        ctx = cast(av.VideoCodecContext, av.CodecContext.create(name, "w"))  # a video encoder's name
        ctx.width, ctx.height = 256, 256
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.open()
    except (av.FFmpegError, ValueError, OSError):
        return False
    return True


def choose_encoder(codec: str, hardware: str = "auto") -> EncoderChoice:
    """The encoder for ``codec``: NVENC when ``hardware`` is ``auto`` or ``gpu`` and an NVIDIA GPU answers,
    else the CPU encoder (``gpu`` without a GPU is refused with ValueError)."""
    if codec not in CPU_ENCODERS:
        raise ValueError(f"unknown codec '{codec}'; use one of {', '.join(CODECS)}")
    gpu = GPU_ENCODERS.get(codec)
    if hardware != "cpu" and gpu is not None:
        if encoder_opens(gpu):
            return EncoderChoice(codec, gpu, "NVIDIA GPU (NVENC)")
        if hardware == "gpu":
            raise ValueError(f"no NVIDIA GPU encoder answered for {codec} ({gpu} did not open)")
        return EncoderChoice(codec, CPU_ENCODERS[codec], "CPU: no NVIDIA GPU encoder answered")
    return EncoderChoice(codec, CPU_ENCODERS[codec], "CPU" if gpu is None else "CPU, as asked")


def container_for(path: str, codec: str | None) -> tuple[str, str]:
    """``(FFmpeg format, codec)`` for writing ``path``: the codec asked for, or the extension's default.
    ValueError, saying what fits, for an extension or a pairing that cannot be written."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in CONTAINERS:
        raise ValueError(f"unknown video extension '{ext}'; use one of {', '.join(CONTAINERS)}")
    fmt, default, allowed = CONTAINERS[ext]
    codec = codec or default
    if codec not in CODECS:
        raise ValueError(f"unknown codec '{codec}'; use one of {', '.join(CODECS)}")
    if codec not in allowed:
        fits = [e for e, (_, _, takes) in CONTAINERS.items() if codec in takes]
        raise ValueError(
            f"a {ext} file cannot hold {codec}; use {', '.join(allowed)} in {ext}, or write {codec} "
            f"to {' or '.join(fits)}"
        )
    return fmt, codec


def even_size(width: int, height: int) -> tuple[int, int]:
    """4:2:0 video needs even sides: the last odd row or column is left out (a side of one pixel is doubled)."""
    return max(2, width - width % 2), max(2, height - height % 2)


class VideoEncoder:
    """Writes BGR frames to ``path`` (under exactly that name) as ``codec`` in ``fmt``.

    ``pts`` passed to ``encode`` count frame periods at ``fps`` and must increase (gaps are allowed: a live
    source that dropped frames keeps its timing). The caller's thread converts each frame to the encoder's
    pixel format; a thread of the encoder's own encodes and writes, with up to ``buffer_frames`` frames
    waiting, so that a moment of load on the machine delays the file instead of stalling the caller (and
    a live source behind it). Raises ``av.FFmpegError``/``OSError`` when writing fails (a full disk), at the
    next ``encode`` or at ``finish``; ``abort`` then releases the file without finishing it.
    """

    def __init__(
        self,
        path: str,
        fmt: str,
        choice: EncoderChoice,
        fps: float,
        size_wh: tuple[int, int],
        quality: str = DEFAULT_QUALITY,
        buffer_frames: int = 0,
    ) -> None:
        if quality not in QUALITIES:
            raise ValueError(f"unknown quality '{quality}'; use one of {', '.join(QUALITIES)}")
        self.path, self.fmt, self.choice = path, fmt, choice
        self.size_wh = even_size(*size_wh)
        self._error: BaseException | None = None  #: what a write in the encoding thread failed with
        self._queue: queue.Queue[av.VideoFrame | None] | None = None
        self._worker: threading.Thread | None = None
        rate = Fraction(fps).limit_denominator(1001)
        # each finished fragment (each packet of a .mkv) reaches the file at once, not when 32 kB have gathered:
        # at a low bit rate that would hold back many seconds from a recording that is then killed
        options = {"flush_packets": "1"}
        if fmt in FRAGMENTED_FORMATS:
            options["movflags"] = FRAGMENT_FLAGS
        if choice.encoder == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints a banner on stderr otherwise
        self._container = av.open(path, "w", format=fmt, options=options)
        try:
            stream = cast(av.VideoStream, self._container.add_stream(choice.encoder, rate=rate))  # a video encoder
            cc = stream.codec_context
            stream.width, stream.height = self.size_wh
            cc.time_base = 1 / rate
            self._mjpeg = choice.encoder == "mjpeg"
            stream.pix_fmt = "yuvj420p" if self._mjpeg else "yuv420p"
            cc.gop_size = max(1, round(float(rate)))  # a keyframe, hence a fragment, every second
            if choice.encoder in _QUALITY_OPTIONS:
                cc.options = dict(_QUALITY_OPTIONS[choice.encoder][quality])
            else:
                # PyAV's qscale only switches AV_CODEC_FLAG_QSCALE on: the quantiser itself is not set this way
                cc.qscale = bool(_QSCALE[quality])
            if not self._mjpeg:  # what cv2's BGR -> I420 makes: BT.601, limited range; tagged so players agree
                cc.colorspace, cc.color_range = 6, 1  # AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG
                cc.color_primaries, cc.color_trc = 6, 6
            cc.open()
        except BaseException:
            self.abort()
            raise
        self._stream = stream
        self.frames = 0
        if buffer_frames > 0:
            self._queue = queue.Queue(buffer_frames)
            self._worker = threading.Thread(target=self._work, name="vidcv-encoder", daemon=True)
            self._worker.start()

    @property
    def queue_depth(self) -> int:
        """Frames waiting for the encoding thread (0 without one); read from any thread."""
        return self._queue.qsize() if self._queue is not None else 0

    def _frame(self, image: np.ndarray) -> av.VideoFrame:
        w, h = self.size_wh
        image = image[:h, :w]
        if image.shape[0] < h or image.shape[1] < w:  # a side of one pixel: repeated to the two 4:2:0 needs
            image = cv2.copyMakeBorder(image, 0, h - image.shape[0], 0, w - image.shape[1], cv2.BORDER_REPLICATE)
        if self._mjpeg:  # full-range JPEG colour: swscale converts
            return av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        # OpenCV's conversion is multi-threaded and several times faster than swscale's, at 1080p
        yuv: np.ndarray = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        return av.VideoFrame.from_ndarray(yuv, format="yuv420p")

    def _write(self, frame: av.VideoFrame | None) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _work(self) -> None:
        assert self._queue is not None
        while (frame := self._queue.get()) is not None:
            if self._error is None:  # after a failure, frames are taken and dropped until the end
                try:
                    self._write(frame)
                except (av.FFmpegError, OSError, ValueError) as exc:  # raised in the caller's thread next
                    self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def encode(self, image: np.ndarray, pts: int) -> None:
        """Encode one BGR frame at ``pts`` (frame periods); raises the error of an earlier write, if any."""
        self._raise_error()
        frame = self._frame(image)
        frame.pts = pts
        if self._queue is None:
            self._write(frame)
        else:
            self._queue.put(frame)
        self.frames += 1

    def _stop_worker(self) -> None:
        if self._worker is not None and self._queue is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def finish(self) -> None:
        """Encode what waits, flush the encoder and write the file's end (its index)."""
        self._stop_worker()
        self._raise_error()
        self._write(None)
        self._container.close()

    def abort(self) -> None:
        """Release the file after a failure, whatever state it is in."""
        self._error = self._error or RuntimeError("aborted")
        self._stop_worker()
        try:
            self._container.close()
        except (av.FFmpegError, OSError):
            pass


def remux_faststart(src: str, dst: str, fmt: str | None = None) -> None:
    """Copy the video of the fragmented MP4 ``src`` into ``dst`` as a plain MP4 (``fmt`` mp4 or mov; by default
    as ``src``'s extension says) with its index first (seekable, and playable by a browser before it has the
    whole file). No re-encoding."""
    with av.open(src) as inp:
        ist = inp.streams.video[0]
        fmt = fmt or ("mov" if src.lower().endswith(".mov") else "mp4")
        with av.open(dst, "w", format=fmt, options={"movflags": "+faststart"}) as out:
            ost = out.add_stream_from_template(ist, opaque=True)  # parameters only: no codec to open
            shift = None  # the first frame is shown at 0 (a fragmented file starts at the B-frame delay)
            for packet in inp.demux(ist):
                if packet.dts is None or packet.pts is None:  # the flush packet at the end
                    continue
                shift = packet.pts if shift is None else shift
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
                packet.stream = ost
                out.mux(packet)


class Probe(NamedTuple):
    """What a video file holds: its frames, their span in seconds, and the codec."""

    frames: int
    seconds: float
    codec: str


def probe(path: str) -> Probe:
    """Count the frames of ``path`` by reading its packets (no decoding); zero frames for what cannot be read."""
    try:
        with av.open(path) as inp:
            stream = inp.streams.video[0]
            count, last = 0, None
            for packet in inp.demux(stream):
                if packet.size:
                    count += 1
                    if packet.pts is not None:
                        last = packet.pts if last is None else max(last, packet.pts)
            rate = stream.average_rate or stream.guessed_rate or 30
            start = stream.start_time or 0
            seconds = float((last - start) * stream.time_base) + 1 / float(rate) if last is not None else 0.0
            return Probe(count, seconds, stream.codec_context.name)
    except (av.FFmpegError, IndexError, OSError):
        return Probe(0, 0.0, "")
