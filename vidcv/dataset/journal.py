"""What a writer is in the middle of, so that a killed run's leftovers are known to be its own.

Before the files of a frame are written, ``DIR/.vidcv.journal`` is set to one line naming them (relative
paths, in the order they are written: the last one completes the frame) and the frame's manifest line.
The next run (``recover``) reads it back: when the last file exists, the frame is complete and its manifest
line is added if the kill came before it; otherwise the files of that frame that exist are removed. A step of
renames (``begin_moves``: a frame rejected or restored, label files rewritten for a class change) is rolled
forward instead: its sources are complete before it is journalled. Nothing
that the journal does not name is ever removed (besides vidcv's own ``.NAME.partial.EXT`` files).

``DIR/manifest.jsonl`` gets one line per kept frame, written unbuffered as soon as the frame is complete: a
crash keeps every line of the frames written before it (a line cut by a full disk is removed again).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any

from vidcv.fileio import link_on_the_way, make_dirs, open_file, refuse_link, remove, replace, truncate

JOURNAL_NAME = ".vidcv.journal"
MANIFEST_NAME = "manifest.jsonl"
TAIL_BYTES = 1 << 16  #: how much of the manifest's end is read to find its last line


def last_line(path: str) -> tuple[str | None, int]:
    """The last complete line of ``path`` (None when there is none) and the size up to its end (a line cut by a
    crash, without its newline, lies beyond that size)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            fh.seek(start)
            tail = fh.read()
    except FileNotFoundError:
        return None, 0
    end = tail.rfind(b"\n")
    if end < 0:
        return None, start
    begin = tail.rfind(b"\n", 0, end) + 1
    return tail[begin:end].decode("utf-8", "replace"), start + end + 1


def write_all(fh: IO[bytes], data: bytes) -> None:
    """Write ``data`` to an unbuffered file, however many calls it takes (OSError when the disk is full)."""
    view = memoryview(data)
    while view:
        view = view[fh.write(view) or 0 :]


def manifest_entry_name(line: str | None) -> str | None:
    try:
        entry = json.loads(line) if line else None
    except ValueError:
        return None
    return entry.get("name") if isinstance(entry, dict) else None


class Journal:
    """The in-flight frame of one writer (see the module), and its manifest."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.path = os.path.join(root, JOURNAL_NAME)
        self.manifest_path = os.path.join(root, MANIFEST_NAME)
        self._fh: IO[bytes] | None = None
        self._manifest: IO[bytes] | None = None
        self._manifest_cut = False  #: the last manifest line failed half written
        self.in_flight = False  #: a frame was begun and is neither complete nor undone
        #: called by ``recover`` with the class names of a renaming step it rolled forward (the dataset saves them)
        self.on_names: Callable[[list[str]], None] | None = None

    def recover(self) -> int:
        """Finish or undo the frame a killed run was writing; the number of files removed."""
        removed = 0
        refuse_link(self.path)
        refuse_link(self.manifest_path)
        self._trim_manifest()
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            return 0
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                if "moves" in entry:
                    self._finish_moves(entry)
                    continue
                files = [self._inside(f) for f in entry["files"]]
                manifest = entry["manifest"]
            except (ValueError, KeyError, TypeError):
                continue  # a journal line cut by the kill (its files were not written yet), or not vidcv's
            if files and os.path.exists(files[-1]):
                if manifest_entry_name(last_line(self.manifest_path)[0]) != manifest.get("name"):
                    self.append_manifest(manifest)
                continue
            for path in files:
                if os.path.isfile(path):
                    removed += remove(path)  # a link there is refused
        self.clear()
        return removed

    def _finish_moves(self, entry: dict[str, Any]) -> None:
        """Roll a step of renames forward: each source still there goes to its destination, then the manifest
        line (once) and the names of data.yaml the step set."""
        moves = [(self._inside(src), self._inside(dst)) for src, dst in entry["moves"]]
        for src, dst in moves:
            if os.path.lexists(src):
                make_dirs(os.path.dirname(dst), below=self.root)
                replace(src, dst)
        manifest = entry.get("manifest")
        if isinstance(manifest, dict) and manifest_entry_name(last_line(self.manifest_path)[0]) != manifest.get("name"):
            self.append_manifest(manifest)
        if isinstance(entry.get("names"), list) and self.on_names is not None:
            self.on_names([str(n) for n in entry["names"]])

    def begin_moves(
        self, moves: list[tuple[str, str]], manifest: dict[str, Any] | None = None, names: list[str] | None = None
    ) -> None:
        """Record a step of renames (relative paths, every source already complete) that the next run rolls
        forward when this one is killed half way, with its manifest line and the class names it sets."""
        fh = self._fh
        if fh is None:
            fh = self._fh = open_file(self.path, "wb", buffering=0)
        fh.seek(0)
        fh.truncate()
        self.in_flight = True
        step: dict[str, Any] = {"moves": [list(m) for m in moves]}
        if manifest is not None:
            step["manifest"] = manifest
        if names is not None:
            step["names"] = names
        write_all(fh, (json.dumps(step) + "\n").encode())

    def _inside(self, rel: object) -> str:
        """The path of a file the journal names, which must be a plain relative path inside the dataset (a
        journal written by someone else names no file outside it); ValueError otherwise."""
        if (
            not isinstance(rel, str)
            or not rel
            or os.path.isabs(rel)
            or os.pardir in rel.split("/")
            or os.pardir in rel.split(os.sep)
        ):
            raise ValueError(f"not a file of the dataset: {rel!r}")
        if link := link_on_the_way(self.root, rel):  # a folder planted as a link leads out of the dataset
            raise ValueError(f"a link on the way to {rel!r}: {link}")
        return os.path.join(self.root, rel)

    def _trim_manifest(self) -> None:
        """Remove a last manifest line cut short (a full disk, a crash in the middle of the write)."""
        try:
            size = os.path.getsize(self.manifest_path)
        except FileNotFoundError:
            return
        _, complete = last_line(self.manifest_path)
        if complete < size:
            truncate(self.manifest_path, complete)

    def begin(self, files: list[str], manifest: dict[str, Any]) -> None:
        """Record the frame about to be written: ``files`` relative to the dataset, the completing one last."""
        fh = self._fh
        if fh is None:
            fh = self._fh = open_file(self.path, "wb", buffering=0)  # open for the session
        fh.seek(0)
        fh.truncate()
        self.in_flight = True
        write_all(fh, (json.dumps({"files": files, "manifest": manifest}) + "\n").encode())

    def done(self) -> None:
        """The frame begun last is complete (or undone): nothing for the next run to finish."""
        self.in_flight = False

    def append_manifest(self, entry: dict[str, Any]) -> None:
        """Add one manifest line, written at once (unbuffered). A line that fails half written is cut off again
        before the next one, and by the next run when there is no next one."""
        if self._manifest is None or self._manifest_cut:
            self._trim_manifest()
            self._manifest_cut = False
        manifest = self._manifest
        if manifest is None:
            manifest = self._manifest = open_file(self.manifest_path, "ab", buffering=0)  # open for the session
        try:
            write_all(manifest, (json.dumps(entry) + "\n").encode())
        except OSError:
            self._manifest_cut = True
            raise

    def close(self) -> None:
        """Close the journal and the manifest (nothing is buffered); the journal file stays as it is."""
        for fh in (self._fh, self._manifest):
            if fh is not None:
                fh.close()
        self._fh = self._manifest = None

    def clear(self) -> None:
        """The end of a session: the journal file goes, unless a frame is still in flight (then the next run
        finishes or undoes it)."""
        self.close()
        if self.in_flight:
            return
        remove(self.path)
