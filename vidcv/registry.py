"""Plugin registry: built-ins and outside packages alike come in through the ``vidcv.plugins`` entry points.

Discovery reads only package metadata; a plugin's module is imported the first time it is asked for,
so that a pipeline of classic operations never imports torch or ultralytics. A plugin that fails to
import is listed as broken with its error, and every other plugin keeps working.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any

from vidcv.errors import PluginError, error_line
from vidcv.plugin import Plugin

ENTRY_POINT_GROUP = "vidcv.plugins"
log = logging.getLogger(__name__)


@dataclass
class PluginEntry:
    """A registered plugin: where it comes from, and its class once imported (or the import error)."""

    name: str
    target: str  # "module:attribute"
    distribution: str = ""
    cls: type[Plugin] | None = None
    error: str | None = None


class Registry:
    """Name -> plugin class, loaded lazily."""

    def __init__(self, discover: bool = True) -> None:
        self._entries: dict[str, PluginEntry] = {}
        self._lock = threading.RLock()
        if discover:
            self.discover()

    def discover(self) -> None:
        """Read the entry points of every installed distribution (imports no plugin code)."""
        for name, value, dist in find_entry_points(ENTRY_POINT_GROUP):
            if name in self._entries and self._entries[name].target != value:
                log.warning(
                    "plugin name %r is registered twice (%s and %s); keeping the first",
                    name,
                    self._entries[name].target,
                    value,
                )
                continue
            self._entries.setdefault(name, PluginEntry(name, value, dist))

    def register(self, cls: type[Plugin], name: str | None = None) -> type[Plugin]:
        """Register a class directly (scripts and tests); usable as a decorator."""
        name = name or cls.name
        _check_class(cls, name)
        with self._lock:
            self._entries[name] = PluginEntry(name, f"{cls.__module__}:{cls.__qualname__}", "", cls)
        return cls

    def unregister(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name, loaded or not, sorted."""
        return sorted(self._entries)

    def get(self, name: str) -> type[Plugin]:
        """The plugin class for ``name``, importing it on first use."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                import difflib

                from vidcv.params import shown

                close = difflib.get_close_matches(name, self._entries, n=1) if len(name) <= 100 else []
                if close:  # the list of every plugin would only hide the answer
                    raise PluginError(
                        f"unknown plugin '{name}'; did you mean '{close[0]}'? (`vidcv plugins` lists them)"
                    )
                raise PluginError(f"unknown plugin {shown(name)}; the plugins are: {listed(self.names())}")
            if entry.cls is None and entry.error is None:
                self._load(entry)
            if entry.cls is None:
                raise PluginError(f"plugin '{name}' is broken: {entry.error}")
            return entry.cls

    def create(self, name: str, **values: Any) -> Plugin:
        """A new instance of plugin ``name`` with the given parameter values."""
        return self.get(name)(**values)

    def load_all(self) -> tuple[dict[str, type[Plugin]], dict[str, str]]:
        """Import every plugin: (loaded classes by name, error messages of the broken ones by name)."""
        loaded, broken = {}, {}
        for name in self.names():
            try:
                loaded[name] = self.get(name)
            except PluginError:
                broken[name] = self._entries[name].error or "unknown error"
        return loaded, broken

    def entry(self, name: str) -> PluginEntry:
        return self._entries[name]

    def _load(self, entry: PluginEntry) -> None:
        module_name, _, attr = entry.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
            _check_class(obj, entry.name)
        except Exception as exc:  # noqa: BLE001 - any import-time failure of outside code marks the plugin broken
            entry.error = error_line(exc)
            log.warning("plugin %r (%s) failed to load: %s", entry.name, entry.target, entry.error)
            return
        entry.cls = obj


def find_entry_points(group: str) -> list[tuple[str, str, str]]:
    """(name, "module:attr", distribution) of every entry point in ``group``, first distribution wins.

    Reads ``entry_points.txt`` of the ``*.dist-info``/``*.egg-info`` folders on ``sys.path`` directly:
    the same answer as ``importlib.metadata.entry_points`` in a tenth of the time (importing
    importlib.metadata pulls in email, zipfile and csv), which counts in `vidcv run`'s start-up.
    Zipped paths, which only importlib.metadata reads, send the search there.
    """
    if any(os.path.isfile(p) for p in sys.path if p):
        from importlib.metadata import entry_points

        return [(ep.name, ep.value, getattr(ep.dist, "name", "") or "") for ep in entry_points(group=group)]
    seen: set[str] = set()
    found: list[tuple[str, str, str]] = []
    for base in sys.path:
        try:
            entries = os.listdir(base or ".")
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".dist-info", ".egg-info")):
                continue
            dist = entry[: entry.rfind(".")].split("-")[0]
            key = re.sub(r"[-_.]+", "-", dist).lower()
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(os.path.join(base or ".", entry, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line.strip("[]").strip()
                elif section == group and "=" in line:
                    name, value = (part.strip() for part in line.split("=", 1))
                    found.append((name, value, dist))
    return found


def _check_class(obj: Any, name: str) -> None:
    if not (isinstance(obj, type) and issubclass(obj, Plugin)):
        raise PluginError(f"entry point '{name}' does not name a vidcv.Plugin subclass (got {obj!r})")
    if obj.name != name:
        raise PluginError(f"entry point '{name}' names a plugin whose name is '{obj.name}'; they must match")


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def listed(names: list[str], width: int = 200) -> str:
    """``a, b, c`` up to about ``width`` characters, then ``... (N in all: `vidcv plugins` lists them)``."""
    if not names:
        return "none"
    shown_names: list[str] = []
    for name in names:
        if shown_names and len(", ".join([*shown_names, name])) > width:
            return f"{', '.join(shown_names)}, ... ({len(names)} in all: `vidcv plugins` lists them)"
        shown_names.append(name)
    return ", ".join(shown_names)
