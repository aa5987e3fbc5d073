"""``vidcv label DIR``: the dataset view of the desktop application on a dataset, to label, review and correct it.

The command line sits below the window in vidcv's layers, so it checks the dataset (one line when it cannot be
opened, as every command says it) and then becomes ``vidcv-gui --dataset DIR``: the same window as File >
Open dataset.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from vidcv.cli.exit_codes import EXIT_ERROR
from vidcv.cli.output import say
from vidcv.dataset.formats import FORMATS

DETECTION_FORMATS = [name for name, f in FORMATS.items() if f.family != "classify"]


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "label",
        parents=[common],
        help="label, review and correct a dataset in the dataset view",
        description="Open the dataset in DIR (made by vidcv extract, or an ultralytics YOLO folder made "
        "elsewhere) in the window's dataset view: draw and correct boxes, polygons, oriented boxes and "
        "keypoints, accept or reject frames, rename classes. With --format, an empty or new DIR becomes a new "
        "dataset to fill with frames from the main window (Add frame to dataset).",
        epilog="examples:\n  vidcv label ducks/\n  vidcv label new-set/ --format yolo-seg\n"
        "  vidcv train ducks/ --epochs 50 && vidcv label ducks/ -p runs/train-ducks-1/pipeline.yaml  # M proposes\n"
        "  vidcv label ducks/ --screenshot view.png\n\n"
        "keys: drag to draw, 1-9 class, Delete, Ctrl+Z undo, Enter accept, X reject, U restore, "
        "Left/Right frames, M propose, P propagate, G box to polygon, F1 all shortcuts",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", metavar="DIR", help="the dataset folder")
    p.add_argument(
        "--format",
        choices=DETECTION_FORMATS,
        help="make DIR a new dataset of this format when it holds none yet",
    )
    p.add_argument(
        "--pipeline",
        "-p",
        metavar="PRESET",
        help="the preset whose detectors propose labels (key M), e.g. RUN/pipeline.yaml of vidcv train",
    )
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the dataset view and exit")
    p.set_defaults(handler=label_command)


def gui_argv(args: argparse.Namespace) -> list[str]:
    """The command line of the window that opens the dataset."""
    argv = [sys.executable, "-m", "vidcv.ui.app", "--dataset", os.path.abspath(args.dataset)]
    if args.format:
        argv += ["--format", args.format]
    if args.pipeline:
        argv += ["--pipeline", args.pipeline]
    if args.screenshot:
        argv += ["--screenshot", os.path.abspath(args.screenshot)]
    return argv


def label_command(args: argparse.Namespace) -> int:
    from vidcv.dataset.editor import LabelSession

    root = os.path.abspath(args.dataset)
    if not args.format:
        LabelSession(root)  # DatasetError, one line, when DIR is no dataset
    elif os.path.exists(root) and not os.path.isdir(root):
        say(f"vidcv: error: {root} is a file: give a folder for the new dataset", file=sys.stderr)
        return EXIT_ERROR
    if importlib.util.find_spec("PySide6") is None:
        say("vidcv: error: the window needs PySide6, which is not installed: pip install PySide6", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.flush()
    sys.stderr.flush()
    argv = gui_argv(args)
    os.execv(argv[0], argv)
    return EXIT_ERROR  # not reached: execv replaces this process
