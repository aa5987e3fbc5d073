"""One source through a pipeline into its outputs: the work of ``vidcv run``, which a batch does per input.

``prepare_run`` checks the outputs, opens the source and attaches the sinks; the caller starts the runner and
waits (with its progress and its way of stopping); ``finish_run`` closes the pipeline and writes the
statistics. ``vidcv run`` and every batch engine go through these two, so that an input processed in a batch
gets exactly the files ``vidcv run`` writes for it alone.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields

from vidcv.errors import OutputError
from vidcv.pipeline import Pipeline
from vidcv.runner import Runner
from vidcv.stats import RunSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutputs:
    """Where a run writes, each optional: a video, image sequence or image (``output``), a detections log
    (JSON lines) and the statistics (JSON). The field names are the ``vidcv run`` options."""

    output: str | None = None
    detections_jsonl: str | None = None
    stats_json: str | None = None

    def named(self) -> list[tuple[str, str]]:
        """(option, path) of each output asked for, e.g. ('--stats-json', 'stats.json')."""
        return [(f"--{f.name.replace('_', '-')}", getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]


def check_outputs(outputs: RunOutputs) -> None:
    """OutputError, naming the file and the reason, for any output that cannot be written."""
    from vidcv.sinks import check_writable

    if outputs.output:  # the encoder's module: only for a run that writes a video
        from vidcv.sinks import check_output

        check_output(outputs.output)
    for path in (outputs.stats_json, outputs.detections_jsonl):
        if path:
            check_writable(path)


def output_folders(outputs: RunOutputs) -> list[str]:
    """The folders that checking and writing ``outputs`` would create because they do not exist yet (absolute,
    deepest first): the folder of each file, the folder of an image pattern, an image folder itself."""
    from vidcv.fileio import missing_folders

    folders = []
    for option, path in outputs.named():
        if option == "--output" and (
            "%" in path or path.endswith(("/", os.sep)) or os.path.isdir(path) or not os.path.splitext(path)[1]
        ):
            folder = os.path.dirname(path) if "%" in path else path  # as vidcv.sinks.check_output reads it
        else:
            folder = os.path.dirname(path)
        folders += missing_folders(folder or os.curdir)
    return folders


def prepare_run(
    source_spec: str,
    pipeline: Pipeline,
    outputs: RunOutputs,
    *,
    max_frames: int | None = None,
    realtime: bool = False,
    reconnect_attempts: int | None = None,
    codec: str | None = None,
    quality: str | None = None,
    decode_threads: int | None = None,
    frame_workers: int = 1,
    gray_decode: bool = True,
    batch: int | None = None,
) -> tuple[Runner, int | None]:
    """A runner of ``pipeline`` over ``source_spec``, its source open and its sinks attached, and the number
    of frames it will write when known (for a progress bar). What earlier runs killed by SIGKILL left beside
    the outputs is kept (a recording, a detection log, as NAME.recovered) or removed; every output is checked
    before the source opens, so that one that cannot be written wastes no run. ``codec`` and ``quality`` are
    the video output's; ``decode_threads`` sets a video file's FFmpeg threads (a batch worker's share of the
    cores); ``frame_workers`` how many frames a pipeline that allows it processes at once (``Runner.workers``);
    ``gray_decode`` lets a pipeline whose first stage works on gray take gray from the decoder
    (``Runner.gray_source``); ``batch`` the frames of a file per call of a stage that batches (``Runner.batch``;
    None: what the stages choose)."""
    # the sinks' and the stream's modules are imported only for a run that has them (start-up time)
    from vidcv.fileio import remove_stale_partials
    from vidcv.sources import FileSource, parse_source

    source = parse_source(source_spec)
    if reconnect_attempts is not None:
        from vidcv.sources import StreamSource

        if isinstance(source, StreamSource):
            source.max_attempts = reconnect_attempts
    if isinstance(source, FileSource) and decode_threads:
        source.decode_threads = decode_threads
    for option, path in outputs.named():
        if os.path.abspath(path) == os.path.abspath(source_spec):
            raise OutputError(f"{option} {path} is the input itself; choose another file")
    if outputs.output:
        from vidcv.sinks.video import keep_killed_recording

        if kept := keep_killed_recording(outputs.output):
            log.warning("kept %s: the recording of an earlier run that was killed, up to its last whole second", kept)
    if outputs.detections_jsonl:
        from vidcv.sinks.detections_log import keep_killed_log

        if kept_log := keep_killed_log(outputs.detections_jsonl):
            log.warning("kept %s: the detection log of an earlier run that did not finish (%d frames)", *kept_log)
    for _, path in outputs.named():
        for stale in remove_stale_partials(path):
            log.warning("removed %s, left by an earlier run that was killed before it finished", stale)
    check_outputs(outputs)
    # the command line's pipeline is fixed for the run: a gray first stage may take gray from the decoder
    runner = Runner(
        source,
        pipeline,
        realtime=realtime,
        max_frames=max_frames,
        gray_source=gray_decode,
        workers=frame_workers,
        batch=batch,
    )
    runner.open()
    total = max_frames if source.live else min(filter(None, (max_frames, source.frame_count)), default=None)
    try:
        if outputs.output:
            from vidcv.sinks import make_output_sink

            video_options = {"codec": codec, **({"quality": quality} if quality else {})}
            runner.add_sink(
                make_output_sink(outputs.output, source.fps or 30.0, single_frame=total == 1, **video_options)
            )
        if outputs.detections_jsonl:
            from vidcv.sinks import DetectionsLogSink

            runner.add_sink(DetectionsLogSink(outputs.detections_jsonl))
    except BaseException:  # a bad output, or Ctrl-C / SIGTERM before the run began
        source.close()
        runner.stop()  # finalises the sinks made so far
        raise
    return runner, total


def write_stats(path: str, summary: RunSummary) -> None:
    """The ``--stats-json`` file (OutputError naming it when it cannot be written)."""
    import json

    from vidcv.fileio import write_text_atomic

    write_text_atomic(path, json.dumps(summary.to_dict(), indent=2))


def finish_run(runner: Runner, outputs: RunOutputs) -> RunSummary:
    """After the runner ended: close the pipeline and write the statistics (OutputError when they cannot be
    written); returns the run's summary."""
    summary = runner.summary()
    runner.pipeline.close()
    if outputs.stats_json:
        write_stats(outputs.stats_json, summary)
    return summary
