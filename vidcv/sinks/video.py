"""Video files (FFmpeg through PyAV) and image sequences, written under a temporary name and renamed when
complete.

A video grows under ``NAME.partial.EXT`` beside the output (``fileio.visible_partial_name``: not hidden, so
that what a killed run leaves is where the user looks, never taken for the complete file). MP4 and MOV are
written fragmented while recording: a process killed then (SIGKILL, power loss) leaves that file, and it plays
up to its last whole fragment (about a second before the kill); MKV plays to where it stopped. The next run
writing the same output keeps it as ``NAME.recovered.EXT`` (``keep_killed_recording``); ``leftovers`` finds
such files in a folder for the window and ``vidcv run`` to name. A clean end rewrites it as a plain MP4 with
its index first (seekable, streamable) under the final name. A write that fails (a full disk) keeps every
whole fragment under the final name and says how much was written.
"""

from __future__ import annotations

import errno
import logging
import os
import re

import av
import cv2
import numpy as np

from vidcv.errors import OutputError
from vidcv.fileio import (
    PARTIAL_MARK,
    commit_visible,
    create_new,
    free_name,
    in_use,
    open_visible_partial,
    partial_name,
    remove,
    replace,
    visible_partial_name,
    write_bytes_atomic,
    writer_path,
)
from vidcv.frame import Frame
from vidcv.media.encode import (
    CONTAINERS,
    DEFAULT_QUALITY,
    FRAGMENTED_FORMATS,
    VideoEncoder,
    choose_encoder,
    container_for,
    probe,
    remux_faststart,
)
from vidcv.media.mp4 import cut_to_playable, ended_cleanly, sample_count
from vidcv.sinks.base import Sink, check_writable

log = logging.getLogger(__name__)

#: extension -> the codec written when none is asked for (``--codec`` chooses another, see CONTAINERS).
VIDEO_CODECS = {ext: default for ext, (_, default, _) in CONTAINERS.items()}
SEQUENCE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_WRITE_ERRORS = (av.FFmpegError, OSError)
#: frames that may wait for the encoder (seconds of them, and at most so many bytes): a moment of load on
#: the machine, or libx264's slow first frames, delay the file and not the pipeline (a live source behind a
#: stalled writer drops frames). Half a second proved too short on a loaded 2-core machine; a second did not.
BUFFER_S = 1.0
BUFFER_MAX_BYTES = 256 * 1024 * 1024


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def encode_image(path: str, image: np.ndarray, params: tuple[int, ...] = ()) -> bytes:
    """``image`` encoded in the format of ``path``'s extension (as ``cv2.imwrite`` would write it), so that vidcv
    writes the bytes itself through ``vidcv.fileio``."""
    ok, data = cv2.imencode(os.path.splitext(path)[1] or ".png", image, list(params))
    if not ok:
        raise OutputError(f"could not encode {path} as {os.path.splitext(path)[1]}")
    return data.tobytes()


def faststart_name(path: str) -> str:
    """The temporary name of the plain-MP4 copy made from a finished fragmented recording."""
    head, tail = os.path.split(path)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f".{stem}{PARTIAL_MARK}.faststart{ext}")


class VideoSink(Sink):
    """A video file: ``codec`` (h264, hevc, av1, mpeg4, mjpeg; default by extension, see VIDEO_CODECS) at
    ``quality`` (low, medium, high), on an NVIDIA GPU's encoder when one answers (``hardware`` auto, cpu or
    gpu). Gray frames are written as BGR; frames of another size than the first are resized to it. Timing
    follows the frames' timestamps at ``fps``, so a live recording that dropped frames keeps its duration."""

    def __init__(
        self, path: str, fps: float, codec: str | None = None, quality: str = DEFAULT_QUALITY, hardware: str = "auto"
    ) -> None:
        try:
            self.format, self.codec = container_for(path, codec)
        except ValueError as exc:
            images = (
                ""
                if os.path.splitext(path)[1].lower() in CONTAINERS
                else " (or give a folder or frame_%05d.png for images)"
            )
            raise OutputError(f"cannot write video {path}: {exc}{images}") from None
        if quality not in ("low", "medium", "high"):
            raise OutputError(f"cannot write video {path}: unknown quality '{quality}'; use low, medium or high")
        check_writable(path)
        self.path = path
        self.fps = fps if fps and fps > 0 else 30.0
        self.quality = quality
        self.hardware = hardware
        self.fragmented = self.format in FRAGMENTED_FORMATS
        self.frames = 0
        self.encoder_name: str | None = None  #: the FFmpeg encoder in use, once the first frame came
        self._tmp = visible_partial_name(path)  #: where the video grows, beside the output, not hidden
        self._encoder: VideoEncoder | None = None
        self._size: tuple[int, int] | None = None
        self._pts0_ms: float | None = None
        self._last_pts = -1
        self._warned_resize = False
        self._closed = False
        self._fd: int | None = None  #: the temporary file, open while the encoder writes it
        remove(faststart_name(path))  # a copy cut short by a kill is of no use

    @property
    def queue_depth(self) -> int:
        """Frames waiting in the encoder's queue (0 before the first frame)."""
        encoder = self._encoder
        return encoder.queue_depth if encoder is not None else 0

    def _open(self, w: int, h: int) -> VideoEncoder:
        try:
            choice = choose_encoder(self.codec, self.hardware)
        except ValueError as exc:
            raise OutputError(f"cannot write video {self.path}: {exc} (use --codec with the CPU encoder)") from None
        try:
            frame_bytes = w * h * 3 // 2
            buffer_frames = max(2, min(round(self.fps * BUFFER_S), BUFFER_MAX_BYTES // frame_bytes))
            self._fd = open_visible_partial(self.path)  # locked while open: in use, not cut short
            encoder = VideoEncoder(
                writer_path(self._fd, self._tmp),
                self.format,
                choice,
                self.fps,
                (w, h),
                self.quality,
                buffer_frames=buffer_frames,
            )
        except OutputError:
            raise
        except _WRITE_ERRORS as exc:
            self._release()
            remove(self._tmp)
            raise OutputError(
                f"cannot write video {self.path} as {self.codec} with {choice.encoder} at {w}x{h}: "
                f"{getattr(exc, 'strerror', None) or exc}"
            ) from None
        log.info(
            "writing %s: %s with %s (%s), quality %s%s",
            self.path,
            self.codec,
            choice.encoder,
            choice.reason,
            self.quality,
            ", fragmented while recording" if self.fragmented else "",
        )
        if (w, h) != encoder.size_wh:
            log.info(
                "%s: %dx%d frames are written as %dx%d (4:2:0 video needs even sides)",
                self.path,
                w,
                h,
                *encoder.size_wh,
            )
        self.encoder_name = choice.encoder
        return encoder

    def _release(self) -> None:
        """Close vidcv's own descriptor of the temporary file (the encoder has its own)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _pts(self, frame: Frame) -> int:
        """The frame's time in frame periods from the first frame, always increasing."""
        if self._pts0_ms is None:
            self._pts0_ms = frame.pts_ms
        pts = round((frame.pts_ms - self._pts0_ms) * self.fps / 1000.0)
        self._last_pts = max(pts, self._last_pts + 1)
        return self._last_pts

    def write(self, frame: Frame) -> None:
        if self._closed:
            raise OutputError(f"{self.path} is closed")
        image = _bgr(frame.image)
        h, w = image.shape[:2]
        if self._encoder is None:
            self._encoder, self._size = self._open(w, h), (w, h)
        elif (w, h) != self._size:
            assert self._size is not None  # set with the encoder
            if not self._warned_resize:
                log.warning("frame size changed from %dx%d to %dx%d; resizing to fit %s", *self._size, w, h, self.path)
                self._warned_resize = True
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        try:
            self._encoder.encode(image, self._pts(frame))
        except _WRITE_ERRORS as exc:
            raise self._salvage(exc) from None
        self.frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._encoder is None:  # said by the run's summary, or by its error when it failed
            log.info("no frame was processed, so %s was not written", self.path)
            return
        try:
            self._encoder.finish()
            # FFmpeg drops an error in writing a file's end (PyAV does not raise it): check what is on disk
            whole = ended_cleanly(self._tmp) if self.fragmented else probe(self._tmp).frames == self.frames
            if not whole:
                raise OSError(errno.EIO, "its last part could not be written (disk full?)")
        except _WRITE_ERRORS as exc:
            raise self._salvage(exc) from None
        try:
            if self.fragmented:
                self._rewrite_plain()
            else:
                commit_visible(self.path)
        finally:
            self._release()  # the lock that says "being written" goes once the file has its final name

    def _rewrite_plain(self) -> None:
        """The finished fragmented recording becomes a plain MP4 under the final name; when that copy cannot
        be made (no room for it), the fragmented file is kept there instead: it plays, seeks less directly."""
        plain = faststart_name(self.path)
        fd = None
        try:
            fd = create_new(plain)
            remux_faststart(self._tmp, writer_path(fd, plain), self.format)
            if sample_count(plain) != self.frames:  # an error in writing its end is not raised (see close)
                raise OSError(errno.EIO, "the copy came out incomplete (disk full?)")
        except _WRITE_ERRORS as exc:
            if fd is not None:
                remove(plain)
            log.warning(
                "could not rewrite %s as a plain MP4 (%s); kept it as written, fragmented (it plays everywhere)",
                self.path,
                getattr(exc, "strerror", None) or exc,
            )
            commit_visible(self.path)
            return
        finally:
            if fd is not None:
                os.close(fd)
        replace(plain, self.path)
        remove(self._tmp)

    def _salvage(self, exc: BaseException) -> OutputError:
        """After a failed write: keep what plays under the final name, and say what happened in one line."""
        self._closed = True
        if self._encoder is not None:
            self._encoder.abort()
        self._release()
        size = os.path.getsize(self._tmp) if os.path.exists(self._tmp) else 0
        if self.fragmented and size:
            cut_to_playable(self._tmp)  # a half-written fragment at the end would trouble players
        kept = probe(self._tmp) if size else None
        if kept and kept.frames:
            commit_visible(self.path)
            outcome = f"kept the first {kept.frames} frames ({kept.seconds:.1f} s) in {self.path}"
        else:
            remove(self._tmp)
            outcome = "nothing playable was kept"
        reason = getattr(exc, "strerror", None) or str(exc)
        return OutputError(
            f"writing {self.path} failed: {reason}, after {self.frames} frames "
            f"({size / 1e6:.1f} MB); {outcome} (free some space or write elsewhere)"
        )


def keep_killed_recording(target: str) -> str | None:
    """Before ``target`` is written again: the recording an earlier run left at its temporary name when it was
    killed (``NAME.partial.EXT``, or ``.NAME.partial.EXT`` of vidcvs before it was visible) is moved beside it
    as ``NAME.recovered.EXT`` (``NAME.recovered-2.EXT``, ...), a fragmented one with its cut-off last fragment
    removed, instead of being deleted with the other leftovers. Returns the new path, or None when there was
    no such recording. A file another vidcv is still writing (``fileio.in_use``) is left alone, and so is one
    that holds nothing playable (``fileio.remove_stale_visible`` and ``remove_stale_partials`` remove it)."""
    stem, ext = os.path.splitext(target)
    if ext.lower() not in CONTAINERS:
        return None
    fragmented = CONTAINERS[ext.lower()][0] in FRAGMENTED_FORMATS
    kept = None
    for tmp in (visible_partial_name(target), partial_name(target)):
        if os.path.islink(tmp) or not os.path.isfile(tmp) or in_use(tmp):
            continue  # a link is refused by the write that follows
        hidden = os.path.basename(tmp).startswith(".")
        if fragmented:
            plays = cut_to_playable(tmp)[1] > 0
        else:
            plays = not hidden and probe(tmp).frames > 0  # MKV plays to where it stopped; AVI was renamed whole
        if not plays:
            continue
        moved = free_name(stem, ext, "recovered")
        replace(tmp, moved)
        kept = kept or moved
    return kept


class ImageSequenceSink(Sink):
    """One image per frame: a printf pattern (``out/frame_%05d.png``) or a folder (``frame_%06d.png`` inside).

    Files are named by frame index; each is written to a temporary name and renamed.
    """

    def __init__(self, target: str) -> None:
        if "%" in target:
            pattern = target
            try:
                pattern % 0
            except (TypeError, ValueError):
                raise OutputError(
                    f"bad image pattern '{target}': use one integer field, e.g. out/frame_%05d.png"
                ) from None
        else:
            pattern = sequence_pattern(target)
        check_no_earlier_frames(pattern, target)
        ext = os.path.splitext(pattern)[1].lower()
        if ext not in SEQUENCE_EXTENSIONS:
            raise OutputError(
                f"bad image pattern '{target}': unknown image extension '{ext}'; "
                f"use one of {', '.join(SEQUENCE_EXTENSIONS)}"
            )
        check_writable(pattern % 0, shown=target)
        self.pattern = pattern
        self.frames = 0

    def write(self, frame: Frame) -> None:
        path = self.pattern % frame.index
        write_bytes_atomic(path, encode_image(path, frame.image))
        self.frames += 1

    def close(self) -> None:
        pass


def sequence_pattern(target: str) -> str:
    """The printf pattern an image sequence ``target`` names: itself, or ``frame_%06d.png`` in a folder."""
    return target if "%" in target else os.path.join(target, "frame_%06d.png")


#: the integer field of an image pattern (``%05d``, ``%d``, ``%6i``)
_FIELD = re.compile(r"%[-#0 +]*\d*[diu]")


def earlier_frames(pattern: str) -> list[str]:
    """The names in ``pattern``'s folder that the pattern makes (``frame_%06d.png``: ``frame_000000.png``,
    ``frame_000012.png``, ...), sorted: an earlier sequence's frames, or the user's own files of those names."""
    folder, name = os.path.split(pattern)
    fields = list(_FIELD.finditer(name))
    if len(fields) != 1 or "%%" in name:
        return []
    field = fields[0]
    shape = re.compile(re.escape(name[: field.start()]) + r"[-+ ]?\d+" + re.escape(name[field.end() :]) + r"\Z")
    try:
        names = os.listdir(folder or os.curdir)
    except OSError:
        return []
    return sorted(n for n in names if shape.match(n))


def check_no_earlier_frames(pattern: str, shown: str) -> None:
    """OutputError when ``pattern``'s folder already holds files of its names: a new sequence would replace
    some and leave the others beside its own, one folder of two runs' frames."""
    if found := earlier_frames(pattern):
        folder = os.path.dirname(pattern) or os.curdir
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise OutputError(
            f"cannot write {shown}: {folder} already holds images of its names ({found[0]}{more}), of an earlier "
            "run or your own; move them away, or write to an empty folder"
        )


class ImageFileSink(Sink):
    """One image file for a run of one frame (``vidcv run photo.jpg -o out.png``), written atomically."""

    def __init__(self, path: str) -> None:
        check_writable(path)
        self.path = path
        self.frames = 0

    def write(self, frame: Frame) -> None:
        if self.frames:
            raise OutputError(
                f"{self.path} holds one image, and a second frame came: for several frames give "
                f"a pattern such as {os.path.splitext(self.path)[0]}_%05d.png or a folder"
            )
        write_bytes_atomic(self.path, encode_image(self.path, frame.image))
        self.frames = 1

    def close(self) -> None:
        if not self.frames:
            log.warning("no frame was processed, so %s was not written", self.path)


def make_output_sink(
    target: str, fps: float, single_frame: bool = False, codec: str | None = None, quality: str = DEFAULT_QUALITY
) -> Sink:
    """A video sink for a video extension (``codec`` and ``quality`` go to it), an image-sequence sink for a
    pattern or a folder, one image file for an image name when the run has ``single_frame`` (one image in, or
    --max-frames 1); OutputError at once for a name it cannot write or a place where no file can be created."""
    ext = os.path.splitext(target)[1].lower()
    if codec is not None and (ext not in VIDEO_CODECS or "%" in target):
        raise OutputError(
            f"--codec {codec} is for video outputs ({', '.join(VIDEO_CODECS)}), and {target} is "
            "not one: drop --codec, or give a video file name"
        )
    if "%" in target or target.endswith(("/", os.sep)) or os.path.isdir(target):
        return ImageSequenceSink(target)
    if ext in VIDEO_CODECS:
        return VideoSink(target, fps, codec, quality)
    if ext in SEQUENCE_EXTENSIONS and single_frame:
        return ImageFileSink(target)
    if ext in SEQUENCE_EXTENSIONS:
        raise OutputError(
            f"output '{target}' is a single image name; for an image sequence give a pattern "
            f"such as {os.path.splitext(target)[0]}_%05d{ext} or a folder (one image name takes a "
            "source of one frame, or --max-frames 1)"
        )
    if not ext:
        return ImageSequenceSink(target)
    raise OutputError(
        f"cannot write '{target}': unknown extension '{ext}'; use a video "
        f"({', '.join(VIDEO_CODECS)}), a folder, or an image pattern such as out/frame_%05d.png"
    )


def check_output(target: str) -> None:
    """Raise OutputError now when no file can be created where ``target`` points (a run checks this before it
    opens its source): beside a video or image file, in a folder, in the folder of an image pattern. The
    name itself is checked when the sink is made. No file is left behind (a missing folder is made)."""
    if "%" in target or target.endswith(("/", os.sep)) or os.path.isdir(target) or not os.path.splitext(target)[1]:
        folder = os.path.dirname(target) if "%" in target else target
        check_writable(os.path.join(folder or ".", "frame_000000.png"), shown=target)
        check_no_earlier_frames(sequence_pattern(target), target)
    else:
        check_writable(target)
