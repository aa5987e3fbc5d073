"""A source with credentials in the GUI: never shown (title, source panel, status line, Extract dialog) and
never written to the settings file (plain text). Nothing listens at 127.0.0.1:9: the stream keeps retrying."""

import os

import pytest
from PySide6.QtCore import QSettings

from vidcv.bundled import sample_video

pytestmark = pytest.mark.timeout(60)

SECRET_URL = "http://user:secret@127.0.0.1:9/x"
NO_PATH_URL = "rtsp://admin:secret@127.0.0.1:9"


def ini_text():
    path = os.path.join(os.environ["VIDCV_CONFIG_DIR"], "vidcv.ini")
    return open(path, encoding="utf-8").read() if os.path.exists(path) else ""


def shown_texts(window):
    return [
        window.windowTitle(),
        window.source_panel.status.text(),
        window.statusBar().currentMessage(),
        window.message,
    ]


@pytest.mark.parametrize("spec, title_source", [(SECRET_URL, "x"), (NO_PATH_URL, "***@127.0.0.1:9")])
def test_a_source_with_a_password_is_neither_shown_nor_remembered(qtbot, window, spec, title_source):
    from vidcv.ui.settings import Settings

    assert window.open_source(sample_video())
    assert Settings().last_source == sample_video()
    assert window.open_source(spec)  # it retries in the background; the window goes on
    assert window.windowTitle() == f"untitled pipeline — {title_source} — vidcv"
    shown = spec.replace("admin:secret", "***").replace("user:secret", "***")
    assert window.statusBar().currentMessage() == f"{shown} is not remembered for the next start: it holds credentials"
    assert "does not save it" in window.source_panel.status.toolTip()
    qtbot.waitUntil(
        lambda: "reconnecting" in window.source_panel.status.text() or "refused" in window.source_panel.status.text(),
        timeout=10000,
    )
    window.open_extract_dialog()
    dialog = window.extract_dialog
    qtbot.addWidget(dialog)
    assert dialog.source_label.text() == shown
    assert not dialog.start()  # no detector in this pipeline: refused, and the stream is reopened for the window
    assert window.session.source_spec == spec and window.session.runner is not None
    for text in [*shown_texts(window), dialog.progress.text()]:
        assert "secret" not in text
    window.settings.sync()
    assert Settings().last_source == sample_video()  # the one before stays
    assert "secret" not in ini_text() and "127.0.0.1" not in ini_text()
    window.open_source(sample_video())
    assert window.source_panel.status.toolTip() == ""


def test_the_settings_never_store_credentials(tmp_path):
    from vidcv.ui.settings import Settings, can_remember

    settings = Settings()
    assert not settings.remember_source(SECRET_URL)
    settings.last_source = "rtsp://cam.local/stream?user=admin&password=hunter2"
    assert settings.last_source == ""
    assert settings.remember_source("rtsp://cam.local/stream") and settings.last_source == "rtsp://cam.local/stream"
    settings.sync()
    assert "hunter2" not in ini_text() and "secret" not in ini_text()
    assert can_remember("pattern:320x240@30") and can_remember(str(tmp_path / "clip.mp4"))


def test_credentials_an_older_vidcv_saved_are_dropped_at_start(qtbot):
    from vidcv.ui.app import build_parser, initial_session
    from vidcv.ui.session import Session
    from vidcv.ui.settings import Settings, open_settings

    raw = open_settings()  # as an older vidcv wrote it
    raw.setValue("session/source", SECRET_URL)
    raw.sync()
    source, preset = initial_session(build_parser().parse_args([]), Settings(), Session())
    assert (source, preset) == (sample_video(), "edges")  # the first start's sample, not the stream
    Settings().sync()
    assert "secret" not in ini_text()
    assert (
        QSettings(os.path.join(os.environ["VIDCV_CONFIG_DIR"], "vidcv.ini"), QSettings.Format.IniFormat).value(
            "session/source"
        )
        is None
    )
