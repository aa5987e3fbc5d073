"""``vidcv dataset stats`` and ``vidcv dataset check``: what a dataset holds, and what is wrong in it.

``stats DIR`` counts frames per split and review status, labels per class and split, negatives and, for classify,
images per class (read only). ``check DIR`` prints one line per problem, ``DIR/labels/train/x.txt:3: class 7 is
not in data.yaml's names (0..2): correct the id, ...``, and a summary; exit 0 when clean, 1 otherwise. ``--fix``
moves orphan labels and undecodable images to ``DIR/quarantine/`` and clips coordinates slightly outside the
image, under the dataset's lock (refused while another writer holds it), and names every file it moved or
changed; the exit status says whether problems are left (vidcv.dataset.check says which are fixed and why).

JSON (``--json``), stable keys. ``stats``: see vidcv.dataset.stats. ``check``::

    {"dataset": "/abs/DIR", "format": "yolo", "family": "boxes",
     "checked": {"images": n, "label_files": n},
     "clean": true | false,                     # no problem left (after --fix: none left unfixed)
     "counts": {KIND: n, ...},                  # every kind, 0 included (vidcv.dataset.check.KINDS)
     "problems": [{"kind": KIND, "path": "labels/train/x.txt", "line": 3 | null, "message": "...",
                   "fix": "what to do", "fixable": true | false, "fixed": "what --fix did" | null}],
     "fixed": [{"action": "quarantined" | "clipped" | "path_set" | "rebuilt", "path": "labels/train/x.txt",
                "to": "quarantine/labels/train/x.txt" | null}],
     "notes": ["..."]}

Paths in the JSON are relative to the dataset; in the text lines they start with DIR as given.
"""

from __future__ import annotations

import argparse
import os

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK
from vidcv.cli.output import say, say_block

EPILOG = """examples:
  vidcv dataset stats datasets/shapes
  vidcv dataset stats datasets/shapes --json
  vidcv dataset check datasets/shapes          # one line per problem; exit 1 when there is one
  vidcv dataset check datasets/shapes --fix    # quarantine orphans and undecodable images, clip to the image

check finds images without labels, labels without images, class ids data.yaml does not name, coordinates
outside the image, boxes of zero size, lines of the wrong length, images that do not decode (or were cut
short), duplicate frames (the same pixels) and frames in two splits. --fix changes only what needs no guess:
orphan labels and undecodable images (with their labels) move to DIR/quarantine/ (nothing is deleted), and
coordinates at most 5% outside the image are clipped; the rest is reported for you to decide. rejected/ and
quarantine/ are not checked."""


def stats_command(args: argparse.Namespace) -> int:
    from vidcv.dataset.stats import dataset_stats

    stats = dataset_stats(args.dir)
    if args.json:
        import json

        print(json.dumps(stats.to_dict(), indent=2))  # JSON escapes every control character itself
        return EXIT_OK
    say_block(stats.table())
    return EXIT_OK


def check_command(args: argparse.Namespace) -> int:
    from vidcv.dataset.check import check_dataset

    report = check_dataset(args.dir, fix=args.fix)
    if args.json:
        import json

        print(json.dumps(report.to_dict(), indent=2))
        return EXIT_OK if report.clean else EXIT_ERROR
    shown = args.dir.rstrip(os.sep) or os.sep
    for problem in report.problems:
        say(problem.text(shown))
    for note in report.notes:
        say(f"note: {note}")
    say(report.summary(shown))
    return EXIT_OK if report.clean else EXIT_ERROR


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    dataset = sub.add_parser(
        "dataset",
        parents=[common],
        help="count and check a dataset",
        description="Count what a dataset holds, or check it for what would stop or mislead training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dsub = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    # --debug and -v again after the action, without resetting what was given before it
    nested = argparse.ArgumentParser(add_help=False)
    nested.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logging"
    )
    nested.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens (info level)"
    )
    stats = dsub.add_parser(
        "stats",
        parents=[nested],
        help="frames per split and review status, labels per class, negatives",
        description="Frames per split and review status, labels per class and split, negatives, and for a "
        "classify dataset images per class. Reads only (no lock).",
    )
    stats.add_argument("dir", metavar="DIR", help="the dataset folder (the one with data.yaml)")
    stats.add_argument("--json", action="store_true", help="JSON with stable keys instead of the table")
    check = dsub.add_parser(
        "check",
        parents=[nested],
        help="find missing, orphan and bad labels, broken images, duplicates, split leaks",
        description="One line per problem and a summary; exit 0 when clean, 1 when a problem is left.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("dir", metavar="DIR", help="the dataset folder (the one with data.yaml)")
    check.add_argument("--json", action="store_true", help="JSON with stable keys instead of the lines")
    check.add_argument(
        "--fix",
        action="store_true",
        help="move orphan labels and undecodable images to DIR/quarantine/ and clip coordinates slightly "
        "outside the image (takes the dataset's lock)",
    )
    dataset.set_defaults(handler=dataset_command)


def dataset_command(args: argparse.Namespace) -> int:
    return stats_command(args) if args.dataset_command == "stats" else check_command(args)
