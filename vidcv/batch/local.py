"""The local engine of ``vidcv batch``: its inputs as jobs of the local executor (``vidcv.jobs.pool``), a pool of
worker processes on this machine, each taking one input at a time. A worker that dies fails its input alone
and is replaced; the others go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from vidcv.batch.events import BatchEvent, InputProgress, InputStarted
from vidcv.batch.job import InputJob, InputResult, JobFunction, remove_staging, run_job
from vidcv.errors import error_line
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.pool import Died, Emit, Pool, Sent, Started, WorkerTask
from vidcv.jobs.processes import worker_name

log = logging.getLogger(__name__)


def _context(context: tuple[PipelineBundle, JobFunction]) -> tuple[PipelineBundle, JobFunction]:
    return context


def _warm(preset: str) -> None:
    """Load the batch's preset once while the driver checks it: the first input's imports and model loads
    overlap the driver's start."""
    from vidcv.presets import load_preset

    load_preset(preset).close()


def _run_input(
    context: tuple[PipelineBundle, JobFunction],
    job: InputJob,
    threads: int,
    should_stop: Callable[[], bool],
    emit: Emit,
) -> None:
    """One input in a worker: the pipeline built afresh from the bundle, ``task`` run on it; sends
    ``("frames", n)`` as it goes and ``("result", InputResult)`` at the end."""
    bundle, task = context
    try:
        pipeline = bundle.build()
    except Exception as exc:  # noqa: BLE001 - reported as this input's failure
        result = InputResult(job.index, "failed", error=error_line(exc))
    else:
        result = task(job, pipeline, threads=threads, should_stop=should_stop, on_frames=lambda n: emit(("frames", n)))
    result.worker = worker_name()
    emit(("result", result))


#: what ``vidcv batch``'s workers do
BATCH_WORK = WorkerTask(setup=_context, run=_run_input, warm=_warm)


class LocalEngine:
    """``workers`` processes with ``threads`` threads each (see ``vidcv.jobs.processes.thread_share``)."""

    name = "local"

    def __init__(
        self, workers: int, threads: int, log_level: int = logging.WARNING, task: JobFunction = run_job
    ) -> None:
        self.task = task  #: what each input gets (``run_job``: what ``vidcv batch`` does)
        self._pool = Pool(BATCH_WORK, workers, threads, log_level, name="vidcv-batch-worker")

    @property
    def workers(self) -> int:
        return self._pool.workers

    def prestart(self, count: int, warm_preset: str | None) -> None:
        """Start ``count`` workers now (at most ``workers``), each loading ``warm_preset`` while the driver
        checks the pipeline and plans the batch; ``close`` ends them if the batch does not run."""
        self._pool.prestart(count, warm_preset)

    def close(self) -> None:
        """End the workers (those in hand with an input are stopped first) and reap them."""
        self._pool.close()

    def run(
        self, jobs: list[InputJob], bundle: PipelineBundle, emit: Callable[[BatchEvent], None], stop: threading.Event
    ) -> Iterator[InputResult]:
        """Process ``jobs``, yielding each result as it comes. Setting ``stop`` (or Ctrl-C in the thread that
        iterates) stops the workers: inputs in hand end ``interrupted``, the rest are not started."""
        by_index = {job.index: job for job in jobs}
        for event in self._pool.run([(j.index, j) for j in jobs], (bundle, self.task), stop.is_set, stop.set):
            if isinstance(event, Started):
                emit(InputStarted(event.index, by_index[event.index].source, event.worker))
            elif isinstance(event, Sent):
                kind, value = event.message
                if kind == "frames":
                    emit(InputProgress(event.index, by_index[event.index].source, value))
                else:
                    yield value
            elif isinstance(event, Died):
                yield self._died(by_index[event.index], event)

    @staticmethod
    def _died(job: InputJob, event: Died) -> InputResult:
        if event.stopped:
            return InputResult(job.index, "interrupted")
        remove_staging(job.out_dir)  # what it was writing
        return InputResult(
            job.index,
            "failed",
            error=f"the worker process died while reading it ({event.how}); the other inputs went on",
            worker=event.worker,
        )
