"""``vidcv sources``: the cameras of this machine."""

from __future__ import annotations

import argparse
import json
import sys

from vidcv.cli.exit_codes import EXIT_OK
from vidcv.cli.output import say


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sources",
        parents=[common],
        help="list the cameras of this machine",
        description="List the cameras found (name, index, device, modes where known).",
        epilog="examples:\n  vidcv sources\n  vidcv sources --probe --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--probe", action="store_true", help="open each camera to read its default mode")
    p.set_defaults(handler=sources_command)


def sources_command(args: argparse.Namespace) -> int:
    from vidcv.sources import list_cameras

    cameras = list_cameras(probe=args.probe)
    if args.json:
        print(json.dumps({"cameras": [c.to_dict() for c in cameras]}, indent=2))
        return EXIT_OK
    if not cameras:
        where = "/dev/video* capture devices" if sys.platform.startswith("linux") else "camera indices 0-7"
        say(f"No cameras found (looked for {where}).")
        say(
            "Other sources: a video file, an image folder or glob, a stream URL (rtsp://...), "
            "or pattern: for a synthetic test pattern."
        )
        return EXIT_OK
    say("Cameras:")
    for cam in cameras:
        modes = f"  {', '.join(cam.modes)}" if cam.modes else ""
        say(f"  {cam.index:<3} {cam.path or '-':<14} {cam.name or '(no name)'}{modes}")
    if not args.probe:
        say("(vidcv sources --probe opens each camera to read its default mode)")
    first = cameras[0]
    say(
        f"Open one with: vidcv run {first.index}"
        + (f'  or by name: vidcv run camera:"{first.name}"' if first.name else "")
    )
    return EXIT_OK
