"""``vidcv run``: a source through a pipeline into outputs, with progress, a timing table and clean Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK
from vidcv.cli.output import say, say_block
from vidcv.errors import OutputError, VidcvError
from vidcv.signals import StopSignals, describe, exit_status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vidcv.alerts import AlertSummary, Notifier
    from vidcv.batch.single import RunOutputs
    from vidcv.metrics import MetricsServer
    from vidcv.pipeline import Pipeline
    from vidcv.runner import Runner
    from vidcv.sinks.events import EventsSink

log = logging.getLogger(__name__)

RUN_EXAMPLES = """examples:
  vidcv run assets/sample.mp4 --pipeline edges --output out/edges.mp4
  vidcv presets edges > my.yaml                           # a bundled preset as a file to edit
  vidcv run video.mp4 --pipeline my.yaml --output frames/ --stats-json stats.json
  vidcv run 0 --pipeline edges --realtime                 # camera 0, until Ctrl-C
  vidcv run rtsp://camera.local/stream --output rec.mkv --max-frames 900
  vidcv run "photos/*.jpg" --pipeline denoise --output out/img_%05d.png
  vidcv run pattern:1280x720@30 --max-frames 300 --stats-json stats.json
  CAM='rtsp://user:password@camera.local/stream' vidcv run env:CAM -o rec.mkv  # no password in ps

SOURCE is a video file, a camera (0, camera:0, /dev/video0), a stream URL (rtsp://, http(s)://,
udp://, ...), an image folder or glob, or pattern:[WxH][@FPS] for a synthetic test pattern; env:NAME
or @FILE reads it from an environment variable or from the one line of a file (chmod 600), so that a
password stays out of the command line, which other users see (ps).
--pipeline takes a preset file or the name of a bundled preset (vidcv presets lists them, vidcv plugins the
plugins a stage can be)."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="process a source through a pipeline",
        description="Read SOURCE, run the pipeline on every frame, and write the results.",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="+",
        help="video file, camera, stream URL, image folder/glob, pattern: (one; several: vidcv batch)",
    )
    p.add_argument("--pipeline", "-p", metavar="FILE", help="preset YAML file or bundled preset name")
    p.add_argument(
        "--output",
        "-o",
        metavar="OUT",
        help="video file (.mp4 .avi .mkv .mov .m4v), a folder, or an image pattern out/f_%%05d.png",
    )
    p.add_argument(
        "--codec",
        choices=("h264", "hevc", "av1", "mpeg4", "mjpeg"),
        help="video codec of --output (default: h264 in .mp4 .mov .mkv .m4v, mjpeg in .avi); "
        "an NVIDIA GPU's encoder when one answers, the CPU's otherwise",
    )
    p.add_argument(
        "--quality",
        choices=("low", "medium", "high"),
        default="medium",
        help="video quality of --output: constant-quality encoding, a bigger file for higher (default: medium)",
    )
    p.add_argument(
        "--max-frames",
        type=int,
        metavar="N",
        help="stop after N frames written: a file's first N frames; a live source (camera, "
        "stream, pattern:) runs until N are written, frames dropped while the pipeline was "
        "busy not counted",
    )
    p.add_argument("--realtime", action="store_true", help="pace a file at its own fps instead of max speed")
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        default=0,
        help="frames of a file processed at once when every stage allows it (stateless, and not one "
        "that uses every core itself, like yolo); default 0: the run times its first frames and chooses: "
        "frames in parallel with OpenCV single-threaded where the stages are heavy (one per core beyond the two "
        "that decoding and writing take, at least 2), else one at a time",
    )
    p.add_argument(
        "--batch",
        type=int,
        metavar="N",
        help="files: frames per inference call of a stage that batches (yolo), the same results as "
        "one at a time: default the model's own batch (N for a model exported with batch=N; 1 for "
        "one exported with dynamic=True, which takes as many as asked); --batch 1: one frame per "
        "call. Live sources always take the newest frame, one at a time",
    )
    add_decode_options(p)
    p.add_argument("--stats-json", metavar="FILE", help="write run and per-stage statistics as JSON")
    p.add_argument("--detections-jsonl", metavar="FILE", help="write one JSON line of detections per frame")
    add_event_options(p)
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve the run's figures for Prometheus at http://HOST:PORT/metrics; :PORT or PORT serves on "
        "127.0.0.1 only, another HOST (0.0.0.0) lets anyone who reaches this machine read them",
    )
    p.add_argument(
        "--reconnect-attempts",
        type=int,
        metavar="N",
        help="streams: give up after N failed retries in a row, at the first connection as after "
        "a drop (0: no retry; default: keep trying, with backoff from 0.5 s to 8 s)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no timing table")
    p.set_defaults(handler=run_command)


def add_event_options(p: argparse.ArgumentParser) -> None:
    """--events-dir, --pre, --post, --no-clips: the scene events the stages report (zone, count), kept."""
    p.add_argument(
        "--events-dir",
        metavar="DIR",
        help="write each scene event the stages report (zone entries and exits, dwell, line crossings, counts "
        "above a threshold) as a line of DIR/events.jsonl, with a clip of the processed video around it",
    )
    p.add_argument(
        "--pre",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds of video an event's clip keeps before the event (from the keyframe before, at most a "
        "second earlier; default 5)",
    )
    p.add_argument(
        "--post", type=float, default=5.0, metavar="S", help="seconds an event's clip runs after it (default 5)"
    )
    p.add_argument("--no-clips", action="store_true", help="--events-dir: the events' lines only, no clips")
    p.add_argument(
        "--webhook",
        action="append",
        metavar="URL",
        help="POST each scene event as JSON to URL (http:// or https://; user:password@ goes as basic auth and "
        "is shown nowhere); retried with backoff, never slowing the run: what cannot be sent is counted and said; "
        "may be given several times",
    )
    p.add_argument(
        "--mqtt",
        action="append",
        metavar="HOST:PORT/TOPIC",
        help="publish each scene event as JSON to TOPIC on an MQTT broker (QoS 1; port 1883 by default; "
        "mqtt://USER:PASSWORD@HOST:PORT/TOPIC with a login); may be given several times",
    )


#: what --gray-decode costs in exactness, measured on a saturated, textured 720p clip (random colour texture,
#: MPEG-4 and H.264; the README's "Straight to gray" has the figures and how they were measured)
GRAY_DECODE_HELP = (
    "files whose first stage works on gray: take gray straight from the video's luma plane instead of "
    "decoding colour and converting (faster; what a preset's 'decode: luma' asks). Not bit-equal to the "
    "window, the exported script and OpenCV: on saturated, textured footage (720p random colour texture, "
    "MPEG-4 and H.264) 4.5%% of the pixels of the edges preset's output differ (as many as a quarter of its "
    "edge pixels), 0.2%% of a binary threshold at 127, 0.16%% of Otsu plus a 3x3 opening; the gray itself is "
    "within 2 levels for 96%% of pixels, up to 24 off where colours saturate"
)


def add_decode_options(p: argparse.ArgumentParser) -> None:
    """--gray-decode and --no-gray-decode (vidcv run and vidcv batch): the opt-in luma path, or colour whatever
    the preset says; neither: as the preset says (its 'decode:', colour by default)."""
    decode = p.add_mutually_exclusive_group()
    decode.add_argument(
        "--gray-decode", dest="gray_decode", action="store_const", const=True, default=None, help=GRAY_DECODE_HELP
    )
    decode.add_argument(
        "--no-gray-decode",
        dest="gray_decode",
        action="store_const",
        const=False,
        help="decode colour and let the first stage convert, even when the preset says 'decode: luma' (the "
        "default otherwise): the same pixels as the window, the exported script and OpenCV",
    )


def apply_decode_option(pipeline: Pipeline, gray_decode: bool | None) -> None:
    """--gray-decode / --no-gray-decode over the preset's own 'decode:' (kept when neither is given)."""
    if gray_decode is not None:
        pipeline.decode = "luma" if gray_decode else "bgr"


def resolve_pipeline(spec: str | None) -> Pipeline:
    """A preset file, or the name of a bundled preset; no spec is an empty (pass-through) pipeline."""
    from vidcv.pipeline import Pipeline
    from vidcv.presets import find_preset, load_preset

    if not spec:
        return Pipeline()
    return load_preset(find_preset(spec))  # a did-you-mean when there is no such preset


def attach_events(args: argparse.Namespace, runner: Runner, notifiers: Sequence[Notifier] = ()) -> EventsSink | None:
    """The events' sink of --events-dir and the alert senders (None without either), attached to ``runner``."""
    if not args.events_dir and not notifiers:
        return None
    from vidcv.sinks.events import EventsSink

    sink = EventsSink(
        args.events_dir or None,
        args.pre,
        args.post,
        runner.source.fps or 30.0,
        clips=not args.no_clips,
        quality=args.quality,
        source=runner.source.label,
        receivers=notifiers,
    )
    runner.add_sink(sink)
    return sink


def close_alerts(notifiers: Sequence[Notifier]) -> list[AlertSummary]:
    """Stop the alert senders after the run (a few seconds at most for what still waits); their summaries."""
    if not notifiers:
        return []
    from vidcv.alerts import close_all

    return close_all(notifiers, timeout=2.0)


def events_line(sink: EventsSink) -> str:
    """``12 events, 3 clips in events/ (events.jsonl)``, or ``12 events`` with alerts alone."""
    if not sink.folder:
        return f"{sink.events} event{'s' if sink.events != 1 else ''}"
    clips = f", {len(sink.clips)} clip{'s' if len(sink.clips) != 1 else ''}" if sink.clips_on else ""
    return f"{sink.events} event{'s' if sink.events != 1 else ''}{clips} in {sink.folder} (events.jsonl)"


def run_command(args: argparse.Namespace) -> int:
    """Run, with SIGINT and SIGTERM as a clean stop (see ``vidcv.signals``): until the run starts they
    end the command at once; once it runs they stop it, finalising every output (exit status 130 or 143)."""
    with StopSignals() as signals:
        return _run(args, signals)


def _run(args: argparse.Namespace, signals: StopSignals) -> int:
    """The checks of the arguments, then the run; a folder the run made for its outputs and left empty (it
    failed before writing anything, or wrote no frame) is removed again, never one that was there before."""
    from vidcv.batch.single import RunOutputs, check_apart, output_folders
    from vidcv.fileio import remove_empty_folders

    if args.max_frames is not None and args.max_frames < 1:
        raise VidcvError(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.batch is not None and args.batch < 1:
        raise VidcvError(f"--batch must be at least 1, got {args.batch}")
    if args.pre < 0 or args.post < 0:
        raise VidcvError(f"--pre and --post take seconds of 0 or more, got {args.pre:g} and {args.post:g}")
    if len(args.source) > 1:
        raise VidcvError(
            f"vidcv run reads one source and got {len(args.source)}; for several videos use "
            f"vidcv batch {' '.join(args.source[:2])}{' ...' if len(args.source) > 2 else ''} "
            "-p PIPELINE -o OUT_DIR"
        )
    from vidcv.sources import resolve_source

    args.source = resolve_source(args.source[0])  # env:NAME, @FILE: the value, never printed (labels redact it)
    pipeline = resolve_pipeline(args.pipeline)
    apply_decode_option(pipeline, args.gray_decode)
    outputs = RunOutputs(args.output, args.detections_jsonl, args.stats_json)
    if args.events_dir:  # its log gathers every run's events: no other output may take its place
        from vidcv.sinks.events import EVENTS_FILE

        check_apart([("the events log of --events-dir", os.path.join(args.events_dir, EVENTS_FILE)), *outputs.named()])
    notifiers: list[Notifier] = []
    if args.webhook or args.mqtt:  # every value checked before the source opens; a bad one is one line
        from vidcv.alerts import make_notifiers

        notifiers = make_notifiers(args.webhook or (), args.mqtt or ())
    metrics = None
    created = output_folders(outputs)  # what the checks below will make: not left behind empty
    try:
        if args.metrics:  # a bad or taken address: one line, before the source opens
            from vidcv.metrics import start_metrics

            metrics = start_metrics(args.metrics)
        return _run_outputs(args, signals, pipeline, outputs, metrics, notifiers)
    finally:
        if metrics is not None:
            metrics.close()
        if notifiers:  # a run stopped before it began (Ctrl-C, a bad output): the senders still stop
            from vidcv.alerts import close_all

            close_all(notifiers, timeout=0.5)
        remove_empty_folders(created)  # a run that wrote nothing (a source that failed to open) leaves none


def _run_outputs(
    args: argparse.Namespace,
    signals: StopSignals,
    pipeline: Pipeline,
    outputs: RunOutputs,
    metrics: MetricsServer | None = None,
    notifiers: Sequence[Notifier] = (),
) -> int:
    from vidcv.batch.single import cut_short_line, prepare_run, write_stats
    from vidcv.cli.progress import run_to_end
    from vidcv.errors import error_line
    from vidcv.stats import format_table

    # the same set-up as each input of `vidcv batch`: outputs checked before the source opens, sinks attached
    runner, total = prepare_run(
        args.source,
        pipeline,
        outputs,
        max_frames=args.max_frames,
        realtime=args.realtime,
        reconnect_attempts=args.reconnect_attempts,
        codec=args.codec,
        quality=args.quality,
        frame_workers=args.threads or None,  # 0: the run chooses from what its first frames cost
        batch=args.batch,
    )
    if metrics is not None:
        metrics.watch(runner)
        if not args.quiet:
            say(f"metrics at {metrics.url}", file=sys.stderr)
    events = attach_events(args, runner, notifiers)
    if cut_short := cut_short_line(outputs):  # what killed runs left where this one writes: named, not touched
        log.warning("%s", cut_short)
    log.info("source: %s", runner.source.describe())
    stopped_by = run_to_end(runner, total, args.quiet, signals)
    summary = runner.summary()
    alerts = close_alerts(notifiers)
    stats_error: OutputError | None = None
    if args.stats_json:
        try:
            write_stats(args.stats_json, summary, {"alerts": [a.to_dict() for a in alerts]} if alerts else None)
        except OutputError as exc:  # said after the run's own error, which it must not hide
            stats_error = exc
    close_error: OutputError | None = None
    try:
        pipeline.close()  # a stage's own output at the end (a heatmap's image): after the statistics are safe
    except OutputError as exc:
        close_error = exc
    output_failed = runner.failed_in == "output"
    if not args.quiet and (summary.frames or runner.error is None):  # a run that failed at once: its error only
        say_block(format_table(summary))
        if args.output and not output_failed:  # a failed output: its error says what was kept
            say(
                f"wrote {summary.frames} frames to {args.output}"
                if summary.frames
                else f"no frame was processed, so {args.output} was not written"
            )
    for stage in summary.stages:  # each kind of failure was logged once, as it first came: now the counts
        if stage.errors:
            log.warning(
                "stage '%s' failed on %d of %d frames (bypassed on those); the last error: %s",
                stage.name,
                stage.errors,
                stage.frames_in,
                stage.last_error,
            )
    if events is not None and not args.quiet:
        say(events_line(events))
    for alert in alerts:  # what a receiver missed is said even with --quiet
        if alert.missed or not args.quiet:
            say(alert.line(), file=sys.stderr if alert.missed else sys.stdout)
    if stopped_by is not None:
        kept = "outputs were finalised" if not output_failed else "the other outputs were finalised"
        say(f"vidcv: {describe(stopped_by)} after {summary.frames} frames; {kept}", file=sys.stderr)
    if runner.error is not None:
        say(f"vidcv: error: {error_line(runner.error)}", file=sys.stderr)
    if stats_error is not None:
        say(f"vidcv: error: {stats_error} (the run's statistics were not saved)", file=sys.stderr)
    if close_error is not None:
        say(f"vidcv: error: {close_error} (the other outputs were finalised)", file=sys.stderr)
    if args.debug and (runner.error or stats_error):
        raise runner.error or stats_error  # type: ignore[misc]
    if stopped_by is not None:
        return exit_status(stopped_by)
    return EXIT_ERROR if runner.error is not None or stats_error is not None or close_error is not None else EXIT_OK
