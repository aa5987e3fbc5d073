"""Terminal progress while a run goes: a bar with fps for files, a counter with fps for live sources."""

from __future__ import annotations

import sys
import threading

from vidcv.runner import Runner


class Progress:
    """Polls the runner a few times a second from its own thread; silent when stderr is no terminal."""

    def __init__(self, runner: Runner, total: int | None, enabled: bool | None = None) -> None:
        self.runner = runner
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="vidcv-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def _loop(self) -> None:
        from tqdm import tqdm  # imported only on a terminal

        unit = "frame"
        with tqdm(total=self.total, unit=unit, dynamic_ncols=True, file=sys.stderr, leave=False) as bar:
            shown = 0
            while not self._stop.wait(0.2):
                done = self.runner.frames_written
                bar.update(done - shown)
                shown = done
                summary = self.runner.summary(recent=True)
                extra = {"fps": f"{summary.fps:.1f}"}
                if self.runner.source.live:
                    extra["dropped"] = str(summary.dropped)
                state = self.runner.source.state
                if state not in ("open", "ended", "closed"):
                    extra["source"] = f"{state} {self.runner.source.state_detail}".strip()
                bar.set_postfix(extra, refresh=False)
            bar.update(self.runner.frames_written - shown)


def run_to_end(runner: Runner, total: int | None, quiet: bool) -> bool:
    """Start ``runner``, show progress until it ends, stop it cleanly; True if Ctrl-C interrupted it."""
    interrupted = False
    runner.start()
    with Progress(runner, total, enabled=None if not quiet else False):
        try:
            while not runner.wait(0.1):
                pass
        except KeyboardInterrupt:
            interrupted = True
        finally:
            runner.stop()
    return interrupted
