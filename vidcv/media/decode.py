"""Decoding a video file or a network stream into BGR frames with FFmpeg (PyAV).

What this adds over ``cv2.VideoCapture``: each frame's own timestamp from the container, the exact frame
count, seeking to an exact frame (any frame, not only keyframes), threaded decoding, and timeouts on
opening and on every read, so that a server that accepts a connection and then sends nothing cannot hang
a run. The BGR conversion is FFmpeg's swscale with the same settings as OpenCV's: the pixels are equal to
``cv2.VideoCapture``'s, bit for bit (tested).
"""

from __future__ import annotations

import bisect
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from vidcv.media.decoded import Decoded as Decoded  # where the sources take it from without PyAV
from vidcv.media.decoded import Unconverted

log = logging.getLogger(__name__)

#: what opening or reading fails with: PyAV's errors for a file or a connection (timeouts are
#: ``av.ExitError``), ValueError for a file without video
DECODE_ERRORS = (av.FFmpegError, OSError, EOFError, ValueError)


#: a display rotation (degrees counter-clockwise, as phones record portrait video) -> the turn that undoes it
_TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


#: limited-range luma (16..235) to the gray of the BGR decode: ``(Y - 16) * 255 / 219`` less one level, the
#: mean offset of FFmpeg's fixed-point YUV->BGR conversion followed by cvtColor(BGR2GRAY) (measured on H.264 and
#: MPEG-4 Part 2; the README gives the tolerance measured)
LIMITED_LUMA_TO_GRAY = np.clip(np.round((np.arange(256) - 16) * 255 / 219 - 1), 0, 255).astype(np.uint8)
#: pixel formats whose first plane is 8-bit luma at full size; yuvj* are full range (JPEG)
_LUMA_FORMATS = {
    "yuv420p",
    "yuv422p",
    "yuv444p",
    "yuv411p",
    "yuv440p",
    "nv12",
    "nv21",
    "yuvj420p",
    "yuvj422p",
    "yuvj444p",
    "yuvj440p",
    "yuvj411p",
}
_FULL_RANGE = 2  #: AVCOL_RANGE_JPEG


def luma(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's gray straight from its luma plane, on the scale of ``cvtColor(BGR2GRAY)`` of its BGR
    decode (limited range expanded by ``LIMITED_LUMA_TO_GRAY``), or None for a format without an 8-bit luma
    plane. Saturated colours, which the BGR decode clips, may differ by more (up to about 20 levels)."""
    if frame.format.name not in _LUMA_FORMATS:
        return None
    plane = frame.planes[0]
    y = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)[:, : frame.width]
    if frame.format.name.startswith("yuvj") or getattr(frame, "color_range", 0) == _FULL_RANGE:
        full: np.ndarray = y.copy()
        return full
    return cv2.LUT(y, LIMITED_LUMA_TO_GRAY)


def bgr(frame: av.VideoFrame, reformatter: VideoReformatter | None = None) -> np.ndarray:
    """The frame as BGR, converted by swscale in the calling thread. ``reformatter``: one kept across the
    frames of a video (``VideoReader`` keeps one), which keeps swscale's context, set up once, instead of a
    new one per frame (``VideoFrame.to_ndarray`` makes one per frame, and by default starts a pool of
    conversion threads for it each time). The pixels are the same either way."""
    if reformatter is None:
        reformatter = VideoReformatter()
    image: np.ndarray = reformatter.reformat(frame, format="bgr24", threads=1).to_ndarray()
    return image


def upright(frame: av.VideoFrame, gray: bool = False, reformatter: VideoReformatter | None = None) -> np.ndarray:
    """The frame as BGR (or gray: from the luma plane where there is one), turned as its display matrix
    says (what ``cv2.VideoCapture`` does by default); ``reformatter`` as for ``bgr``."""
    image = luma(frame) if gray else None
    if image is None:
        image = bgr(frame, reformatter)
        if gray:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return _turned(frame, image)


def _turned(frame: av.VideoFrame, image: np.ndarray) -> np.ndarray:
    turn = _TURNS.get(round(frame.rotation or 0) % 360)
    return image if turn is None else cv2.rotate(image, turn)


def upright_luma(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's gray from its luma plane (``luma``), turned as ``upright`` turns it; None for a format
    without one."""
    image = luma(frame)
    return None if image is None else _turned(frame, image)


class VideoReader:
    """Frames of ``url`` (a path or a stream URL) in presentation order.

    ``threads`` FFmpeg decoding threads (frame and slice threading, 0 = FFmpeg's choice; or what it says for the
    coded frame size, as the stream's header tells it, when it is a function); ``timeout_s``:
    ``(open, read)`` seconds, after which a blocked open or read fails with ``av.ExitError`` (None: wait);
    ``skip_damaged`` skips a packet that does not decode (a stream that lost data, garbage in a file) instead
    of raising, counting it in ``damaged_packets``; more than ``max_damaged_run`` failed packets in a row
    (None: no limit) raise the last one's error, as a file that is garbage from there on;
    ``live`` decodes with slice threads only, adding no frame of delay. With ``gray`` set, frames come as
    gray straight from the luma plane (see ``luma``), skipping the colour conversion; with ``luma_beside``
    they come as BGR with that gray beside (``Decoded.luma``).
    Raises one of ``DECODE_ERRORS`` when ``url`` cannot be opened or holds no video.
    """

    def __init__(
        self,
        url: str,
        threads: int | Callable[[tuple[int, int]], int] = 0,
        timeout_s: tuple[float, float] | None = None,
        options: dict[str, str] | None = None,
        skip_damaged: bool = False,
        live: bool = False,
        max_damaged_run: int | None = None,
    ) -> None:
        self.url = url
        self.skip_damaged = skip_damaged
        self.max_damaged_run = max_damaged_run
        self.damaged_packets = 0  #: packets skipped as damaged since opening (or the last seek)
        self.damaged_ms: tuple[float, float] | None = None  #: when the first and the last of them were (ms)
        self.damaged_at_end = False  #: the data ended in damage: decoding never resumed after it
        self.gray = False
        self.luma_beside = False
        self._container = av.open(url, "r", options=options or {}, timeout=timeout_s)
        try:
            if not self._container.streams.video:
                raise ValueError(f"{url} holds no video stream")
            self._stream = stream = self._container.streams.video[0]
            # frame threads hold back one frame per thread: slices only for a live stream, where age counts
            stream.thread_type = "SLICE" if live else "AUTO"
            coded_wh = (stream.codec_context.width, stream.codec_context.height)
            stream.codec_context.thread_count = threads(coded_wh) if callable(threads) else threads
            rate = stream.average_rate or stream.guessed_rate
            self.fps: float | None = float(rate) if rate and 0 < float(rate) < 1000 else None
            self.time_base: Fraction = stream.time_base or Fraction(1, 90000)
            self.start_pts: int = stream.start_time or 0
            self.codec: str = stream.codec_context.name
            self.size_wh = coded_wh  #: as coded, unturned
            duration_us = self._container.duration  # from the container; absent for live streams
            self.duration_ms: float | None = duration_us / 1000.0 if duration_us else None
            self.frame_count: int | None = stream.frames or self._estimated_count()
            self.count_exact = bool(stream.frames)  #: False while ``frame_count`` is duration x fps
        except BaseException:
            self._container.close()
            raise
        self._frames: Iterator[av.VideoFrame] = self._decode()
        #: swscale's contexts for the BGR conversion, kept across frames: one per conversion going on at once
        #: (in the reading thread, or in the threads that convert what ``read_unconverted`` gave), free ones here
        self._reformatters: list[VideoReformatter] = []
        self._reformatters_lock = threading.Lock()
        self._pts_index: list[int] | None = None
        self._held: av.VideoFrame | None = None  #: a frame read ahead by seek, served next

    def _estimated_count(self) -> int | None:
        if self.duration_ms and self.fps:
            return round(self.duration_ms / 1000.0 * self.fps)
        return None

    def _decode(self) -> Iterator[av.VideoFrame]:
        run = 0  # packets in a row that failed to decode
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                run += 1
                if not self.skip_damaged or (self.max_damaged_run is not None and run > self.max_damaged_run):
                    raise
                self._skipped(packet)
                continue
            if run and packet.size:  # decoding resumed after damage (not the empty packet that flushes at the end)
                run = 0
            yield from frames
        self.damaged_at_end = run > 0

    def _skipped(self, packet: av.Packet[av.VideoStream]) -> None:
        """Count a damaged packet that was skipped, and when it was."""
        self.damaged_packets += 1
        pts = packet.pts if packet.pts is not None else packet.dts
        at_ms = float((pts - self.start_pts) * self.time_base) * 1000.0 if pts is not None else None
        if at_ms is not None:
            lo, hi = self.damaged_ms or (at_ms, at_ms)
            self.damaged_ms = (min(lo, at_ms), max(hi, at_ms))
        log.debug("%s: a damaged packet was skipped (at %s ms)", self.url, at_ms)

    def _pts_ms(self, frame: av.VideoFrame, fallback_ms: float) -> float:
        pts = frame.pts
        if pts is None:
            return fallback_ms
        return float((pts - self.start_pts) * self.time_base) * 1000.0

    def read(self, fallback_pts_ms: float = 0.0) -> Decoded | None:
        """The next frame, or None at the end of the video. A frame without a timestamp gets
        ``fallback_pts_ms``. Raises ``DECODE_ERRORS`` when the data is damaged or a read times out."""
        frame = self._next_frame()
        if frame is None:
            return None
        pts_ms = self._pts_ms(frame, fallback_pts_ms)
        if self.luma_beside and not self.gray:
            with self._reformatter() as reformatter:
                return Decoded(upright(frame, reformatter=reformatter), pts_ms, upright_luma(frame))
        return Decoded(self.convert(frame), pts_ms)

    def read_unconverted(self, fallback_pts_ms: float = 0.0) -> Unconverted | None:
        """``read`` without the conversion to the image (BGR, or gray with ``gray``): the frame is decoded, and
        its ``convert()`` makes the image ``read`` would give, bit for bit, in the thread that calls it (which
        leaves the reading thread free for the next frame). ``luma_beside`` is not honoured: use ``read``."""
        frame = self._next_frame()
        if frame is None:
            return None
        return Unconverted(functools.partial(self.convert, frame), self._pts_ms(frame, fallback_pts_ms))

    def convert(self, frame: av.VideoFrame) -> np.ndarray:
        """A frame this reader decoded as ``read`` gives its image: BGR (gray from the luma plane with ``gray``),
        upright. Any thread may call it, several at once."""
        with self._reformatter() as reformatter:
            return upright(frame, self.gray, reformatter)

    def _next_frame(self) -> av.VideoFrame | None:
        frame = self._held
        self._held = None
        if frame is None:
            frame = next(self._frames, None)
        return frame

    @contextmanager
    def _reformatter(self) -> Iterator[VideoReformatter]:
        """A swscale context for one conversion, this thread's meanwhile (a context is not for two at once):
        a free one, set up by an earlier conversion (a new thread, such as a worker started for frames in
        parallel, takes one too rather than setting up its own), or a new one."""
        with self._reformatters_lock:
            reformatter = self._reformatters.pop() if self._reformatters else None
        if reformatter is None:
            reformatter = VideoReformatter()
        try:
            yield reformatter
        finally:
            with self._reformatters_lock:
                self._reformatters.append(reformatter)

    def frame_pts(self) -> list[int]:
        """The presentation timestamps of every frame, in order (read once from the packets, no decoding):
        the table that makes seeking exact and the frame count exact."""
        if self._pts_index is None:
            with av.open(self.url, "r") as inp:
                stream = inp.streams.video[0]
                pts = sorted(p.pts for p in inp.demux(stream) if p.pts is not None and p.size)
            self._pts_index = pts
            self.frame_count, self.count_exact = len(pts), True
        return self._pts_index

    def seek(self, index: int) -> int:
        """Position before frame ``index`` (counted from 0 in presentation order): the next ``read`` returns
        exactly that frame, or None past the end. Seeks to the keyframe before it and decodes up to it.
        Returns the index the next read will have."""
        table = self.frame_pts()
        index = max(0, index)
        self.damaged_packets, self.damaged_ms, self.damaged_at_end = 0, None, False
        if index >= len(table):
            self._frames, self._held = iter(()), None
            return len(table)
        target = table[index]
        self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
        self._frames, self._held = self._decode(), None
        for frame in self._frames:
            if frame.pts is None or frame.pts >= target:
                self._held = frame
                break
        if self._held is not None and self._held.pts is not None and self._held.pts != target:
            # a frame the table did not foresee (an odd file): report where the decoder really is
            return bisect.bisect_left(table, self._held.pts)
        return index

    def close(self) -> None:
        self._frames = iter(())
        self._held = None
        self._container.close()

    release = close  #: the name sources call (as on ``cv2.VideoCapture``)
