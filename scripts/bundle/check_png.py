"""Whether a screenshot of the window shows a video frame: ``python3 check_png.py SHOT.png``.

The standard library alone (the bundle smoke test runs it with whichever python3 the machine has): it decodes
the PNG (8-bit, not interlaced, as Qt writes it) and counts, on every other pixel of every other row, the
distinct colours and the saturated pixels (max - min channel > 80). The window around no video has about
1,500 colours and 0.3 % saturated pixels at 1280x800; with the sample's frame about 39,000 and 18 %. A blank,
black or frameless window fails (exit status 1).
"""

from __future__ import annotations

import struct
import sys
import zlib

MIN_COLOURS = 5000
MIN_SATURATED = 0.02


def decode(path: str) -> tuple[int, int, int, list[bytearray]]:
    """(width, height, channels, rows of bytes) of an 8-bit, non-interlaced PNG."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, head = 8, [], None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if head is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = head
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour_type)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"a PNG this check does not read (depth {depth}, colour type {colour_type})")
    raw, stride, bpp = zlib.decompress(b"".join(idat)), width * channels, channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        kind_of_filter = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind_of_filter == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind_of_filter == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind_of_filter == 3:  # Average
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind_of_filter == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def main(path: str) -> int:
    try:
        width, height, channels, rows = decode(path)
    except (OSError, ValueError, zlib.error) as exc:
        print(f"check_png: {path}: {exc}", file=sys.stderr)
        return 1
    colours: set[tuple[int, ...]] = set()
    saturated = seen = 0
    for line in rows[::2]:
        for x in range(0, width * channels, 2 * channels):
            pixel = tuple(line[x : x + min(channels, 3)])
            colours.add(pixel)
            saturated += max(pixel) - min(pixel) > 80
            seen += 1
    share = saturated / max(1, seen)
    ok = len(colours) >= MIN_COLOURS and share >= MIN_SATURATED
    print(
        f"check_png: {path}: {width}x{height}, {len(colours)} colours, {share:.1%} saturated pixels: "
        + ("a video frame is shown" if ok else f"blank or no video (need {MIN_COLOURS} colours, {MIN_SATURATED:.0%})")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
