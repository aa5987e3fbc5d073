"""Sources, chosen from one SOURCE string.

========================  =============================================================
SOURCE                    opens
========================  =============================================================
``video.mp4``             a video file (every frame, in order)
``0``, ``camera:0``       a camera by index; ``/dev/video0`` by device path;
                          ``camera:"HD Pro Webcam C920"`` by the name `vidcv sources` shows
``rtsp://...``            a network stream (http(s), udp, rtmp, srt, ...), reconnecting
``frames/``, ``*.png``    an image folder or glob (natural order); one image file too
``pattern:``              a synthetic moving test pattern; ``pattern:1280x720@30``
``env:NAME``, ``@FILE``   the SOURCE held by an environment variable or a file, kept off the
                          command line (``vidcv.sources.reference``)
========================  =============================================================
"""

from __future__ import annotations

import glob
import importlib
import os
import re
from typing import Any
from urllib.parse import urlsplit

from vidcv.errors import SourceError
from vidcv.redact import redact
from vidcv.sources.base import Source
from vidcv.sources.reference import resolve_spec, shown

# Each kind of source is imported only when used, so that `vidcv run file.mp4` starts fast.
_LAZY = {
    "CameraInfo": "camera",
    "CameraSource": "camera",
    "list_cameras": "camera",
    "FileSource": "file",
    "ImageFolderSource": "images",
    "IMAGE_EXTENSIONS": "images",
    "PatternSource": "pattern",
    "StreamSource": "stream",
    "STREAM_SCHEMES": "stream",
}

__all__ = [*_LAZY, "Source", "check_url_syntax", "open_source", "parse_source", "resolve_source", "resolve_spec"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"vidcv.sources.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vidcv.sources' has no attribute {name!r}")


_PATTERN = re.compile(r"^pattern:(?:(\d+)x(\d+))?(?:@(\d+(?:\.\d+)?))?$")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

HELP = (
    "give a video file, an image folder or glob, a camera index such as 0 (or camera:0, /dev/video0, "
    "camera:NAME), "
    "a stream URL such as rtsp://HOST/path, or pattern: for a test pattern; env:NAME or @FILE for one "
    "held by an environment variable or a file"
)


def check_url_syntax(url: str) -> None:
    """SourceError, in one line without the credentials, for a URL that cannot be parsed: an unclosed IPv6
    bracket (``rtsp://[::1:9/x``), a port that is no number or out of range."""
    try:
        parts = urlsplit(url)
    except ValueError:  # Python's message may quote part of the host, where a mistyped password can end
        raise SourceError(
            f"bad URL {redact(url)}: its host cannot be read (an IPv6 address goes in closed "
            "brackets, e.g. rtsp://[::1]:554/path; characters such as @ / [ in a password are "
            "written %40 %2F %5B)"
        ) from None
    try:
        if parts.port == 0:
            raise ValueError("port 0")
    except ValueError:
        raise SourceError(
            f"bad URL {redact(url)}: its port is not a number from 1 to 65535 (expected e.g. "
            "rtsp://HOST:554/path; a / in a password is written %2F)"
        ) from None


def parse_source(spec: str, **options: Any) -> Source:
    """Build the (unopened) source that ``spec`` names, or raise SourceError saying what is accepted.
    ``options`` go to the constructor of the kind of source chosen (e.g. ``decode_threads`` for a file).
    ``env:NAME`` and ``@FILE`` are read here (``resolve_spec``), and an error names them, not their value."""
    reference = spec.strip()
    value = resolve_spec(reference)
    if value == reference:
        return _parse(reference, **options)
    try:
        return _parse(value, **options)
    except SourceError as exc:
        raise SourceError(str(exc).replace(value, shown(reference, value))) from None


def _parse(spec: str, **options: Any) -> Source:
    spec = spec.strip()
    if not spec:
        raise SourceError(f"empty SOURCE: {HELP}")
    if spec.startswith("pattern:"):
        match = _PATTERN.match(spec)
        if not match:
            raise SourceError(
                f"bad test pattern '{spec}': use pattern:, pattern:WIDTHxHEIGHT or "
                "pattern:WIDTHxHEIGHT@FPS, e.g. pattern:1280x720@30"
            )
        width, height, fps = int(match[1] or 640), int(match[2] or 480), float(match[3] or 30)
        if not (16 <= width <= 8192 and 16 <= height <= 8192 and 0 < fps <= 1000):
            raise SourceError(f"bad test pattern '{spec}': size must be 16..8192 pixels and fps 1..1000")
        from vidcv.sources.pattern import PatternSource

        return PatternSource(spec, width, height, fps)
    camera = re.fullmatch(r"(?:camera:)?(\d+)", spec)
    if camera or spec.startswith("/dev/video"):
        from vidcv.sources.camera import CameraSource
    if camera:
        return CameraSource(int(camera[1]), spec=spec, **options)
    if spec.startswith("/dev/video"):
        return CameraSource(spec, spec=spec, **options)
    if spec.startswith("camera:"):  # by the name `vidcv sources` shows: camera:"HD Pro Webcam C920"
        from vidcv.sources.camera import CameraSource

        name = spec[len("camera:") :].strip().strip("\"'").strip()
        if not name:
            raise SourceError(f"'{spec}' names no camera: {HELP}")
        return CameraSource(name=name, spec=spec, **options)
    url = _URL.match(spec)
    if url:
        if url[1].lower() == "file":
            return _parse(spec[len("file://") :], **options)
        check_url_syntax(spec)
        from vidcv.sources.stream import StreamSource

        return StreamSource(spec, **options)  # it checks the scheme and the host
    from vidcv.sources.images import IMAGE_EXTENSIONS, ImageFolderSource

    path = os.path.expanduser(spec)
    if os.path.isdir(path) or glob.has_magic(path):
        return ImageFolderSource(path, **options)
    if not os.path.exists(path):
        raise SourceError(f"no such file or folder: {spec} ({HELP})")
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return ImageFolderSource(path, **options)
    from vidcv.sources.file import FileSource

    return FileSource(path, **options)


def resolve_source(spec: str) -> str:
    """The SOURCE that ``env:NAME`` or ``@FILE`` stands for (``spec`` itself otherwise), once it is known to
    parse: a caller that goes on with the value (a dataset's names, an output checked against its input) gets
    its SourceError naming the reference, never the value. Never print the result (``redact`` it)."""
    value = resolve_spec(spec)
    if value != spec:
        parse_source(spec)  # builds the source without opening it: the reference's own errors
    return value


def open_source(spec: str, **options: Any) -> Source:
    """Parse ``spec`` and open the source (errors name the problem and the fix)."""
    source = parse_source(spec, **options)
    source.open()
    return source
