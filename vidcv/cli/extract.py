"""``vidcv extract``: a source and a detecting pipeline into a dataset that training tools load as it is."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import TYPE_CHECKING

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK
from vidcv.cli.output import say, say_block
from vidcv.dataset.formats import FORMATS
from vidcv.errors import error_line
from vidcv.signals import StopSignals, describe, exit_status

if TYPE_CHECKING:
    from vidcv.dataset.extract import Extraction, ExtractOptions
    from vidcv.dataset.many import ManyOutcome
    from vidcv.dataset.writer import Dataset
    from vidcv.pipeline import Pipeline
    from vidcv.runner import Runner

EPILOG = """examples:
  vidcv extract assets/sample.mp4 --pipeline shapes --out datasets/shapes --every 5
  vidcv train datasets/shapes --epochs 50                    # then extract with the trained model:
  vidcv extract video.mp4 -p runs/train-shapes-1/pipeline.yaml --out ds --fps 2 --dedupe 5 --negatives 0.1
  vidcv extract 0 -p faces --out faces_ds --fps 1 --max-frames 200      # from a camera, until 200 frames
  vidcv extract env:CAM -p shapes --out ds --fps 1 --max-frames 200     # a stream URL held by $CAM (or @FILE)
  vidcv presets shapes > pose.yaml                           # then set its model: to your pose ONNX
  vidcv extract clip.mp4 -p pose.yaml --out poses --format yolo-pose      # a pose model's keypoints
  vidcv extract clip.mp4 -p shapes --out crops --format classify --crops  # each detection into its class folder
  vidcv extract long.mp4 -p shapes --out ds --fps 2 --select uncertain+diverse --budget 300  # worth labelling
  vidcv extract a/clip.mp4 b/clip.mp4 "more/*.mp4" videos/ @list.txt -p shapes --out ds --fps 2  # ONE dataset
  vidcv extract videos/ -p shapes --out ds --fps 2 --engine ray --address HEAD:6379  # detection on a Ray cluster

Images are the original frames; labels come from the pipeline's detections (or, for classify, a
classifier's top class). Class ids follow the detector: a dataset made with one model keeps its ids and
names in order, and a later model's new classes are appended (with --merge). Running again into the same
--out adds frames (names carry the source, a short digest of its path and the frame index) and resumes an
interrupted run. Several inputs (files, globs, folders of videos, @list.txt, as for vidcv batch) go into
the one dataset one after another: names stay unique when file names collide, an input that fails is
reported and the others go on (exit 1 at the end), and the same command again resumes. --workers N runs
detection in N processes here; --engine ray runs each video file as a Ray task (pip install "vidcv[ray]";
with a `ray start` cluster export RAY_AUTH_TOKEN=$(ray get-auth-token) from the head first) that streams its
frames back to this process, the one writer. A folder vidcv did not make, or a run that would add new classes, is refused unless
--merge; a second writer while one runs is refused. Ctrl-C or SIGTERM stop cleanly (exit 130 or 143).
--select keeps the --budget frames most worth labelling (each with or without detections) in two passes over
a file: the pipeline scores every candidate, then only the chosen frames are read again and written; the
manifest says why each was chosen, and the same command again completes an interrupted selection."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "extract",
        parents=[common],
        help="build a training dataset from a source and a pipeline",
        description="Sample frames, label them with the pipeline's detectors, and write a dataset "
        "in ultralytics' YOLO layout (images/, labels/, data.yaml, manifest.jsonl).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="+",
        help="video file, camera, stream URL, image folder/glob, pattern:, env:NAME, @FILE; or several "
        "video inputs (files, globs, folders of videos, @list.txt) into one dataset",
    )
    p.add_argument("--pipeline", "-p", metavar="FILE", required=True, help="preset with the detector stages")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="dataset folder: created, or a vidcv dataset continued (one writer at a time)",
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="add to a folder vidcv did not make (its files are kept), or add new classes to a dataset",
    )
    p.add_argument(
        "--format",
        default=None,
        choices=tuple(FORMATS),
        metavar="FORMAT",
        help="; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())
        + " (default: the dataset's own format, else yolo)",
    )
    p.add_argument(
        "--crops", action="store_true", help="with --format classify: cut every detection out into its class folder"
    )
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("--every", type=int, default=1, metavar="N", help="keep one frame in N (default 1)")
    rate.add_argument("--fps", type=float, default=0.0, metavar="F", help="keep at most F frames per second")
    p.add_argument(
        "--select",
        metavar="MODE",
        help="keep the --budget frames most worth labelling: uncertain (the detectors hesitate: confidences near "
        "the threshold, tracks that flicker, counts that jump; spread in time), diverse (views that cover the "
        "video's variety) or uncertain+diverse (both); --every/--fps thin the candidates first",
    )
    p.add_argument(
        "--budget",
        type=int,
        metavar="N",
        help="how many frames --select keeps per input (all candidates when there are fewer), with or without "
        "detections (an empty label), past --negatives",
    )
    p.add_argument(
        "--dedupe",
        type=int,
        default=0,
        metavar="BITS",
        help="skip a frame within BITS of 64 (difference hash) of the last kept one; 5 is a good start",
    )
    p.add_argument(
        "--min-sharpness",
        type=float,
        default=0.0,
        metavar="S",
        help="skip frames whose Laplacian variance is below S (blur)",
    )
    negatives = p.add_mutually_exclusive_group()
    negatives.add_argument(
        "--negatives",
        type=float,
        default=0.0,
        metavar="RATIO",
        help="keep frames without detections, up to RATIO per frame with detections",
    )
    negatives.add_argument(
        "--negatives-only",
        action="store_true",
        help="the pipeline has no detector on purpose: keep every sampled frame, unlabelled",
    )
    p.add_argument("--classes", metavar="NAMES", help="only these classes, comma-separated")
    p.add_argument("--min-conf", type=float, default=0.0, metavar="C", help="only detections at least this confident")
    p.add_argument("--split", default="0.8,0.1,0.1", metavar="TRAIN,VAL,TEST", help="fractions (default 0.8,0.1,0.1)")
    p.add_argument(
        "--split-by",
        default="chunk",
        choices=("chunk", "frame"),
        help="chunk (default): runs of consecutive frames stay in one split, so near-identical "
        "neighbours never end up in both train and val (150 frames; a short file is cut into "
        "20 runs of at least 10); frame: each frame on its own",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after reading N frames")
    p.add_argument(
        "--workers",
        "-j",
        type=int,
        metavar="N",
        help="with several inputs: N processes run the pipeline on N inputs at once while this one "
        "writes the dataset (default 1: one input after another); with --engine ray: tasks in "
        "flight (default: the cluster's CPUs)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="local: detection here (default); ray: one Ray task per video file, on the cluster at "
        "--address, streaming its frames back to this process, which writes the one dataset "
        "(the default with --address)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="the Ray cluster's head, HOST:PORT (default with --engine ray: start a Ray on this machine)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    p.set_defaults(handler=extract_command)


def extract_command(args: argparse.Namespace) -> int:
    """Extract, with SIGINT and SIGTERM as a clean stop, as ``vidcv run`` (exit status 130 or 143, the dataset
    complete up to the last frame written)."""
    with StopSignals() as signals:
        return _extract(args, signals)


def source_list(specs: list[str]) -> list[str] | None:
    """The video files of several inputs (as ``vidcv batch`` reads them), or None for one source taken as it
    is (a camera, a stream, a folder or glob of images, one file). InputError for several that name nothing."""
    from vidcv.batch.inputs import InputError, expand_inputs, is_live_spec

    if len(specs) == 1:
        try:
            found = expand_inputs(specs)
        except InputError:
            return None  # not video files: one source of another kind (camera, images, stream)
        if len(found) > 1 or specs[0].startswith("@"):
            return found
        if found and os.path.abspath(found[0]) != os.path.abspath(specs[0]):
            from vidcv.sources.images import list_images

            if not list_images(specs[0]):  # a folder or glob of one video (and no image): that video
                return found
        return None
    for spec in specs:
        if is_live_spec(spec):  # sources that are no files: each is extracted on its own
            raise InputError(
                f"{spec}: several inputs are video files; extract a camera, a stream or a test "
                f"pattern on its own (vidcv extract {spec} -p ... --out ...)"
            )
    return expand_inputs(specs)


def _extract(args: argparse.Namespace, signals: StopSignals) -> int:
    from vidcv.cli.run import resolve_pipeline
    from vidcv.dataset.extract import ExtractOptions
    from vidcv.dataset.select import check_select
    from vidcv.errors import VidcvError

    if args.workers is not None and args.workers < 1:
        raise VidcvError(f"--workers must be at least 1, got {args.workers}")
    engine = args.engine or ("ray" if args.address else "local")
    if args.address and engine != "ray":
        raise VidcvError("--address is a Ray cluster's, and --engine local runs here: drop one of them")
    check_select(args.select or "", args.budget)
    if args.select and (engine == "ray" or (args.workers or 1) > 1):
        raise VidcvError(
            "--select scores an input's frames and reads the chosen ones again in this process: drop --workers "
            "and --engine ray (several inputs are then selected one after another)"
        )
    sources = source_list(args.source)
    if engine == "ray" and sources is None:
        sources = ray_sources(args.source[0])
    pipeline = resolve_pipeline(args.pipeline)
    options = ExtractOptions(
        args.out,
        args.format,
        args.every,
        args.fps,
        args.dedupe,
        args.min_sharpness,
        args.negatives,
        args.classes or "",
        args.min_conf,
        args.split,
        args.split_by,
        args.seed,
        args.max_frames,
        args.crops,
        args.negatives_only,
        args.merge,
        args.select or "",
        args.budget,
    )
    if engine == "ray":
        pipeline.close()
        assert sources is not None  # ray_sources gave the list
        return _extract_ray(sources, args.pipeline, options, args.address, args.workers, args.quiet, signals)
    if sources is None:
        from vidcv.sources import resolve_source

        # env:NAME, @FILE: the value names the frames (as the plain SOURCE would), never printed
        return _extract_one(resolve_source(args.source[0]), pipeline, options, args.quiet, signals)
    if (args.workers or 1) > 1:
        pipeline.close()
        return _extract_parallel(sources, args.pipeline, options, args.workers, args.quiet, signals)
    return _extract_many(sources, pipeline, options, args.quiet, signals)


def ray_sources(spec: str) -> list[str]:
    """One SOURCE for --engine ray: a video file (a task gets its bytes); InputError for a camera, a stream, a
    pattern or images, which are read where vidcv runs."""
    from vidcv.batch.inputs import InputError, is_live_spec
    from vidcv.sources import resolve_spec

    path = resolve_spec(spec)  # env:NAME, @FILE: messages name the reference
    if is_live_spec(path) or not os.path.isfile(path):
        raise InputError(
            f"{spec}: --engine ray extracts video files (each is sent to a Ray task); extract a "
            f"camera, a stream, a test pattern or images here, without --engine ray"
        )
    return [path]


def _took_over(writer: Dataset, quiet: bool) -> None:
    if writer.lock.stale and not quiet:
        from vidcv.dataset.lock import describe as describe_lock

        say(f"note: took over the lock of a writer that has ended ({describe_lock(writer.lock.stale)})")


def _closing_lines(writer: Dataset) -> None:
    say(f"in {writer.root}")
    if writer.orphans_removed:
        say(f"removed {writer.orphans_removed} unfinished files of an interrupted run")
    # vidcv train: offline (a model yaml, no download), in a process of its own, exported and given a preset
    say(f"classes: {', '.join(writer.names) or 'none yet'}; train with: vidcv train {writer.root}")


def expected_frames(job: Extraction, options: ExtractOptions) -> int | None:
    """How many frames the pipeline will see: a file's frame count thinned by --every or --fps (and capped by
    --max-frames), for the progress bar's total; None for a live source or an unknown length. --dedupe and
    --min-sharpness may skip more: the bar then ends short of its total."""
    from vidcv.dataset.extract import SampledSource

    source = job.runner.source
    inner = source.inner if isinstance(source, SampledSource) else source
    count = inner.frame_count
    if inner.live or not count:
        return None
    sampler = job.sampler
    if sampler.fps > 0 and inner.fps:
        count = math.ceil(count * min(1.0, sampler.fps / inner.fps))
    else:
        count = math.ceil(count / max(1, sampler.every))
    return min(count, options.max_frames) if options.max_frames else count


def _extract_one(source: str, pipeline: Pipeline, options: ExtractOptions, quiet: bool, signals: StopSignals) -> int:
    from vidcv.cli.progress import run_to_end
    from vidcv.dataset.extract import prepare

    job = prepare(source, pipeline, options)
    runner, writer = job.runner, job.writer
    _took_over(writer, quiet)
    stopped_by = run_to_end(runner, expected_frames(job, options), quiet, signals)
    pipeline.close()
    if not quiet:
        say_block(job.summary())
        _closing_lines(writer)
    if stopped_by is not None:
        say(f"vidcv: {describe(stopped_by)}; the dataset is complete up to the last frame written", file=sys.stderr)
        return exit_status(stopped_by)
    if runner.error is not None:
        say(f"vidcv: error: {error_line(runner.error)}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _extract_many(
    sources: list[str], pipeline: Pipeline, options: ExtractOptions, quiet: bool, signals: StopSignals
) -> int:
    """Every input into the one dataset in turn (see ``vidcv.dataset.many``)."""
    from vidcv.cli.progress import run_to_end
    from vidcv.dataset.many import extract_many

    def run(runner: Runner) -> int | None:
        return run_to_end(runner, None, quiet, signals)

    def on_input(position: int, count: int, source: str) -> None:
        if not quiet:
            say(f"[{position + 1}/{count}] {source}", flush=True)

    try:
        outcome = extract_many(sources, pipeline, options, run, on_input, lambda w: _took_over(w, quiet))
    finally:
        pipeline.close()
    return _report(outcome, quiet)


def _extract_parallel(
    sources: list[str], preset: str, options: ExtractOptions, workers: int, quiet: bool, signals: StopSignals
) -> int:
    """Every input into the one dataset, ``workers`` at once (see ``vidcv.dataset.parallel``)."""
    from vidcv.dataset.parallel import extract_parallel

    def on_input(position: int, count: int, source: str) -> None:
        if not quiet:
            say(f"[{position + 1}/{count}] {source}", flush=True)

    signals.absorb()
    outcome = extract_parallel(
        sources, preset, options, workers, lambda: bool(signals.received), on_input, lambda w: _took_over(w, quiet)
    )
    outcome.stopped_by = signals.first
    return _report(outcome, quiet)


def _extract_ray(
    sources: list[str],
    preset: str,
    options: ExtractOptions,
    address: str | None,
    workers: int | None,
    quiet: bool,
    signals: StopSignals,
) -> int:
    """Every input as a Ray task, into the one dataset written here (see ``vidcv.dataset.ray_extract``)."""
    from vidcv.dataset.ray_extract import extract_ray
    from vidcv.jobs.cluster import Cluster

    def on_input(position: int, count: int, source: str) -> None:
        if not quiet:
            say(f"[{position + 1}/{count}] {source}", flush=True)

    signals.absorb()
    import logging

    engine = Cluster(address, workers, verbose=logging.getLogger().getEffectiveLevel() <= logging.INFO)
    outcome = extract_ray(
        sources, preset, options, engine, lambda: bool(signals.received), on_input, lambda w: _took_over(w, quiet)
    )
    outcome.stopped_by = signals.first
    return _report(outcome, quiet)


def _report(outcome: ManyOutcome, quiet: bool) -> int:
    """The summary of several inputs and the exit status."""
    if not quiet:
        say_block(outcome.summary())
        _closing_lines(outcome.writer)
    if outcome.stopped_by is not None:
        say(
            f"vidcv: {describe(outcome.stopped_by)}; the dataset is complete up to the last frame written; "
            "the same command again continues it",
            file=sys.stderr,
        )
        return exit_status(outcome.stopped_by)
    if outcome.fatal is not None:
        say(f"vidcv: error: {outcome.fatal}", file=sys.stderr)
        return EXIT_ERROR
    if outcome.failed:
        say(
            f"vidcv: error: {len(outcome.failed)} of {len(outcome.inputs)} inputs failed: "
            + "; ".join(f"{o.source}: {o.error}" for o in outcome.failed),
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK
