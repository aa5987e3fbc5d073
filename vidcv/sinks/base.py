"""The sink contract: receive processed frames in order, finalise on close."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

from vidcv.errors import OutputError, write_error
from vidcv.fileio import check_not_read_only, ensure_parent, open_fd, partial_name, remove
from vidcv.frame import Frame


def check_writable(path: str, shown: str | None = None) -> None:
    """Raise OutputError, naming ``path`` (or ``shown``, what the user gave) and the reason, unless a file can
    be created under its temporary name: the folder is made if needed, and the probe leaves no file behind. Outputs are checked so before
    a run reads its first frame, not found unwritable after the last (read-only disk, no permission, /sys). A
    read-only place, or a file there made read-only, is said in one wording (``vidcv.errors.read_only``).
    """
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder (give a file name)")
    ensure_parent(path)
    check_not_read_only(path, shown)
    probe = partial_name(path)
    existed = os.path.lexists(probe)
    try:
        os.close(open_fd(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND))
    except OutputError:
        raise
    except OSError as exc:
        raise write_error(shown or path, exc) from None
    if not existed:
        remove(probe)


class Sink(ABC):
    """Writes processed frames somewhere. Outputs appear under their final name only when complete.

    A write that fails raises, naming the file and how much was written (OutputError); a raw OSError is
    reported by the runner with the sink's ``label`` and ``frames``. The runner then stops the run and still
    calls ``close``: a sink whose write failed keeps what is valid and never renames a truncated file to its
    final name as if it were complete.
    """

    path: str = ""  #: the file written, where there is one
    frames: int = 0  #: frames written so far
    #: whether this sink reads ``frame.source_image`` as colour (a dataset of original frames): then the
    #: runner never asks the source for gray
    needs_color_source: bool = False

    @property
    def label(self) -> str:
        """What this sink writes, as users gave it (for messages)."""
        return self.path or type(self).__name__

    @property
    def queue_depth(self) -> int:
        """Frames taken but still waiting for a thread of the sink's own (a video encoder's); 0 for a sink that
        writes in the caller's thread. Read from any thread (the metrics endpoint)."""
        return 0

    @abstractmethod
    def write(self, frame: Frame) -> None:
        """Take one frame (called from the sink thread, in frame order)."""

    @abstractmethod
    def close(self) -> None:
        """Finalise: flush and rename temporary files to their final names (not after a failed write). Safe to
        call twice."""


class CallbackSink(Sink):
    """Hands each frame to a function (display, tests)."""

    def __init__(self, callback) -> None:  # type: ignore[no-untyped-def]
        self.callback = callback
        self.frames = 0

    def write(self, frame: Frame) -> None:
        self.callback(frame)
        self.frames += 1

    def close(self) -> None:
        pass
