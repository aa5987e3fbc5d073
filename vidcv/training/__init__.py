"""Training a model on a vidcv dataset: ``vidcv train`` and the window's Dataset > Train. ultralytics runs in a
child process of its own (started by ``vidcv.jobs.processes``); this side reads its progress and never imports
PyTorch or ultralytics, so that the window and the command line stay light.

The API (``vidcv.training.process``): ``start_training(TrainOptions(...)) -> TrainingProcess``, whose
``events()`` (or ``poll()``) give ``Started``, ``Status``, ``Batch``, ``EpochEnd`` and ``Note`` events, then one
of ``Finished``, ``Stopped`` or ``Failed`` (``vidcv.training.events``); ``cancel()`` stops it keeping ``last.pt``.
"""

from vidcv.training.events import (
    Batch,
    EpochEnd,
    Failed,
    Finished,
    Note,
    Started,
    Status,
    Stopped,
    TrainingEvent,
    headline,
)
from vidcv.training.process import TrainingProcess, TrainOptions, start_training

__all__ = [
    "Batch",
    "EpochEnd",
    "Failed",
    "Finished",
    "Note",
    "Started",
    "Status",
    "Stopped",
    "TrainOptions",
    "TrainingEvent",
    "TrainingProcess",
    "headline",
    "start_training",
]
