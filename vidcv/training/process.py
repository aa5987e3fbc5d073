"""Start a training and follow it: the API of ``vidcv train`` and of the window's Dataset > Train dialog.

```python
from vidcv.training import TrainOptions, start_training, EpochEnd, Finished

training = start_training(TrainOptions("datasets/shapes", epochs=30, imgsz=320))  # VidcvError: one line
for event in training.events():          # or training.poll() from a GUI timer: the events ready now
    if isinstance(event, EpochEnd): ...
    elif isinstance(event, Finished): print(event.preset)
training.cancel()                         # from anywhere: stop after the batch in hand, keeping last.pt
```

``start_training`` checks the options and the dataset here (a bad one is a VidcvError of one line, before
anything starts), claims the run folder, writes its record, and starts the child (``vidcv.training.child``,
through ``vidcv.jobs.processes.start_module``), which does the rest and reports as it goes. This side never
imports PyTorch or ultralytics. The child stops on ``cancel()`` (the batch in hand is dropped; ``last.pt`` of
the last complete epoch stays), when this process goes (its stdin ends), and at once on ``kill()``.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from vidcv.errors import VidcvError
from vidcv.fileio import folder_locked
from vidcv.jobs import processes
from vidcv.training.dataset import TrainingData, check_model, read_dataset
from vidcv.training.events import TERMINAL, EpochEnd, Failed, Stopped, TrainingEvent, from_line
from vidcv.training.runs import (
    LOG_NAME,
    RECORD_NAME,
    claim_run_folder,
    new_record,
    now,
    read_record,
    update_record,
    write_record,
)

__all__ = ["TrainOptions", "TrainingProcess", "start_training"]

CHILD_MODULE = "vidcv.training.child"
DEVICES = ("auto", "cpu")  #: besides a CUDA device's index (0, 1, ...)
CLOSE_WAIT_S = 30.0  #: how long ``close`` waits for a child that has said its last to end by itself


@dataclass
class TrainOptions:
    """What to train. ``model``: a model yaml of ultralytics (built untrained: nothing to download) or a .pt of
    weights to start from; empty: ``yolo11n.yaml`` of the dataset's task (``yolo11n-seg.yaml`` ...). ``imgsz`` 0:
    640, 224 for a classifier. ``device``: ``auto`` (the first CUDA GPU when there is one, else the CPU), ``cpu``
    or a GPU's index. ``out``: the run folder, which must not exist or be empty; empty: ``runs/train-NAME-N``.
    ``workers``: data loader processes (0: load in the training process). ``resume``: a run folder stopped
    before its last epoch, to go on from its ``last.pt`` (the dataset, model, epochs, image size and batch are
    the run's; ``device`` and ``workers`` are these; ``dataset`` may be empty)."""

    dataset: str = ""
    model: str = ""
    epochs: int = 100
    imgsz: int = 0
    batch: int = 16
    device: str = "auto"
    out: str = ""
    workers: int = 8
    seed: int = 0
    resume: str = ""

    def check(self) -> None:
        """VidcvError of one line for a value out of range."""
        for name, least in (("epochs", 1), ("batch", 1), ("workers", 0), ("seed", 0), ("imgsz", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise VidcvError(f"--{name} must be a whole number of at least {least}, got {value!r}")
        if self.imgsz and self.imgsz < 32:
            raise VidcvError(f"--imgsz must be at least 32 (the model's largest stride), got {self.imgsz}")
        if not self.dataset and not self.resume:
            raise VidcvError("give the dataset's folder (DIR), or --resume RUN to go on with a stopped run")
        if not (self.device in DEVICES or self.device.isdigit()):
            raise VidcvError(f"--device {self.device!r}: use auto, cpu or a GPU's index (0, 1, ...)")


@dataclass
class Plan:
    """What ``start_training`` settled before starting the child (sent to it as one JSON line)."""

    options: TrainOptions
    data: TrainingData
    model: str  #: the model yaml, or the absolute path of the weights
    imgsz: int
    run_dir: str
    resume: bool = False  #: go on from run_dir's last.pt (``model``)
    digest: str = ""  #: the dataset's digest when the run began (a resumed run compares)

    def to_json(self) -> str:
        doc = asdict(self)
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        doc = json.loads(text)
        doc["options"] = TrainOptions(**doc["options"])
        doc["data"] = TrainingData(**doc["data"])
        return cls(**doc)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def plan_resume(options: TrainOptions) -> Plan:
    """Check that ``options.resume`` is a run that can go on, and mark it running again."""
    given = options.resume
    run = os.path.abspath(given)
    if os.path.isfile(run) and os.path.basename(os.path.dirname(run)) == "weights":
        run = os.path.dirname(os.path.dirname(run))  # RUN/weights/last.pt names its run
    with folder_locked(run):  # checked and marked as this process's in one step: a second resume finds the mark
        return _plan_resume(options, given, run)


def _plan_resume(options: TrainOptions, given: str, run: str) -> Plan:
    record = read_record(run)
    last = os.path.join(run, "weights", "last.pt")
    if not record:
        raise VidcvError(f"--resume {given}: not a run folder of vidcv train (no readable {RECORD_NAME} in it)")
    status = record.get("status")
    if status == "finished":
        raise VidcvError(
            f"--resume {given}: that run finished all its epochs, nothing to resume; train anew from its weights: "
            f"vidcv train DATASET --model {os.path.join(run, 'weights', 'best.pt')}"
        )
    if status == "running" and record.get("host") == socket.gethostname() and _alive(record.get("pid")):
        raise VidcvError(f"--resume {given}: that run is still training (pid {record['pid']}): stop it first")
    if not os.path.isfile(last):
        raise VidcvError(f"--resume {given}: it stopped before its first epoch ended (no weights/last.pt): train anew")
    dataset = record.get("dataset") or {}
    path = str(dataset.get("path") or "")
    if options.dataset and os.path.abspath(options.dataset) != path:
        raise VidcvError(f"--resume {given}: that run trains on {path}, not {options.dataset}: leave DIR out")
    data = read_dataset(path)
    settings = record.get("options") or {}
    imgsz = int(settings.get("imgsz") or 640)
    kept = TrainOptions(
        dataset=path,
        model=str(settings.get("model") or ""),
        epochs=int(settings.get("epochs") or 1),
        imgsz=imgsz,
        batch=int(settings.get("batch") or 16),
        device=options.device,
        out=run,
        workers=options.workers,
        seed=int(settings.get("seed") or 0),
        resume=run,
    )
    resumed = [*record.get("resumed", []), now()]
    # this process's pid until the training child writes its own: alive either way while the run goes on
    update_record(run, status="running", ended=None, resumed=resumed, pid=os.getpid(), host=socket.gethostname())
    return Plan(kept, data, last, imgsz, run, resume=True, digest=str(dataset.get("digest") or ""))


def plan_training(options: TrainOptions) -> Plan:
    """Check the options and the dataset, claim the run folder and write its first record (status running)."""
    options.check()
    if options.resume:
        return plan_resume(options)
    data = read_dataset(options.dataset)
    model = check_model(data, options.model)
    imgsz = options.imgsz or (224 if data.task == "classify" else 640)
    run = claim_run_folder(options.out, data.name, data.root)
    dataset = {"path": data.root, "format": data.fmt, "task": data.task, "classes": data.names, "images": data.images}
    settings = {k: v for k, v in asdict(options).items() if k != "resume"}
    settings.update(dataset=data.root, model=model, imgsz=imgsz, out=run)
    write_record(run, new_record(dataset, settings))
    return Plan(options, data, model, imgsz, run)


def start_training(options: TrainOptions) -> TrainingProcess:
    """Start training as ``options`` say; VidcvError of one line when they or the dataset cannot be trained on
    (nothing is started then). Any thread may call it; the child ends when this process does."""
    plan = plan_training(options)
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    try:
        child = processes.start_module(CHILD_MODULE, env=env)
    except OSError as exc:
        update_record(plan.run_dir, status="failed", ended=now(), error=str(exc))
        raise VidcvError(f"cannot start the training process: {exc.strerror or exc}") from None
    return TrainingProcess(child, plan)


_END = object()


class TrainingProcess:
    """A training running in its child process: its events in order, ending with one of Finished, Stopped or
    Failed (made here when the child ends without saying: killed, crashed)."""

    def __init__(self, child: Any, plan: Plan) -> None:
        self._child = child
        self.plan = plan
        self.run_dir = plan.run_dir
        self.log = os.path.join(plan.run_dir, LOG_NAME)
        self.result: TrainingEvent | None = None  #: the terminal event, once read
        self._queue: queue.Queue[object] = queue.Queue()
        self._ended = False
        self._cancelled = False
        self._killed = False
        self._epoch = 0  #: the last epoch reported complete
        self._told = False  #: the child has sent its last event (Finished, Stopped or Failed)
        self._stdin_lock = threading.Lock()
        self._send(plan.to_json())
        self._reader = threading.Thread(target=self._read, name="vidcv-train-events", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return int(self._child.pid)

    @property
    def running(self) -> bool:
        """True until the child has ended and every event has been read."""
        return not self._ended

    def _send(self, line: str) -> bool:
        with self._stdin_lock:
            try:
                self._child.stdin.write(line.encode("utf-8") + b"\n")
                self._child.stdin.flush()
            except (OSError, ValueError):  # the child has gone (its events say how)
                return False
        return True

    def cancel(self) -> None:
        """Ask the child to stop: the batch in hand is dropped, ``last.pt`` of the last complete epoch stays; it
        ends with Stopped. Safe to call more than once, from any thread."""
        self._cancelled = True
        self._send("stop")

    def kill(self) -> None:
        """End the child and its data loaders at once (SIGKILL). What it wrote whole stays (``last.pt`` of the last
        complete epoch: every file is written under a temporary name and renamed); it ends with Stopped."""
        self._cancelled = self._killed = True
        processes.kill_group(self._child)

    def wait(self, timeout: float | None = None) -> int | None:
        """The child's exit status once it has ended (None after ``timeout`` seconds)."""
        self._reader.join(timeout)
        return None if self._reader.is_alive() else self._child.returncode

    def get(self, timeout: float | None = None) -> TrainingEvent | None:
        """The next event, waiting up to ``timeout`` seconds (None: as long as it takes); None when none came in
        time or the training has ended and every event was read."""
        if self._ended:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _END:
            self._ended = True
            return None
        return item  # type: ignore[return-value]

    def poll(self) -> list[TrainingEvent]:
        """The events ready now, without waiting (a GUI timer's call)."""
        events = []
        while (event := self.get(timeout=0)) is not None:
            events.append(event)
        return events

    def events(self) -> Iterator[TrainingEvent]:
        """Every event until the last (Finished, Stopped or Failed)."""
        while (event := self.get()) is not None:
            yield event

    def close(self) -> None:
        """Wait for the child, which ends by itself once it has said how it ended (up to ``CLOSE_WAIT_S``); kill it
        if it has not said so, or does not end."""
        if not self._told:
            self.kill()
        self._reader.join(CLOSE_WAIT_S)
        if self._reader.is_alive():
            self.kill()
            self._reader.join()

    def __enter__(self) -> TrainingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the reader thread -----------------------------------------------------------------------------------
    def _read(self) -> None:
        terminal: TrainingEvent | None = None
        for line in self._child.stdout:
            event = from_line(line)
            if event is None:
                continue
            if isinstance(event, EpochEnd):
                self._epoch = event.epoch
            if isinstance(event, TERMINAL):
                if terminal is not None:
                    continue
                terminal = event
                self._told = True
            self._queue.put(event)
        code = self._child.wait()
        with self._stdin_lock:
            try:
                self._child.stdin.close()
            except OSError:
                pass
        if terminal is None:
            terminal = self._unreported(code)
            self._queue.put(terminal)
        self.result = terminal
        self._queue.put(_END)

    def _unreported(self, code: int) -> TrainingEvent:
        """The end of a child that said nothing of it: Stopped when it was stopped or killed from here, Failed
        otherwise; the run's record says so."""
        last = os.path.join(self.run_dir, "weights", "last.pt")
        event: TrainingEvent
        if self._cancelled:
            event = Stopped(self.run_dir, last if os.path.isfile(last) else None, self._epoch)
            status = "killed" if self._killed else "stopped"
        else:
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            tail = _last_line(self.log)
            event = Failed(
                f"the training process ended without a result ({how})"
                + (f": {tail}" if tail else "")
                + f"; its log: {self.log}",
                self.log,
            )
            status = "failed"
        try:
            update_record(self.run_dir, status=status, ended=now())
        except (OSError, VidcvError):
            pass  # the event says it all the same
        return event


def _last_line(path: str, size: int = 4096) -> str:
    """The last line of text in ``path`` that says something ('' when none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.fstat(fh.fileno()).st_size - size))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in tail.replace("\r", "\n").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
