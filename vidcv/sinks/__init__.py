"""Sinks: where processed frames go (video files, image sequences, detection logs, callbacks).

Each kind is imported when first asked for (``from vidcv.sinks import VideoSink``), so that a run without an
output (the runner imports only ``vidcv.sinks.base``) imports neither the encoder nor the MP4 reader.
"""

from __future__ import annotations

import importlib
from typing import Any

from vidcv.sinks.base import CallbackSink, Sink, check_writable

_LAZY = {
    "DetectionsLogSink": "detections_log",
    "VIDEO_CODECS": "video",
    "ImageSequenceSink": "video",
    "VideoSink": "video",
    "check_output": "video",
    "make_output_sink": "video",
}

__all__ = [
    "VIDEO_CODECS",
    "CallbackSink",
    "DetectionsLogSink",
    "ImageSequenceSink",
    "Sink",
    "VideoSink",
    "check_output",
    "check_writable",
    "make_output_sink",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"vidcv.sinks.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vidcv.sinks' has no attribute {name!r}")
