"""Recordings and detection logs cut short: what a run killed outright (SIGKILL, a crash, a power loss) left in a
folder, found so that the window and ``vidcv run`` can say where it is.

A recording or a log grows under ``NAME.partial.EXT`` beside its final name (``fileio.visible_partial_name``) and
takes its final name only at a clean end, so a file of that name which no live vidcv holds open
(``fileio.in_use``) was cut short. A fragmented MP4 plays up to its last whole fragment, an MKV to where it
stopped, a log holds every whole line. Files named ``.NAME.partial.EXT`` by vidcvs before these names were
visible are found too. Nothing here changes a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vidcv.fileio import in_use, is_partial, is_visible_partial
from vidcv.media.mp4 import playable_prefix

#: the extensions of a detection log that is looked for (``--detections-jsonl``)
LOG_EXTENSIONS = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class Leftover:
    """One file cut short: a ``recording`` with the ``seconds`` that play (0: nothing plays), or a ``log``
    with its whole ``lines``."""

    path: str
    kind: str
    seconds: float = 0.0
    lines: int = 0

    @property
    def playable(self) -> bool:
        return self.kind == "recording" and self.seconds > 0

    def detail(self) -> str:
        """``12 s, playable``, ``nothing playable``, ``340 whole lines``."""
        if self.kind == "log":
            return f"{self.lines} whole line{'s' if self.lines != 1 else ''}"
        if not self.playable:
            return "nothing playable"
        return f"{self.seconds:.0f} s, playable" if self.seconds >= 1 else f"{self.seconds:.1f} s, playable"


def _cut_short_name(name: str) -> str | None:
    """The kind of file cut short that ``name`` is (recording, log), or None."""
    if not (is_visible_partial(name) or is_partial(name)):
        return None
    from vidcv.media.encode import CONTAINERS  # PyAV's import, only where a name looks cut short

    ext = os.path.splitext(name)[1].lower()
    if ext in CONTAINERS and not name.endswith(f".faststart{ext}"):
        return "recording"
    if ext in LOG_EXTENSIONS:
        return "log"
    return None


def playable_seconds(path: str) -> float:
    """How long the recording at ``path`` plays: from its first to its last whole frame, read packet by packet
    (no decoding) up to where the file was cut (a fragmented MP4: its whole fragments); 0 when nothing plays."""
    import av

    from vidcv.media.encode import CONTAINERS, FRAGMENTED_FORMATS

    ext = os.path.splitext(path)[1].lower()
    if CONTAINERS[ext][0] in FRAGMENTED_FORMATS and playable_prefix(path)[1] == 0:
        return 0.0
    first = last = None
    rate = 30.0
    try:
        with av.open(path) as inp:
            stream = inp.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 30)
            try:
                for packet in inp.demux(stream):
                    if packet.size and packet.pts is not None:
                        t = float(packet.pts * stream.time_base)
                        first = t if first is None else min(first, t)
                        last = t if last is None else max(last, t)
            except (av.FFmpegError, OSError, EOFError):
                pass  # cut off there: what came before plays
    except (av.FFmpegError, IndexError, OSError, EOFError, ValueError):
        return 0.0
    if first is None or last is None:
        return 0.0
    return last - first + 1.0 / rate


def whole_lines(path: str) -> int:
    """The complete lines of the file at ``path`` (a line cut off by the kill is not counted)."""
    count = 0
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                count += chunk.count(b"\n")
    except OSError:
        return 0
    return count


def find_leftovers(folder: str) -> list[Leftover]:
    """The recordings and detection logs cut short in ``folder`` (not below it), by name; none when it does not
    exist. Files a live vidcv is still writing are left out."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        kind = _cut_short_name(name)
        path = os.path.normpath(os.path.join(folder, name))
        if kind is None or os.path.islink(path) or not os.path.isfile(path) or in_use(path):
            continue
        if kind == "recording":
            found.append(Leftover(path, kind, seconds=playable_seconds(path)))
        else:
            found.append(Leftover(path, kind, lines=whole_lines(path)))
    return found


def shown_path(path: str) -> str:
    """``path`` as a user reads it: the home folder as ``~``."""
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def leftovers_line(found: list[Leftover]) -> str:
    """One line that says what was cut short and where: ``a recording cut short is in
    ~/vidcv/recordings/vidcv_20261207_101500.partial.mp4 (12 s, playable)``; several are named after their
    folder (the first few); "" for none."""
    if not found:
        return ""
    if len(found) == 1:
        one = found[0]
        what = "a recording" if one.kind == "recording" else "a detection log"
        return f"{what} cut short is in {shown_path(one.path)} ({one.detail()})"
    folders = {os.path.dirname(f.path) for f in found}
    kinds = {f.kind for f in found}
    what = "recordings" if kinds == {"recording"} else "detection logs" if kinds == {"log"} else "outputs"
    named = ", ".join(f"{os.path.basename(f.path)} ({f.detail()})" for f in found[:4])
    more = f", and {len(found) - 4} more" if len(found) > 4 else ""
    where = shown_path(folders.pop()) if len(folders) == 1 else "their folders"
    return f"{len(found)} {what} cut short are in {where}: {named}{more}"
