"""Terminal progress while a run goes: a bar with fps for files, a counter with fps for live sources.

The bar is a run observer: it moves on the runner's statistics events and shows the source's state
(reconnecting, refused; attempt 3 in 2.0 s) from its state events, redrawn as each comes; nothing polls.
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
        self._rates: tuple[float, int] = (0.0, 0)  #: the last fps and drop count drawn
        self._postfix: dict[str, str] = {}
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
            self._draw(None, *self._rates)  # at once: frames stand still while a stream is away
        elif isinstance(event, (StatsUpdated, RunEnded)):
            self._draw(event.summary.frames, event.summary.fps, event.summary.dropped)

    def _draw(self, frames: int | None, fps: float, dropped: int) -> None:
        """Move the bar to ``frames`` (None: where it is); redraw also when only the postfix changed (tqdm alone redraws on
        progress, so a source state or a stalled rate would wait for the next frame)."""
        with self._lock:
            if self._bar is None:
                return
            frames = self._shown if frames is None else frames
            self._rates = (fps, dropped)
            extra = {"fps": f"{fps:.1f}"}
            if self.runner.source.live:
                extra["dropped"] = str(dropped)
            if self._source:
                extra["source"] = self._source
            changed, self._postfix = extra != self._postfix, extra
            self._bar.set_postfix(extra, refresh=False)
            if frames != self._shown:
                self._bar.update(frames - self._shown)  # draws, with the postfix just set
                self._shown = frames
            elif changed:
                self._bar.refresh()


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
