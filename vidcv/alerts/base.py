"""What every alert sender shares: the interface, a bounded queue with one delivery thread, and the counts.

A sender never slows the pipeline: ``send`` only appends to a bounded queue (a full queue drops the event and
counts it), and one thread per sender delivers in order. ``close`` drains what it can within its timeout and
returns an :class:`AlertSummary`: what was sent, what was missed and why, in words without credentials.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vidcv.errors import VidcvError
from vidcv.redact import redact

log = logging.getLogger(__name__)

#: events that may wait for delivery per sender; more are dropped (and counted) until the receiver catches up
QUEUE_SIZE = 1000


class AlertConfigError(VidcvError):
    """A ``--webhook`` or ``--mqtt`` value that cannot be used: the message names the problem and the fix."""


@dataclass(frozen=True)
class AlertSummary:
    """What one sender did. ``missed`` = ``failed`` (given up: retries spent, or refused by the receiver) +
    ``dropped`` (the queue was full) + ``unsent`` (still queued or unacknowledged when it was closed)."""

    kind: str  #: ``webhook`` or ``mqtt``
    label: str  #: where to, credentials masked
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    unsent: int = 0
    retries: int = 0
    last_error: str = ""  #: the latest failure in words (``receiver down: connection refused``), or ""

    @property
    def missed(self) -> int:
        return self.failed + self.dropped + self.unsent

    def line(self) -> str:
        """One line for a user: ``webhook http://***@host:8080/x: 120 sent, 3 missed (3 dropped while the
        queue was full; receiver down: connection refused)``."""
        text = f"{self.kind} {self.label}: {self.sent} sent, {self.missed} missed"
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.failed, "failed"),
                (self.dropped, "dropped while the queue was full"),
                (self.unsent, "still undelivered at the end"),
            )
            if n
        ]
        details = ", ".join(parts)
        if self.retries:
            details += f"{'; ' if details else ''}{self.retries} {'retry' if self.retries == 1 else 'retries'}"
        if self.last_error and (self.missed or self.retries):
            details += f"{'; ' if details else ''}{self.last_error}"
        return f"{text} ({details})" if details else text  # the label and the error were masked when made

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the run's stats: the counts and the last error."""
        return {
            "kind": self.kind,
            "target": self.label,
            "sent": self.sent,
            "missed": self.missed,
            "failed": self.failed,
            "dropped": self.dropped,
            "unsent": self.unsent,
            "retries": self.retries,
            "last_error": self.last_error,
        }


@runtime_checkable
class Notifier(Protocol):
    """Sends each event somewhere without ever blocking the caller."""

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str:
        """Where the events go, fit to show: credentials masked."""
        ...

    def send(self, payload: Mapping[str, Any]) -> None:
        """Queue ``payload`` (a JSON-ready mapping: ``SceneEvent.to_dict()``) for delivery; returns at once.
        A full queue drops it and counts it as missed."""
        ...

    def snapshot(self) -> AlertSummary:
        """The counts so far, while it runs."""
        ...

    def close(self, timeout: float = 5.0) -> AlertSummary:
        """Deliver what can be within ``timeout`` seconds, stop, and say what was sent and missed."""
        ...


def encode(payload: Mapping[str, Any]) -> bytes:
    """``payload`` as compact UTF-8 JSON (a value JSON has no word for, such as a path, as its text)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str).encode()


class QueuedNotifier:
    """The bounded queue, the delivery thread and the counts of a sender; a subclass delivers (``_run``).

    The counts are kept under ``_cond``'s lock. Once ``close`` has returned they are frozen: a request that
    was still out then and ends later changes nothing the summary said.
    """

    kind = "alert"

    def __init__(self, label: str, queue_size: int = QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._label = redact(label)
        self.queue_size = queue_size
        self._queue: deque[Mapping[str, Any]] = deque()
        self._cond = threading.Condition()
        self._sent = self._failed = self._dropped = self._retries = 0
        self._taken = 0  #: taken off the queue, neither delivered nor given up yet
        self._last_error = ""
        self._closing = False
        self._deadline: float | None = None  #: monotonic time by which close wants the thread gone
        self._frozen: AlertSummary | None = None
        self._wake = threading.Event()  #: set by close: a backoff checks its deadline
        self._full = False  #: the queue was full: told once, until it has been half empty
        self._thread = threading.Thread(target=self._main, name=f"vidcv-{self.kind}", daemon=True)

    @property
    def label(self) -> str:
        return self._label

    def start(self) -> None:
        """Start the delivery thread (the constructor of a subclass calls it once it is set up)."""
        self._thread.start()

    # --- the caller's side -----------------------------------------------------------------------------------
    def send(self, payload: Mapping[str, Any]) -> None:
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self.queue_size:
                self._dropped += 1
                if not self._full:
                    self._full = True
                    log.warning(
                        "%s %s: %d events wait already; new ones are dropped until the receiver catches up",
                        self.kind,
                        self._label,
                        len(self._queue),
                    )
                return
            if self._full and len(self._queue) < self.queue_size // 2:
                self._full = False  # told again only once the queue has been half empty
            self._queue.append(dict(payload))
            self._cond.notify_all()

    def snapshot(self) -> AlertSummary:
        with self._cond:
            if self._frozen is not None:
                return self._frozen
            return self._summary(unsent=len(self._queue) + self._taken)

    def close(self, timeout: float = 5.0) -> AlertSummary:
        with self._cond:
            if self._frozen is not None:
                return self._frozen
            self._closing = True
            self._deadline = time.monotonic() + max(0.0, timeout)
            self._cond.notify_all()
        self._wake.set()
        self._thread.join(self._remaining())
        self._finish(self._remaining())
        with self._cond:
            if self._frozen is None:
                if self._taken and (stuck := self._stuck()):
                    self._last_error = stuck
                self._frozen = self._summary(unsent=len(self._queue) + self._taken)
                self._queue.clear()
            summary = self._frozen
        log.info("%s", summary.line())
        return summary

    # --- the delivery thread's side ---------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug must not end the run: it stops this sender, and says so
            self._note_error(f"internal error: {type(exc).__name__}: {exc}")
            log.exception("%s %s stopped", self.kind, self._label)

    def _run(self) -> None:
        raise NotImplementedError

    def _finish(self, timeout: float) -> None:
        """Once the thread has stopped (or ``close``'s time is up): release connections. Within ``timeout``."""

    def _stuck(self) -> str:
        """Why events are still out when ``close``'s time is up, if the thread knows better than the last
        error (a request still waiting for its reply); "" otherwise. Called under the lock."""
        return ""

    def _next(self) -> Mapping[str, Any] | None:
        """The next event to deliver, waiting for one; None once closing with nothing queued, or past the
        deadline."""
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue or self._past_deadline():
                return None
            self._taken += 1
            return self._queue.popleft()

    def _remaining(self) -> float:
        """Seconds left before ``close``'s deadline (a large number while not closing)."""
        if self._deadline is None:
            return 1e9
        return max(0.0, self._deadline - time.monotonic())

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (a backoff); False, at once, when ``close``'s deadline would pass first."""
        end = time.monotonic() + seconds
        while not self._wake.wait(end - time.monotonic()):  # close() wakes it to check its deadline
            if time.monotonic() >= end:
                return True
        if self._deadline is not None and end > self._deadline:
            return False
        time.sleep(max(0.0, end - time.monotonic()))
        return True

    def _count(self, sent: int = 0, failed: int = 0, retries: int = 0, done: int = 0) -> None:
        """Add to the counts; ``done``: taken events that were delivered or given up."""
        with self._cond:
            if self._frozen is None:
                self._sent += sent
                self._failed += failed
                self._retries += retries
                self._taken -= done
            self._cond.notify_all()

    def _note_error(self, text: str) -> None:
        with self._cond:
            if self._frozen is None:
                self._last_error = redact(text)

    def _summary(self, unsent: int) -> AlertSummary:
        return AlertSummary(
            self.kind,
            self._label,
            sent=self._sent,
            failed=self._failed,
            dropped=self._dropped,
            unsent=unsent,
            retries=self._retries,
            last_error=self._last_error,
        )
