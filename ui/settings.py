"""Persistent settings (last source, pipeline, recent presets, window layout, and the Events panel: whether it
was open, where and how it keeps scene events) in QSettings.

A source with credentials in it (``rtsp://user:password@cam/x``) is never written: the settings file is
plain text.

``VIDCV_CONFIG_DIR`` points them at a folder of its own (tests, portable installs). Read-only settings
(``--screenshot`` runs) read what was saved and write nothing, so that they leave the user's session alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import cast

from PySide6.QtCore import QByteArray, QSettings

from vidcv.fileio import LinkRefused, refuse_link
from vidcv.redact import redact

log = logging.getLogger(__name__)

MAX_RECENT = 8


def open_settings() -> QSettings:
    folder = os.environ.get("VIDCV_CONFIG_DIR")
    if folder:
        return QSettings(os.path.join(folder, "vidcv.ini"), QSettings.Format.IniFormat)
    return QSettings("vidcv", "vidcv")


def can_remember(spec: str) -> bool:
    """Whether ``spec`` may be written to the settings: it holds no user name, password or secret query value."""
    return redact(spec) == spec


def absolute_source(spec: str) -> str:
    """A file or folder given by a relative path, made absolute (so that the window reopens it when started
    from another folder); any other source (a camera, a URL, a pattern) as it is."""
    if spec and not os.path.isabs(spec) and "://" not in spec and os.path.exists(spec):
        return os.path.abspath(spec)
    return spec


class Settings:
    """Typed access to what vidcv remembers between runs."""

    def __init__(self, read_only: bool = False) -> None:
        self.q = open_settings()
        self.read_only = read_only
        #: why the settings are not saved this session (Qt would write through a link at the settings file)
        self.refused: str | None = None
        try:
            refuse_link(self.q.fileName())
        except LinkRefused as exc:
            self.refused, self.read_only = str(exc), True
            log.warning("%s; the settings are read but not saved this session", exc)

    def _str(self, key: str) -> str:
        value = self.q.value(key, "")
        return value if isinstance(value, str) else ""

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) else None

    def _set(self, key: str, value: object) -> None:
        if not self.read_only:
            self.q.setValue(key, value)

    @property
    def last_source(self) -> str:
        """The source to reopen; one with credentials that an older vidcv saved is neither used nor kept."""
        spec = self._str("session/source")
        if spec and not can_remember(spec):
            if not self.read_only:
                self.q.remove("session/source")
            return ""
        return spec

    @last_source.setter
    def last_source(self, spec: str) -> None:
        self.remember_source(spec)

    def remember_source(self, spec: str) -> bool:
        """Remember ``spec`` as the source to reopen, unless it holds credentials (then False: the one
        remembered before stays)."""
        if not can_remember(spec):
            return False
        self._set("session/source", absolute_source(spec))
        return True

    @property
    def last_pipeline_yaml(self) -> str:
        return self._str("session/pipeline_yaml")

    @property
    def last_preset_path(self) -> str:
        return self._str("session/preset_path")

    def remember_pipeline(self, yaml_text: str, preset_path: str) -> None:
        self._set("session/pipeline_yaml", yaml_text)
        self._set("session/preset_path", preset_path)

    @property
    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @property
    def window_state(self) -> QByteArray | None:
        """The docks' places and sizes (QMainWindow.saveState)."""
        return self._bytes("window/state")

    def remember_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)

    def recent_presets(self) -> list[str]:
        value = self.q.value("presets/recent", [])
        # a list as QSettings reads it back: a list, one string or nothing
        items = [value] if isinstance(value, str) else list(cast("Iterable[object]", value or []))
        return [p for p in items if isinstance(p, str) and p][:MAX_RECENT]

    def add_recent_preset(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [path, *(p for p in self.recent_presets() if p != path)][:MAX_RECENT]
        self._set("presets/recent", items)

    @property
    def events_folder(self) -> str:
        """Where the events panel keeps events.jsonl and the clips ("" until one was chosen: the default)."""
        return self._str("events/folder")

    def _seconds(self, key: str, default: float) -> float:
        value = self.q.value(key, default)
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default
        return seconds if 0 <= seconds <= 3600 else default

    @property
    def events_pre(self) -> float:
        """Seconds of video a clip keeps before its event."""
        return self._seconds("events/pre", 5.0)

    @property
    def events_post(self) -> float:
        """Seconds of video a clip keeps after its event."""
        return self._seconds("events/post", 5.0)

    @property
    def events_panel_open(self) -> bool:
        """Whether the Events panel was open when the window closed last (it opens again)."""
        return self._str("events/panel_open") == "true"

    @events_panel_open.setter
    def events_panel_open(self, on: bool) -> None:
        self._set("events/panel_open", "true" if on else "false")

    def remember_events(self, folder: str, pre_s: float, post_s: float) -> None:
        self._set("events/folder", folder)
        self._set("events/pre", float(pre_s))
        self._set("events/post", float(post_s))

    def sync(self) -> None:
        if not self.read_only:
            self.q.sync()
