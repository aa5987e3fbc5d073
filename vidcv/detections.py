"""Detections: one type for every detector and tracker, as parallel numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt


def _as_array(value: Any, dtype: type, shape_tail: tuple[int, ...], name: str, n: int | None) -> np.ndarray:
    arr: np.ndarray = np.asarray(value, dtype=dtype)
    if arr.size == 0 and n in (None, 0):
        arr = arr.reshape((0, *shape_tail))
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise ValueError(
            f"Detections.{name} must have shape (N, {', '.join(map(str, shape_tail))}), got {arr.shape}"
            if shape_tail
            else f"Detections.{name} must have shape (N,), got {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"Detections.{name} has {arr.shape[0]} rows but xyxy has {n}")
    return arr


def xywh_to_xyxy(boxes: npt.ArrayLike) -> np.ndarray:
    """(x, y, w, h) rows, as OpenCV's detectors return them, to (x1, y1, x2, y2) float32 rows."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


@dataclass(frozen=True)
class DataField:
    """A declared per-detection field of ``Detections.data`` (track age, trails, keypoints, ...).

    ``shape`` is the shape of one detection's value (``()`` for a scalar; ``None`` in it stands for any
    size, the same for every detection); ``dtype`` ``object`` makes a ragged field: a list of N float32
    arrays whose rows are points (a trail). ``fill`` is the value of detections that lack the field when
    parts are merged. ``points`` means the last axis starts with x, y in source pixels; ``xywhr`` that the
    value is a rotated box ``cx, cy, w, h, angle`` (radians) in source pixels: both are mapped with the
    boxes onto processed images. ``logged`` fields go into each record of the detection log.
    """

    name: str
    dtype: Any
    shape: tuple[int | None, ...] = ()
    fill: Any = 0
    points: bool = False
    logged: bool = False
    help: str = ""
    xywhr: bool = False

    @property
    def ragged(self) -> bool:
        return self.dtype is object

    def validate(self, value: Any, n: int) -> np.ndarray | list[np.ndarray]:
        """The value in canonical form, or ValueError naming the field and the shape it needs."""
        if self.ragged:
            items = [np.asarray(v, np.float32).reshape(-1, 2) for v in value]
            if len(items) != n:
                raise ValueError(f"Detections.data[{self.name!r}] has {len(items)} entries but xyxy has {n}")
            return items
        arr = np.asarray(value, dtype=self.dtype)
        if arr.size == 0 and n == 0 and all(d is not None for d in self.shape):
            arr = arr.reshape((0, *self.shape))
        want = ", ".join("K" if d is None else str(d) for d in (n, *self.shape)) if self.shape else str(n)
        if (
            arr.ndim != 1 + len(self.shape)
            or arr.shape[0] != n
            or any(d is not None and d != got for d, got in zip(self.shape, arr.shape[1:]))
        ):
            raise ValueError(f"Detections.data[{self.name!r}] must have shape ({want}), got {arr.shape}")
        return arr

    def filled(self, n: int, like: np.ndarray | list[np.ndarray] | None) -> np.ndarray | list[np.ndarray]:
        """``n`` rows of ``fill`` shaped like ``like`` (another part's value of this field)."""
        if self.ragged:
            return [np.zeros((0, 2), np.float32) for _ in range(n)]
        tail = tuple(like.shape[1:]) if isinstance(like, np.ndarray) else tuple(d or 0 for d in self.shape)
        return np.full((n, *tail), self.fill, dtype=self.dtype)


FIELDS: dict[str, DataField] = {}


def data_field(
    name: str,
    dtype: Any,
    shape: tuple[int | None, ...] = (),
    *,
    fill: Any = 0,
    points: bool = False,
    logged: bool = False,
    help: str = "",
    xywhr: bool = False,
) -> DataField:
    """Declare a per-detection field (one line per field; plugins may declare their own at import)."""
    spec = DataField(name, dtype, shape, fill, points, logged, help, xywhr)
    if name in FIELDS and FIELDS[name] != spec:
        raise ValueError(f"per-detection field {name!r} is already declared differently")
    FIELDS[name] = spec
    return spec


TRACK_AGE = data_field("track_age", np.int32, logged=True, help="frames since the track was first seen")
TRACK_SPEED = data_field(
    "speed_px_s",
    np.float32,
    fill=np.nan,
    logged=True,
    help="speed in source pixels per second: the track stage's, of its centre over its trail; a speed stage's, of "
    "its anchor over its window",
)
TRAIL = data_field("trail", object, points=True, help="the track's recent centres, oldest first, (K, 2) source pixels")
KEYPOINTS = data_field(
    "keypoints",
    np.float32,
    (None, 3),
    points=True,
    logged=True,
    help="a pose model's keypoints: x, y in source pixels and a confidence, (K, 3) each",
)
OBB = data_field(
    "obb",
    np.float32,
    (5,),
    xywhr=True,
    logged=True,
    help="an oriented box: centre x, y, width, height (source pixels) and angle (radians), "
    "ultralytics' xywhr; xyxy holds its axis-aligned bounds",
)


def _take(value: np.ndarray | list[np.ndarray], picks: np.ndarray) -> np.ndarray | list[np.ndarray]:
    return value[picks] if isinstance(value, np.ndarray) else [value[i] for i in picks]


@dataclass(frozen=True)
class Detections:
    """Boxes in source-image pixels with their confidence and class, plus optional track ids and masks.

    ``xyxy`` is float32 (N, 4); ``confidence`` float32 (N,); ``class_id`` int32 (N,); ``tracker_id``
    int64 (N,) or None; ``masks`` bool (N, H, W) or None; ``polygons`` a list of N float32 (K, 2)
    arrays or None. ``names`` maps class ids to class names. ``data`` holds further per-detection fields
    declared with ``data_field`` (track age, speed and trail, ...), kept through indexing and ``merge``.
    Validated on construction.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    names: Mapping[int, str] = field(default_factory=dict)
    tracker_id: np.ndarray | None = None
    masks: np.ndarray | None = None
    polygons: Sequence[np.ndarray] | None = None
    data: Mapping[str, np.ndarray | list[np.ndarray]] = field(default_factory=dict)

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
        data = {}
        for key, value in dict(self.data).items():
            if key not in FIELDS:
                raise ValueError(
                    f"Detections.data[{key!r}] is not a declared field (declared: {', '.join(FIELDS)}); "
                    "declare it with vidcv.detections.data_field"
                )
            data[key] = FIELDS[key].validate(value, n)
        set_(self, "data", data)

    @classmethod
    def empty(cls, names: Mapping[int, str] | None = None) -> Detections:
        """No detections (keeps the class names so that consumers still know the classes). Every frame
        starts with one: made from a checked empty instance (its zero-length arrays shared, which no write
        can change; its mappings its own) instead of checking again."""
        if cls is not Detections:
            return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), names or {})
        new = object.__new__(cls)
        new.__dict__.update(_EMPTY.__dict__)
        object.__setattr__(new, "names", {int(k): str(v) for k, v in names.items()} if names else {})
        object.__setattr__(new, "data", {})
        return new

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
            {key: _take(value, picks) for key, value in self.data.items()},
        )

    def with_data(self, **values: np.ndarray | list[np.ndarray]) -> Detections:
        """These detections with per-detection fields added or replaced (validated against N)."""
        return replace(self, data={**self.data, **values})

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
        if has_masks and len({p.masks.shape[1:] for p in non_empty if p.masks is not None}) > 1:
            raise ValueError("cannot merge detections whose masks have different frame sizes")
        data: dict[str, np.ndarray | list[np.ndarray]] = {}
        for key in dict.fromkeys(k for p in non_empty for k in p.data):
            spec = FIELDS[key]
            like = next(p.data[key] for p in non_empty if key in p.data)
            values = [p.data[key] if key in p.data else spec.filled(len(p), like) for p in non_empty]
            if spec.ragged:
                data[key] = [v for value in values for v in value]
            else:
                arrays = cast("list[np.ndarray]", values)  # a field that is not ragged holds arrays
                if len({v.shape[1:] for v in arrays}) > 1:
                    raise ValueError(f"cannot merge detections whose {key!r} have different shapes")
                data[key] = np.concatenate(arrays)
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate(remapped),
            names,
            np.concatenate([p.tracker_id if p.tracker_id is not None else np.full(len(p), -1, np.int64) for p in parts])
            if tracked
            else None,
            np.concatenate([p.masks for p in non_empty]) if has_masks else None,
            [poly for p in non_empty if p.polygons is not None for poly in p.polygons] if has_polys else None,
            data,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready dicts in the detection-log schema, one per detection.

        The log spells the tracker's id ``track_id`` (None where untracked or -1); ``tracker_id`` is the
        array's name here, as in supervision. Logged per-detection fields follow under their own names.
        """
        records = []
        for i in range(len(self)):
            tid = None if self.tracker_id is None or self.tracker_id[i] < 0 else int(self.tracker_id[i])
            records.append(
                {
                    "xyxy": [round(float(v), 2) for v in self.xyxy[i]],
                    "confidence": round(float(self.confidence[i]), 4),
                    "class_id": int(self.class_id[i]),
                    "class_name": self.class_name(self.class_id[i]),
                    "track_id": tid,
                    **{key: _json_value(self.data[key][i]) for key in self.data if FIELDS[key].logged},
                }
            )
            if self.polygons is not None:
                records[-1]["polygon"] = [[round(float(x), 2), round(float(y), 2)] for x, y in self.polygons[i]]
        return records


def _json_value(value: Any) -> Any:
    """A per-detection value as JSON: numbers rounded to 4 decimals, NaN as null, text as text, arrays as lists."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        if arr.dtype.kind in "USO":
            return str(arr)
        if arr.dtype.kind in "iub":
            return int(arr)
        return None if not np.isfinite(arr) else round(float(arr), 4)
    return [_json_value(v) for v in arr]


#: the checked empty ``Detections`` that ``Detections.empty`` copies
_EMPTY = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))


@dataclass(frozen=True)
class Classification:
    """A classifier's result for a whole frame: the top classes, best first (``class_id`` int32 (k,),
    ``confidence`` float32 (k,)), with the model's class names."""

    class_id: np.ndarray
    confidence: np.ndarray
    names: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = _as_array(self.class_id, np.int32, (), "class_id", None)
        object.__setattr__(self, "class_id", ids)
        object.__setattr__(self, "confidence", _as_array(self.confidence, np.float32, (), "confidence", len(ids)))
        object.__setattr__(self, "names", {int(k): str(v) for k, v in dict(self.names).items()})

    def __len__(self) -> int:
        return int(self.class_id.shape[0])

    def class_name(self, class_id: int) -> str:
        return self.names.get(int(class_id), str(int(class_id)))

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready, as the detection log's ``classification``: best first."""
        return [
            {"class_id": int(c), "class_name": self.class_name(c), "confidence": round(float(p), 4)}
            for c, p in zip(self.class_id, self.confidence)
        ]
