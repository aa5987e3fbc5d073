"""``--select``: the frames most worth labelling, ``--budget`` of them, in two passes over a seekable source.

Pass 1 runs the pipeline over the candidate frames (what ``--every``/``--fps``/``--dedupe`` let through) and
keeps, per candidate, only an uncertainty score, a small embedding and the detections, in a pool of bounded
size (``Pool``). Pass 2 decodes only the chosen frames (seeking) and files them with their pass-1 labels:
a chosen frame is kept whether or not anything was detected in it (an empty label), past ``--negatives``.

Modes: ``uncertain`` (the detectors hesitate: confidences near the threshold, tracks that flicker, counts
that jump; spread in time), ``diverse`` (greedy k-center over the embeddings) and ``uncertain+diverse``
(k-center with distances weighted by uncertainty). The choice depends only on the source and the pipeline,
so running the same command again after an interruption picks the same frames and adds the missing ones.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vidcv.dataset.formats import polygon_of
from vidcv.detections import Classification, Detections
from vidcv.errors import VidcvError
from vidcv.frame import Frame
from vidcv.sinks.base import Sink

if TYPE_CHECKING:
    from vidcv.dataset.extract import DatasetSink
    from vidcv.pipeline import Pipeline
    from vidcv.runner import Runner
    from vidcv.sources.base import Source

log = logging.getLogger(__name__)

#: the modes of --select and what each keeps
MODES = {
    "uncertain": "frames where the detectors hesitate: confidences near the threshold, tracks that flicker, "
    "counts that jump (spread in time)",
    "diverse": "frames that cover the video's variety of views",
    "uncertain+diverse": "varied frames, the uncertain ones counting more",
}
POOL_PER_FRAME = 4  #: candidates the pool keeps per frame of the budget (at least half of that once thinned)
MIN_POOL = 64  #: ... and never fewer than this many
BAND = 0.2  #: a confidence within this of the threshold counts as uncertain (fully so at the threshold)
MATCH_IOU = 0.3  #: boxes of neighbouring frames overlapping this much are one object (without track ids)
SPREAD = 4  #: uncertain: kept frames at least span / (SPREAD x budget) frames apart at first
WEIGHT = 2.0  #: uncertain+diverse: a distance counts (1 + WEIGHT x score) times
THUMB = 16  #: side of the gray thumbnail of the embedding
HSV_BINS = (8, 4, 4)  #: hue, saturation and value bins of the embedding's colour histogram
SMALL = (64, 48)  #: the frame is shrunk to this first (its thumbnail and histogram come from it)
SEEK_GAP = 30  #: pass 2 seeks to a chosen frame further ahead than this, and reads on to a nearer one
SAME_FRAME = 0.05  #: pass 2: a frame whose embedding is further from its pass-1 one is not the frame scored


def check_select(mode: str, budget: int | None) -> None:
    """Refuse a mode or budget that cannot be used, in one line that says what to give."""
    if budget is not None and budget < 1:
        raise VidcvError(f"--budget must be at least 1, got {budget}")
    if not mode:
        if budget is not None:
            raise VidcvError(
                f"--budget {budget} is how many frames --select keeps: add --select uncertain, diverse or "
                "uncertain+diverse, or drop --budget"
            )
        return
    if mode not in MODES:
        raise VidcvError(f"--select {mode!r} is not a selection: use {', '.join(MODES)}")
    if budget is None:
        raise VidcvError(f"--select {mode} needs --budget N, how many frames to keep (e.g. --budget 200)")


def confidence_threshold(pipeline: Pipeline, min_conf: float = 0.0) -> float | None:
    """The confidence at which boxes become labels: the lowest ``conf`` of the enabled detector stages, raised
    to ``--min-conf``; None when no stage has a confidence threshold (haar, contours: no band to be near)."""
    found = [
        float(stage.plugin.values()["conf"])
        for stage in pipeline.stages
        if stage.enabled and "conf" in stage.plugin.declared()
    ]
    return max(min(found), min_conf) if found else None


def embedding(image: np.ndarray) -> np.ndarray:
    """A cheap unit-length description of a frame's look: a 16x16 gray thumbnail (mean removed, normalised)
    beside a coarse HSV histogram (square roots of its shares, so that distances compare histograms)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    if bgr.shape[1] > 4 * SMALL[0]:  # a large frame: sampled down first (area averaging all of it is slow)
        bgr = cv2.resize(bgr, (4 * SMALL[0], 4 * SMALL[1]), interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(bgr, SMALL, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    thumb = cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    thumb -= thumb.mean()
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HSV_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    hist = np.sqrt(hist / max(float(hist.sum()), 1.0))
    return (np.concatenate([_unit(thumb), _unit(hist)]) / math.sqrt(2.0)).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else np.zeros_like(v)


def compact(dets: Detections) -> Detections:
    """Detections to hold until pass 2: masks (a frame's size each) become their outlines."""
    if dets.masks is None:
        return dets
    outlines = [polygon_of(dets, i, dets.xyxy[i]) for i in range(len(dets))]
    return replace(dets, masks=None, polygons=outlines)


@dataclass
class Candidate:
    """One scored candidate frame: what pass 2 needs to file it, and what chose it."""

    index: int
    pts_ms: float
    embedding: np.ndarray
    detections: Detections
    classification: Classification | None
    score: float = 0.0  #: uncertainty, 0..1
    why: str = ""  #: the signs of uncertainty, in words
    novelty: float = 0.0  #: distance of its embedding to the candidate's before it


class Pool:
    """At most ``capacity`` candidates spread evenly over the stream, whatever its length.

    Candidates come in time order. Each entry stands for a block of consecutive candidates and holds the one
    with the highest ``key`` (the earlier on a tie); when the pool is full, neighbouring entries are merged in
    pairs and blocks double. Memory is bounded by ``capacity``; ``peak`` tells the most entries held."""

    def __init__(self, capacity: int, key: Callable[[Candidate], float]) -> None:
        self.capacity = max(2, capacity + capacity % 2)
        self.key = key
        self.block = 1
        self.entries: list[Candidate] = []
        self.seen = 0
        self.peak = 0
        self._best: Candidate | None = None  #: the best of the block being filled
        self._in_block = 0

    def add(self, candidate: Candidate) -> None:
        self.seen += 1
        if self._best is None or self.key(candidate) > self.key(self._best):
            self._best = candidate
        self._in_block += 1
        if self._in_block == self.block:
            self.entries.append(self._best)
            self._best, self._in_block = None, 0
            if len(self.entries) >= self.capacity:
                pairs = zip(self.entries[::2], self.entries[1::2])
                self.entries = [b if self.key(b) > self.key(a) else a for a, b in pairs]
                self.block *= 2
        self.peak = max(self.peak, len(self.entries) + (self._best is not None))

    def candidates(self) -> list[Candidate]:
        """Every entry in time order, the block being filled included."""
        return self.entries + ([self._best] if self._best is not None else [])


@dataclass
class _Look:
    """What the scorer keeps of a frame while its neighbours come."""

    candidate: Candidate
    dets: Detections  #: the wanted classes' detections, for the neighbours' comparisons


def _links(a: Detections, b: Detections) -> list[tuple[int, int]]:
    """Pairs (i in a, j in b) that are one object: by track id when both frames have them, else by the
    largest box overlaps (at least MATCH_IOU), greedily."""
    if a.tracker_id is not None and b.tracker_id is not None:
        where = {int(t): j for j, t in enumerate(b.tracker_id)}
        return [(i, where[int(t)]) for i, t in enumerate(a.tracker_id) if int(t) in where]
    if not len(a) or not len(b):
        return []
    x1 = np.maximum(a.xyxy[:, None, 0], b.xyxy[None, :, 0])
    y1 = np.maximum(a.xyxy[:, None, 1], b.xyxy[None, :, 1])
    x2 = np.minimum(a.xyxy[:, None, 2], b.xyxy[None, :, 2])
    y2 = np.minimum(a.xyxy[:, None, 3], b.xyxy[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a.xyxy[:, 2] - a.xyxy[:, 0]) * (a.xyxy[:, 3] - a.xyxy[:, 1])
    area_b = (b.xyxy[:, 2] - b.xyxy[:, 0]) * (b.xyxy[:, 3] - b.xyxy[:, 1])
    iou = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(b))
        if iou[i, j] < MATCH_IOU:
            break
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    return list(pairs.items())


def _classes(dets: Detections) -> list[str]:
    return [dets.class_name(c) for c in dets.class_id]


def conf_part(dets: Detections, threshold: float | None) -> tuple[float, str]:
    """Boxes whose confidence is within BAND of the threshold: 1 - prod(1 - nearness)."""
    if threshold is None or not len(dets):
        return 0.0, ""
    near = np.clip(1.0 - np.abs(dets.confidence.astype(np.float64) - threshold) / BAND, 0.0, 1.0)
    count = int(np.count_nonzero(near))
    if not count:
        return 0.0, ""
    return float(1.0 - np.prod(1.0 - near)), f"conf near threshold ({count} of {len(dets)} boxes)"


def flicker_part(prev: Detections, cur: Detections, nxt: Detections) -> tuple[float, str]:
    """Objects that vanish for this frame, appear in it alone, or change class against a neighbour."""
    to_prev, to_next = dict(_links(cur, prev)), dict(_links(cur, nxt))
    alone = sum(1 for i in range(len(cur)) if i not in to_prev and i not in to_next)
    seen_here = set(to_prev.values())
    gone = sum(1 for p, _ in _links(prev, nxt) if p not in seen_here)
    names, before, after = _classes(cur), _classes(prev), _classes(nxt)
    changed = sum(
        1
        for i in range(len(cur))
        if (i in to_prev and before[to_prev[i]] != names[i]) or (i in to_next and after[to_next[i]] != names[i])
    )
    events = alone + gone + changed
    if not events:
        return 0.0, ""
    said = [f"{n} {what}" for n, what in ((gone, "gone"), (alone, "here only"), (changed, "changed class")) if n]
    return 1.0 - 0.5**events, f"flicker ({', '.join(said)})"


def count_part(prev: int, cur: int, nxt: int) -> tuple[float, str]:
    """A detection count above or below both neighbours' (a spike or a dip, not a step)."""
    if (cur - prev) * (cur - nxt) <= 0:
        return 0.0, ""
    jump = min(abs(cur - prev), abs(cur - nxt))
    return min(1.0, jump / 2.0), f"count jump ({cur} against {prev} and {nxt})"


class Scorer:
    """Scores each frame against its neighbours (the frame before and after it among the candidates): a
    candidate comes out one frame late, the last one at ``flush``."""

    def __init__(self, threshold: float | None) -> None:
        self.threshold = threshold
        self._prev: _Look | None = None
        self._cur: _Look | None = None

    def push(self, look: _Look) -> Candidate | None:
        done = self._score(look) if self._cur is not None else None
        self._prev, self._cur = self._cur, look
        return done

    def flush(self) -> Candidate | None:
        done = self._score(None) if self._cur is not None else None
        self._prev = self._cur = None
        return done

    def _score(self, nxt: _Look | None) -> Candidate:
        cur = self._cur
        assert cur is not None  # push and flush score only a frame in hand
        parts = [conf_part(cur.dets, self.threshold)]
        if self._prev is not None and nxt is not None:
            prev, after = self._prev.dets, nxt.dets
            parts.append(flicker_part(prev, cur.dets, after))
            parts.append(count_part(len(prev), len(cur.dets), len(after)))
        calm = math.prod(1.0 - p for p, _ in parts)
        cur.candidate.score = round(1.0 - calm, 4)
        cur.candidate.why = "; ".join(why for _, why in parts if why)
        return cur.candidate


def spread_by_score(cands: Sequence[Candidate], budget: int) -> list[tuple[int, str]]:
    """uncertain: the highest scores first, each at least span / (SPREAD x budget) frames from those kept
    (temporal non-maximum suppression), then frames spread evenly over the gaps left (``fill_in_time``)
    until ``budget``. Returns (position in ``cands``, how it was chosen)."""
    index = np.array([c.index for c in cands], np.float64)
    score = np.array([c.score for c in cands], np.float64)
    gap = (index[-1] - index[0] + 1) / (SPREAD * budget)
    nearest = np.full(len(cands), np.inf)  # frames to the nearest kept frame
    picked: list[tuple[int, str]] = []
    for i in np.lexsort((index, -score)):
        if len(picked) == budget or score[i] <= 0:
            break
        if nearest[i] >= gap:
            picked.append((int(i), ""))
            np.minimum(nearest, np.abs(index - index[i]), out=nearest)
    taken = np.zeros(len(cands), bool)
    taken[[i for i, _ in picked]] = True
    return picked + [(i, "fills a gap in time") for i in fill_in_time(index, taken, budget - len(picked))]


def fill_in_time(index: np.ndarray, taken: np.ndarray, count: int) -> list[int]:
    """``count`` positions not ``taken`` spread evenly in time around the taken ones: each gap between them
    (the ends of the video half a spacing beyond its first and last frame) gets frames as its length asks,
    evenly placed, each then moved to the nearest free candidate. ``index`` is ascending."""
    if count <= 0:
        return []
    half = (index[-1] - index[0] + 1) / (2 * (count + int(taken.sum())))
    anchors = [index[0] - 0.5 - half, *index[taken], index[-1] + 0.5 + half]
    heap = [(-(b - a), a, b, 0) for a, b in itertools.pairwise(anchors)]  # (-spacing, start, end, frames in it)
    heapq.heapify(heap)
    for _ in range(count):
        _, a, b, m = heapq.heappop(heap)
        heapq.heappush(heap, (-(b - a) / (m + 2), a, b, m + 1))
    targets = sorted(a + k * (b - a) / (m + 1) for _, a, b, m in heap for k in range(1, m + 1))
    free = list(np.flatnonzero(~taken))
    chosen = []
    for t in targets:
        at = int(np.clip(np.searchsorted(index[free], t), 1, len(free) - 1)) if len(free) > 1 else 0
        near = min((j for j in (at - 1, at) if 0 <= j < len(free)), key=lambda j: abs(index[free[j]] - t))
        chosen.append(int(free.pop(near)))
    return chosen


def k_center(vectors: np.ndarray, budget: int, weights: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Greedy k-center: first the vector farthest from the mean, then each time the one farthest from those
    kept (its distance times its weight, when given). Returns (row, distance to the nearest kept before it)."""
    w = np.ones(len(vectors)) if weights is None else weights
    nearest = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1).astype(np.float64)
    picked: list[tuple[int, float]] = []
    taken = np.zeros(len(vectors), bool)
    for _ in range(min(budget, len(vectors))):
        i = int(np.argmax(np.where(taken, -1.0, nearest * w)))
        picked.append((i, float(nearest[i]) if picked else 0.0))
        taken[i] = True
        np.minimum(nearest, np.linalg.norm(vectors - vectors[i], axis=1), out=nearest)
    return picked


def choose(mode: str, cands: Sequence[Candidate], budget: int) -> list[tuple[Candidate, dict[str, Any]]]:
    """The ``budget`` candidates ``mode`` keeps (all of them when there are no more), in frame order, each
    with its manifest record (mode, score, why; distance for the diverse modes)."""
    if not cands:
        return []
    if mode == "uncertain":
        spread = spread_by_score(cands, min(budget, len(cands)))
        out = [(cands[i], {"why": "; ".join(w for w in (cands[i].why, how) if w)}) for i, how in spread]
    else:
        weights = None if mode == "diverse" else 1.0 + WEIGHT * np.array([c.score for c in cands])
        picks = k_center(np.stack([c.embedding for c in cands]), budget, weights)
        out = [(cands[i], _diverse_record(mode, cands[i], d, first=not n)) for n, (i, d) in enumerate(picks)]
    records = [(c, {"mode": mode, "score": c.score, **rec}) for c, rec in out]
    return sorted(records, key=lambda cr: cr[0].index)


def _diverse_record(mode: str, cand: Candidate, distance: float, first: bool) -> dict[str, Any]:
    view = "the most unusual view" if first else f"a new view ({distance:.2f} from the nearest kept)"
    why = "; ".join(w for w in ((cand.why if mode != "diverse" else ""), view) if w)
    return {"why": why, "distance": round(distance, 4)}


@dataclass
class SelectOutcome:
    """What a selection did: candidates scored, frames chosen, and whether pass 2 wrote them."""

    mode: str
    budget: int
    candidates: int = 0
    chosen: int = 0
    written: bool = False
    pool_peak: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        if not self.written:
            return (
                f"--select {self.mode}: stopped before the chosen frames were written; the same command again "
                "selects them and writes what is missing"
            )
        if self.candidates < self.budget:
            return (
                f"--select {self.mode}: only {self.candidates} candidate frames, fewer than --budget {self.budget}: "
                "kept them all"
            )
        return f"--select {self.mode}: chose {self.chosen} of {self.candidates} candidate frames"


class SelectionSink(Sink):
    """Pass 1 as a run's sink (scores into the pool); at the run's end pass 2 files the chosen frames through
    ``dataset``. ``reopen`` gives a fresh, closed source of the same frames; ``runner`` is set by the caller
    once the run exists, so that a stopped or failed run writes nothing (and a stop ends pass 2). Frames are
    scored on the detections of the wanted classes (``of_classes``)."""

    needs_color_source = True

    def __init__(
        self,
        mode: str,
        budget: int,
        threshold: float | None,
        of_classes: Callable[[Detections], Detections],
        dataset: DatasetSink,
        reopen: Callable[[], Source],
    ) -> None:
        self.mode, self.budget, self.of_classes = mode, budget, of_classes
        self.dataset, self.reopen = dataset, reopen
        self.runner: Runner | None = None
        self.scorer = Scorer(threshold)
        key = (lambda c: c.novelty) if mode == "diverse" else (lambda c: c.score)
        self.pool = Pool(max(MIN_POOL, POOL_PER_FRAME * budget), key)
        self.outcome = SelectOutcome(mode, budget)
        self._last_embedding: np.ndarray | None = None
        self._closed = False

    def write(self, frame: Frame) -> None:
        vector = embedding(frame.source_image)
        cand = Candidate(frame.index, frame.pts_ms, vector, compact(frame.detections), frame.classification)
        if self._last_embedding is not None:
            cand.novelty = float(np.linalg.norm(vector - self._last_embedding))
        self._last_embedding = vector
        self._pool(self.scorer.push(_Look(cand, self.of_classes(frame.detections))))

    def _pool(self, cand: Candidate | None) -> None:
        if cand is not None:
            self.pool.add(cand)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._pool(self.scorer.flush())
            self.outcome.candidates, self.outcome.pool_peak = self.pool.seen, self.pool.peak
            if self._should_write():
                self._write_chosen(choose(self.mode, self.pool.candidates(), self.budget))
        finally:
            self.dataset.close()

    def _should_write(self) -> bool:
        """Not after a stop, nor after a failure other than the source's (a truncated file keeps its frames)."""
        runner = self.runner
        return runner is None or not (runner.stopped or (runner.error is not None and runner.failed_in != "source"))

    def _stopped(self) -> bool:
        return self.runner is not None and self.runner.stopped

    def _write_chosen(self, chosen: list[tuple[Candidate, dict[str, Any]]]) -> None:
        """Pass 2: decode the chosen frames and file each with its pass-1 labels and record."""
        self.outcome.chosen = len(chosen)
        found = {c.index: (c, rec) for c, rec in chosen}
        for index, image in frames_at(self.reopen(), sorted(found), self._stopped):
            cand, record = found.pop(index)
            if float(np.linalg.norm(embedding(image) - cand.embedding)) > SAME_FRAME:
                log.warning("frame %d read again is not the frame scored (the file changed?): left out", index)
                found[index] = (cand, record)
                continue
            self.dataset.keep(index, cand.pts_ms, image, cand.detections, cand.classification, select=record)
        self.outcome.written = not self._stopped()
        if found and self.outcome.written:
            self.outcome.skipped["not read again"] = len(found)
        self.outcome.skipped["not selected"] = self.outcome.candidates - self.outcome.chosen


def frames_at(source: Source, wanted: Sequence[int], stopped: Callable[[], bool]) -> Iterator[tuple[int, np.ndarray]]:
    """(index, original image) of the ``wanted`` frames (ascending) of ``source``, which is opened here and
    closed at the end: seeking to a frame far ahead, reading on to a near one; ends early when ``stopped``."""
    from vidcv.sources.file import FileSource

    if isinstance(source, FileSource):
        source.backend = "pyav"  # its seek is exact (the same pixels as OpenCV's)
    source.open()
    try:
        at = 0  # the index the next read returns
        for want in wanted:
            if stopped():
                return
            if want - at > SEEK_GAP:
                source.seek(want)
            frame = source.read()
            while frame is not None and frame.index < want:
                frame = source.read()
            if frame is None:
                return
            at = frame.index + 1
            if frame.index == want:
                yield want, frame.source_image
    finally:
        source.close()
