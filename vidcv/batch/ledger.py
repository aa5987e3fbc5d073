"""The batch's record: ``OUT/batch.jsonl``, one line per input, appended as each input finishes; what resume
reads back, together with a check of each input's files.

A line: ``{"source", "out", "status", "frames", "fps", "error", "worker"}``: ``source`` the input's absolute
path, ``out`` its output folder relative to OUT, ``status`` ok, failed or skipped (complete from an earlier
run), ``worker`` the process (``host:pid``, or a Ray node's ``address:pid``) that made it, and ``resumed_at`` (only
when not 0) the frames of ``frames`` done by an earlier batch that was stopped. A run starts by
rewriting the ledger (under a temporary name, then renamed) with the lines of the inputs it skips, so that
every input has one line once it ends, however often it was killed and run again; a line that a kill cut
short is dropped then.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any

from vidcv.errors import OutputError, VidcvError, write_error
from vidcv.fileio import ensure_parent, open_fd, open_file, remove, remove_stale_partials, write_text_atomic

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger(__name__)

LEDGER_NAME = "batch.jsonl"
#: The pipeline and options the outputs of OUT were made with (hidden: it is the batch's, not an input's).
CONFIG_NAME = ".batch-config.json"
LOCK_NAME = ".batch.lock"
DETECTIONS_NAME = "detections.jsonl"
STATS_NAME = "stats.json"
STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True)
class InputRecord:
    """One input's line in the ledger."""

    source: str
    out: str
    status: str
    frames: int
    fps: float
    error: str | None
    worker: str
    resumed_at: int = 0  #: frames of ``frames`` done by an earlier run that was stopped

    def to_line(self) -> str:
        data = asdict(self)
        if not self.resumed_at:
            del data["resumed_at"]
        return json.dumps(data, separators=(", ", ": ")) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> InputRecord | None:
        """The record a parsed line holds, or None when it is not one (a line cut short, edited by hand)."""
        try:
            record = cls(
                str(data["source"]),
                str(data["out"]),
                str(data["status"]),
                int(data["frames"]),
                float(data["fps"]),
                None if data["error"] is None else str(data["error"]),
                str(data["worker"]),
                int(data.get("resumed_at", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return record if record.status in STATUSES else None


def read_ledger(out_dir: str) -> list[InputRecord]:
    """The records of ``OUT/batch.jsonl`` (none if it does not exist); lines that are not records are left out."""
    path = os.path.join(out_dir, LEDGER_NAME)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    records = []
    for line in lines:
        try:
            record = InputRecord.from_dict(json.loads(line))
        except ValueError:
            record = None
        if record is not None:
            records.append(record)
    return records


class Ledger:
    """``OUT/batch.jsonl``, open for appending (the driver is its only writer)."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, LEDGER_NAME)
        self._fh: IO[str] | None = None

    def start(self, records: Iterable[InputRecord]) -> None:
        """Replace the ledger by ``records`` (atomically) and open it for appending."""
        remove_stale_partials(self.path)
        write_text_atomic(self.path, "".join(r.to_line() for r in records))
        try:
            self._fh = open_file(self.path, "a")  # open for the batch, closed by close()
        except OutputError:
            raise
        except OSError as exc:
            raise write_error(self.path, exc, "choose another --out") from None

    def append(self, record: InputRecord) -> None:
        """Add one line, whole (one write, flushed at once)."""
        if self._fh is None:
            raise RuntimeError("Ledger.start first")
        try:
            self._fh.write(record.to_line())
            self._fh.flush()
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_config(out_dir: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(out_dir, CONFIG_NAME), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_config(out_dir: str, config: dict[str, Any]) -> None:
    path = os.path.join(out_dir, CONFIG_NAME)
    remove_stale_partials(path)
    write_text_atomic(path, json.dumps(config, indent=1, sort_keys=True))


def incomplete_reason(out_dir: str, video_name: str | None) -> str | None:
    """Why the output folder of an input is not complete, or None when it is: its statistics read back,
    its detections log has one whole JSON line per frame they count, and the video (when asked for) holds
    that many frames."""
    stats_path = os.path.join(out_dir, STATS_NAME)
    try:
        with open(stats_path, encoding="utf-8") as fh:
            frames = json.load(fh)["frames"]
    except FileNotFoundError:
        return f"{STATS_NAME} is missing"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{STATS_NAME} is unreadable"
    if not isinstance(frames, int):
        return f"{STATS_NAME} has no frame count"
    try:
        with open(os.path.join(out_dir, DETECTIONS_NAME), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return f"{DETECTIONS_NAME} is missing"
    lines = text.split("\n")
    if lines[-1] != "":
        return f"{DETECTIONS_NAME} ends in a line cut short"
    if len(lines) - 1 != frames:
        return f"{DETECTIONS_NAME} has {len(lines) - 1} lines for {frames} frames"
    try:
        for line in lines[:-1]:
            json.loads(line)
    except ValueError:
        return f"{DETECTIONS_NAME} has a damaged line"
    if video_name and frames:
        return _video_reason(os.path.join(out_dir, video_name), frames)
    return None


def _video_reason(path: str, frames: int) -> str | None:
    import cv2

    if not os.path.isfile(path):
        return f"{os.path.basename(path)} is missing"
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
    finally:
        cap.release()
    if count != frames:
        return f"{os.path.basename(path)} holds {max(count, 0)} frames, not {frames}"
    return None


class BatchLock:
    """Only one batch writes into a folder at a time: an exclusive lock on ``OUT/.batch.lock``, which the
    system releases when the process ends, however it ends (SIGKILL included). The batch removes its lock file
    when it ends (normally, by an error or Ctrl-C), while it still holds the lock; a batch that locked the
    file just before it was removed finds it gone (another file, or none, under the name) and locks anew, so
    that two batches never each hold a lock of their own. A file left by a killed batch is simply locked
    again."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, LOCK_NAME)
        self._fd: int | None = None

    def __enter__(self) -> Self:
        ensure_parent(self.path)
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): no lock
            return self
        while True:
            fd = open_fd(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise VidcvError(
                    f"another vidcv batch is writing into {os.path.dirname(self.path)}; wait for it to "
                    "end, or choose another --out"
                ) from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the batch before removed the file between our open and our lock: lock the new one
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if _same_file(fd, self.path):  # removed while held: no one locks a file about to vanish
                remove(self.path)
        except (OSError, OutputError):  # gone, or swapped for a link (never followed): the lock is let go anyway
            pass
        finally:
            os.close(fd)


def _same_file(fd: int, path: str) -> bool:
    """Whether ``path`` (itself, not a link's target) is still the file open as ``fd``."""
    try:
        held, there = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)
