"""Per-frame detection log as JSON lines, in source-image pixels, written line by line so that a crash keeps
every frame logged so far."""

from __future__ import annotations

import json
import os
from typing import IO

from vidcv.errors import OutputError, write_error
from vidcv.fileio import (
    commit_visible,
    free_name,
    in_use,
    open_file,
    open_visible_partial,
    partial_name,
    replace,
    visible_partial_name,
)
from vidcv.frame import Frame
from vidcv.sinks.base import Sink, check_writable
from vidcv.status import merged_counts


class DetectionsLogSink(Sink):
    """One line per frame: ``{"frame", "pts_ms", "detections": [...]}`` (empty list when nothing was found).

    Each detection is a ``Detections.to_records`` record: box, confidence, class, ``track_id`` and the
    logged per-detection fields (a track stage's ``track_age`` and ``speed_px_s``, a pose model's
    ``keypoints``, an OBB model's ``obb``) and a segment model's ``polygon``. ``classification`` holds a
    classifier's top classes, ``counts`` what the stages report as counts on that frame (a count stage's
    running totals), when any does.

    While the run goes the log is ``NAME.partial.EXT`` beside its final name (``fileio.visible_partial_name``:
    not hidden, where the user looks), and each line reaches the operating system as it is written (one
    ``write`` per frame, no buffer): a run killed outright (SIGKILL, a crash) leaves every frame logged so far
    there, in whole lines. ``close`` syncs it to disk and renames it
    to its final name. A write that fails (disk full) raises OutputError naming the file and how much was
    written; the partial file is cut back to its last whole line and kept under its temporary name, never
    renamed as if complete.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        check_writable(path)  # makes the folder
        self.partial = visible_partial_name(path)
        try:
            self._fd: int | None = open_visible_partial(path)  # locked while open: in use, not cut short
        except OutputError:
            raise
        except OSError as exc:
            raise write_error(path, exc) from None
        self.frames = 0
        self.bytes = 0  #: bytes of whole lines written
        self.failed = False

    def write(self, frame: Frame) -> None:
        if self._fd is None:
            raise OutputError(f"{self.path} is closed")
        line = {"frame": frame.index, "pts_ms": round(frame.pts_ms, 3), "detections": frame.detections.to_records()}
        if frame.classification is not None:
            line["classification"] = frame.classification.to_records()
        counts = merged_counts(frame.statuses.values())
        if counts:
            line["counts"] = counts
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self._write_all(data)
        except OSError as exc:
            self._give_up()
            raise self._failure(exc.strerror or str(exc)) from None
        self.frames += 1
        self.bytes += len(data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)  # type: ignore[arg-type]
            view = view[written:]  # a short write (the disk filling up) is followed by the error

    def _give_up(self) -> None:
        """Cut the file back to its last whole line and close it, under its temporary name."""
        self.failed = True
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, self.bytes)
        except OSError:
            pass  # the reader of a damaged last line still has every whole line before it
        os.close(fd)

    def _failure(self, reason: str) -> OutputError:
        return OutputError(
            f"cannot write {self.path}: {reason}; {self.frames} frames ({self.bytes:,} bytes) were logged and are "
            f"kept in {self.partial}, not renamed to {os.path.basename(self.path)} as the log is incomplete"
        )

    def close(self) -> None:
        """Sync to disk and rename to the final name; a log whose write failed stays under its temporary name."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:  # the data did not reach the disk (full, I/O error): the log is not complete
            self._give_up()
            raise self._failure(exc.strerror or str(exc)) from None
        fd, self._fd = self._fd, None
        try:
            commit_visible(self.path)
        finally:
            os.close(fd)  # the lock that says "being written" goes once the log has its final name


def keep_killed_log(target: str) -> tuple[str, int] | None:
    """Before ``target`` is written again: the log an earlier run left under its temporary name (killed, or
    stopped by a full disk: ``NAME.partial.EXT``, or ``.NAME.partial.EXT`` of vidcvs before it was visible) is
    moved beside it as ``NAME.recovered.EXT`` (``NAME.recovered-2.EXT``, ...), cut back to its last whole line,
    instead of being deleted with the other leftovers. Returns the new path and its number of lines (frames),
    or None when there was no such log or it held no whole line. A log another vidcv is still writing
    (``fileio.in_use``) is left alone, and so is one without a whole line (``fileio.remove_stale_visible`` and
    ``remove_stale_partials`` remove it)."""
    found = None
    for tmp in (visible_partial_name(target), partial_name(target)):
        if os.path.islink(tmp) or not os.path.isfile(tmp) or in_use(tmp):
            continue  # a link is refused by the write that follows
        with open_file(tmp, "r+b") as fh:
            whole = _whole_lines_size(fh)
            if whole:
                fh.truncate(whole)
                fh.seek(0)
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        if whole == 0:
            continue
        kept = free_name(*os.path.splitext(target), "recovered")
        replace(tmp, kept)
        found = found or (kept, lines)
    return found


def _whole_lines_size(fh: IO[bytes], chunk: int = 1 << 16) -> int:
    """The size of ``fh`` up to and with its last newline (0 when it has none), reading from the end."""
    end = fh.seek(0, os.SEEK_END)
    while end > 0:
        start = max(0, end - chunk)
        fh.seek(start)
        block = fh.read(end - start)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0
