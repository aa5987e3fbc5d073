"""The local executor: jobs in a pool of worker processes on this machine, each taking one job at a time, their
messages streamed back to this process, for every job kind (an input of ``vidcv batch``, an input of
``vidcv extract``).

The pool hands each idle worker its next job over a pipe and hears back ``started``, the job's own messages
and ``done``; it therefore always knows which job a worker holds, so a worker that dies (a decoder crash on a
damaged file, the kernel's OOM killer) ends that job alone (``Died``) and is replaced, and the others go on.
A pipe holds little: a worker whose messages are not read yet (frames for a writer that lags) waits, so
memory stays bounded. The work is a ``WorkerTask``: module-level functions, which the workers import by name.
Workers are started and set up by ``vidcv.jobs.processes``.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vidcv.errors import VidcvError
from vidcv.jobs import processes
from vidcv.jobs.processes import Connection, wait, worker_name

log = logging.getLogger(__name__)

STOP_GRACE_S = 30.0  #: how long a stopped worker may take to finalise its job before it is killed
POLL_S = 0.2

#: what a job sends back: a tuple whose meaning is the job kind's
Message = tuple[Any, ...]
Emit = Callable[[Message], None]


@dataclass(frozen=True)
class WorkerTask:
    """What the workers of a pool do. ``setup(context)`` once for the context the pool sends first (a pipeline
    bundle, a preset), giving the worker's state; ``run(state, job, threads, should_stop, emit)`` per job,
    sending the job's messages through ``emit`` (which may wait for the reader); ``teardown(state)`` when the
    worker ends; ``warm(preset)``, when given, once as the worker starts (imports and model loads that overlap
    the parent's start). Module-level functions: they travel to the workers by name."""

    setup: Callable[[Any], Any]
    run: Callable[[Any, Any, int, Callable[[], bool], Emit], None]
    teardown: Callable[[Any], None] | None = None
    warm: Callable[[str], None] | None = None
    ignore_sigterm: bool = False  #: the parent stops the workers when a signal reaches the whole group


@dataclass(frozen=True)
class Started:
    index: int
    worker: str


@dataclass(frozen=True)
class Sent:
    index: int
    message: Message


@dataclass(frozen=True)
class Done:
    index: int


@dataclass(frozen=True)
class Died:
    """The worker that held job ``index`` ended before the job did: ``how`` (killed by a signal, an exit
    status), ``worker`` as a ledger names it; ``stopped`` when the pool was being stopped."""

    index: int
    how: str
    worker: str
    stopped: bool


PoolEvent = Started | Sent | Done | Died


def _sent(send: Callable[[tuple[Any, ...]], None], index: int, message: Message) -> None:
    send(("sent", index, message))


def _worker_main(
    conn: Connection,
    stop: Any,
    threads: int,
    parent_pid: int,
    log_level: int | None,
    warm: str | None,
    task: WorkerTask,
) -> None:
    """A worker process: the context, then jobs from ``conn`` until None (or the pipe closes), messages back on
    it."""
    parent = processes.init_worker(parent_pid, threads, log_level, task.ignore_sigterm)
    if warm and task.warm is not None:
        try:
            task.warm(warm)
        except Exception:
            log.debug("warming up with %s failed", warm, exc_info=True)
    name = worker_name()
    lock = threading.Lock()  # a job may send from several threads (a run's progress)

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            conn.send(message)

    def should_stop() -> bool:
        return stop.is_set() or not parent.alive()

    state: Any = None
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            if message is None:
                return
            kind, body = message
            if kind == "context":
                state = task.setup(body)
                continue
            index, job = body
            send(("started", index, name))
            task.run(state, job, threads, should_stop, functools.partial(_sent, send, index))
            send(("done", index))
    except (BrokenPipeError, EOFError):
        return  # the parent is gone, or stopped reading: nothing left to tell
    finally:
        if task.teardown is not None and state is not None:
            task.teardown(state)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: int | None = None  #: the index of the job in hand


@dataclass
class Pool:
    """``workers`` processes with ``threads`` threads each (see ``processes.thread_share``) doing ``task``;
    ``log_level`` configures the workers' logging (None: they keep Python's default)."""

    task: WorkerTask
    workers: int
    threads: int
    log_level: int | None = logging.WARNING
    name: str = "vidcv-worker"
    _stop: Any = field(default=None, repr=False)
    _pool: list[_Worker] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.workers, self.threads = max(1, self.workers), max(1, self.threads)
        self._stop = processes.context().Event()

    def prestart(self, count: int, warm: str | None) -> None:
        """Start ``count`` workers now (at most ``workers``), each warming up with ``warm`` while this process
        goes on; ``close`` ends them if ``run`` is not reached."""
        for _ in range(min(self.workers, count) - len(self._pool)):
            self._start_worker(warm)

    def close(self) -> None:
        """End the workers (those with a job in hand are stopped first) and reap them."""
        pool, self._pool = self._pool, []
        if any(w.job is not None for w in pool):
            self._stop.set()
        for worker in pool:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (STOP_GRACE_S if any(w.job is not None for w in pool) else 5.0)
        alive = [w for w in pool if w.process.is_alive()]
        while alive and time.monotonic() < deadline:
            # what they still send is read and dropped: a worker waiting for room in its pipe could not end
            for worker in alive:
                self._drop_pending(worker)
            wait([w.process.sentinel for w in alive], timeout=POLL_S)
            alive = [w for w in alive if w.process.is_alive()]
        for worker in pool:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join()
            worker.conn.close()

    @staticmethod
    def _drop_pending(worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                worker.conn.recv()
        except (EOFError, OSError):
            pass

    def _start_worker(self, warm: str | None = None) -> _Worker:
        ours, theirs = processes.context().Pipe()
        args = (theirs, self._stop, self.threads, os.getpid(), self.log_level, warm, self.task)
        process = processes.start(_worker_main, args, self.name, self.threads)
        theirs.close()
        worker = _Worker(process, ours)
        self._pool.append(worker)
        return worker

    def run(
        self,
        jobs: list[tuple[int, Any]],
        context: Any,
        should_stop: Callable[[], bool],
        on_interrupt: Callable[[], None] | None = None,
    ) -> Iterator[PoolEvent]:
        """Run ``jobs`` (index, job) with ``context`` sent to every worker first, yielding what happens as it
        comes. Once ``should_stop()`` says so (it is asked about five times a second), or Ctrl-C reaches the
        thread that iterates (``on_interrupt`` is told), the workers are told to stop: jobs in hand end as their
        kind ends a stopped job, the rest are not started. The workers are closed when this ends."""
        pending = deque(jobs)
        pool = self._pool
        stopping = False

        def send(worker: _Worker, message: object) -> bool:
            try:
                worker.conn.send(message)
            except OSError:  # the worker is gone (it died idle, or while it started)
                return False
            return True

        def start_worker() -> _Worker:
            worker = self._start_worker()
            if not send(worker, ("context", context)):
                worker.process.join(5.0)
                raise VidcvError(
                    f"a worker process ended as it started (exit status {worker.process.exitcode}); run with "
                    "--debug to see why"
                )
            return worker

        def assign(worker: _Worker) -> None:
            """Hand ``worker`` its next job; a worker found dead is replaced, and the job goes to the new one."""
            if not pending or stopping:
                worker.job = None
                return
            index, job = pending.popleft()
            worker.job = index
            if send(worker, ("job", (index, job))):
                return
            pending.appendleft((index, job))
            worker.job = None
            pool.remove(worker)
            worker.conn.close()
            assign(start_worker())

        try:
            for worker in list(pool[len(jobs) :]):  # warmed up for jobs that turned out not to be needed
                pool.remove(worker)
                send(worker, None)
                worker.conn.close()
            for worker in list(pool):
                if not send(worker, ("context", context)):  # it died while warming up
                    pool.remove(worker)
                    worker.conn.close()
            while len(pool) < min(self.workers, len(jobs)):
                start_worker()
            for worker in list(pool):
                assign(worker)
            while any(w.job is not None for w in pool):
                busy = [w for w in pool if w.job is not None]
                try:
                    ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=POLL_S)
                    asked = should_stop()
                except KeyboardInterrupt:
                    ready, asked = [], True
                    if on_interrupt is not None:
                        on_interrupt()
                if asked and not stopping:
                    stopping = True
                    self._stop.set()
                    pending.clear()
                for worker in busy:
                    if worker.conn not in ready and worker.process.sentinel not in ready:
                        continue
                    for event in self._receive(worker):
                        yield event
                        if isinstance(event, Done):
                            assign(worker)
                    if worker.job is not None and not worker.process.is_alive():
                        yield self._died(worker, stopping)
                        pool.remove(worker)
                        worker.conn.close()
                        if pending and not stopping:
                            assign(start_worker())
        finally:
            self.close()

    @staticmethod
    def _receive(worker: _Worker) -> Iterator[PoolEvent]:
        """The messages waiting on a worker's pipe, as events."""
        while worker.job is not None:
            try:
                if not worker.conn.poll():
                    return
                kind, index, *body = worker.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "started":
                yield Started(index, body[0])
            elif kind == "sent":
                yield Sent(index, body[0])
            elif kind == "done":
                worker.job = None
                yield Done(index)

    @staticmethod
    def _died(worker: _Worker, stopped: bool) -> Died:
        index = worker.job
        assert index is not None
        worker.process.join(1.0)
        code = worker.process.exitcode
        how = (
            f"killed by {signal.Signals(-code).name}"
            if code is not None and code < 0 and -code in signal.valid_signals()
            else f"exit status {code}"
        )
        log.debug("worker %s died (%s) on job %d", worker.process.pid, how, index)
        return Died(index, how, f"{worker_name().rsplit(':', 1)[0]}:{worker.process.pid}", stopped)
