"""Video files, read in order without losing a frame; truncation is detected and reported, damage in the
middle of a file is skipped (as FFmpeg skips it) and reported.

Two decoders, the same pixels: FFmpeg through PyAV (each frame's own timestamp, the exact frame count,
exact seeking, threaded decoding) and OpenCV's ``cv2.VideoCapture``. ``backend="auto"`` takes the faster
one for the file at hand, as measured by ``bench/bench_decode.py`` (see ``choose_backend``). Both convert
to BGR with FFmpeg's swscale at the same settings: their pixels are equal, bit for bit (tested).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

import cv2

from vidcv.errors import SourceError, TruncatedVideoError
from vidcv.events import SourceState
from vidcv.frame import Frame, PendingFrame
from vidcv.media.decoded import Decoded, Unconverted
from vidcv.media.mp4 import video_track
from vidcv.sources.base import CaptureSource

if TYPE_CHECKING:
    from vidcv.media.decode import VideoReader

log = logging.getLogger(__name__)

BACKENDS = ("auto", "pyav", "opencv")
#: below this many pixels a frame, OpenCV decodes: as fast as PyAV there (bench/bench_decode.py,
#: bench/bench_pipeline.py; the README has the figures), and a run that decodes with OpenCV never imports PyAV,
#: which is 45 ms of a short run's start-up
PYAV_MIN_PIXELS = 1280 * 720
#: what the OpenCV reader can raise on damaged data (PyAV's errors come with PyAV, imported only where it decodes)
OPENCV_DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError)
#: packets in a row that fail to decode after which a file counts as damaged from there on (truncated): fewer
#: are skipped, and decoding goes on after them
DAMAGED_RUN_LIMIT = 300
#: up to this many cores, a file below 720p, or one whose conversion is deferred, decodes with one FFmpeg thread
#: (``default_decode_threads``)
SMALL_FRAME_SINGLE_THREAD_CORES = 2


def default_decode_threads(size_wh: tuple[int, int] | None = None, deferred: bool = False) -> int:
    """FFmpeg threads for one file whose frames are ``size_wh`` (None: not known yet): half the cores, and three
    where there are two to four (one where there is one); and one on two cores for frames below 720p, or for any
    size when the conversion is ``deferred`` (``FileSource.defer_conversion``). The runner already decodes in a
    thread of its own, beside the processing thread; FFmpeg's frame threads on every core on top of that
    oversubscribe a larger machine. On two cores, three frame threads keep one more frame in flight than two
    while the source thread converts the last one to BGR and hands it on: decoding, the bottleneck of light
    stages, runs with fewer gaps, and heavy stages lose nothing. Below 720p a frame decodes so quickly that
    frame threads cost more CPU time in handing frames between them than they save: on two cores one thread
    reads faster, and leaves the other core to the stages. Where the processing thread converts, the source
    thread decodes one frame while it converts and processes the last: two threads, one a core, each about as
    busy (bench/bench_pipeline.py; docs/benchmarks.md has the figures)."""
    cores = os.cpu_count() or 2
    if cores <= 1 or (
        cores <= SMALL_FRAME_SINGLE_THREAD_CORES and (deferred or (size_wh is not None and _small(size_wh)))
    ):
        return 1
    return max(3, cores // 2)


def _small(size_wh: tuple[int, int]) -> bool:
    """Frames below 720p (fewer pixels than ``PYAV_MIN_PIXELS``)."""
    return size_wh[0] * size_wh[1] < PYAV_MIN_PIXELS


def choose_backend(size_wh: tuple[int, int]) -> str:
    """The faster decoder for a file whose frames are ``size_wh``, as measured: PyAV from 720p up, OpenCV below
    (H.264, MPEG-4 Part 2 and the other codecs alike)."""
    return "opencv" if _small(size_wh) else "pyav"


class _OpenCVReader:
    """``cv2.VideoCapture`` behind the reader interface of ``VideoReader`` (read, seek, release)."""

    def __init__(self, path: str, threads: int) -> None:
        self._cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else None
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.gray = False

    def read(self, fallback_pts_ms: float = 0.0) -> Decoded | None:
        ok, img = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok or img is None:
            return None
        # the frame's own timestamp from the stream's start, as PyAV's (a variable frame rate's too); 0 where the
        # stream has none, where the frame's place at the nominal rate stands in
        pts_ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        if pts_ms <= 0.0:
            pts_ms = fallback_pts_ms
        return Decoded(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if self.gray else img, pts_ms)

    def seek(self, index: int) -> int:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, index))
        return int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))

    def release(self) -> None:
        self._cap.release()


class FileSource(CaptureSource["VideoReader | _OpenCVReader"]):
    """A video file, every frame in order, decoded by ``backend`` (auto, pyav or opencv) with
    ``decode_threads`` FFmpeg threads (0 = all cores; None: ``default_decode_threads`` for its frame size, as
    ``threads_for`` says). ``pts_ms`` is each frame's own timestamp from the
    stream's start with either decoder (its place at the file's fps where the stream has none).

    With PyAV, a packet that does not decode (garbage in the middle of the file) is skipped and decoding goes
    on after it, as FFmpeg's own tools do: at the end ``damaged_packets`` and ``frames_lost`` say what it cost,
    in one warning and in the ENDED state's detail. Damage that lasts to the end of the file, or more than
    ``DAMAGED_RUN_LIMIT`` packets in a row, ends the file as truncated (``TruncatedVideoError``)."""

    live = False
    seekable = True
    can_deliver_gray = True  #: with PyAV, gray straight from the luma plane (``deliver_gray``, ``gray_beside``)
    can_defer_conversion = True  #: while PyAV decodes (``cv2.VideoCapture`` decodes and converts in one call)

    def __init__(self, path: str, decode_threads: int | None = None, backend: str = "auto") -> None:
        if backend not in BACKENDS:
            raise SourceError(f"unknown decoder '{backend}'; use one of {', '.join(BACKENDS)}")
        super().__init__(path)
        self.path = path
        #: FFmpeg threads asked; None: ``default_decode_threads`` for the file's frame size, once it is known
        self.decode_threads = decode_threads
        self.backend = backend
        self.decoder: str | None = None  #: the decoder in use once open: pyav or opencv
        self._first: Decoded | None = None
        self._last_pts_ms = 0.0
        self.damaged_packets = 0  #: packets skipped as damaged, known at the end (PyAV)
        self.frames_lost: int | None = None  #: frames the damage cost, at the end where the count is exact

    def _open(self) -> None:
        if not os.path.isfile(self.path):
            raise SourceError(f"no such video file: {self.path} (check the path)")
        if os.path.getsize(self.path) == 0:
            raise SourceError(f"cannot read {self.path}: the file is empty")
        unreadable = SourceError(
            f"cannot read {self.path} as a video: FFmpeg could not decode it "
            "(is it a video file, and complete? try re-encoding it with ffmpeg)"
        )
        opencv_tried = False  # and failed: OpenCV's FFmpeg cannot read the file, PyAV decodes it
        by_index = None if self._pyav_wanted() or self.backend != "auto" else self._opencv_by_index()
        if by_index is not None:
            first = self._open_opencv(by_index)
            if first is not None:
                self._opened(first, "opencv")
                return
            opencv_tried = True
        from vidcv.media.decode import DECODE_ERRORS

        try:
            reader = self._pyav_reader()
            first = reader.read()
        except DECODE_ERRORS:
            raise unreadable from None
        if first is None:
            reader.release()
            raise unreadable
        backend = self.backend if self.backend != "auto" else choose_backend(reader.size_wh)
        if (self._pyav_wanted() or opencv_tried) and self.backend == "auto":
            backend = "pyav"  # or OpenCV failed already
        self._cap = reader  # released by CaptureSource on close
        if backend == "opencv":
            opencv_first = self._open_opencv(reader.size_wh)  # the capture in use from here on, where it reads
            if opencv_first is None:
                backend = "pyav"  # OpenCV's FFmpeg cannot read it: PyAV (still the reader) goes on
            else:
                reader.release()
                first = opencv_first
        if backend == "pyav":
            self.fps, self.frame_count = reader.fps, reader.frame_count
        else:  # PyAV's fps (the stream's average), OpenCV's count where it has one
            self.fps, self.frame_count = reader.fps or self.fps, self.frame_count or reader.frame_count
        self._opened(first, backend)

    def _pyav_wanted(self) -> bool:
        """Whether what the run asks for needs PyAV, whatever the frame size: the luma plane (``deliver_gray``,
        ``gray_beside``: faster than either BGR decode). ``defer_conversion`` does not: below 720p, where OpenCV
        decodes, it would cost PyAV's import at start-up, more than it gains over a clip of a few hundred frames,
        and heavy stages gain nothing from it."""
        return self.deliver_gray or self.gray_beside

    def _opencv_by_index(self) -> tuple[int, int] | None:
        """The frame size where OpenCV is the faster decoder for this file as its MP4 index tells
        (``choose_backend`` from the size of its video track, ``video_track``): then PyAV is neither imported
        nor opened to probe it. None for any other file: PyAV probes it."""
        track = video_track(self.path)
        if track is None:
            return None
        _entry, width, height = track
        return (width, height) if choose_backend((width, height)) == "opencv" else None

    def threads_for(self, size_wh: tuple[int, int] | None, deferred: bool = False) -> int:
        """The FFmpeg threads to decode frames of ``size_wh`` with (None: not known yet): those asked, or
        ``default_decode_threads`` (for frames whose conversion is ``deferred``: PyAV's, where the runner asks;
        OpenCV converts as it decodes)."""
        if self.decode_threads is not None:
            return self.decode_threads
        return default_decode_threads(size_wh, deferred)

    def _open_opencv(self, size_wh: tuple[int, int]) -> Decoded | None:
        """Open the file, whose frames are ``size_wh``, with OpenCV and read its first frame (None, and nothing
        kept open, when that fails); the capture becomes the reader, its fps and frame count the source's."""
        reader = _OpenCVReader(self.path, self.threads_for(size_wh))
        reader.gray = self.deliver_gray
        first = reader.read()
        if first is None:
            reader.release()
            return None
        self._cap = reader  # released by CaptureSource on close
        self.fps, self.frame_count = reader.fps, reader.frame_count
        return first

    def _opened(self, first: Decoded, backend: str) -> None:
        self.decoder = backend
        self.fps = self.fps or 30.0
        self._index = 0
        self.size_wh = (first.image.shape[1], first.image.shape[0])
        self._first = first
        log.debug("%s: decoding with %s (%s)", self.path, backend, "chosen" if self.backend == "auto" else "asked")

    def _pyav_reader(self) -> VideoReader:
        from vidcv.media.decode import VideoReader

        # the conversion left to the processing thread where the runner asks and nothing comes beside the frame
        threads = functools.partial(self.threads_for, deferred=self.defer_conversion and not self.gray_beside)
        reader = VideoReader(self.path, threads, skip_damaged=True, max_damaged_run=DAMAGED_RUN_LIMIT)
        reader.gray = self.deliver_gray
        reader.luma_beside = self.gray_beside
        return reader

    def _switch_to_pyav(self) -> None:
        """Go on with PyAV from the next frame (``gray_beside`` was asked of a file OpenCV decodes: only PyAV
        has the luma plane; or OpenCV stopped at damage); both decode the same BGR pixels. Left on OpenCV when
        that fails."""
        from vidcv.media.decode import DECODE_ERRORS

        try:
            reader = self._pyav_reader()
            if self._first is None and self._index:
                self._index = reader.seek(self._index)
        except DECODE_ERRORS as exc:
            log.debug("%s: staying with OpenCV, PyAV failed: %s", self.path, exc)
            self.gray_beside = False
            return
        old, self._cap = self._cap, reader
        self._first = None  # frame 0, not yet delivered, comes from PyAV too
        self.decoder = "pyav"
        if old is not None:
            old.release()

    def read(self) -> Frame | None:
        frame = self._next(deferred=False)
        return frame.frame() if isinstance(frame, PendingFrame) else frame  # never pending: not deferred

    @property
    def converts_later(self) -> bool:
        return self.defer_conversion and self._pyav_in_use() is not None and not self.gray_beside

    def read_deferred(self) -> Frame | PendingFrame | None:
        """``read``; with ``defer_conversion``, while PyAV decodes (from 720p, or on the luma path) and nothing
        comes beside the frame (``gray_beside``), the frame decoded with its conversion still to do (the first,
        decoded on opening, comes converted)."""
        return self._next(deferred=self.converts_later)

    def _next(self, deferred: bool) -> Frame | PendingFrame | None:
        if self.gray_beside and self.decoder == "opencv":
            self._switch_to_pyav()
        reader = self._cap
        if reader is None:
            return None
        if (pyav := self._pyav_in_use()) is not None:
            pyav.luma_beside = self.gray_beside
        fallback_ms = self._index * 1000.0 / (self.fps or 30.0)
        decoded: Decoded | Unconverted | None
        if self._first is not None:
            decoded, self._first = self._first, None
        else:
            failed = False
            try:
                if deferred and pyav is not None:
                    decoded = pyav.read_unconverted(fallback_ms)
                else:
                    decoded = reader.read(fallback_ms)
            except self._decode_errors() as exc:  # damaged data: what came before is kept
                log.debug("%s: decoding stopped at frame %d: %s", self.path, self._index, exc)
                decoded, failed = None, True
            if decoded is None:
                if self._pyav_in_use() is None and (failed or self._short_of_count()) and self._resume_with_pyav():
                    return self._next(deferred)
                self._end(failed)
                return None
        pts_ms = decoded.pts_ms
        self._last_pts_ms = pts_ms
        if isinstance(decoded, Unconverted):
            return self._deferred_frame(decoded.convert, pts_ms)
        frame = self._frame(decoded.image, pts_ms)
        if decoded.luma is not None and self.gray_beside:
            frame = frame.with_image(decoded.luma)  # the luma's gray to process, the colour decode as the original
        return frame

    def _pyav_in_use(self) -> VideoReader | None:
        """The PyAV reader while PyAV decodes; None with OpenCV (PyAV may not even be imported then)."""
        reader = self._cap
        return None if reader is None or isinstance(reader, _OpenCVReader) else reader

    def _decode_errors(self) -> tuple[type[BaseException], ...]:
        """What the reader in use raises on damaged data."""
        if self._pyav_in_use() is None:
            return OPENCV_DECODE_ERRORS
        from vidcv.media.decode import DECODE_ERRORS

        return DECODE_ERRORS

    def _short_of_count(self) -> bool:
        """Whether the frames read so far fall clearly short of the header's count (container counts can be
        estimates: only a clear shortfall means a damaged or truncated file)."""
        expected = self.frame_count
        return expected is not None and expected > 0 and expected - self._index > max(2, expected // 100)

    def _resume_with_pyav(self) -> bool:
        """OpenCV stopped short of the end (damage in the middle stops it for good): go on with PyAV from the
        next frame, which skips damaged packets and decodes what follows, as FFmpeg's own tools do. False where
        PyAV could not take over (then the file ends here, as truncated)."""
        log.debug("%s: OpenCV stopped at frame %d; PyAV goes on from there", self.path, self._index)
        self._switch_to_pyav()
        return self.decoder == "pyav"

    def _end(self, failed: bool = False) -> None:
        """The file ended (``failed``: decoding raised): ENDED, or FAILED and ``TruncatedVideoError`` when
        frames are missing at the end."""
        expected = self.frame_count
        read = self._index
        reader = self._pyav_in_use()
        skipped = reader.damaged_packets if reader is not None else 0
        # decoding went on after the damage (damage is counted with PyAV only)
        resumed = skipped and not failed and reader is not None and not reader.damaged_at_end
        if reader is not None and (not reader.count_exact or resumed):
            # no count in the header, or frames lost to damage: the time reached against the container's
            # duration (a variable frame rate makes duration x fps no count)
            self._end_by_time(reader)
        elif self._short_of_count():
            message = (
                f"{self.path} ended after frame {read - 1} although its header announces {expected} frames: "
                f"the file looks truncated or damaged; the {read} good frames were processed and kept"
            )
            self._set_state(SourceState.FAILED, "truncated")
            raise TruncatedVideoError(message)
        if self.state is not SourceState.ENDED:  # a read past the end says nothing again
            self._set_state(SourceState.ENDED, self._report_damage(reader) if skipped and reader is not None else "")

    def _report_damage(self, reader: VideoReader) -> str:
        """Warn, once, of the damaged packets skipped; the same words for the ENDED state's detail."""
        self.damaged_packets = n = reader.damaged_packets
        if reader.count_exact and self.frame_count:
            self.frames_lost = max(0, self.frame_count - self._index)
        where = ""
        if reader.damaged_ms is not None:
            first_s, last_s = (ms / 1000.0 for ms in reader.damaged_ms)
            where = f" around {first_s:.1f} s" if last_s - first_s < 1.0 else f" from {first_s:.1f} s to {last_s:.1f} s"
        lost = f" ({self.frames_lost} lost)" if self.frames_lost is not None else ""
        detail = f"skipped {n} damaged packet{'s' if n != 1 else ''}{where}; {self._index} frames decoded{lost}"
        log.warning("%s: %s", self.path, detail)
        return detail

    def _end_by_time(self, reader: VideoReader) -> None:
        period_ms = 1000.0 / (self.fps or 30.0)
        reached_ms = self._last_pts_ms + period_ms if self._index else 0.0
        total_ms = reader.duration_ms
        if total_ms and total_ms - reached_ms > max(2 * period_ms, total_ms / 100):
            message = (
                f"{self.path} ended after frame {self._index - 1} ({reached_ms / 1000:.1f} s) although its "
                f"header announces {total_ms / 1000:.1f} s: the file looks truncated or damaged; the "
                f"{self._index} good frames were processed and kept"
            )
            self._set_state(SourceState.FAILED, "truncated")
            raise TruncatedVideoError(message)

    def seek(self, index: int) -> None:
        """Go to frame ``index``: the next read returns exactly that frame (PyAV: the frame at that place in
        presentation order, decoded from the keyframe before it)."""
        if self._cap is None:
            raise SourceError("seek on a closed source")
        self._index = self._cap.seek(max(0, index))
        if self.decoder == "pyav":
            self.frame_count = self._cap.frame_count  # exact now: the seek table counted the frames
        self._first = None
        self.damaged_packets, self.frames_lost = 0, None
        self._set_state(SourceState.OPEN)
