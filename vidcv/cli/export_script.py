"""``vidcv export-script``: a preset as a standalone Python script (OpenCV and NumPy; vidcv for detectors)."""

from __future__ import annotations

import argparse
import os
import sys

from vidcv.cli.exit_codes import EXIT_OK
from vidcv.cli.output import say
from vidcv.errors import VidcvError

EPILOG = """examples:
  vidcv export-script edges -o edges.py && python edges.py assets/sample.mp4 --output out.mp4
  vidcv presets auto_edges > my_pipeline.yaml && vidcv export-script my_pipeline.yaml > my_pipeline.py
  python my_pipeline.py 0 --show            # camera 0, in a window

The script has one function per stage with the tuned values as named constants, and process(frame) that
chains them; bypassed stages are left out. Classic stages need only OpenCV and NumPy; detectors, trackers
and counting run through vidcv's own plugins, and the script says so at the top."""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export-script",
        parents=[common],
        help="write a preset as a standalone Python script",
        description="Write PRESET as a Python script that runs without vidcv where it can.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("preset", metavar="PRESET", help="preset YAML file or bundled preset name")
    p.add_argument("-o", "--output", metavar="SCRIPT.py", help="where to write (default: standard output)")
    p.set_defaults(handler=export_script_command)


def export_script_command(args: argparse.Namespace) -> int:
    from vidcv.cli.run import resolve_pipeline
    from vidcv.codegen import export_script
    from vidcv.fileio import write_text_atomic

    pipeline = resolve_pipeline(args.preset)
    title = os.path.splitext(os.path.basename(args.preset))[0]
    code = export_script(pipeline, title)
    if not args.output:
        sys.stdout.write(code)
        return EXIT_OK
    from vidcv.fileio import same_file
    from vidcv.presets import find_preset
    from vidcv.sinks.base import check_writable

    if same_file(args.output, find_preset(args.preset)):
        raise VidcvError(f"-o {args.output} is the preset itself; give the script another name (NAME.py)")
    check_writable(args.output)  # a folder there: said, nothing left beside it
    write_text_atomic(args.output, code)
    say(f"wrote {args.output}: python {args.output} SOURCE [--output OUT.mp4] [--show]")
    return EXIT_OK
