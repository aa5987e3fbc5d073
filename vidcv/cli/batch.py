"""``vidcv batch``: many videos through one pipeline, on this machine's cores or on a Ray cluster."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK
from vidcv.cli.output import say, say_block
from vidcv.cli.run import add_decode_options

if TYPE_CHECKING:
    from typing_extensions import Self

    from vidcv.batch.driver import BatchReport, StoppedInput
    from vidcv.batch.events import BatchEvent

EPILOG = """examples:
  vidcv batch videos/ --pipeline track_shapes --out results/
  vidcv presets shapes > my.yaml                              # a bundled preset to edit (vidcv presets)
  vidcv batch "day1/**/*.mp4" @more.txt -p my.yaml --out results --workers 4 --save-video
  vidcv batch videos/ -p motion --out results --engine ray --address HEAD:6379

INPUTS are video files, folders (their video files, subfolders included, in natural order), globs,
@list.txt files (one path per line) and env:NAME (one of those, held by the environment variable NAME).
Each input gets a folder under --out that mirrors its path below the inputs' common parent (a/clip.mp4 ->
OUT/a/clip/) with detections.jsonl and stats.json (and, with --save-video, the processed video): what
`vidcv run` writes for that input alone. OUT/batch.jsonl gets one line per input as it finishes. Running
the same command again skips the inputs that are complete and redoes the rest, also after a crash or a kill.

--engine ray runs each input as a Ray task on the cluster at --address (pip install "vidcv[ray]"; with a
`ray start` cluster export RAY_AUTH_TOKEN=$(ray get-auth-token) from the head first), or on a Ray started on
this machine when no --address is given."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "batch",
        parents=[common],
        help="process many videos, here or on a Ray cluster",
        description="Run one pipeline over many videos, each into its own output folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, folder, glob, @list.txt or env:NAME")
    p.add_argument("--pipeline", "-p", required=True, metavar="FILE", help="preset YAML file or bundled preset name")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created, or resumed)")
    p.add_argument(
        "--workers",
        "-j",
        type=int,
        metavar="N",
        help="local: worker processes (default: one per core); ray: tasks in flight (default: the cluster's CPUs)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="local: a process pool here (default); ray: one Ray task per input (the default with --address)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="the Ray cluster's head, HOST:PORT (default with --engine ray: start a Ray on this machine)",
    )
    p.add_argument("--save-video", action="store_true", help="also write each processed video")
    p.add_argument("--max-frames", type=int, metavar="N", help="process at most the first N frames of each input")
    p.add_argument(
        "--batch",
        type=int,
        metavar="N",
        help="frames per inference call of a stage that batches (yolo), as for vidcv run (default: the "
        "model's own batch); the results are the same as one at a time",
    )
    add_decode_options(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary (failures still shown)")
    p.set_defaults(handler=batch_command)


#: the inputs done, with one rate: the frames' (fps in the postfix), not tqdm's inputs per second as well
BATCH_BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} inputs [{elapsed}<{remaining}{postfix}]"


class BatchProgress:
    """One bar over the inputs, with the frames and their rate (frames per second since the batch began, as
    ``vidcv run``'s bar and the summary); failures named above it as they happen (on stderr; without a
    terminal, only the failures)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._t0 = time.monotonic()
        self._done_frames = 0
        self._running: dict[int, int] = {}
        self._failed = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __call__(self, event: BatchEvent) -> None:
        from vidcv.batch.events import BatchStarted, InputFinished, InputProgress

        if isinstance(event, BatchStarted):
            self._t0 = time.monotonic()
            if self.enabled:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=event.inputs,
                    unit="input",
                    dynamic_ncols=True,
                    file=sys.stderr,
                    leave=False,
                    bar_format=BATCH_BAR_FORMAT,
                )
        elif isinstance(event, InputProgress):
            self._running[event.index] = event.frames
            self._draw(0)
        elif isinstance(event, InputFinished):
            record = event.record
            self._running.pop(event.index, None)
            if record.status != "skipped":
                self._done_frames += record.frames - record.resumed_at  # this run's
            if record.status == "failed":
                self._failed += 1
                self._say(f"vidcv: failed: {record.source}: {record.error}")
            self._draw(1)

    def _say(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            say(line, file=sys.stderr, flush=True)

    def _draw(self, inputs: int) -> None:
        if self._bar is None:
            return
        frames = self._done_frames + sum(self._running.values())
        elapsed = max(1e-6, time.monotonic() - self._t0)
        postfix = {"frames": str(frames), "fps": f"{frames / elapsed:.1f}"}
        if self._failed:
            postfix["failed"] = str(self._failed)
        self._bar.set_postfix(postfix, refresh=False)
        if inputs:
            self._bar.update(inputs)
        else:
            self._bar.refresh()


class _StopOnSignals:
    """While entered (main thread), SIGINT and SIGTERM set ``stop``: the batch stops its workers cleanly and
    keeps what finished. ``signum`` is the first signal that came."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.signum: int | None = None
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._saved[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        self.stop.set()


def format_summary(report: BatchReport, out_dir: str) -> str:
    """The table printed at the end of a batch."""
    unit = (
        ("worker" if report.engine == "local" else "task in flight")
        if report.workers == 1
        else ("workers" if report.engine == "local" else "tasks in flight")
    )
    workers = f", {report.workers} {unit}" if report.workers else ""
    rows = [
        ("done", str(report.count("ok"))),
        ("failed", str(report.count("failed"))),
        ("skipped", str(report.count("skipped"))),
        ("frames", str(report.frames)),
        ("fps", f"{report.fps:.1f}"),
        ("wall s", f"{report.wall_s:.1f}"),
    ]
    lines = [f"batch of {len(report.records) + len(report.not_done)} inputs ({report.engine} engine{workers})"]
    lines += [f"  {name:<8}{value:>10}" for name, value in rows]
    failed = [r for r in report.records if r.status == "failed"]
    if failed:
        lines.append("failed inputs:")
        lines += [f"  {r.source}: {r.error}" for r in failed]
    if report.stopped:
        lines.append("interrupted inputs:")
        lines += [f"  {s.source}: {stopped_line(s)}" for s in report.stopped]
    lines.append(f"results in {out_dir} (one folder per input; the ledger is {os.path.join(out_dir, 'batch.jsonl')})")
    return "\n".join(lines)


def stopped_line(stopped: StoppedInput) -> str:
    """What becomes of an input the stop interrupted: resumed where it stopped, or restarted, and why."""
    if stopped.kept:
        return f"{stopped.kept} frames kept, resumes at frame {stopped.resume_frame} on the next run"
    return f"{stopped.frames} frames dropped, restarts from frame 0 on the next run: {stopped.restart}"


def interrupted_line(report: BatchReport, how: str) -> str:
    """The last line after a stop: the inputs done, those interrupted and what the next run does with them."""
    total = len(report.records) + len(report.not_done)
    line = f"vidcv: {how}: {len(report.records)} of {total} inputs done"
    if report.stopped:
        resumed = sum(1 for s in report.stopped if s.kept)
        count = len(report.stopped)
        if resumed == count:
            line += f"; {count} interrupted: {report.kept} frames kept, the next run resumes {'it' if count == 1 else 'them'}"
        elif resumed == 0:
            line += f"; {count} interrupted: the next run restarts {'it' if count == 1 else 'them'} from frame 0"
        else:
            line += (
                f"; {count} interrupted: {report.kept} frames kept, the next run resumes {resumed} and restarts "
                f"{count - resumed} from frame 0"
            )
    return line + "; run the same command again to do the rest"


def batch_command(args: argparse.Namespace) -> int:
    from vidcv.batch.driver import BatchOptions, run_batch
    from vidcv.batch.inputs import expand_inputs
    from vidcv.errors import VidcvError

    engine = args.engine or ("ray" if args.address else "local")
    if args.address and engine != "ray":
        raise VidcvError("--address is a Ray cluster's, and --engine local runs here: drop one of them")
    sources = expand_inputs(args.inputs, exclude=[args.out])
    level = logging.getLogger().getEffectiveLevel()
    options = BatchOptions(
        args.out,
        engine,
        args.workers,
        args.address,
        args.save_video,
        args.max_frames,
        log_level=level,
        batch=args.batch,
        decode=None if args.gray_decode is None else "luma" if args.gray_decode else "bgr",
    )
    stop = threading.Event()
    # the preset is checked (its models loaded) by the driver while the workers start loading it too
    with _StopOnSignals(stop) as signals, BatchProgress(not args.quiet and sys.stderr.isatty()) as progress:
        report = run_batch(sources, args.pipeline, options, progress, stop)
    if not args.quiet:
        say_block(format_summary(report, os.path.abspath(args.out)))
    if report.interrupted:
        how = (
            "interrupted"
            if signals.signum in (None, signal.SIGINT)
            else f"terminated ({signal.Signals(signals.signum).name})"
        )
        say(interrupted_line(report, how), file=sys.stderr)
        return 128 + (signals.signum or signal.SIGINT)
    return EXIT_ERROR if report.count("failed") else EXIT_OK
