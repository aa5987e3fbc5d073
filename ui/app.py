"""``vidcv-gui``: a window that plays a source through a pipeline with a live fps and per-stage readout.

This is the first increment of the desktop application (the full window, with the pipeline editor,
source panel, recording and presets, is its own issue). With no SOURCE it opens the bundled sample with
the ``edges`` preset, so that a new user sees something working without a camera.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from vidcv.bundled import sample_video
from vidcv.errors import VidcvError
from vidcv.pipeline import Pipeline
from vidcv.runner import Runner
from vidcv.sinks import CallbackSink
from vidcv.sources import parse_source
from vidcv.stats import RateMeter
from vidcv.ui.bridge import FrameBridge
from vidcv.ui.video_view import VideoView

log = logging.getLogger(__name__)


class ViewerWindow(QMainWindow):
    """Shows the processed frames; Space pauses, Right steps one frame while paused, Esc closes."""

    def __init__(self, source_spec: str, pipeline: Pipeline, pipeline_name: str = "", *, realtime: bool = True,
                 screenshot: str | None = None, frames: int | None = None) -> None:
        super().__init__()
        self.source_spec, self.pipeline, self.realtime = source_spec, pipeline, realtime
        self.screenshot, self.frames_target = screenshot, frames
        self.runner: Runner | None = None
        self.displayed = 0
        self._display_rate = RateMeter()
        self.error: str | None = None
        self.setWindowTitle(f"vidcv — {os.path.basename(source_spec.rstrip('/')) or source_spec}"
                            + (f" — {pipeline_name}" if pipeline_name else ""))
        self.view = VideoView(self)
        self.setCentralWidget(self.view)
        self.state_label = QLabel("opening…")
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addWidget(self.state_label)
        self.statusBar().addPermanentWidget(self.readout)
        self.bridge = FrameBridge()
        self.bridge.frame_ready.connect(self._show_frame)
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.update_readout)
        for key, slot in (("Space", self.toggle_pause), ("Right", self.step), ("Esc", self.close),
                          ("Ctrl+Q", self.close)):
            QShortcut(QKeySequence(key), self, activated=slot)
        self.resize(960, 600)

    def start(self) -> bool:
        """Open the source and start the run; on failure show the error and return False."""
        try:
            source = parse_source(self.source_spec)
            source.open()
        except VidcvError as exc:
            self.error = str(exc)
            self.state_label.setText(f"error: {exc}")
            return False
        self.runner = Runner(source, self.pipeline, [CallbackSink(self.bridge.push)],
                             realtime=self.realtime and not source.live)
        self.runner.start()
        self.state_label.setText(self._source_text())
        self.timer.start()
        return True

    def _show_frame(self) -> None:
        frame = self.bridge.take()
        if frame is None:
            return
        self.view.show_image(frame.image)
        self.displayed += 1
        self._display_rate.tick()
        if self.frames_target is not None and self.displayed >= self.frames_target:
            self.frames_target = None
            if self.screenshot:
                self.update_readout()
                QTimer.singleShot(50, self._save_and_close)

    def _save_and_close(self) -> None:
        self.grab().save(self.screenshot)
        log.info("saved %s", self.screenshot)
        self.close()

    def update_readout(self) -> None:
        """Source, processed and displayed fps, per-stage ms and drops (a few times a second)."""
        runner = self.runner
        if runner is None:
            return
        s = runner.summary(recent=True)
        stages = "  ".join(f"{st.name} {st.ms_mean:.1f} ms" for st in s.stages if st.enabled) or "no stages"
        errors = sum(st.errors for st in s.stages)
        text = (f"source {s.source_fps:.1f} | processed {s.fps:.1f} | displayed "
                f"{self._display_rate.rate():.1f} fps | {stages}")
        if runner.source.live:
            text += f" | dropped {s.dropped}"
            if s.frame_age_ms_mean is not None:
                text += f" | age {s.frame_age_ms_mean:.0f} ms"
        if errors:
            text += f" | {errors} stage errors"
        self.readout.setText(text)
        if not runner.running:
            ended = f"error: {runner.error}" if runner.error else f"ended after {runner.frames_written} frames"
            self.state_label.setText(ended)
            self.timer.stop()
        elif runner.paused:
            self.state_label.setText("paused (Space resumes, Right steps)")
        else:
            self.state_label.setText(self._source_text())

    def _source_text(self) -> str:
        source = self.runner.source if self.runner else None
        if source is None:
            return ""
        parts = [os.path.basename(self.source_spec.rstrip("/")) or self.source_spec]
        if source.size_wh:
            parts.append(f"{source.size_wh[0]}x{source.size_wh[1]}")
        if source.state not in ("open", "ended", "closed"):
            parts.append(f"{source.state} {source.state_detail}".strip())
        return " · ".join(parts)

    def toggle_pause(self) -> None:
        if self.runner is not None:
            self.runner.resume() if self.runner.paused else self.runner.pause()
            self.update_readout()

    def step(self) -> None:
        if self.runner is not None and self.runner.paused:
            self.runner.step()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.timer.stop()
        if self.runner is not None:
            self.runner.stop(timeout=2.0)
        super().closeEvent(event)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidcv-gui", description="Play a source through a pipeline with live fps and per-stage timings.",
        epilog="examples:\n  vidcv-gui                                  # the bundled sample, edges preset\n"
               "  vidcv-gui 0 --pipeline edges               # camera 0\n"
               "  vidcv-gui video.mp4 --pipeline my.yaml --max-speed\n"
               "  vidcv-gui pattern: --frames 30 --screenshot shot.png\n\n"
               "keys: Space pause/resume, Right step one frame while paused, Esc close",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", metavar="SOURCE", help="as for `vidcv run` (default: bundled sample)")
    parser.add_argument("--pipeline", "-p", metavar="FILE", help="preset file or bundled preset name "
                        "(default: edges with the sample, none otherwise)")
    parser.add_argument("--max-speed", action="store_true", help="play files as fast as possible, not at their fps")
    parser.add_argument("--frames", type=int, metavar="N", help="with --screenshot: frames to show first")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window after N frames, exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="vidcv-gui: %(levelname)s: %(message)s")
    from vidcv.cli.run import resolve_pipeline

    source = args.source or sample_video()
    preset = args.pipeline or (None if args.source else "edges")
    try:
        pipeline = resolve_pipeline(preset)
    except VidcvError as exc:
        print(f"vidcv-gui: error: {exc}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = ViewerWindow(source, pipeline, preset or "", realtime=not args.max_speed,
                          screenshot=args.screenshot, frames=args.frames if args.screenshot else None)
    window.show()
    if not window.start():
        print(f"vidcv-gui: error: {window.error}", file=sys.stderr)
        if args.screenshot:
            window.grab().save(args.screenshot)
            return 1
    return app.exec() if window.error is None else (app.exec() or 1)


if __name__ == "__main__":
    sys.exit(main())
