"""Writing files so that a reader never sees half of one: one temporary-name convention, then a rename.

Every file vidcv writes (presets, statistics, detection logs, videos, image sequences, snapshots, dataset
images and labels, GUI session files) is written under ``partial_name(path)`` beside its final name and
renamed when complete, so a crash leaves either the previous file or a ``.NAME.partial.EXT`` leftover,
never a half-written file under the final name.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from vidcv.errors import OutputError

PARTIAL_MARK = ".partial"
_PRINTF_FIELD = re.compile(r"%[-+ #0]*\d*[diouxX]")  # the frame-number field of an image pattern


def partial_name(path: str) -> str:
    """The temporary name beside ``path``: hidden, marked ``.partial``, keeping the extension (OpenCV and
    FFmpeg pick the format from it): ``out/clip.mp4`` -> ``out/.clip.partial.mp4``."""
    head, tail = os.path.split(path)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f".{stem}{PARTIAL_MARK}{ext}")


def is_partial(name: str) -> bool:
    """True for a file name made by ``partial_name`` (a leftover of a write that did not finish)."""
    return name.startswith(".") and PARTIAL_MARK in name


def remove_stale_partials(target: str) -> list[str]:
    """Remove what earlier writes of ``target`` left when they were killed before their rename (SIGKILL, power
    loss), and return the paths removed. ``target`` is a file (its temporary file), a printf image pattern such
    as ``out/f_%05d.png`` (the temporary files of its names) or a folder (the temporary files in it). A run
    calls this before it writes ``target`` again: two runs writing one output at once would overwrite each
    other's temporary file anyway."""
    if "%" in target:
        head, tail = os.path.split(target)
        stem, ext = os.path.splitext(tail)
        wild = "*".join(glob.escape(p) for p in _PRINTF_FIELD.split(stem))
        candidates = glob.glob(os.path.join(glob.escape(head), f".{wild}{PARTIAL_MARK}{glob.escape(ext)}"))
    elif os.path.isdir(target):
        candidates = [os.path.join(target, n) for n in os.listdir(target) if is_partial(n)]
    else:
        candidates = [partial_name(target)]
    removed = []
    for path in sorted(candidates):
        if os.path.isfile(path):
            try:
                os.remove(path)
            except OSError:
                continue  # not ours to remove (permissions): the write that follows says what is wrong
            removed.append(path)
    return removed


def ensure_parent(path: str) -> None:
    """Create the folder of ``path``; OutputError saying which folder and why when that is impossible."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}: permission denied (choose another output path)")


def commit(path: str) -> None:
    """Rename the finished temporary file of ``path`` to ``path``."""
    os.replace(partial_name(path), path)


def discard(path: str) -> None:
    """Remove the temporary file of ``path`` if there is one."""
    try:
        os.remove(partial_name(path))
    except FileNotFoundError:
        pass


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield the temporary name to write ``path`` under; renamed on success, removed on an exception."""
    ensure_parent(path)
    tmp = partial_name(path)
    try:
        yield tmp
    except BaseException:
        discard(path)
        raise
    os.replace(tmp, path)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through its temporary name; OutputError naming the file and the
    reason (disk full, permission) when it cannot be written."""
    try:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through its temporary name."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


class AtomicTextFile:
    """A text file written line by line under its temporary name (a log), renamed by ``close``."""

    def __init__(self, path: str) -> None:
        ensure_parent(path)
        self.path = path
        self._fh: IO[str] = open(partial_name(path), "w", encoding="utf-8")

    def write(self, text: str) -> None:
        self._fh.write(text)

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def close(self) -> None:
        """Flush and rename to the final name (once)."""
        if self._fh.closed:
            return
        self._fh.close()
        commit(self.path)
