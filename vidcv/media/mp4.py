"""The top-level structure of a fragmented MP4: how much of a file that was cut short is whole.

A fragmented MP4 is ``ftyp``, an empty ``moov``, then one ``moof`` + ``mdat`` pair per fragment (and an
``mfra`` index once closed cleanly). When a write stops in the middle (SIGKILL, a full disk), every pair
before the cut is complete and plays; the rest is cut off here so that no player meets half a box.
"""

from __future__ import annotations

import os
import struct
from typing import NamedTuple

from vidcv.fileio import truncate


class Box(NamedTuple):
    """One top-level box: its four-letter type, where it starts and how many bytes it spans."""

    kind: str
    offset: int
    size: int


def top_level_boxes(path: str) -> tuple[list[Box], bool]:
    """The complete top-level boxes of ``path`` in order, and whether the file ends exactly after the last."""
    total = os.path.getsize(path)
    boxes: list[Box] = []
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= total:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:  # a 64-bit size follows the type
                if offset + 16 > total:
                    break
                (size,) = struct.unpack(">Q", fh.read(8))
            elif size == 0:  # "to the end of the file": whole only if nothing was lost, which cannot be told
                break
            if size < 8 or offset + size > total:
                break
            boxes.append(Box(kind.decode("latin-1"), offset, size))
            offset += size
    return boxes, bool(boxes) and boxes[-1].offset + boxes[-1].size == total


def playable_prefix(path: str) -> tuple[int, int]:
    """``(bytes, fragments)``: the length of the leading part of ``path`` that a player reads whole (the
    header and every complete ``moof`` + ``mdat`` pair), and how many fragments it holds. ``(0, 0)`` when
    not even the header is whole."""
    boxes, _ = top_level_boxes(path)
    kinds = [b.kind for b in boxes]
    if "ftyp" not in kinds[:1] or "moov" not in kinds:
        return 0, 0
    end = boxes[kinds.index("moov")].offset + boxes[kinds.index("moov")].size
    fragments = 0
    i = kinds.index("moov") + 1
    while i < len(boxes):
        box = boxes[i]
        if box.kind == "moof":
            if i + 1 < len(boxes) and boxes[i + 1].kind == "mdat":
                fragments += 1
                end = boxes[i + 1].offset + boxes[i + 1].size
                i += 2
                continue
            break  # a moof whose media did not make it
        if box.kind == "mdat" or box.kind in (
            "mfra",
            "free",
            "skip",
            "udta",
            "meta",
            "sidx",
            "styp",
        ):  # media of a plain (unfragmented) MP4, described by its moov
            end = box.offset + box.size
        i += 1
    return end, fragments


def cut_to_playable(path: str) -> tuple[int, int]:
    """Truncate ``path`` to its playable prefix (freeing the space the cut part took); returns
    ``(bytes kept, fragments kept)``."""
    end, fragments = playable_prefix(path)
    if os.path.getsize(path) != end:
        truncate(path, end)
    return end, fragments


def _children(data: bytes, start: int, end: int):  # type: ignore[no-untyped-def]
    """``(type, payload start, end)`` of each box inside ``data[start:end]``."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= end:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind.decode("latin-1"), offset + header, offset + size
        offset += size


def sample_count(path: str) -> int | None:
    """How many samples (frames) the index of a plain MP4 lists for its first track (``moov/trak/.../stsz``);
    None when the file has no whole index. A fragmented file's index lists none: its samples are in the
    fragments."""
    data = _index(path)
    if data is None:
        return None
    span = _box_path(data, (0, len(data)), ("moov", "trak", "mdia", "minf", "stbl", "stsz"))
    if span is None:
        return None
    start, end = span
    if end - start < 12:
        return None
    size: int = struct.unpack_from(">I", data, start + 8)[0]  # after version/flags and the common sample size
    return size


def ended_cleanly(path: str) -> bool:
    """True when a fragmented MP4 was closed whole: every box complete, the closing ``mfra`` index last."""
    boxes, exact = top_level_boxes(path)
    return exact and bool(boxes) and boxes[-1].kind == "mfra"


#: an index larger than this is not read to pick a decoder (an hours-long recording's); the decoder probes it
MAX_INDEX_BYTES = 64 * 1024 * 1024


def video_track(path: str) -> tuple[str, int, int] | None:
    """``(sample entry, width, height)`` of the first video track of an MP4 or QuickTime file, read from its
    index (``moov/trak``: the ``hdlr`` says ``vide``, ``stbl/stsd`` holds the entry), without decoding
    anything: ``("avc1", 640, 360)``, the size as coded. None for another kind of file, or an index that does
    not say."""
    try:
        data = _index(path, MAX_INDEX_BYTES)
    except OSError:
        return None
    if data is None:
        return None
    moov = _box_path(data, (0, len(data)), ("moov",))
    if moov is None:
        return None
    for kind, start, end in _children(data, *moov):
        if kind != "trak":
            continue
        hdlr = _box_path(data, (start, end), ("mdia", "hdlr"))
        if not hdlr or hdlr[1] - hdlr[0] < 12 or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue  # after version/flags and pre_defined: the handler's type
        stsd = _box_path(data, (start, end), ("mdia", "minf", "stbl", "stsd"))
        if not stsd or stsd[1] - stsd[0] < 8 + 36:
            return None
        entry = stsd[0] + 8  # after version/flags and the entry count: the first sample entry
        (kind_bytes,) = struct.unpack_from(">4s", data, entry + 4)
        width, height = struct.unpack_from(">HH", data, entry + 32)  # after 24 bytes of the visual entry
        return kind_bytes.decode("latin-1"), int(width), int(height)
    return None


def _index(path: str, limit: int | None = None) -> bytes | None:
    """The whole ``moov`` box of ``path`` (its index), or None where there is none whole, or one over
    ``limit`` bytes."""
    boxes, _ = top_level_boxes(path)
    moov = next((b for b in boxes if b.kind == "moov"), None)
    if moov is None or (limit is not None and moov.size > limit):
        return None
    with open(path, "rb") as fh:
        fh.seek(moov.offset)
        return fh.read(moov.size)


def _box_path(data: bytes, span: tuple[int, int], kinds: tuple[str, ...]) -> tuple[int, int] | None:
    """The payload ``(start, end)`` of the box reached from ``span`` through the first box of each of ``kinds``
    in turn (``("mdia", "minf", "stbl")``), or None where one is missing."""
    for kind in kinds:
        found = next(((s, e) for k, s, e in _children(data, *span) if k == kind), None)
        if found is None:
            return None
        span = found
    return span
