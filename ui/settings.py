"""Persistent settings (last source, pipeline, recent presets, window layout) in QSettings.

``VIDCV_CONFIG_DIR`` points them at a folder of its own (tests, portable installs).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

MAX_RECENT = 8


def open_settings() -> QSettings:
    folder = os.environ.get("VIDCV_CONFIG_DIR")
    if folder:
        return QSettings(os.path.join(folder, "vidcv.ini"), QSettings.Format.IniFormat)
    return QSettings("vidcv", "vidcv")


class Settings:
    """Typed access to what vidcv remembers between runs."""

    def __init__(self) -> None:
        self.q = open_settings()

    def _str(self, key: str) -> str:
        value = self.q.value(key, "")
        return value if isinstance(value, str) else ""

    @property
    def last_source(self) -> str:
        return self._str("session/source")

    @last_source.setter
    def last_source(self, spec: str) -> None:
        self.q.setValue("session/source", spec)

    @property
    def last_pipeline_yaml(self) -> str:
        return self._str("session/pipeline_yaml")

    @property
    def last_preset_path(self) -> str:
        return self._str("session/preset_path")

    def remember_pipeline(self, yaml_text: str, preset_path: str) -> None:
        self.q.setValue("session/pipeline_yaml", yaml_text)
        self.q.setValue("session/preset_path", preset_path)

    def recent_presets(self) -> list[str]:
        value = self.q.value("presets/recent", [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [p for p in items if isinstance(p, str) and p][:MAX_RECENT]

    def add_recent_preset(self, path: str) -> None:
        path = os.path.abspath(path)
        items = [path, *(p for p in self.recent_presets() if p != path)][:MAX_RECENT]
        self.q.setValue("presets/recent", items)

    def sync(self) -> None:
        self.q.sync()
