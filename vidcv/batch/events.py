"""Batch events: what a batch tells its observer (the CLI's progress bar, the GUI's batch dialog).

The driver calls the observer in its own thread, once per event, in order: ``BatchStarted``, then per input
``InputStarted``, ``InputProgress`` (a few times a second, local engine) and ``InputFinished`` (skipped inputs
only get ``InputFinished``, at the start), and ``BatchEnded`` last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vidcv.batch.ledger import InputRecord


@dataclass(frozen=True)
class BatchStarted:
    inputs: int  #: inputs in the batch
    skipped: int  #: complete from an earlier run
    workers: int  #: processes (local) or tasks in flight (Ray)
    engine: str


@dataclass(frozen=True)
class InputStarted:
    index: int
    source: str
    worker: str


@dataclass(frozen=True)
class InputProgress:
    index: int
    source: str
    frames: int  #: frames written so far


@dataclass(frozen=True)
class InputFinished:
    index: int
    record: InputRecord  #: the ledger line written for it


@dataclass(frozen=True)
class BatchEnded:
    interrupted: bool


BatchEvent = BatchStarted | InputStarted | InputProgress | InputFinished | BatchEnded


class BatchObserver(Protocol):
    def __call__(self, event: BatchEvent) -> None: ...
