"""Entry point of the ``vidcv`` command: a table of subcommands, each module owning its parser and handler.

Errors print one line on stderr and exit non-zero; ``--debug`` adds the traceback. Every command module
imports only light parts of vidcv at start-up (the heavy ones inside its handler), so that ``vidcv run``
starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import select
import signal
import sys
from collections.abc import Sequence

from vidcv._version import __version__
from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_USAGE
from vidcv.cli.output import say
from vidcv.errors import VidcvError, error_line
from vidcv.proctitle import redact_command_line
from vidcv.redact import redact_log_record
from vidcv.signals import Interrupted, describe, exit_status
from vidcv.tuning import tune_process

log = logging.getLogger("vidcv")

#: The subcommands (name: module of vidcv.cli), in the order of ``vidcv --help``; each module has
#: ``add_parser(sub, common)``, which sets the handler (``args -> exit status``) as the parser's default.
COMMANDS = {
    "run": "run",
    "batch": "batch",
    "plugins": "plugins",
    "presets": "presets",
    "sources": "sources",
    "extract": "extract",
    "label": "label",
    "dataset": "dataset",
    "train": "train",
    "export-script": "export_script",
    "model": "model",
    "doctor": "doctor",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or, given the name of a ``command``, only that command's parser and module
    (what a command's own run needs: the other modules' imports and parsers are a few milliseconds of every
    start-up)."""
    parser = argparse.ArgumentParser(
        prog="vidcv",
        description="Real-time video processing with stackable OpenCV and ONNX plugins.",
        epilog="examples:\n  vidcv run assets/sample.mp4 --pipeline edges --output out/edges.mp4\n"
        "  vidcv plugins\n  vidcv presets\n  vidcv sources\n"
        "  vidcv extract assets/sample.mp4 -p shapes --out ds --select diverse --budget 40\n"
        "  vidcv label ds/\n  vidcv dataset check ds/\n  vidcv train ds/ --epochs 50\n"
        "  vidcv model info shapes_yolov8n\n  vidcv doctor\n\n"
        "Run 'vidcv COMMAND --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vidcv {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens (info level)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(f"vidcv.cli.{module}").add_parser(sub, common)
    return parser


def _configure_logging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="vidcv: %(levelname)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:  # any library's record that quotes a URL: no credentials
        handler.addFilter(redact_log_record)
    if not (debug or verbose):
        # FFmpeg's and OpenCV's own messages ("moov atom not found", "[ WARN:0] ...") would bury vidcv's
        # one-line error. -v or --debug keep them.
        from vidcv.sources.base import quiet_opencv_logs

        quiet_opencv_logs()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it).

    A reader that stops early (``vidcv doctor --json | head -1``) ends the command quietly with EXIT_ERROR,
    as Python's own tools do, for every command. Run as the process's own command line (no ``argv``), it
    first tunes the process for frames (``vidcv.tuning``: malloc's thresholds, a quicker exit).
    """
    if argv is None:
        redact_command_line()  # ps shows rtsp://***@host, not the password (Linux)
        tune_process()
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a reader gone shows here, not as a traceback in the interpreter's last flush
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)  # nothing left to flush into the closed pipe at exit
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


def _stdout_closed() -> bool:
    """True when nothing reads stdout any more: its pipe's reader has exited."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):
        return True  # no poll() (Windows): a BrokenPipeError that reaches the entry point is stdout's
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.debug, args.verbose)
    try:
        return int(args.handler(args))
    except VidcvError as exc:
        say(f"vidcv: error: {error_line(exc)}", file=sys.stderr)  # file names in it: escaped
        if args.debug:
            raise
        return EXIT_ERROR
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a run's set-up (vidcv.signals)
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"vidcv: {describe(signum)}", file=sys.stderr)
        return exit_status(signum)
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug or (isinstance(exc, BrokenPipeError) and _stdout_closed()):
            raise
        say(f"vidcv: internal error: {error_line(exc)} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
