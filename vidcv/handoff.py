"""Thread hand-offs between the runner's stages: newest-wins for live sources, bounded FIFO otherwise."""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

END = object()  #: returned by ``get`` once the producer closed and everything was taken
TIMEOUT = object()  #: returned by ``get`` when nothing arrived in time
_CLOSED = object()  #: the FIFO's last item once closed: put back for every later ``get``
#: how often a producer waiting for room looks at its stop event
_STOP_POLL_S = 0.05


class Handoff(ABC):
    """One producer, one consumer. ``close`` lets the consumer drain, then END; ``dropped`` counts the items
    replaced before they were taken (``NewestWins``)."""

    dropped = 0

    @abstractmethod
    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Hand over ``item``; False if ``stop`` was set while waiting for room (item not taken)."""

    @abstractmethod
    def get(self, timeout: float | None = None) -> Any:
        """The next item, END after ``close`` once empty, or TIMEOUT."""

    @abstractmethod
    def clear(self) -> int:
        """Drop what is waiting (a seek makes it stale); returns how many items were dropped."""

    @abstractmethod
    def close(self) -> None:
        """No more items: the consumer takes what waits, then END."""

    @abstractmethod
    def __len__(self) -> int:
        """Items waiting to be taken."""


class NewestWins(Handoff):
    """Holds one item; a new item replaces an untaken one, which is counted in ``dropped`` (live sources never
    fall behind)."""

    def __init__(self) -> None:
        self.dropped = 0
        self._items: deque[Any] = deque()
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        with self._cond:
            if self._items:
                self._items.clear()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
        return True

    def get(self, timeout: float | None = None) -> Any:
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if self._items:
                return self._items.popleft()
            return END if self._closed else TIMEOUT

    def clear(self) -> int:
        with self._cond:
            count = len(self._items)
            self._items.clear()
            return count

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)


class BoundedFifo(Handoff):
    """A FIFO of ``capacity`` whose ``put`` blocks while full (files lose nothing and keep their order).

    Two of the interpreter's C queues (``queue.SimpleQueue``), the items and a token for each free place,
    instead of a condition variable: a frame handed over wakes the waiting thread once, where a condition wakes
    it and then makes it wait again for the lock its producer still holds, on every frame."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = max(1, capacity)
        self._closed = False
        self._fifo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._room: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(self.capacity):
            self._room.put(None)

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        while True:
            try:
                self._room.get(timeout=_STOP_POLL_S)
                break
            except queue.Empty:
                if stop is not None and stop.is_set():
                    return False
        self._fifo.put(item)
        return True

    def get(self, timeout: float | None = None) -> Any:
        try:
            item = self._fifo.get(timeout=timeout)
        except queue.Empty:
            return TIMEOUT
        if item is _CLOSED:
            self._fifo.put(_CLOSED)  # for the next get too
            return END
        self._room.put(None)
        return item

    def clear(self) -> int:
        count = 0
        while True:
            try:
                item = self._fifo.get_nowait()
            except queue.Empty:
                return count
            if item is _CLOSED:
                self._fifo.put(_CLOSED)
                return count
            count += 1
            self._room.put(None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._fifo.put(_CLOSED)

    def __len__(self) -> int:
        return max(0, self._fifo.qsize() - self._closed)
