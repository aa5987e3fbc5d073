"""One source through a pipeline into its outputs: the work of ``vidcv run``, which a batch does per input.

``prepare_run`` checks the outputs, opens the source and attaches the sinks; the caller starts the runner and
waits (with its progress and its way of stopping); ``finish_run`` closes the pipeline and writes the
statistics. ``vidcv run`` and every batch engine go through these two, so that an input processed in a batch
gets exactly the files ``vidcv run`` writes for it alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

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


def is_video_name(path: str) -> bool:
    """Whether ``--output path`` names a video file (not an image pattern or folder)."""
    from vidcv.media.encode import CONTAINERS

    return "%" not in path and not path.endswith(("/", os.sep)) and os.path.splitext(path)[1].lower() in CONTAINERS


def check_outputs(outputs: RunOutputs) -> None:
    """OutputError, naming the file and the reason, for any output that cannot be written."""
    from vidcv.sinks import check_writable

    if outputs.output:  # the encoder's module: only for a run that writes a video
        from vidcv.sinks import check_output

        check_output(outputs.output)
    for path in (outputs.stats_json, outputs.detections_jsonl):
        if path:
            check_writable(path)


def check_apart(named: Sequence[tuple[str, str]]) -> None:
    """OutputError when two of the ``(what, path)`` outputs are one file (the same name, a link to it): the
    later would replace the earlier, or their lines would mix."""
    from vidcv.fileio import same_file

    for k, (what, path) in enumerate(named):
        for earlier, earlier_path in named[:k]:
            if same_file(path, earlier_path):
                raise OutputError(
                    f"{what} {path} is the same file as {earlier} {earlier_path}; give each output a file of its own"
                )


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


def cut_short_line(outputs: RunOutputs) -> str:
    """One line naming the recordings and detection logs cut short (a run killed outright left them, as
    ``NAME.partial.EXT``) in the folders ``outputs`` write into, so that the user finds them; "" for none.
    Called once the run's own files are open (a file a live vidcv writes is not named)."""
    from vidcv.sinks.leftovers import find_leftovers, leftovers_line

    folders: dict[str, str] = {}  # absolute -> as the user gave it
    for option, path in outputs.named():
        if option == "--stats-json":
            continue
        if option == "--output" and ("%" in path or path.endswith(("/", os.sep)) or os.path.isdir(path)):
            folder = os.path.dirname(path) if "%" in path else path
        else:
            folder = os.path.dirname(path)
        folders.setdefault(os.path.abspath(folder or os.curdir), folder or os.curdir)
    return leftovers_line([found for folder in folders.values() for found in find_leftovers(folder)])


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
    frame_workers: int | None = 1,
    gray_decode: bool | None = None,
    batch: int | None = None,
    start_frame: int = 0,
) -> tuple[Runner, int | None]:
    """A runner of ``pipeline`` over ``source_spec``, its source open and its sinks attached, and the number
    of frames it will write when known (for a progress bar). What earlier runs killed by SIGKILL left beside
    the outputs is kept (a recording, a detection log, as NAME.recovered) or removed; every output is checked
    before the source opens, so that one that cannot be written wastes no run. ``codec`` and ``quality`` are
    the video output's; ``decode_threads`` sets a video file's FFmpeg threads (a batch worker's share of the
    cores); ``frame_workers`` how many frames a pipeline that allows it processes at once (``Runner.workers``; None: the
    run chooses from its first frames);
    ``gray_decode`` True takes gray straight from a file's luma plane when the first stage works on gray, False
    never, None as the pipeline says (``Pipeline.decode``: colour unless its preset says ``decode: luma``;
    ``Runner.gray_source``); ``batch`` the frames of a file per call of a stage that batches (``Runner.batch``;
    None: what the stages choose); ``start_frame`` where a seekable source starts (a batch resuming an input
    that a stop interrupted; ``max_frames`` then counts from there)."""
    # the sinks' and the stream's modules are imported only for a run that has them (start-up time)
    from vidcv.fileio import remove_stale_partials, remove_stale_visible, same_file
    from vidcv.sources import FileSource, parse_source

    source = parse_source(source_spec)
    if reconnect_attempts is not None:
        from vidcv.sources import StreamSource

        if isinstance(source, StreamSource):
            source.max_attempts = reconnect_attempts
    if isinstance(source, FileSource) and decode_threads:
        source.decode_threads = decode_threads
    for option, path in outputs.named():
        if same_file(path, source_spec):
            raise OutputError(f"{option} {path} is the input itself; choose another file")
    check_apart(outputs.named())
    if outputs.output:
        from vidcv.sinks.video import keep_killed_recording

        if kept := keep_killed_recording(outputs.output):
            log.warning("kept %s: the recording of an earlier run that was killed, up to its last whole second", kept)
    if outputs.detections_jsonl:
        from vidcv.sinks.detections_log import keep_killed_log

        if kept_log := keep_killed_log(outputs.detections_jsonl):
            log.warning("kept %s: the detection log of an earlier run that did not finish (%d frames)", *kept_log)
    for option, path in outputs.named():
        stale = remove_stale_partials(path)
        if option == "--detections-jsonl" or (option == "--output" and is_video_name(path)):
            stale += remove_stale_visible(path)  # NAME.partial.EXT: what a kill left, with nothing worth keeping
        for leftover in stale:
            log.warning("removed %s, left by an earlier run that was killed before it finished", leftover)
    check_outputs(outputs)
    # the command line's pipeline is fixed for the run: with decode: luma, a gray first stage may take gray from
    # the decoder
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
    if start_frame:
        runner.seek(start_frame)  # before the first read: the source goes there first (PyAV: frame-accurate)
    remaining = source.frame_count - start_frame if source.frame_count else None
    total = max_frames if source.live else min(filter(None, (max_frames, remaining)), default=None)
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


def write_stats(path: str, summary: RunSummary, extra: dict[str, Any] | None = None) -> None:
    """The ``--stats-json`` file, with ``extra`` keys beside the run's (the alerts' counts); OutputError naming
    it when it cannot be written."""
    import json

    from vidcv.fileio import write_text_atomic

    write_text_atomic(path, json.dumps({**summary.to_dict(), **(extra or {})}, indent=2))


def finish_run(runner: Runner, outputs: RunOutputs) -> RunSummary:
    """After the runner ended: close the pipeline and write the statistics (OutputError when they cannot be
    written); returns the run's summary."""
    summary = runner.summary()
    try:
        if outputs.stats_json:
            write_stats(outputs.stats_json, summary)
    finally:
        runner.pipeline.close()  # a stage's own output at the end (a heatmap's image): after the statistics
    return summary
