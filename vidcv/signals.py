"""Ctrl-C and SIGTERM for commands that run: the first one stops the run cleanly, more are absorbed.

``timeout -s INT`` signals the whole process group, so one "Ctrl-C" may come twice; a service manager
sends SIGTERM. Either way outputs must be finalised, not left half-written by a second KeyboardInterrupt
raised inside the stop (or by the interpreter exiting while a worker thread is still inside OpenCV, which
aborts the process with "terminate called without an active exception").
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType

#: the signals a command handles: a stop, as Ctrl-C does
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM before the run began (loading a model, opening the source): the command ends."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


def describe(signum: int) -> str:
    """``interrupted`` for Ctrl-C, ``terminated (SIGTERM)`` for SIGTERM."""
    return "interrupted" if signum == signal.SIGINT else f"terminated ({signal.Signals(signum).name})"


class StopSignals:
    """Handles SIGINT and SIGTERM while it is entered (in the main thread; elsewhere it does nothing). A signal
    that the process was started with ignored (``nohup``, a background job of a script) stays ignored.

    Until ``absorb`` is called a signal raises ``Interrupted`` at once, as Ctrl-C raises KeyboardInterrupt.
    After it, signals are only recorded (``received``, with the monotonic time each came), for the run's
    loop to act on: the handler never raises inside a stop, and never takes a lock. The previous handlers
    come back on exit.
    """

    def __init__(self) -> None:
        self.received: list[tuple[int, float]] = []  #: (signal number, time.monotonic()) of each signal
        self._absorbing = False
        self._saved: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored by who started us (nohup, cmd &)
                    self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._saved.clear()

    def absorb(self) -> None:
        """From now on, only record signals (the run has started: its loop stops it cleanly)."""
        self._absorbing = True

    @property
    def first(self) -> int | None:
        """The first signal received, if any."""
        return self.received[0][0] if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append((signum, time.monotonic()))  # list.append: atomic, no lock
        if not self._absorbing:
            raise Interrupted(signum)
