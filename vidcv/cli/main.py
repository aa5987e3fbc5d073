"""Entry point of the ``vidcv`` command: ``run``, ``plugins``, ``sources``.

Errors print one line on stderr and exit non-zero; ``--debug`` adds the traceback. This module imports
only the light parts of vidcv at start-up, so that ``vidcv run`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from vidcv._version import __version__
from vidcv.errors import VidcvError

log = logging.getLogger("vidcv")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

RUN_EXAMPLES = """examples:
  vidcv run assets/sample.mp4 --pipeline edges --output out/edges.mp4
  vidcv run video.mp4 --pipeline my.yaml --output frames/ --stats-json stats.json
  vidcv run 0 --pipeline edges --realtime                 # camera 0, until Ctrl-C
  vidcv run rtsp://camera.local/stream --output rec.mkv --max-frames 900
  vidcv run "photos/*.jpg" --pipeline blur.yaml --output out/img_%05d.png
  vidcv run pattern:1280x720@30 --max-frames 300 --stats-json stats.json

SOURCE is a video file, a camera (0, camera:0, /dev/video0), a stream URL (rtsp://, http(s)://,
udp://, ...), an image folder or glob, or pattern:[WxH][@FPS] for a synthetic test pattern.
--pipeline takes a preset file or the name of a bundled preset (vidcv plugins lists plugins)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidcv", description="Real-time video processing with stackable OpenCV and ONNX plugins.",
        epilog="examples:\n  vidcv run assets/sample.mp4 --pipeline edges --output out/edges.mp4\n"
               "  vidcv plugins\n  vidcv sources\n  vidcv model info shapes_yolov8n\n  vidcv doctor\n\nRun 'vidcv COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vidcv {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens (info level)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="process a source through a pipeline",
                         description="Read SOURCE, run the pipeline on every frame, and write the results.",
                         epilog=RUN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("source", metavar="SOURCE", help="video file, camera, stream URL, image folder/glob, pattern:")
    run.add_argument("--pipeline", "-p", metavar="FILE", help="preset YAML file or bundled preset name")
    run.add_argument("--output", "-o", metavar="OUT",
                     help="video file (.mp4 .avi .mkv .mov .m4v), a folder, or an image pattern out/f_%%05d.png")
    run.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    run.add_argument("--realtime", action="store_true", help="pace a file at its own fps instead of max speed")
    run.add_argument("--stats-json", metavar="FILE", help="write run and per-stage statistics as JSON")
    run.add_argument("--detections-jsonl", metavar="FILE", help="write one JSON line of detections per frame")
    run.add_argument("--reconnect-attempts", type=int, metavar="N",
                     help="streams: give up after N failed reconnections in a row (default: keep trying)")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no timing table")

    plugins = sub.add_parser("plugins", parents=[common], help="list the plugins and their parameters",
                             description="List every plugin with its category, summary and parameters; "
                                         "plugins that failed to load are listed with their error.",
                             epilog="examples:\n  vidcv plugins\n  vidcv plugins --json > plugins.json\n"
                                    "  vidcv plugins --markdown > docs/plugins.md",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.add_argument("--markdown", action="store_true", help="the plugin reference as Markdown (docs/plugins.md)")

    sources = sub.add_parser("sources", parents=[common], help="list the cameras of this machine",
                             description="List the cameras found (name, index, device, modes where known).",
                             epilog="examples:\n  vidcv sources\n  vidcv sources --probe --json",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.add_argument("--probe", action="store_true", help="open each camera to read its default mode")

    from vidcv.cli.extract import add_parser as add_extract_parser
    from vidcv.cli.model import add_parser as add_model_parser

    add_extract_parser(sub, common)
    add_model_parser(sub, common)
    doctor = sub.add_parser("doctor", parents=[common], help="check the installation and what inference runs on",
                            description="Python, OpenCV, ONNX Runtime and its providers, CUDA and cuDNN libraries, "
                                        "torch, and what a yolo stage would run on; the fix for each missing piece.",
                            epilog="examples:\n  vidcv doctor\n  vidcv doctor --json",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _configure_logging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="vidcv: %(levelname)s: %(message)s", stream=sys.stderr)
    if not (debug or verbose):
        # FFmpeg's and OpenCV's own messages ("moov atom not found", "[ WARN:0] ...") would bury vidcv's
        # one-line error; OpenCV reads these once, when it first logs. -v or --debug keep them.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.debug, args.verbose)
    try:
        if args.command == "run":
            from vidcv.cli.run import run_command
            return run_command(args)
        if args.command == "plugins":
            return plugins_command(args)
        if args.command == "model":
            from vidcv.cli.model import model_command
            return model_command(args)
        if args.command == "extract":
            from vidcv.cli.extract import extract_command
            return extract_command(args)
        if args.command == "doctor":
            from vidcv.cli.doctor import doctor_command
            return doctor_command(args)
        return sources_command(args)
    except VidcvError as exc:
        print(f"vidcv: error: {exc}", file=sys.stderr)
        if args.debug:
            raise
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vidcv: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug:
            raise
        print(f"vidcv: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


def plugins_command(args: argparse.Namespace) -> int:
    from vidcv.registry import default_registry

    registry = default_registry()
    if args.markdown:
        from vidcv.plugin_docs import render_markdown

        sys.stdout.write(render_markdown(registry))
        return EXIT_OK
    loaded, broken = registry.load_all()
    described = [cls.describe() for cls in loaded.values()]
    broken_rows = [{"name": n, "target": registry.entry(n).target, "error": e} for n, e in broken.items()]
    if args.json:
        print(json.dumps({"plugins": described, "broken": broken_rows}, indent=2))
        return EXIT_OK
    for category in sorted({d["category"] for d in described}):
        print(f"[{category}]")
        for d in (d for d in described if d["category"] == category):
            print(f"  {d['name']:<14} {d['summary']}")
            for p in d["params"]:
                allowed = (", ".join(map(str, p["choices"])) if "choices" in p else
                           f"{p.get('minimum', '')}..{p.get('maximum', '')}" if "minimum" in p or "maximum" in p
                           else "")
                allowed = f" [{allowed}]" if allowed else ""
                print(f"      {p['name']:<12} {p['type']:<6} = {p['default']!s:<8}{allowed}  {p['help']}")
        print()
    for row in broken_rows:
        print(f"BROKEN {row['name']} ({row['target']}): {row['error']}")
    if not described and not broken_rows:
        print("No plugins are installed (is vidcv installed with pip install -e .?)")
    return EXIT_OK


def sources_command(args: argparse.Namespace) -> int:
    from vidcv.sources import list_cameras

    cameras = list_cameras(probe=args.probe)
    if args.json:
        print(json.dumps({"cameras": [c.as_dict() for c in cameras]}, indent=2))
        return EXIT_OK
    if not cameras:
        where = "/dev/video* capture devices" if sys.platform.startswith("linux") else "camera indices 0-7"
        print(f"No cameras found (looked for {where}).")
        print("Other sources: a video file, an image folder or glob, a stream URL (rtsp://...), "
              "or pattern: for a synthetic test pattern.")
        return EXIT_OK
    print("Cameras:")
    for cam in cameras:
        modes = f"  {', '.join(cam.modes)}" if cam.modes else ""
        print(f"  {cam.index:<3} {cam.path or '-':<14} {cam.name or '(no name)'}{modes}")
    if not args.probe:
        print("(vidcv sources --probe opens each camera to read its default mode)")
    print(f"Open one with: vidcv run {cameras[0].index}")
    return EXIT_OK


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
