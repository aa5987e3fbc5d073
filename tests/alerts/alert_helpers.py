"""Helpers of the alert tests: ports on loopback, waiting for a condition, events as the pipeline reports them."""

from __future__ import annotations

import socket
import time
from typing import Any

from vidcv.status import EventKind, SceneEvent

USER, PASSWORD = "alertuser", "Wh00k-s3cret"

KINDS = list(EventKind)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, what: str = "the condition") -> None:
    """Return as soon as ``predicate()`` is true; fail saying ``what`` did not happen by the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.01)


def events(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` scene events as the sink sends them (``SceneEvent.to_dict``), one per frame from ``start``."""
    return [
        SceneEvent(
            KINDS[i % len(KINDS)],
            i,
            i * 33.3667,
            stage="zone",
            zone="door",
            class_name="person",
            track_id=i % 7,
            value=float(i) / 3,
        ).to_dict()
        for i in range(start, start + n)
    ]
