"""The source panel: cameras by name, a file, a stream URL, an image folder or the test pattern; errors in
place with a retry button."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vidcv.redact import redact
from vidcv.sources.camera import list_cameras
from vidcv.ui import style

log = logging.getLogger(__name__)

URL_PLACEHOLDER = "rtsp://, http://, udp://…"  #: short enough to show whole in the pane (a test measures it)

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.m4v *.webm *.mpg *.ts);;Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)"


def camera_choices() -> list[tuple[str, str]]:
    """(label, SOURCE) for each camera: names from QtMultimedia where available, else from the OS."""
    choices: list[tuple[str, str]] = []
    try:
        from PySide6.QtMultimedia import QMediaDevices

        for index, device in enumerate(QMediaDevices.videoInputs()):
            ident = bytes(device.id().data()).decode(errors="replace")
            spec = ident if ident.startswith("/dev/video") else str(index)
            modes = sorted(
                {(f.resolution().width(), f.resolution().height(), f.maxFrameRate()) for f in device.videoFormats()},
                reverse=True,
            )[:1]
            mode = f"  {modes[0][0]}x{modes[0][1]}@{modes[0][2]:g}" if modes else ""
            choices.append((f"{device.description()}{mode}", spec))
    except Exception as exc:  # noqa: BLE001 - QtMultimedia missing or without a backend: probe through the OS instead
        log.debug("QtMultimedia camera listing unavailable: %s", exc)
    if not choices:
        choices = [(f"{c.name or 'camera'} ({c.path or c.index})", c.path or str(c.index)) for c in list_cameras()]
    return choices


class SourcePanel(QWidget):
    """``open_requested(SOURCE)`` when the user picks something; ``show_error`` puts a message in place."""

    open_requested = Signal(str)
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cameras = QComboBox()
        self.camera_button = QPushButton(style.icon("camera"), "Open camera")
        self.camera_button.clicked.connect(self._open_camera)
        refresh = QPushButton(style.icon("refresh"), "")
        refresh.setToolTip("look for cameras again")
        refresh.setAccessibleName("look for cameras again")
        refresh.clicked.connect(self.refresh_cameras)
        file_button = QPushButton(style.icon("file"), "Open file…")
        file_button.clicked.connect(self._open_file)
        folder_button = QPushButton(style.icon("folder"), "Image folder…")
        folder_button.clicked.connect(self._open_folder)
        pattern_button = QPushButton(style.icon("pattern"), "Test pattern")
        pattern_button.clicked.connect(lambda: self.open_requested.emit("pattern:1280x720@30"))
        # the URL gets a row of its own (its placeholder whole at the pane's default width), its button below
        self.url = QLineEdit()
        self.url.setPlaceholderText(URL_PLACEHOLDER)
        self.url.setToolTip("a stream: rtsp://host/path, http(s)://…, udp://@:1234, srt://…; Enter opens it")
        self.url.returnPressed.connect(self._open_url)
        url_button = QPushButton(style.icon("stream"), "Open URL")
        url_button.clicked.connect(self._open_url)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton(style.icon("refresh"), "Retry")
        self.retry_button.clicked.connect(self.retry_requested.emit)
        self.retry_button.hide()

        cams = QGroupBox("Camera")
        cl = QVBoxLayout(cams)
        cl.setSpacing(6)
        row = QHBoxLayout()
        row.addWidget(self.cameras, 1)
        row.addWidget(refresh)
        cl.addLayout(row)
        cl.addWidget(self.camera_button)
        files = QGroupBox("File, folder, stream")
        fl = QVBoxLayout(files)
        fl.setSpacing(6)
        fl.addWidget(file_button)
        fl.addWidget(folder_button)
        fl.addWidget(pattern_button)
        fl.addSpacing(4)
        fl.addWidget(self.url)
        fl.addWidget(url_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        layout.addWidget(cams)
        layout.addWidget(files)
        layout.addWidget(self.status)
        layout.addWidget(self.retry_button)
        layout.addStretch(1)
        self.refresh_cameras()

    def refresh_cameras(self) -> None:
        self.cameras.clear()
        for label, spec in camera_choices():
            self.cameras.addItem(label, spec)
        if self.cameras.count() == 0:
            self.cameras.addItem("no camera found", None)
        self.camera_button.setEnabled(self.cameras.currentData() is not None)

    def _open_camera(self) -> None:
        spec = self.cameras.currentData()
        if spec is not None:
            self.open_requested.emit(spec)

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", "", VIDEO_FILTER)
        if path:
            self.open_requested.emit(path)

    def _open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open an image folder")
        if path:
            self.open_requested.emit(path)

    def _open_url(self) -> None:
        if self.url.text().strip():
            self.open_requested.emit(self.url.text().strip())

    def show_state(self, text: str, error: bool = False) -> None:
        """Put ``text`` (credentials of any URL in it masked) under the buttons; an error shows Retry too."""
        self.status.setText(redact(text))
        self.status.setStyleSheet(f"color: {style.ERROR.name()};" if error else "")
        self.retry_button.setVisible(error)
