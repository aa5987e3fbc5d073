"""Event clips with pre-roll: the last seconds of video kept encoded, written out as a clip when asked.

``PacketEncoder`` encodes BGR frames to H.264 packets (libx264, no lookahead: a frame's packet comes out with
it) with a keyframe exactly every ``gop`` frames, so that which frame starts a clip is known from the frame
count alone. ``ClipFile`` writes packets into a fragmented MP4 under its visible partial name
(``NAME.partial.mp4``, a fragment per keyframe: a clip cut short by a kill plays up to its last whole second)
and renames it when finished. ``PacketRing`` holds the packets back to the newest keyframe at least
``keep_ms`` old, so that a clip for an event at ``t`` can start at the keyframe at or before ``t - pre``.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

from vidcv.fileio import commit_visible, open_visible_partial, remove, visible_partial_name, writer_path
from vidcv.media.encode import FRAGMENT_FLAGS, X264_PRESET, even_size

#: packet timestamps are in milliseconds of the source's timeline
TIME_BASE = Fraction(1, 1000)
_CRF = {"low": "28", "medium": "23", "high": "18"}


@dataclass(frozen=True)
class Encoded:
    """One encoded frame, held as bytes (muxing takes a packet's data: each clip muxes its own copy)."""

    data: bytes
    pts_ms: int
    dts_ms: int
    key: bool

    def packet(self) -> av.Packet[Any]:
        p = av.Packet(self.data)
        p.pts, p.dts, p.time_base, p.is_keyframe = self.pts_ms, self.dts_ms, TIME_BASE, self.key
        return p


class PacketEncoder:
    """BGR frames in, H.264 packets out at once, a keyframe every ``gop`` frames (scene cuts add none)."""

    def __init__(self, size_wh: tuple[int, int], fps: float, gop: int, quality: str = "medium") -> None:
        self.size_wh = even_size(*size_wh)
        # the codec's parameters (its avcC header) are what every clip's stream is made from: an MP4 muxer on
        # a memory buffer opens the encoder with a global header and writes only its own header there
        self._holder = av.open(io.BytesIO(), "w", format="mp4")
        stream = self._holder.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = self.size_wh
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        cc.time_base = TIME_BASE
        cc.gop_size = gop
        cc.options = {
            "preset": X264_PRESET,
            "crf": _CRF.get(quality, "23"),
            "tune": "zerolatency",  # no lookahead, no B-frames: each frame's packet comes out with it
            "x264-params": f"scenecut=0:keyint={gop}:min-keyint={gop}",
        }
        cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = 6, 1, 6, 6  # what cv2's BGR->I420 makes
        cc.open()
        self._holder.start_encoding()
        self.stream = stream
        self.frames = 0

    def encode(self, image: np.ndarray, pts_ms: int) -> list[Encoded]:
        w, h = self.size_wh
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape[1] != w or image.shape[0] != h:
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        yuv: np.ndarray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, "yuv420p")
        frame.pts, frame.time_base = pts_ms, TIME_BASE
        self.frames += 1
        return self._packets(self.stream.encode(frame))

    def flush(self) -> list[Encoded]:
        return self._packets(self.stream.encode(None))

    @staticmethod
    def _packets(packets: Iterable[av.Packet[av.VideoStream]]) -> list[Encoded]:
        return [
            Encoded(bytes(p), int(p.pts or 0), int(p.dts if p.dts is not None else p.pts or 0), bool(p.is_keyframe))
            for p in packets
        ]

    def close(self) -> None:
        try:
            self._holder.close()
        except (av.FFmpegError, OSError, ValueError):
            pass


class PacketRing:
    """Encoded frames of the last seconds: back to the newest keyframe at least ``keep_ms`` older than the
    newest frame (so a clip may start up to one GOP before ``t - keep_ms``)."""

    def __init__(self, keep_ms: float) -> None:
        self.keep_ms = keep_ms
        self._items: deque[Encoded] = deque()

    def add(self, items: Iterable[Encoded]) -> None:
        self._items.extend(items)
        if not self._items:
            return
        horizon = self._items[-1].pts_ms - self.keep_ms
        keys = [i for i, e in enumerate(self._items) if e.key and e.pts_ms <= horizon]
        for _ in range(keys[-1] if keys else 0):
            self._items.popleft()

    def since(self, pts_ms: float) -> Iterator[Encoded]:
        """The frames from the newest keyframe at or before ``pts_ms`` (the oldest keyframe held when none is)."""
        items = list(self._items)
        keys = [i for i, e in enumerate(items) if e.key]
        if not keys:
            return iter(())
        before = [i for i in keys if items[i].pts_ms <= pts_ms]
        return iter(items[(before[-1] if before else keys[0]) :])

    def __len__(self) -> int:
        return len(self._items)


class ClipFile:
    """One clip: a fragmented MP4 growing under ``NAME.partial.mp4``, renamed to ``path`` by ``finish``."""

    def __init__(self, path: str, template: av.VideoStream) -> None:
        self.path = path
        self.partial = visible_partial_name(path)
        self._fd = open_visible_partial(path)  # locked while open: in use, not cut short
        try:
            options = {"movflags": FRAGMENT_FLAGS, "flush_packets": "1"}
            self._container = av.open(writer_path(self._fd, self.partial), "w", format="mp4", options=options)
            self._stream = self._container.add_stream_from_template(template)
        except BaseException:
            os.close(self._fd)
            remove(self.partial)
            raise
        self.first_ms: int | None = None
        self.last_ms = -1
        self.frames = 0

    def write(self, item: Encoded) -> None:
        if item.pts_ms <= self.last_ms:
            return  # already written (a ring frame the clip holds)
        packet = item.packet()
        packet.stream = self._stream
        self._container.mux(packet)
        self.first_ms = item.pts_ms if self.first_ms is None else self.first_ms
        self.last_ms = item.pts_ms
        self.frames += 1

    def finish(self) -> None:
        """Write the end and take the final name."""
        try:
            self._container.close()
            commit_visible(self.path)
        finally:
            os.close(self._fd)

    def abort(self) -> None:
        """Close after a failure: what was written stays under the partial name (it plays to its last fragment)."""
        try:
            self._container.close()
        except (av.FFmpegError, OSError, ValueError):
            pass
        finally:
            os.close(self._fd)
