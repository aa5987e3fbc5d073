"""Run events: what a run tells its observers (the CLI progress bar, the GUI, the batch driver).

The runner publishes typed, frozen records instead of being polled: a source changed state, a stage
failed on a frame, fresh statistics (a few times a second while running), and the end of the run with its
summary. Observers are plain callables taking one event; they run in the thread that emitted the event
(the runner's threads), so a GUI hands them on through a queued signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from vidcv.stats import RunSummary

log = logging.getLogger(__name__)


class SourceState(str, Enum):
    """Where a source is in its life. A ``str`` so that it prints and compares as its word."""

    CLOSED = "closed"  #: not opened yet, or closed
    OPENING = "opening"  #: connecting, probing the file or the device
    OPEN = "open"  #: delivering frames (playing a file, live from a camera or stream)
    RECONNECTING = "reconnecting"  #: a stream dropped; the source retries with backoff
    ENDED = "ended"  #: a file or image folder has no more frames (a seek may reopen it)
    FAILED = "failed"  #: gave up: cannot open, stalled, reconnection attempts exhausted, damaged

    def __str__(self) -> str:
        return self.value

    def can_become(self, new: SourceState) -> bool:
        """Whether ``self -> new`` is an allowed transition (see TRANSITIONS)."""
        return new in TRANSITIONS[self]


S = SourceState
#: Allowed transitions. OPEN -> OPEN and RECONNECTING -> RECONNECTING carry a new detail (reconnected,
#: next attempt); ENDED -> OPEN is a seek back; FAILED -> OPENING is a retry; every state can close.
TRANSITIONS: dict[SourceState, frozenset[SourceState]] = {
    S.CLOSED: frozenset({S.OPENING}),
    S.OPENING: frozenset({S.OPEN, S.FAILED, S.CLOSED}),
    S.OPEN: frozenset({S.OPEN, S.RECONNECTING, S.ENDED, S.FAILED, S.CLOSED}),
    S.RECONNECTING: frozenset({S.RECONNECTING, S.OPEN, S.FAILED, S.CLOSED}),
    S.ENDED: frozenset({S.OPEN, S.CLOSED}),
    S.FAILED: frozenset({S.OPENING, S.CLOSED}),
}
del S


@dataclass(frozen=True)
class SourceStateChanged:
    """A source moved from ``old`` to ``new``; ``detail`` says more (attempt 3 in 2.0 s, the error)."""

    source: str  #: the source as shown to users (stream URLs without their password)
    old: SourceState
    new: SourceState
    detail: str = ""


@dataclass(frozen=True)
class StageError:
    """A stage raised on a frame: reported, and that stage is bypassed for that frame."""

    stage_index: int
    stage_name: str
    frame_index: int
    message: str

    def __str__(self) -> str:
        return (
            f"stage {self.stage_index} '{self.stage_name}' failed on frame {self.frame_index}: "
            f"{self.message} (bypassed for that frame)"
        )


@dataclass(frozen=True)
class StatsUpdated:
    """Recent rates and timings of a running run, published a few times a second (also while paused)."""

    summary: RunSummary  #: ``Runner.summary(recent=True)``
    position: int  #: index of the last frame read
    paused: bool
    at_end: bool  #: a seekable source is held, paused, at its end


@dataclass(frozen=True)
class RunEnded:
    """The run is over: outputs are finalised. ``error`` ended it early; ``stopped`` means stop was asked."""

    summary: RunSummary
    error: BaseException | None
    stopped: bool


RunEvent = SourceStateChanged | StageError | StatsUpdated | RunEnded


class RunObserver(Protocol):
    """Anything called with each event; it must be quick (it runs in the runner's threads) and not raise."""

    def __call__(self, event: RunEvent) -> None: ...


class EventHub:
    """Delivers events to observers in the emitting thread. An observer that raises is logged, not removed,
    and never disturbs the run or the other observers."""

    def __init__(self, observers: Iterable[RunObserver] = ()) -> None:
        self._lock = threading.Lock()
        self._observers: tuple[RunObserver, ...] = tuple(observers)

    def __bool__(self) -> bool:
        return bool(self._observers)

    def subscribe(self, observer: RunObserver) -> None:
        with self._lock:
            self._observers = (*self._observers, observer)

    def unsubscribe(self, observer: RunObserver) -> None:
        with self._lock:
            self._observers = tuple(o for o in self._observers if o is not observer)

    def emit(self, event: RunEvent) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not stop frames
                log.exception("run observer %r failed on %s", observer, type(event).__name__)
