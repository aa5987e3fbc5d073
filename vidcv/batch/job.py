"""One input of a batch, processed in a worker: ``vidcv run``'s work (``vidcv.batch.single``) into the input's
own output folder, which appears whole or not at all.

The outputs are written into a hidden staging folder beside the final one (``.NAME.partial``), which is
renamed into place when the run ends, so that a worker killed at any moment leaves no half-written file under
a final name. A batch stopped cleanly (Ctrl-C, SIGTERM) keeps the staging folder of an input in progress when
the input can be resumed exactly (``restart_reason``: a stateless pipeline, no video written): its detection
log of whole lines and ``resume.json``, written last, which say where the next run continues
(``read_resume``); that run seeks the source there and appends to the log, so that the finished log equals
an uninterrupted run's, byte for byte. The thread budget keeps N workers on C cores from oversubscribing them: OpenCV, ONNX Runtime and
FFmpeg's decoder each get ``C // N`` threads.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vidcv.batch.ledger import DETECTIONS_NAME, STATS_NAME
from vidcv.batch.single import RunOutputs, finish_run, prepare_run
from vidcv.errors import error_line
from vidcv.events import RunEvent, StatsUpdated
from vidcv.fileio import (
    discard_tree,
    make_dirs,
    open_file,
    partial_name,
    remove,
    remove_tree,
    replace,
    write_text_atomic,
)
from vidcv.pipeline import Pipeline
from vidcv.stats import RunSummary

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
    #: frames an earlier, stopped run kept in the staging folder (its log's lines): 0 starts afresh
    resume_at: int = 0
    resume_frame: int = 0  #: the source's frame that run stopped before (where this one seeks)


@dataclass
class InputResult:
    """How one input ended: ``ok``, ``failed`` (``error`` says why) or ``interrupted`` (the batch was stopped
    while it ran: ``kept`` frames were kept for the next run to resume at ``resume_frame``, or none, and
    ``restart`` says why the next run starts it from frame 0). ``frames`` counts every frame of its outputs,
    ``resumed_at`` of them done by earlier runs. ``files`` holds the output folder's files when the worker ran
    on another machine (the driver writes them into place)."""

    index: int
    status: str
    frames: int = 0
    fps: float = 0.0
    error: str | None = None
    worker: str = ""
    files: dict[str, bytes] | None = field(default=None, repr=False)
    resumed_at: int = 0
    kept: int = 0
    resume_frame: int = 0
    restart: str | None = None


#: in a staging folder kept by a clean stop: the frames its log holds and the frame to continue from
RESUME_NAME = "resume.json"
#: in the staging folder while an input is resumed: the log of the earlier runs, the new lines appended at the end
KEPT_NAME = "kept.jsonl"


@dataclass(frozen=True)
class Resume:
    frames: int  #: whole lines of the kept log
    next_frame: int  #: the source frame after the last one logged


def restart_reason(pipeline: Pipeline, video_name: str | None) -> str | None:
    """Why an input of this pipeline cannot be resumed exactly where a stop left it (None: it can)."""
    stateful = [pipeline.stage_name(i) for i, s in enumerate(pipeline.stages) if s.enabled and s.plugin.stateful]
    if stateful:
        return f"its pipeline keeps state from frame to frame ({', '.join(stateful)}), which a resume cannot restore"
    if video_name:
        return "--save-video: the processed video cannot be continued exactly"
    return None


def read_resume(out_dir: str) -> Resume | None:
    """What a clean stop kept of the input whose folder is ``out_dir``: its ``resume.json`` and a log that
    matches it (its size, whole lines); None when nothing is there or it does not check out."""
    staging = staging_dir(out_dir)
    try:
        with open(os.path.join(staging, RESUME_NAME), encoding="utf-8") as fh:
            data = json.load(fh)
        frames, next_frame, size = int(data["frames"]), int(data["next_frame"]), int(data["log_bytes"])
        log_path = os.path.join(staging, DETECTIONS_NAME)
        if os.path.islink(log_path) or os.path.getsize(log_path) != size or frames < 1 or next_frame < frames:
            return None
        with open(log_path, "rb") as fh:
            fh.seek(max(0, size - (1 << 20)))
            tail = fh.read()
        last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not tail.endswith(b"\n") or int(json.loads(last)["frame"]) + 1 != next_frame:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Resume(frames, next_frame)


def _keep_for_resume(staging: str, frames: int) -> int:
    """Mark ``staging`` resumable after a clean stop (``resume.json``, written last); returns the next frame."""
    log_path = os.path.join(staging, DETECTIONS_NAME)
    size = os.path.getsize(log_path)
    with open(log_path, "rb") as fh:
        fh.seek(max(0, size - (1 << 20)))
        last = fh.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    next_frame = int(json.loads(last)["frame"]) + 1
    doc = {"frames": frames, "next_frame": next_frame, "log_bytes": size}
    write_text_atomic(os.path.join(staging, RESUME_NAME), json.dumps(doc))
    return next_frame


def _take_kept(staging: str) -> str:
    """Before resuming: the kept log moved aside (the run writes its own from the frame it resumes at), the
    marker removed first (a kill from here on leaves a folder the next run discards)."""
    remove(os.path.join(staging, RESUME_NAME))
    remove(os.path.join(staging, STATS_NAME))
    kept = os.path.join(staging, KEPT_NAME)
    replace(os.path.join(staging, DETECTIONS_NAME), kept)
    return kept


def _join_logs(kept: str, log_path: str) -> None:
    """The new lines appended to the kept log, which becomes the input's log."""
    if not os.path.isfile(log_path):  # the run wrote no log (a failed output): nothing to join
        remove(kept)
        return
    with open_file(kept, "ab") as dst, open(log_path, "rb") as src:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    replace(kept, log_path)


def _write_resumed_stats(path: str, summary: RunSummary, earlier: int) -> None:
    """The statistics of a resumed input: its frames all told, ``resumed_at`` of them from earlier runs (the
    rates and the stages' figures are this run's)."""
    doc = summary.to_dict()
    doc["frames"] = earlier + summary.frames
    doc["frames_read"] = earlier + summary.frames_read
    doc["resumed_at"] = earlier
    write_text_atomic(path, json.dumps(doc, indent=2))


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
    allows it processes at once (the output is the same, in order). ``should_stop`` is asked about ten times a
    second; when it says yes the run stops and the result is ``interrupted``: its staging folder is kept for the
    next run to resume when ``restart_reason`` allows it and a frame was done, else removed. With
    ``job.resume_at`` the run continues what such a stop kept: from ``job.resume_frame``, its log appended to
    the kept one. ``on_frames`` hears the frames written so far by this run, a few times a second (from the
    runner's threads).
    """
    staging = staging_dir(job.out_dir)
    earlier = job.resume_at
    kept_log = None
    restart = restart_reason(pipeline, job.video_name)
    try:
        if earlier:
            kept_log = _take_kept(staging)
        else:
            remove_staging(job.out_dir)
            make_dirs(staging)
        outputs = output_outputs(staging, job.video_name)
        runner, _ = prepare_run(
            job.source,
            pipeline,
            outputs,
            max_frames=job.max_frames - earlier if job.max_frames is not None else None,
            decode_threads=threads,
            frame_workers=threads or 1,
            batch=job.batch,
            start_frame=job.resume_frame if earlier else 0,
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
        if kept_log is not None:
            _join_logs(kept_log, outputs.detections_jsonl or "")
            if outputs.stats_json:
                _write_resumed_stats(outputs.stats_json, summary, earlier)
    except Exception as exc:  # noqa: BLE001 - the statistics could not be written (a full disk)
        discard_tree(staging)
        summary = runner.summary()  # the frames were processed: the ledger says how many
        first = runner.error or exc  # a log that filled the disk first is what stopped the run
        return InputResult(job.index, "failed", earlier + summary.frames, round(summary.fps, 3), error_line(first))
    frames = earlier + summary.frames
    error = runner.error
    if interrupted:
        if frames and error is None and restart is None:
            try:
                next_frame = _keep_for_resume(staging, frames)
            except Exception as exc:  # noqa: BLE001 - a full disk: the input restarts
                restart = f"what it did could not be kept ({error_line(exc)})"
            else:
                return InputResult(
                    job.index,
                    "interrupted",
                    frames,
                    summary.fps,
                    resumed_at=earlier,
                    kept=frames,
                    resume_frame=next_frame,
                )
        discard_tree(staging)
        if frames and restart is None and error is not None:
            restart = error_line(error)
        return InputResult(
            job.index, "interrupted", frames, summary.fps, resumed_at=earlier, restart=restart if frames else None
        )
    if error is not None and not summary.frames:
        discard_tree(staging)  # failed before its first frame: nothing worth keeping
    else:
        try:
            commit_folder(staging, job.out_dir)  # a truncated video keeps what came before the damage, as run does
        except Exception as exc:  # noqa: BLE001 - a link planted at the output folder, a full disk
            discard_tree(staging)
            return InputResult(job.index, "failed", frames, round(summary.fps, 3), error_line(exc))
    return InputResult(
        job.index,
        "failed" if error is not None else "ok",
        frames,
        round(summary.fps, 3),
        error_line(error) if error is not None else None,
        resumed_at=earlier,
    )
