"""Thread hand-offs between the runner's stages: newest-wins for live sources, bounded FIFO otherwise."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

END = object()  #: returned by ``get`` once the producer closed and everything was taken
TIMEOUT = object()  #: returned by ``get`` when nothing arrived in time


class Handoff:
    """One producer, one consumer.

    ``newest_wins``: holds one item; a new item replaces an untaken one, which is counted in
    ``dropped`` (live sources never fall behind). Otherwise a FIFO of ``capacity`` whose ``put`` blocks
    while full (files lose nothing and keep their order). ``close`` lets the consumer drain, then END.
    """

    def __init__(self, capacity: int = 4, newest_wins: bool = False) -> None:
        self.capacity = 1 if newest_wins else max(1, capacity)
        self.newest_wins = newest_wins
        self.dropped = 0
        self._items: deque[Any] = deque()
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Hand over ``item``; False if ``stop`` was set while waiting for room (item not taken)."""
        with self._cond:
            if self.newest_wins:
                if self._items:
                    self._items.clear()
                    self.dropped += 1
            else:
                while len(self._items) >= self.capacity:
                    if stop is not None and stop.is_set():
                        return False
                    self._cond.wait(0.05)
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any:
        """The next item, END after ``close`` once empty, or TIMEOUT."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if self._items:
                item = self._items.popleft()
                self._cond.notify_all()
                return item
            return END if self._closed else TIMEOUT

    def clear(self) -> int:
        """Drop what is waiting (a seek makes it stale); returns how many items were dropped."""
        with self._cond:
            count = len(self._items)
            self._items.clear()
            self._cond.notify_all()
            return count

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)
