"""Recording from the GUI: a video sink that leaves the run at once and is finalised off the GUI thread.

Finalising a recording rewrites the whole MP4 with its index first, which takes seconds for a long one; the
window must not freeze meanwhile, nor the video stop, so the runner lets go of the sink (``detach``) and a
thread of its own (``vidcv-recording-close``) closes it. What it ended with is said through ``finished``.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from vidcv.errors import VidcvError, error_line
from vidcv.frame import Frame
from vidcv.runner import Runner
from vidcv.sinks import VideoSink
from vidcv.sinks.base import Sink

log = logging.getLogger(__name__)


def cut_short_message(folder: str) -> str:
    """What the window says at start about recordings in ``folder`` (its recordings folder) that a crash or a
    kill cut short: ``a recording cut short is in ~/vidcv/recordings/vidcv_....partial.mp4 (12 s, playable)``;
    "" when there is none. A recording grows as ``NAME.partial.mp4`` and plays up to its last whole second."""
    from vidcv.sinks.leftovers import find_leftovers, leftovers_line

    return leftovers_line([found for found in find_leftovers(folder) if found.kind == "recording"])


class Recording(Sink):
    """The runner's handle on a VideoSink: the runner writes through it, and taking it out of the run
    (``detach``) does not close the video, so that closing can happen elsewhere. A run that ends while it is
    still attached closes the video as usual, on the runner's thread."""

    def __init__(self, video: VideoSink) -> None:
        self.video = video
        self.detached = False

    @property
    def path(self) -> str:  # type: ignore[override]
        return self.video.path

    @property
    def frames(self) -> int:  # type: ignore[override]
        return self.video.frames

    def write(self, frame: Frame) -> None:
        self.video.write(frame)

    def close(self) -> None:
        if not self.detached:
            self.video.close()

    def detach(self, runner: Runner | None) -> None:
        """Out of ``runner``'s sinks after the frame being written (if any); the video stays open."""
        self.detached = True
        if runner is not None:
            runner.remove_sink(self)  # calls close(), which does nothing now


class RecordingCloser(QObject):
    """Closes detached recordings on threads of their own. ``finished(path, error)`` fires in the GUI thread
    when one is complete: ``error`` is "" when the file was written whole, else the one-line reason (what
    was kept is in it)."""

    finished = Signal(str, str)
    _done = Signal(str, str)  # from the closing thread; queued to this object's (the GUI) thread

    def __init__(self) -> None:
        super().__init__()
        self._done.connect(self._report)
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def busy(self, path: str) -> bool:
        """Whether the recording to ``path`` is still being finalised."""
        with self._lock:
            thread = self._threads.get(path)
        return thread is not None and thread.is_alive()

    def close(self, recording: Recording) -> None:
        thread = threading.Thread(target=self._close, args=(recording,), daemon=True, name="vidcv-recording-close")
        with self._lock:
            self._threads[recording.path] = thread
        thread.start()

    def _close(self, recording: Recording) -> None:  # closing thread
        error = ""
        try:
            recording.video.close()
        except VidcvError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"finishing {recording.path} failed: {exc.strerror or exc}"
        except Exception as exc:  # said in the window rather than lost on a thread
            log.exception("finishing %s failed", recording.path)
            error = f"finishing {recording.path} failed: {error_line(exc)}"
        self._done.emit(recording.path, error)

    def _report(self, path: str, error: str) -> None:  # GUI thread
        with self._lock:
            thread = self._threads.pop(path, None)
        if thread is not None:
            thread.join()  # it has emitted its last word: it ends now
        self.finished.emit(path, error)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every recording being finalised (quitting); False if one is still going after ``timeout``."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)
