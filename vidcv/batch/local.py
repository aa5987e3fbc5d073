"""The local engine: a pool of worker processes on this machine, each taking one input at a time.

The driver hands each idle worker its next input over a pipe and hears back ``started``, ``frames`` and
``done``; it therefore always knows which input a worker holds, so a worker that dies (a decoder crash on a
damaged file, the kernel's OOM killer) fails that input alone and is replaced, and the others go on.
Workers are started and set up by ``vidcv.jobs.processes`` (spawned, stopped through an event rather than by
Ctrl-C, so that each finalises cleanly, and dying with the driver, so that a killed batch leaves no worker
writing behind it).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vidcv.batch.events import BatchEvent, InputProgress, InputStarted
from vidcv.batch.job import InputJob, InputResult, JobFunction, remove_staging, run_job
from vidcv.batch.single import describe_error
from vidcv.errors import VidcvError
from vidcv.jobs import processes
from vidcv.jobs.bundle import PipelineBundle
from vidcv.jobs.processes import Connection, wait, worker_name

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0  #: how long a stopped worker may take to finalise its input before it is killed


def _worker_main(
    conn: Connection,
    stop: Any,
    threads: int,
    parent_pid: int,
    log_level: int,
    warm_preset: str | None,
    task: JobFunction,
) -> None:
    """A worker process: the pipeline bundle, then inputs from ``conn`` until None (or the pipe closes),
    results back on it. ``warm_preset`` is loaded once first, while the driver checks it: the imports and
    model loads of the first input overlap the driver's start."""
    # the driver said the pipeline's warnings (CPU fall-back) once; a worker adds only its errors, unless -v
    parent = processes.init_worker(parent_pid, threads, log_level)
    if warm_preset:
        try:
            from vidcv.presets import load_preset

            load_preset(warm_preset).close()
        except Exception:  # the driver checks the preset itself and says what is wrong
            log.debug("warming up with %s failed", warm_preset, exc_info=True)
    name = worker_name()
    lock = threading.Lock()  # frames are reported from the runner's threads

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    def should_stop() -> bool:
        return stop.is_set() or not parent.alive()

    bundle: PipelineBundle | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if isinstance(message, PipelineBundle):
            bundle = message
            continue
        job: InputJob = message
        send(("started", job.index, name))
        try:
            assert bundle is not None, "the driver sends the bundle before the first input"
            pipeline = bundle.build()
        except Exception as exc:  # noqa: BLE001 - reported as this input's failure
            result = InputResult(job.index, "failed", error=describe_error(exc))
        else:
            result = task(
                job,
                pipeline,
                threads=threads,
                should_stop=should_stop,
                on_frames=lambda n, i=job.index: send(("frames", i, n)),
            )
        result.worker = name
        send(("done", result))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: InputJob | None = None


class LocalEngine:
    """``workers`` processes with ``threads`` threads each (see ``vidcv.jobs.processes.thread_share``)."""

    name = "local"

    def __init__(
        self, workers: int, threads: int, log_level: int = logging.WARNING, task: JobFunction = run_job
    ) -> None:
        self.task = task  #: what each input gets (``run_job``: what ``vidcv batch`` does)
        self.workers = max(1, workers)
        self.threads = max(1, threads)
        self.log_level = log_level
        self._stop = processes.context().Event()
        self._pool: list[_Worker] = []

    def prestart(self, count: int, warm_preset: str | None) -> None:
        """Start ``count`` workers now (at most ``workers``), each loading ``warm_preset`` while the driver
        checks the pipeline and plans the batch; ``close`` ends them if the batch does not run."""
        for _ in range(min(self.workers, count) - len(self._pool)):
            self._start_worker(warm_preset)

    def close(self) -> None:
        """End the workers (those in hand with an input are stopped first) and reap them."""
        pool, self._pool = self._pool, []
        if any(w.job is not None for w in pool):
            self._stop.set()
        for worker in pool:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        for worker in pool:
            worker.process.join(STOP_GRACE_S if worker.job is not None else 5.0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()

    def _start_worker(self, warm_preset: str | None = None) -> _Worker:
        ours, theirs = processes.context().Pipe()
        process = processes.start(
            _worker_main,
            (theirs, self._stop, self.threads, os.getpid(), self.log_level, warm_preset, self.task),
            "vidcv-batch-worker",
            self.threads,
        )
        theirs.close()
        worker = _Worker(process, ours)
        self._pool.append(worker)
        return worker

    def run(
        self, jobs: list[InputJob], bundle: PipelineBundle, emit: Callable[[BatchEvent], None], stop: threading.Event
    ) -> Iterator[InputResult]:
        """Process ``jobs``, yielding each result as it comes. Setting ``stop`` (or Ctrl-C in the thread
        that iterates) stops the workers: inputs in hand end ``interrupted``, the rest are not started."""
        pending = deque(jobs)
        pool = self._pool

        def send(worker: _Worker, message: object) -> bool:
            try:
                worker.conn.send(message)
            except OSError:  # the worker is gone (it died idle, or while it started)
                return False
            return True

        def start_worker() -> _Worker:
            worker = self._start_worker()
            if not send(worker, bundle):
                worker.process.join(5.0)
                raise VidcvError(
                    f"a batch worker process ended as it started (exit status "
                    f"{worker.process.exitcode}); run with --debug to see why"
                )
            return worker

        def assign(worker: _Worker) -> None:
            """Hand ``worker`` its next input; a worker found dead is replaced, and the input goes to the new one."""
            worker.job = pending.popleft() if pending and not stop.is_set() else None
            if worker.job is None or send(worker, worker.job):
                return
            pending.appendleft(worker.job)
            worker.job = None
            pool.remove(worker)
            worker.conn.close()
            assign(start_worker())

        try:
            for worker in list(pool[len(jobs) :]):  # warmed up for inputs that turned out complete
                pool.remove(worker)
                send(worker, None)
                worker.conn.close()
            for worker in list(pool):
                if not send(worker, bundle):  # it died while warming up
                    pool.remove(worker)
                    worker.conn.close()
            while len(pool) < min(self.workers, len(jobs)):
                start_worker()
            for worker in list(pool):
                assign(worker)
            while any(w.job is not None for w in pool):
                busy = [w for w in pool if w.job is not None]
                try:
                    ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.2)
                except KeyboardInterrupt:
                    stop.set()
                    ready = []
                if stop.is_set():
                    self._stop.set()
                    pending.clear()
                for worker in busy:
                    if worker.conn not in ready and worker.process.sentinel not in ready:
                        continue
                    for result in self._receive(worker, emit):
                        yield result
                        assign(worker)
                    if worker.job is not None and not worker.process.is_alive():
                        yield self._died(worker) if not stop.is_set() else InputResult(worker.job.index, "interrupted")
                        pool.remove(worker)
                        worker.conn.close()
                        if pending and not stop.is_set():
                            assign(start_worker())
        finally:
            self.close()

    def _receive(self, worker: _Worker, emit: Callable[[BatchEvent], None]) -> Iterator[InputResult]:
        """The messages waiting on a worker's pipe: progress goes to ``emit``, results are yielded."""
        while worker.job is not None:
            try:
                if not worker.conn.poll():
                    return
                kind, *body = worker.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "started":
                emit(InputStarted(body[0], worker.job.source, body[1]))
            elif kind == "frames":
                emit(InputProgress(body[0], worker.job.source, body[1]))
            elif kind == "done":
                worker.job = None
                yield body[0]

    @staticmethod
    def _died(worker: _Worker) -> InputResult:
        job = worker.job
        assert job is not None
        worker.process.join(1.0)
        code = worker.process.exitcode
        how = (
            f"killed by {signal.Signals(-code).name}"
            if code is not None and code < 0 and -code in signal.valid_signals()
            else f"exit status {code}"
        )
        log.debug("worker %s died (%s) on %s", worker.process.pid, how, job.source)
        remove_staging(job.out_dir)  # what it was writing
        return InputResult(
            job.index,
            "failed",
            error=f"the worker process died while reading it ({how}); the other inputs went on",
            worker=f"{worker_name().rsplit(':', 1)[0]}:{worker.process.pid}",
        )
