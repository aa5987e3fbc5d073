"""Scene events out of a run: ``DIR/events.jsonl`` (one line per event), a clip per event with pre-roll, and
the alert senders (webhook, MQTT) handed each event.

The events are what the stages report on each frame (``StageStatus.events``, read with
``vidcv.status.frame_events``). Each processed frame is also encoded into a ring of the last seconds
(``vidcv.media.clips``) on a thread of the sink's own; an event at ``t`` opens a clip from the keyframe at or
before ``t - pre`` (at most one GOP, a second, earlier) that runs to ``t + post``, and an event while a clip
is open extends it, so events close together share one clip. Which keyframe starts a clip is known here
from the frame count (a keyframe every GOP frames exactly), so each event's line in ``events.jsonl`` names
its clip and where it starts before the clip is written. Lines are appended with one ``write`` each: a run
killed outright keeps every event said so far, and its open clip plays up to its last whole second under
``NAME.partial.mp4``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vidcv.errors import OutputError, write_error
from vidcv.fileio import make_dirs, open_fd, unused_path
from vidcv.frame import Frame
from vidcv.sinks.base import Sink, check_writable
from vidcv.status import SceneEvent, frame_events

log = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"
#: seconds between keyframes of the clips' encoder: how much earlier than ``t - pre`` a clip may start
GOP_S = 1.0
#: frames that may wait for the clips' encoder before the sink thread waits too
QUEUE_FRAMES = 60


class EventReceiver(Protocol):
    """What takes each event's record besides the log (an alert sender): must not block."""

    def send(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class _Start:
    path: str
    from_ms: int  #: the keyframe the clip starts at (ms from the run's first frame)
    until_ms: int


@dataclass(frozen=True)
class _Extend:
    until_ms: int


#: clip paths a sink of this process has named and not yet closed: the file appears later, on the clips' thread
_NAMED: set[str] = set()
_NAMED_LOCK = threading.Lock()


def clip_name(event: SceneEvent, wall: float) -> str:
    """``20261207-102133_f000123_zone_enter_door``: when, which frame, what, where (file-name safe)."""
    parts = [time.strftime("%Y%m%d-%H%M%S", time.localtime(wall)), f"f{event.frame_index:06d}", event.kind.value]
    if event.zone:
        parts.append(event.zone)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts))[:120]


class EventsSink(Sink):
    """Writes each frame's scene events to ``folder/events.jsonl`` with a clip per event (``pre``/``post``
    seconds around it; ``clips=False``: none) and hands each record to ``receivers``. Without a ``folder``
    only the receivers get the events."""

    def __init__(
        self,
        folder: str | None,
        pre_s: float = 5.0,
        post_s: float = 5.0,
        fps: float = 30.0,
        *,
        clips: bool = True,
        quality: str = "medium",
        receivers: Sequence[EventReceiver] = (),
        source: str = "",
    ) -> None:
        if pre_s < 0 or post_s < 0:
            raise OutputError(f"--pre and --post take seconds of 0 or more (got {pre_s:g} and {post_s:g})")
        self.folder = folder
        self.pre_ms, self.post_ms = round(pre_s * 1000), round(post_s * 1000)
        self.fps = fps if fps and fps > 0 else 30.0
        self.gop = max(1, round(self.fps * GOP_S))
        self.clips_on = bool(folder) and clips
        self.quality = quality
        self.receivers = list(receivers)
        self.source = source
        self.path = os.path.join(folder, EVENTS_FILE) if folder else ""
        self.events = 0  #: events said
        self.clips: list[str] = []  #: clips begun, in order (final names)
        self.frames = 0
        self._fd: int | None = None
        if folder:
            try:
                make_dirs(folder)
            except OutputError:
                raise
            except OSError as exc:
                raise write_error(folder, exc) from None
            check_writable(self.path)
            try:
                self._fd = open_fd(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except OutputError:
                raise
            except OSError as exc:
                raise write_error(self.path, exc) from None
        self._pts0: float | None = None
        self._last_pts = -1
        self._keys: deque[int] = deque()  #: keyframes' pts (ms from the first frame) back to the pre-roll's
        self._clip_until = -1  #: where the open clip ends (ms from the first frame); -1: none open
        self._clip_from = 0  #: where it starts
        self._closed = False
        self._error: BaseException | None = None
        self._queue: queue.Queue[tuple[np.ndarray, int, list[_Start | _Extend]] | None] = queue.Queue(QUEUE_FRAMES)
        self._worker: threading.Thread | None = None
        if self.clips_on:
            self._worker = threading.Thread(target=self._work, name="vidcv-clips", daemon=True)
            self._worker.start()

    # --- the sink thread --------------------------------------------------------------------------------------
    def _pts(self, frame: Frame) -> int:
        """The frame's time in ms from the first frame, always increasing."""
        if self._pts0 is None:
            self._pts0 = float(frame.pts_ms)
        self._last_pts = max(round(frame.pts_ms - self._pts0), self._last_pts + 1)
        return self._last_pts

    def write(self, frame: Frame) -> None:
        if self._closed:
            raise OutputError(f"{self.label} is closed")
        if self._error is not None:
            raise self._failure(self._error)
        pts = self._pts(frame)
        if self.frames % self.gop == 0:
            self._keys.append(pts)
        while len(self._keys) > 1 and self._keys[1] <= pts - self.pre_ms:
            self._keys.popleft()
        orders: list[_Start | _Extend] = []
        for event in frame_events(frame.statuses):
            record = {**event.to_dict(), "time": _iso(time.time())}
            if self.source:
                record["source"] = self.source
            if self.clips_on:
                record.update(self._clip_for(event, pts, orders))
            self._say(record)
        if self.clips_on:
            self._put((frame.image, pts, orders))
        self.frames += 1

    def _clip_for(self, event: SceneEvent, pts: int, orders: list[_Start | _Extend]) -> dict[str, Any]:
        """Open a clip for ``event`` at ``pts`` or extend the open one; what its line says of the clip."""
        until = pts + self.post_ms
        assert self.folder is not None and self._pts0 is not None
        if self._clip_until < 0 or pts > self._clip_until:
            start = max([k for k in self._keys if k <= pts - self.pre_ms] or [self._keys[0]])
            path = self._new_clip_path(clip_name(event, time.time()))
            orders.append(_Start(path, start, until))
            self.clips.append(path)
            self._clip_from = start
        else:
            orders.append(_Extend(until))
        self._clip_until = max(self._clip_until, until)
        return {
            "clip": os.path.basename(self.clips[-1]),
            "clip_from_t": round((self._clip_from + self._pts0) / 1000, 4),
        }

    def _new_clip_path(self, stem: str) -> str:
        """A path no clip has: not on disk, complete or partial, nor named by a sink of this process still open
        (two sources, or the same video opened again within the second, give the same stem)."""
        assert self.folder is not None
        with _NAMED_LOCK:
            path = unused_path(os.path.abspath(os.path.join(self.folder, f"{stem}.mp4")), _NAMED)
            _NAMED.add(path)
        return path

    def _say(self, record: dict[str, Any]) -> None:
        self.events += 1
        if self._fd is not None:
            line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
            try:
                os.write(self._fd, line)
            except OSError as exc:
                raise write_error(self.path, exc) from None
        for receiver in self.receivers:
            receiver.send(dict(record))

    def _put(self, item: tuple[np.ndarray, int, list[_Start | _Extend]]) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if self._worker is None or not self._worker.is_alive():
                    raise self._failure(self._error or RuntimeError("the clips' encoder stopped")) from None

    def _failure(self, exc: BaseException) -> OutputError:
        what = getattr(exc, "strerror", None) or str(exc)
        return OutputError(f"cannot write event clips in {self.folder}: {what}")

    # --- the clips' thread ------------------------------------------------------------------------------------
    def _work(self) -> None:
        from vidcv.media.clips import ClipFile, PacketEncoder, PacketRing

        encoder: PacketEncoder | None = None
        ring = PacketRing(self.pre_ms)
        clip: ClipFile | None = None
        until = -1
        try:
            while (item := self._queue.get()) is not None:
                image, pts, orders = item
                if encoder is None:
                    encoder = PacketEncoder((image.shape[1], image.shape[0]), self.fps, self.gop, self.quality)
                packets = encoder.encode(image, pts)
                ring.add(packets)
                for order in orders:
                    if isinstance(order, _Start):
                        if clip is not None:
                            clip.finish()
                        clip, until = ClipFile(order.path, encoder.stream), order.until_ms
                        for held in ring.since(order.from_ms):
                            clip.write(held)
                    else:
                        until = max(until, order.until_ms)
                if clip is not None:
                    for packet in packets:
                        clip.write(packet)
                    if clip.last_ms >= until:
                        clip.finish()
                        clip = None
            if encoder is not None and clip is not None:
                for packet in encoder.flush():
                    clip.write(packet)
            if clip is not None:
                clip.finish()
                clip = None
        except BaseException as exc:  # noqa: BLE001 - said at the next write or at close, in the sink's thread
            self._error = exc
            if clip is not None:
                clip.abort()
            while self._queue.get() is not None:  # the sink thread may wait to put: take and drop until the end
                pass
        finally:
            if encoder is not None:
                encoder.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._worker is not None:
                self._queue.put(None)
                self._worker.join()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            with _NAMED_LOCK:  # on disk now, complete or partial: the names need holding no longer
                _NAMED.difference_update(self.clips)
        if self._error is not None:
            raise self._failure(self._error)

    @property
    def label(self) -> str:
        return self.folder or "events"

    @property
    def queue_depth(self) -> int:
        """Frames waiting for the clips' encoder."""
        return self._queue.qsize()


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 1000):03d}"
