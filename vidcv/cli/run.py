"""``vidcv run``: a source through a pipeline into outputs, with progress, a timing table and clean Ctrl-C."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from vidcv.errors import OutputError, PresetError, VidcvError
from vidcv.pipeline import Pipeline
from vidcv.sinks import DetectionsLogSink, Sink, make_output_sink

log = logging.getLogger(__name__)


def resolve_pipeline(spec: str | None) -> Pipeline:
    """A preset file, or the name of a bundled preset; no spec is an empty (pass-through) pipeline."""
    from vidcv.bundled import bundled_preset, bundled_presets
    from vidcv.presets import load_preset

    if not spec:
        return Pipeline()
    if os.path.exists(spec):
        return load_preset(spec)
    bundled = bundled_preset(spec)
    if bundled:
        return load_preset(bundled)
    names = ", ".join(bundled_presets()) or "none"
    raise PresetError(f"no such preset file: {spec} (bundled presets: {names})")


def _write_json(path: str, doc: dict) -> None:
    """Write ``doc`` under a temporary name, then rename; errors say which file and why."""
    from vidcv.fileio import write_text_atomic

    try:
        write_text_atomic(path, json.dumps(doc, indent=2))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def run_command(args: argparse.Namespace) -> int:
    from vidcv.cli.main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
    from vidcv.cli.progress import run_to_end
    from vidcv.runner import Runner
    from vidcv.sources import StreamSource, parse_source
    from vidcv.stats import format_table

    if args.max_frames is not None and args.max_frames < 1:
        raise VidcvError(f"--max-frames must be at least 1, got {args.max_frames}")
    pipeline = resolve_pipeline(args.pipeline)
    source = parse_source(args.source)
    if isinstance(source, StreamSource) and args.reconnect_attempts is not None:
        source.max_attempts = args.reconnect_attempts
    for flag, path in (("--output", args.output), ("--stats-json", args.stats_json),
                       ("--detections-jsonl", args.detections_jsonl)):
        if path and os.path.abspath(path) == os.path.abspath(args.source):
            raise OutputError(f"{flag} {path} is the input itself; choose another file")
    source.open()
    sinks: list[Sink] = []
    try:
        if args.output:
            sinks.append(make_output_sink(args.output, source.fps or 30.0))
        if args.detections_jsonl:
            sinks.append(DetectionsLogSink(args.detections_jsonl))
    except VidcvError:
        source.close()
        for sink in sinks:
            sink.close()
        raise
    log.info("source: %s", source.describe())
    runner = Runner(source, pipeline, sinks, realtime=args.realtime, max_frames=args.max_frames)
    total = args.max_frames if source.live else min(filter(None, (args.max_frames, source.frame_count)), default=None)
    interrupted = run_to_end(runner, total, args.quiet)
    summary = runner.summary()
    pipeline.close()
    if args.stats_json:
        _write_json(args.stats_json, summary.to_json())
    if not args.quiet:
        print(format_table(summary))
        if args.output:
            print(f"wrote {summary.frames} frames to {args.output}")
    if interrupted:
        print(f"vidcv: interrupted after {summary.frames} frames; outputs were finalised", file=sys.stderr)
        return EXIT_INTERRUPTED
    if runner.error is not None:
        error = runner.error
        if isinstance(error, VidcvError):
            print(f"vidcv: error: {error}", file=sys.stderr)
        else:
            print(f"vidcv: error: {type(error).__name__}: {error}", file=sys.stderr)
        if args.debug:
            raise error
        return EXIT_ERROR
    return EXIT_OK
