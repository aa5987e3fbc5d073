"""Terminal progress while a run goes: a bar with fps for files, a counter with fps for live sources.

The bar is a run observer: it moves on the runner's statistics events and shows the source's state
(reconnecting, refused; attempt 3 in 2.0 s) from its state events, redrawn as each comes; nothing polls.
It shows one rate, ``fps``: the frames processed (written) per second since the run began, the figure of the
summary line at the end (``N frames in T s = F fps``); tqdm's own rate, smoothed over its redraws, is left
out of the bar, as two different rates side by side said neither.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any, NoReturn

from vidcv.cli.output import say
from vidcv.events import RunEnded, RunEvent, SourceState, SourceStateChanged, StatsUpdated
from vidcv.runner import Runner
from vidcv.signals import StopSignals, describe, exit_status
from vidcv.stats import RunSummary

#: tqdm's bar and counter without its own rate (``{rate_fmt}``): the one rate is the ``fps`` of the postfix
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
COUNTER_FORMAT = "{n_fmt}{unit} [{elapsed}{postfix}]"


def run_fps(summary: RunSummary) -> float:
    """Frames processed per second since the run began: what the summary line says at the end (a statistics
    event's own ``fps`` is the rate of the last seconds, which the window's readout shows)."""
    return summary.frames / summary.wall_s if summary.wall_s > 0 else 0.0


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

            self._bar = tqdm(
                total=self.total,
                unit="frame",
                dynamic_ncols=True,
                file=sys.stderr,
                leave=False,
                bar_format=BAR_FORMAT if self.total else COUNTER_FORMAT,
            )
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
            self._draw(event.summary.frames, run_fps(event.summary), event.summary.dropped)

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


#: a signal within this many seconds of the first is absorbed (``timeout`` signals twice at once, an impatient
#: Ctrl-C comes twice); one later, while the stop is still going, exits at once
FORCE_AFTER_S = 3.0
FINALISE_WAIT_S = 5.0  #: how long a forced exit waits for the outputs to be finalised


def run_to_end(runner: Runner, total: int | None, quiet: bool, signals: StopSignals | None = None) -> int | None:
    """Start ``runner``, show progress until it ends, stop it cleanly; the signal that stopped it (SIGINT or
    SIGTERM) or None.

    The first SIGINT or SIGTERM starts a clean stop: the frame in hand is finished and every output is
    finalised. Further ones within ``FORCE_AFTER_S`` are absorbed; when the stop takes longer, the command
    says what it waits for, and a signal after that exits at once (``force_exit``). The command does not
    return while a thread of the run is still going, so the interpreter never exits under one. ``signals``
    is the command's handler when it has one (kept on after the run, so that writing the statistics is not
    cut short either); otherwise one is installed for the run.
    """
    with contextlib.ExitStack() as stack:
        if signals is None:
            signals = stack.enter_context(StopSignals())
        signals.absorb()
        with Progress(runner, total, enabled=None if not quiet else False):
            runner.start()
            while not runner.wait(0.1) and not signals.received:
                pass
            stopped_by = signals.first
            _finish(runner, signals)  # inside the bar's life, so that it draws the end of the run
    return stopped_by


def _finish(runner: Runner, signals: StopSignals) -> None:
    """Stop the run and wait for every thread of it; a signal after the grace period forces an exit."""
    runner.request_stop()
    began = signals.received[0][1] if signals.received else time.monotonic()
    told = False
    while not runner.join(0.1):
        if any(at - began > FORCE_AFTER_S for _, at in signals.received[1:]):
            force_exit(runner, signals.received[-1][0])
        if not told and time.monotonic() - began > FORCE_AFTER_S:
            told = True
            say(
                f"vidcv: still stopping: {_waiting_for(runner)}; Ctrl-C again exits at once, keeping the frames "
                "written so far",
                file=sys.stderr,
                flush=True,
            )


def _waiting_for(runner: Runner) -> str:
    """What a stop waits for, in words."""
    busy = runner.busy_threads
    if "vidcv-process" in busy:
        return "a stage is still busy with its frame"
    if "vidcv-source" in busy:
        return "the source is still closing"
    return "the outputs are still being finalised"


def force_exit(runner: Runner, signum: int) -> NoReturn:
    """Exit now, without waiting for a thread that hangs (and without the interpreter's shutdown, which aborts
    under a thread inside native code). The outputs are finalised with the frames already written when the
    sink thread can do it within ``FINALISE_WAIT_S``; otherwise they stay under their temporary names
    (``.NAME.partial.EXT``), never half-written under their final names. No statistics are written."""
    busy = _waiting_for(runner)
    runner.abandon()
    if runner.wait(FINALISE_WAIT_S):
        kept = f"outputs were finalised with the {runner.frames_written} frames written, no statistics"
    else:
        kept = "outputs not finalised stay under their temporary names (.NAME.partial.EXT), which the next run removes"
    say(f"vidcv: {describe(signum)} again: exiting at once ({busy}); {kept}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(exit_status(signum))
