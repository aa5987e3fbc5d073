"""The batch driver: plans the inputs' output folders, resumes, hands the inputs to an engine, and keeps the
ledger, which it alone writes.

Resume: an input is skipped when the ledger says it was done, by the same pipeline and options (the
fingerprint in ``OUT/.batch-config.json``), and its folder checks out complete (``incomplete_reason``);
anything else is processed again from scratch, except an input that a clean stop (Ctrl-C, SIGTERM) interrupted
and whose staging folder it kept (``job.read_resume``): with the same fingerprint, the local engine continues
it from the frame after its last logged one. A batch killed at any moment (SIGKILL included) and run again
ends with every input done once and one ledger line each.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vidcv.batch.events import (
    BatchEnded,
    BatchObserver,
    BatchStarted,
    InputFinished,
)
from vidcv.batch.inputs import BatchItem, plan_outputs
from vidcv.batch.job import (
    InputJob,
    InputResult,
    JobFunction,
    Resume,
    read_resume,
    remove_staging,
    restart_reason,
    run_job,
)
from vidcv.batch.ledger import (
    BatchLock,
    InputRecord,
    Ledger,
    incomplete_reason,
    read_config,
    read_ledger,
    write_config,
)
from vidcv.errors import VidcvError
from vidcv.fileio import missing_folders, remove_empty_folders
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.processes import thread_share
from vidcv.pipeline import Pipeline

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch: the output folder, the engine (``local`` or ``ray``), workers (local: processes,
    default one per core; Ray: tasks in flight, default the cluster's CPUs), the Ray address (None: start a
    local Ray), whether to save each processed video, a frame limit per input, the frames per call of a
    stage that batches (None: what the stages choose; the results are the same either way), and how files are
    decoded (``decode``: ``bgr`` or ``luma`` over the pipeline's own ``Pipeline.decode``; None: as it says)."""

    out_dir: str
    engine: str = "local"
    workers: int | None = None
    address: str | None = None
    save_video: bool = False
    max_frames: int | None = None
    log_level: int = logging.WARNING
    batch: int | None = None
    decode: str | None = None


@dataclass(frozen=True)
class StoppedInput:
    """An input the stop interrupted: ``frames`` of its outputs done (``resumed_at`` of them by earlier runs),
    ``kept`` for the next run to continue at frame ``resume_frame``, or none, and then ``restart`` why not."""

    source: str
    frames: int
    resumed_at: int = 0
    kept: int = 0
    resume_frame: int = 0
    restart: str | None = None


@dataclass
class BatchReport:
    """This run's record of each input, in input order, and how it ended."""

    records: list[InputRecord]
    wall_s: float
    interrupted: bool
    engine: str
    workers: int
    not_done: list[str] = field(default_factory=list)  #: inputs an interruption left for the next run
    stopped: list[StoppedInput] = field(default_factory=list)  #: of those, the ones it interrupted in progress

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def frames(self) -> int:
        """Frames processed by this run and kept (skipped inputs, and frames done by earlier runs, not counted;
        an interrupted input's frames when they are kept for the next run)."""
        done = sum(r.frames - r.resumed_at for r in self.records if r.status != "skipped")
        return done + sum(s.kept - s.resumed_at for s in self.stopped if s.kept)

    @property
    def kept(self) -> int:
        """Frames the interrupted inputs keep for the next run to continue from."""
        return sum(s.kept for s in self.stopped)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0


class Engine(Protocol):
    """Runs inputs somewhere: ``prestart`` may start workers early, ``run`` yields each input's result as it
    ends (and releases the workers when it ends), ``close`` releases them when ``run`` is not reached."""

    name: str

    @property
    def workers(self) -> int | None:
        """Processes or tasks in flight; None: as many as the cluster has CPUs."""

    def prestart(self, count: int, warm_preset: str | None) -> None: ...

    def run(
        self, jobs: list[InputJob], bundle: PipelineBundle, emit: BatchObserver, stop: threading.Event
    ) -> Iterator[InputResult]: ...

    def close(self) -> None: ...


def video_name(item: BatchItem) -> str:
    """The processed video's name in an input's folder: the input's own name, as .mp4."""
    return os.path.basename(item.out) + ".mp4"


def make_engine(options: BatchOptions, inputs: int, task: JobFunction = run_job) -> Engine:
    """The engine ``options`` ask for, running ``task`` per input (for ``inputs`` inputs at most)."""
    if options.engine == "local":
        from vidcv.batch.local import LocalEngine

        workers = max(1, min(options.workers or os.cpu_count() or 1, inputs))
        return LocalEngine(workers, thread_share(workers), options.log_level, task)
    if options.engine == "ray":
        from vidcv.batch.ray_engine import RayEngine

        return RayEngine(options.address, options.workers, verbose=options.log_level <= logging.INFO, task=task)
    raise VidcvError(f"unknown engine {options.engine!r}; use one of {', '.join(ENGINES)}")


def run_batch(
    sources: Sequence[str],
    pipeline: Pipeline | str,
    options: BatchOptions,
    observer: BatchObserver | None = None,
    stop: threading.Event | None = None,
) -> BatchReport:
    """Process every source (video files, as ``expand_inputs`` gives them) through ``pipeline`` (a Pipeline,
    or a preset file or bundled preset name) into ``options.out_dir``; returns when all are done or ``stop``
    was set (inputs in hand are then dropped, to be redone by the next run). Raises only for what stops the
    whole batch (the pipeline, the output folder, the engine); a bad input is a failed record. Given a preset
    name, the local engine's workers start loading it while it is checked here."""
    if options.max_frames is not None and options.max_frames < 1:
        raise VidcvError(f"--max-frames must be at least 1, got {options.max_frames}")
    if options.batch is not None and options.batch < 1:
        raise VidcvError(f"--batch must be at least 1, got {options.batch}")
    if options.workers is not None and options.workers < 1:
        raise VidcvError(f"--workers must be at least 1, got {options.workers}")
    if options.address and options.engine != "ray":
        raise VidcvError("--address is the Ray cluster's: add --engine ray")
    emit: BatchObserver = observer or (lambda event: None)
    stop = stop or threading.Event()
    out_dir = os.path.abspath(options.out_dir)
    t0 = time.monotonic()
    created = missing_folders(out_dir)  # made for the lock: removed again if the batch wrote nothing there
    try:
        with BatchLock(out_dir):
            items = plan_outputs(sources, out_dir)
            engine = make_engine(options, len(items))
            try:
                pipeline, owned = _resolve(pipeline, engine, _unfinished(items, out_dir))
            except BaseException:
                engine.close()
                raise
            if options.decode is not None:  # --gray-decode / --no-gray-decode: travels in the bundle, and its
                pipeline.decode = options.decode  # fingerprint redoes inputs done with the other decode
            try:
                return _run(items, pipeline, engine, options, out_dir, emit, stop, t0)
            finally:
                if owned:
                    pipeline.close()
    finally:
        remove_empty_folders(created)  # a batch that failed before writing (a bad preset) leaves no folder


def _run(
    items: list[BatchItem],
    pipeline: Pipeline,
    engine: Engine,
    options: BatchOptions,
    out_dir: str,
    emit: BatchObserver,
    stop: threading.Event,
    t0: float,
) -> BatchReport:
    try:
        bundle = PipelineBundle.from_pipeline(pipeline, ship_files=engine.name == "ray")
        config = {**bundle.fingerprint(), "max_frames": options.max_frames}
        same_config = read_config(out_dir) == config
        cannot_resume = restart_reason(pipeline, "video" if options.save_video else None)
        if engine.name != "local":
            cannot_resume = cannot_resume or f"the {engine.name} engine does not resume an input"
        skipped, todo, resumes = _resume_plan(items, out_dir, options, same_config, cannot_resume)
        planned = {item.out for item in items}
        kept = [r for r in read_ledger(out_dir) if r.out not in planned] if same_config else []
        ledger = Ledger(out_dir)
        ledger.start([*kept, *skipped.values()])  # first the ledger, then the fingerprint it goes with
        write_config(out_dir, config)
    except BaseException:
        engine.close()
        raise
    records: dict[int, InputRecord] = dict(skipped)
    emit(BatchStarted(len(items), len(skipped), min(engine.workers or len(todo), len(todo)), engine.name))
    for index, record in skipped.items():
        emit(InputFinished(index, record))
    jobs = [
        InputJob(
            item.index,
            item.source,
            item.out,
            item.out_dir,
            video_name(item) if options.save_video else None,
            options.max_frames,
            options.batch,
            *((resumes[item.index].frames, resumes[item.index].next_frame) if item.index in resumes else ()),
        )
        for item in todo
    ]
    by_index = {item.index: item for item in items}
    interrupted = False
    stopped: dict[int, StoppedInput] = {}
    try:
        for result in engine.run(jobs, bundle, emit, stop):  # the engine closes itself when this ends
            if result.status == "interrupted":
                interrupted = True
                stopped[result.index] = _stopped(by_index[result.index], result, cannot_resume)
                continue
            record = _record(by_index[result.index], result)
            ledger.append(record)
            records[result.index] = record
            emit(InputFinished(result.index, record))
    finally:
        ledger.close()
    interrupted = interrupted or stop.is_set()
    emit(BatchEnded(interrupted))
    return BatchReport(
        [records[i] for i in sorted(records)],
        time.monotonic() - t0,
        interrupted,
        engine.name,
        min(engine.workers or len(jobs), len(jobs)),
        [by_index[i].source for i in sorted(by_index) if i not in records],
        [stopped[i] for i in sorted(stopped) if stopped[i].frames],
    )


def _stopped(item: BatchItem, result: InputResult, cannot_resume: str | None) -> StoppedInput:
    restart = None if result.kept else (result.restart or cannot_resume or "its worker ended before keeping its frames")
    return StoppedInput(item.source, result.frames, result.resumed_at, result.kept, result.resume_frame, restart)


def _resolve(pipeline: Pipeline | str, engine: Engine, unfinished: int) -> tuple[Pipeline, bool]:
    """The pipeline (and whether it is ours to close), with the engine started (a cluster reached) before
    anything is written; a preset is checked here while the engine's workers start loading it."""
    if isinstance(pipeline, Pipeline):
        engine.prestart(unfinished, None)
        return pipeline, False
    from vidcv.presets import find_preset, load_preset

    path = os.path.abspath(find_preset(pipeline))
    engine.prestart(unfinished, path)
    return load_preset(path), True


def _unfinished(items: list[BatchItem], out_dir: str) -> int:
    """How many inputs the ledger does not show done: the workers worth starting before the plan is made."""
    done = {r.out for r in read_ledger(out_dir) if r.status in ("ok", "skipped")}
    return sum(item.out not in done for item in items)


def _resume_plan(
    items: list[BatchItem], out_dir: str, options: BatchOptions, same_config: bool, cannot_resume: str | None
) -> tuple[dict[int, InputRecord], list[BatchItem], dict[int, Resume]]:
    """The inputs complete from an earlier run (as skipped records), those to process, and of those the ones
    that continue what a stopped run kept (unless ``cannot_resume`` says why none can)."""
    earlier = {r.out: r for r in read_ledger(out_dir)}
    if not same_config and earlier:
        earlier = {}
        log.warning(
            "the pipeline or --max-frames changed since the last batch into %s: every input is processed again", out_dir
        )
    skipped: dict[int, InputRecord] = {}
    todo = []
    resumes: dict[int, Resume] = {}
    for item in items:
        resume = read_resume(item.out_dir)
        prev = earlier.get(item.out)
        reason = None
        if prev is not None and prev.status in ("ok", "skipped") and prev.source == os.path.abspath(item.source):
            reason = incomplete_reason(item.out_dir, video_name(item) if options.save_video else None)
            if reason is None:
                remove_staging(item.out_dir)
                skipped[item.index] = InputRecord(
                    prev.source, prev.out, "skipped", prev.frames, prev.fps, None, prev.worker, prev.resumed_at
                )
                continue
        if resume is not None:
            why = _why_restart(resume, options, same_config, cannot_resume)
            if why is None:
                log.warning(
                    "%s resumes at frame %d: the batch that was stopped kept its first %d frames",
                    item.source,
                    resume.next_frame,
                    resume.frames,
                )
                resumes[item.index] = resume
                todo.append(item)
                continue
            log.warning(
                "%s restarts from frame 0 (the batch that was stopped kept %d frames): %s",
                item.source,
                resume.frames,
                why,
            )
        for leftover in remove_staging(item.out_dir):
            if resume is None:
                log.info("removed %s, left by a batch that was killed", leftover)
        if reason is not None:
            log.warning("%s is processed again: %s in %s", item.source, reason, item.out_dir)
        todo.append(item)
    return skipped, todo, resumes


def _why_restart(resume: Resume, options: BatchOptions, same_config: bool, cannot_resume: str | None) -> str | None:
    """Why an input cannot continue what a stopped batch kept of it (None: it can)."""
    if not same_config:
        return "the pipeline or --max-frames changed"
    if cannot_resume:
        return cannot_resume
    if options.max_frames is not None and resume.frames >= options.max_frames:
        return f"its --max-frames {options.max_frames} were done"
    return None


def _record(item: BatchItem, result: InputResult) -> InputRecord:
    return InputRecord(
        os.path.abspath(item.source),
        item.out,
        result.status,
        result.frames,
        result.fps,
        result.error,
        result.worker,
        result.resumed_at,
    )
