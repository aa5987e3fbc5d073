"""Detections: one type for every detector and tracker, as parallel numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _as_array(value: Any, dtype: type, shape_tail: tuple[int, ...], name: str, n: int | None) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.size == 0 and n in (None, 0):
        arr = arr.reshape((0, *shape_tail))
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise ValueError(f"Detections.{name} must have shape (N, {', '.join(map(str, shape_tail))}), got {arr.shape}"
                         if shape_tail else f"Detections.{name} must have shape (N,), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"Detections.{name} has {arr.shape[0]} rows but xyxy has {n}")
    return arr


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(x, y, w, h) rows, as OpenCV's detectors return them, to (x1, y1, x2, y2) float32 rows."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


@dataclass(frozen=True)
class Detections:
    """Boxes in source-image pixels with their confidence and class, plus optional track ids and masks.

    ``xyxy`` is float32 (N, 4); ``confidence`` float32 (N,); ``class_id`` int32 (N,); ``tracker_id``
    int64 (N,) or None; ``masks`` bool (N, H, W) or None; ``polygons`` a list of N float32 (K, 2)
    arrays or None. ``names`` maps class ids to class names. Validated on construction.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    names: Mapping[int, str] = field(default_factory=dict)
    tracker_id: np.ndarray | None = None
    masks: np.ndarray | None = None
    polygons: Sequence[np.ndarray] | None = None

    def __post_init__(self) -> None:
        xyxy = _as_array(self.xyxy, np.float32, (4,), "xyxy", None)
        n = xyxy.shape[0]
        if n and not np.all(np.isfinite(xyxy)):
            raise ValueError("Detections.xyxy holds NaN or infinite coordinates")
        if n and np.any(xyxy[:, 2:] < xyxy[:, :2]):
            raise ValueError("Detections.xyxy needs x2 >= x1 and y2 >= y1 for every box")
        set_ = object.__setattr__
        set_(self, "xyxy", xyxy)
        set_(self, "confidence", _as_array(self.confidence, np.float32, (), "confidence", n))
        set_(self, "class_id", _as_array(self.class_id, np.int32, (), "class_id", n))
        set_(self, "names", {int(k): str(v) for k, v in dict(self.names).items()})
        if self.tracker_id is not None:
            set_(self, "tracker_id", _as_array(self.tracker_id, np.int64, (), "tracker_id", n))
        if self.masks is not None:
            masks = np.asarray(self.masks, dtype=bool)
            if masks.ndim != 3 or masks.shape[0] != n:
                raise ValueError(f"Detections.masks must have shape (N, H, W) with N={n}, got {masks.shape}")
            set_(self, "masks", masks)
        if self.polygons is not None:
            if len(self.polygons) != n:
                raise ValueError(f"Detections.polygons has {len(self.polygons)} entries but xyxy has {n}")
            set_(self, "polygons", [np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in self.polygons])

    @classmethod
    def empty(cls, names: Mapping[int, str] | None = None) -> Detections:
        """No detections (keeps the class names so that consumers still know the classes)."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), names or {})

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def is_empty(self) -> bool:
        return len(self) == 0

    def __getitem__(self, index: Any) -> Detections:
        """Select by boolean mask, integer array, slice or single integer (always returns Detections)."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        if isinstance(index, np.ndarray) and index.dtype == bool and index.shape != (len(self),):
            raise IndexError(f"boolean index has shape {index.shape}, expected ({len(self)},)")
        picks = np.arange(len(self))[index]
        return Detections(
            self.xyxy[picks],
            self.confidence[picks],
            self.class_id[picks],
            self.names,
            None if self.tracker_id is None else self.tracker_id[picks],
            None if self.masks is None else self.masks[picks],
            None if self.polygons is None else [self.polygons[i] for i in picks],
        )

    def class_name(self, class_id: int) -> str:
        """The class name, or the id as text when the detector gave no name."""
        return self.names.get(int(class_id), str(int(class_id)))

    @staticmethod
    def merge(parts: Sequence[Detections]) -> Detections:
        """Concatenate detections from several stages; class ids are remapped where names clash.

        An id keeps its number when it is free or means the same name in every part; a name already
        known under another id takes that id; otherwise the class gets the next free id.
        """
        parts = [p for p in parts if p is not None]
        if not parts:
            return Detections.empty()
        names: dict[int, str] = {}
        remapped: list[np.ndarray] = []
        for part in parts:
            mapping: dict[int, int] = {}
            for cid, name in part.names.items():
                by_name = {v: k for k, v in names.items()}
                if names.get(cid) == name:
                    mapping[cid] = cid
                elif name in by_name:
                    mapping[cid] = by_name[name]
                elif cid not in names:
                    names[cid] = name
                    mapping[cid] = cid
                else:
                    new = max(names) + 1
                    names[new] = name
                    mapping[cid] = new
            ids = part.class_id.copy()
            for old, new in mapping.items():
                ids[part.class_id == old] = new
            remapped.append(ids)
        non_empty = [p for p in parts if len(p)]
        tracked = any(p.tracker_id is not None for p in non_empty)
        has_masks = non_empty and all(p.masks is not None for p in non_empty)
        has_polys = non_empty and all(p.polygons is not None for p in non_empty)
        if has_masks and len({p.masks.shape[1:] for p in non_empty}) > 1:
            raise ValueError("cannot merge detections whose masks have different frame sizes")
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate(remapped),
            names,
            np.concatenate([p.tracker_id if p.tracker_id is not None else np.full(len(p), -1, np.int64)
                            for p in parts]) if tracked else None,
            np.concatenate([p.masks for p in non_empty]) if has_masks else None,
            [poly for p in non_empty for poly in p.polygons] if has_polys else None,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready dicts in the detection-log schema (track_id None where untracked or -1)."""
        records = []
        for i in range(len(self)):
            tid = None if self.tracker_id is None or self.tracker_id[i] < 0 else int(self.tracker_id[i])
            records.append({
                "xyxy": [round(float(v), 2) for v in self.xyxy[i]],
                "confidence": round(float(self.confidence[i]), 4),
                "class_id": int(self.class_id[i]),
                "class_name": self.class_name(self.class_id[i]),
                "track_id": tid,
            })
        return records
