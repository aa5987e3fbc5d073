"""``vidcv-gui``: the desktop application.

With no SOURCE it reopens the last source and pipeline; on the very first start it opens the bundled
sample with the ``edges`` preset, so that a new user sees something working without a camera.
``--screenshot out.png --frames N`` shows the window, processes N frames, saves a screenshot and exits;
it reads the saved settings but writes none (the user's session, layout and recent presets stay as they were).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from vidcv.bundled import sample_video
from vidcv.errors import VidcvError
from vidcv.presets import find_preset
from vidcv.proctitle import redact_command_line
from vidcv.redact import redact, redact_log_record
from vidcv.sources.base import quiet_opencv_logs
from vidcv.ui import style
from vidcv.ui.main_window import MainWindow
from vidcv.ui.session import Session
from vidcv.ui.settings import Settings

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidcv-gui",
        description="Open a camera, file, stream or folder, stack plugins, tune them live.",
        epilog="examples:\n"
        "  vidcv-gui                                  # the last session, or the sample the first time\n"
        "  vidcv-gui 0 --pipeline edges               # camera 0 with a bundled preset\n"
        "  vidcv-gui video.mp4 --pipeline my.yaml --max-speed\n"
        "  vidcv-gui assets/sample.mp4 --pipeline edges --frames 60 --screenshot shot.png\n\n"
        "keys: Space play/pause, Right step, R record, S snapshot, Ctrl+O open, Ctrl+S save preset,\n"
        "O overlays, 1 zoom 1:1, Z draw a zone, E events, F1 all shortcuts, Ctrl+Q quit (asks when the\n"
        "pipeline is unsaved);\n"
        "drop a video, image or preset file on the window",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", nargs="?", metavar="SOURCE", help="as for `vidcv run`")
    parser.add_argument("--pipeline", "-p", metavar="FILE", help="preset file or bundled preset name")
    parser.add_argument("--max-speed", action="store_true", help="play files as fast as possible, not at their fps")
    parser.add_argument("--frames", type=int, metavar="N", help="with --screenshot: frames to process first")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window after N frames, exit")
    parser.add_argument(
        "--dataset",
        metavar="DIR",
        help="open the dataset view on DIR (as `vidcv label DIR`); with SOURCE the main window too, and L adds "
        "its frames to DIR",
    )
    parser.add_argument("--format", metavar="FMT", default="yolo", help="with --dataset: the format of a new dataset")
    return parser


def dataset_only(args: argparse.Namespace, app: QCoreApplication) -> int:
    """``--dataset DIR`` without a source: the dataset view alone (``vidcv label``)."""
    from PySide6.QtCore import QTimer

    from vidcv.dataset.editor import LabelSession
    from vidcv.presets import load_preset
    from vidcv.ui.dataset_link import is_empty_folder
    from vidcv.ui.dataset_view import open_dataset_window, run_screenshot

    try:
        if is_empty_folder(args.dataset):
            LabelSession.create(args.dataset, args.format)
    except VidcvError as exc:
        print(f"vidcv-gui: error: {exc}", file=sys.stderr)
        return 1
    pipeline = None
    if args.pipeline:
        try:
            pipeline = load_preset(find_preset(args.pipeline))
        except VidcvError as exc:
            print(f"vidcv-gui: error: {exc}", file=sys.stderr)
            return 1
    view = open_dataset_window(args.dataset, parent=None, message_box=not args.screenshot)
    if view is None:
        return 1
    view.assists.pipeline = lambda: pipeline  # M proposes with --pipeline's detectors
    view.show()
    if args.screenshot:

        def shoot() -> None:
            run_screenshot(view, args.screenshot)
            app.quit()

        QTimer.singleShot(600, shoot)
    return app.exec()


def initial_session(args: argparse.Namespace, settings: Settings, session: Session) -> tuple[str, str | None]:
    """(SOURCE, preset path or None) to start with, restoring the last session's pipeline when reopening it."""
    if args.source:
        return args.source, args.pipeline
    if settings.last_source and not args.pipeline:
        if settings.last_pipeline_yaml:
            try:
                session.load_pipeline_yaml(settings.last_pipeline_yaml, settings.last_preset_path)
            except VidcvError as exc:
                log.warning("the last pipeline could not be restored: %s", exc)
        return settings.last_source, None
    return sample_video(), args.pipeline or "edges"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        redact_command_line()  # ps shows rtsp://***@host, not the password (Linux)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="vidcv-gui: %(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:  # any record that quotes a URL: no credentials
        handler.addFilter(redact_log_record)
    quiet_opencv_logs()  # OpenCV's and FFmpeg's own log lines: the window says what went wrong
    # QtMultimedia reports every backend library it did not find (pipewire, ...); only cameras use it.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vidcv")
    if isinstance(app, QApplication):
        style.apply(app)  # one calm look for the window and the dataset view (ui/style.py)
    if args.dataset and not args.source:
        return dataset_only(args, app)
    settings = Settings(read_only=bool(args.screenshot))
    session = Session()
    session.set_realtime(not args.max_speed)
    source, preset = initial_session(args, settings, session)
    if preset:
        try:
            session.load_preset(find_preset(preset))
        except VidcvError as exc:
            print(f"vidcv-gui: error: {exc}", file=sys.stderr)
            return 1
    window = MainWindow(session, settings, screenshot=args.screenshot, frames=args.frames if args.screenshot else None)
    window.transport.realtime.setChecked(not args.max_speed)
    window.show()
    if args.dataset:
        window.datasets.open(args.dataset, args.format)
    if not window.open_source(source) and args.screenshot:
        print(f"vidcv-gui: error: {redact(session.source_error)}", file=sys.stderr)
        window.grab().save(args.screenshot)
        window.close()
        return 1
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
