"""Sinks: where processed frames go (video files, image sequences, detection logs, callbacks)."""

from vidcv.sinks.base import CallbackSink, Sink, check_writable
from vidcv.sinks.detections_log import DetectionsLogSink
from vidcv.sinks.video import VIDEO_CODECS, ImageSequenceSink, VideoSink, check_output, make_output_sink

__all__ = ["VIDEO_CODECS", "CallbackSink", "DetectionsLogSink", "ImageSequenceSink", "Sink", "VideoSink",
           "check_output", "check_writable", "make_output_sink"]
