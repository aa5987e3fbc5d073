"""One input of a batch, processed in a worker: ``vidcv run``'s work (``vidcv.batch.single``) into the input's
own output folder, which appears whole or not at all.

The outputs are written into a hidden staging folder beside the final one (``.NAME.partial``), which is
renamed into place when the run ends, so that a worker killed at any moment leaves no half-written file under
a final name. The thread budget keeps N workers on C cores from oversubscribing them: OpenCV, ONNX Runtime and
FFmpeg's decoder each get ``C // N`` threads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vidcv.batch.ledger import DETECTIONS_NAME, STATS_NAME
from vidcv.batch.single import RunOutputs, finish_run, prepare_run
from vidcv.errors import error_line
from vidcv.events import RunEvent, StatsUpdated
from vidcv.fileio import discard_tree, make_dirs, partial_name, remove_tree, replace
from vidcv.pipeline import Pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputJob:
    """What a worker needs to process one input (plain data: it travels to other processes and machines)."""

    index: int
    source: str
    out: str  #: the output folder relative to the batch's folder (as the ledger records it)
    out_dir: str  #: the output folder itself
    video_name: str | None = None  #: the processed video's file name in the folder, when it is asked for
    max_frames: int | None = None
    batch: int | None = None  #: frames per call of a stage that batches (``Runner.batch``; None: the stages')


@dataclass
class InputResult:
    """How one input ended: ``ok``, ``failed`` (``error`` says why) or ``interrupted`` (the batch was stopped
    while it ran: nothing of it was kept). ``files`` holds the output folder's files when the worker ran on
    another machine (the driver writes them into place)."""

    index: int
    status: str
    frames: int = 0
    fps: float = 0.0
    error: str | None = None
    worker: str = ""
    files: dict[str, bytes] | None = field(default=None, repr=False)


class JobFunction(Protocol):
    """What an engine runs per input: ``run_job`` (what ``vidcv batch`` does), or another module-level function
    of this shape (an engine's workers import it by name), writing into ``job.out_dir`` what it makes."""

    def __call__(
        self,
        job: InputJob,
        pipeline: Pipeline,
        *,
        threads: int | None = None,
        should_stop: Callable[[], bool] = ...,
        on_frames: Callable[[int], None] | None = None,
    ) -> InputResult: ...


def output_outputs(folder: str, video_name: str | None) -> RunOutputs:
    """The files of one input's folder, as ``vidcv run`` options."""
    return RunOutputs(
        output=os.path.join(folder, video_name) if video_name else None,
        detections_jsonl=os.path.join(folder, DETECTIONS_NAME),
        stats_json=os.path.join(folder, STATS_NAME),
    )


def staging_dir(out_dir: str) -> str:
    """Where an input's outputs are written before they are renamed into ``out_dir``."""
    return partial_name(out_dir.rstrip(os.sep))


def _old_dir(out_dir: str) -> str:
    """Where the outputs of an earlier run go while the new ones are renamed into place."""
    return partial_name(out_dir.rstrip(os.sep) + ".old")


def remove_staging(out_dir: str) -> list[str]:
    """Remove what a killed run left beside ``out_dir`` (its staging folder, an earlier output being replaced);
    returns the folders removed."""
    removed = []
    for path in (staging_dir(out_dir), _old_dir(out_dir)):
        if remove_tree(path):  # a link at either name is refused, never followed
            removed.append(path)
    return removed


def commit_folder(staging: str, out_dir: str) -> None:
    """Rename the finished ``staging`` folder to ``out_dir``, replacing an earlier one (moved aside first, then
    removed: a kill in between leaves no ``out_dir``, which the next run redoes)."""
    old = _old_dir(out_dir)
    if os.path.lexists(out_dir):
        remove_tree(old)
        replace(out_dir, old)  # a link at out_dir is refused: it is not an earlier output of vidcv's
    replace(staging, out_dir)
    remove_tree(old)


def run_job(
    job: InputJob,
    pipeline: Pipeline,
    *,
    threads: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_frames: Callable[[int], None] | None = None,
) -> InputResult:
    """Process one input into its output folder; never raises for a bad input (the result says what failed).

    ``threads`` is the worker's share of the cores: FFmpeg's decoding threads, and the frames a pipeline that
    allows it processes at once (the output is the same, in order). ``should_stop`` is asked about ten times a second; when it says yes the run stops, its staging folder is
    removed and the result is ``interrupted``. ``on_frames`` hears the frames written so far, a few times a
    second (from the runner's threads).
    """
    staging = staging_dir(job.out_dir)
    try:
        remove_staging(job.out_dir)
        make_dirs(staging)
        outputs = output_outputs(staging, job.video_name)
        runner, _ = prepare_run(
            job.source,
            pipeline,
            outputs,
            max_frames=job.max_frames,
            decode_threads=threads,
            frame_workers=threads or 1,
            batch=job.batch,
        )
    except Exception as exc:  # noqa: BLE001 - one input's failure, whatever it is, is that input's result
        discard_tree(staging)
        pipeline.close()
        return InputResult(job.index, "failed", error=error_line(exc))
    if on_frames is not None:

        def observer(event: RunEvent) -> None:
            if isinstance(event, StatsUpdated):
                on_frames(event.summary.frames)

        runner.subscribe(observer)
    interrupted = False
    runner.start()
    try:
        while not runner.wait(0.1):
            if should_stop():
                interrupted = True
                break
    finally:
        runner.stop()
    try:
        summary = finish_run(runner, outputs)
    except Exception as exc:  # noqa: BLE001 - the statistics could not be written (a full disk)
        discard_tree(staging)
        summary = runner.summary()  # the frames were processed: the ledger says how many
        first = runner.error or exc  # a log that filled the disk first is what stopped the run
        return InputResult(job.index, "failed", summary.frames, round(summary.fps, 3), error_line(first))
    if interrupted:
        discard_tree(staging)
        return InputResult(job.index, "interrupted", summary.frames, summary.fps)
    error = runner.error
    if error is not None and not summary.frames:
        discard_tree(staging)  # failed before its first frame: nothing worth keeping
    else:
        try:
            commit_folder(staging, job.out_dir)  # a truncated video keeps what came before the damage, as run does
        except Exception as exc:  # noqa: BLE001 - a link planted at the output folder, a full disk
            discard_tree(staging)
            return InputResult(job.index, "failed", summary.frames, round(summary.fps, 3), error_line(exc))
    return InputResult(
        job.index,
        "failed" if error is not None else "ok",
        summary.frames,
        round(summary.fps, 3),
        error_line(error) if error is not None else None,
    )
