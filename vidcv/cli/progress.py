"""Terminal progress while a run goes: a bar with fps for files, a counter with fps for live sources.

The bar is a run observer: it moves on the runner's statistics events and shows the source's state
(reconnecting, attempt 3 in 2.0 s) from its state events; nothing polls.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from vidcv.events import RunEnded, RunEvent, SourceState, SourceStateChanged, StatsUpdated
from vidcv.runner import Runner


class Progress:
    """Subscribe to a runner and draw a tqdm bar on stderr; silent when stderr is no terminal."""

    def __init__(self, runner: Runner, total: int | None, enabled: bool | None = None) -> None:
        self.runner = runner
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._shown = 0
        self._source = ""
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if self.enabled:
            from tqdm import tqdm  # imported only on a terminal

            self._bar = tqdm(total=self.total, unit="frame", dynamic_ncols=True, file=sys.stderr, leave=False)
            self.runner.subscribe(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.unsubscribe(self)
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, SourceStateChanged):
            busy = event.new not in (SourceState.OPEN, SourceState.ENDED, SourceState.CLOSED)
            self._source = f"{event.new} {event.detail}".strip() if busy else ""
        elif isinstance(event, (StatsUpdated, RunEnded)):
            self._draw(event.summary.frames, event.summary.fps, event.summary.dropped)

    def _draw(self, frames: int, fps: float, dropped: int) -> None:
        with self._lock:
            if self._bar is None:
                return
            extra = {"fps": f"{fps:.1f}"}
            if self.runner.source.live:
                extra["dropped"] = str(dropped)
            if self._source:
                extra["source"] = self._source
            self._bar.set_postfix(extra, refresh=False)
            self._bar.update(frames - self._shown)  # draws, with the postfix just set
            self._shown = frames


def run_to_end(runner: Runner, total: int | None, quiet: bool) -> bool:
    """Start ``runner``, show progress until it ends, stop it cleanly; True if Ctrl-C interrupted it."""
    interrupted = False
    with Progress(runner, total, enabled=None if not quiet else False):
        runner.start()
        try:
            while not runner.wait(0.1):
                pass
        except KeyboardInterrupt:
            interrupted = True
        finally:
            runner.stop()
    return interrupted
