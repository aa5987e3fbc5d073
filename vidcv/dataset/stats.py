"""``vidcv dataset stats``: what a dataset holds, counted from its files (read only, no lock).

The frames are listed as the dataset view lists them (``editor.LabelSession``: vidcv's layout or a plain
ultralytics folder, rejected frames in ``rejected/``), each with its review status from the manifest. Labels,
negatives and a classify dataset's images per class count the frames that train: rejected frames are left out
of them (they are counted among the frames, as ``rejected``).

``Stats.to_dict`` is the JSON of ``vidcv dataset stats --json``; its keys are stable:

``dataset``           the dataset's absolute path
``format``, ``family``  its label format (``yolo``, ``yolo-seg``, ``yolo-pose``, ``yolo-obb``, ``coco``, ``classify``)
                      and family (``boxes``, ``segments``, ``pose``, ``obb``, ``classify``)
``classes``           the class names in id order
``splits``            ``["train", "val", "test"]``
``frames``            ``{"per_split": {SPLIT: {"unreviewed": n, "reviewed": n, "rejected": n, "total": n}},
                      "per_status": {STATUS: n}, "total": n}``
``labels``            ``{"per_split": {SPLIT: {CLASS: n}}, "per_split_total": {SPLIT: n}, "per_class": {CLASS: n},
                      "total": n}``: label lines; a class id that data.yaml does not name counts as ``"#ID"``, a
                      line whose class cannot be read as ``"?"`` (``vidcv dataset check`` says where). Empty for
                      classify.
``negatives``         ``{"per_split": {SPLIT: n}, "total": n}``: frames whose label file is empty
``missing_labels``    ``{"per_split": {SPLIT: n}, "total": n}``: frames without a label file
``images_per_class``  classify: the same keys as ``labels``, images counted by class folder; ``null`` for the
                      other families
``notes``             lines about the dataset (a data.yaml whose path names another folder)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from vidcv.dataset.check import dataset_session
from vidcv.dataset.classify import class_folder
from vidcv.dataset.editor import REJECTED, STATUSES
from vidcv.dataset.writer import SPLITS

UNKNOWN_CLASS = "?"  #: a label line whose class id cannot be read


@dataclass
class Stats:
    """The counts of one dataset (see the module)."""

    root: str
    fmt: str
    family: str
    classes: list[str]
    frames: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in SPLITS})
    labels: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in SPLITS})
    negatives: Counter[str] = field(default_factory=Counter)
    missing: Counter[str] = field(default_factory=Counter)
    images: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in SPLITS})
    notes: list[str] = field(default_factory=list)

    def class_keys(self, counts: dict[str, Counter[str]]) -> list[str]:
        """The dataset's classes in id order, then any other key found (``#7``, ``?``)."""
        seen = [k for split in SPLITS for k in counts[split] if k not in self.classes]
        return [*self.classes, *dict.fromkeys(sorted(seen))]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON (see the module)."""
        frames = {
            "per_split": {
                s: {**{st: self.frames[s][st] for st in STATUSES}, "total": sum(self.frames[s].values())}
                for s in SPLITS
            },
            "per_status": {st: sum(self.frames[s][st] for s in SPLITS) for st in STATUSES},
            "total": sum(sum(c.values()) for c in self.frames.values()),
        }
        doc: dict[str, Any] = {
            "dataset": self.root,
            "format": self.fmt,
            "family": self.family,
            "classes": list(self.classes),
            "splits": list(SPLITS),
            "frames": frames,
            "labels": _per_class(self.labels, self.class_keys(self.labels)) if self.family != "classify" else {},
            "negatives": _per_split(self.negatives),
            "missing_labels": _per_split(self.missing),
            "images_per_class": (
                _per_class(self.images, self.class_keys(self.images)) if self.family == "classify" else None
            ),
            "notes": list(self.notes),
        }
        return doc

    def table(self) -> str:
        """The human table of ``vidcv dataset stats``."""
        doc = self.to_dict()
        family = f" ({self.family})" if self.family != self.fmt else ""
        n = len(self.classes)
        classes = f"{n} class{'' if n == 1 else 'es'}" + (f": {', '.join(self.classes)}" if n else "")
        lines = [f"dataset   {self.root}", f"format    {self.fmt}{family}, {classes}", ""]
        rows: list[list[str]] = [["frames", *SPLITS, "total"]]
        for st in (*STATUSES, "total"):
            cells = [doc["frames"]["per_split"][s][st] for s in SPLITS]
            rows.append([f"  {st}", *map(str, cells), str(sum(cells))])
        if self.family == "classify":
            rows += _class_rows("images", self.images, self.class_keys(self.images))
        else:
            rows += _class_rows("labels", self.labels, self.class_keys(self.labels))
            negatives = [self.negatives[s] for s in SPLITS]
            rows.append(["negatives", *map(str, negatives), str(sum(negatives))])
            if any(self.missing.values()):
                missing = [self.missing[s] for s in SPLITS]
                rows.append(["no label file", *map(str, missing), str(sum(missing))])
        return "\n".join(lines + _aligned(rows) + [f"note: {n}" for n in self.notes])


def _per_split(counts: Counter[str]) -> dict[str, Any]:
    return {"per_split": {s: counts[s] for s in SPLITS}, "total": sum(counts[s] for s in SPLITS)}


def _per_class(counts: dict[str, Counter[str]], keys: list[str]) -> dict[str, Any]:
    return {
        "per_split": {s: {k: counts[s][k] for k in keys} for s in SPLITS},
        "per_split_total": {s: sum(counts[s].values()) for s in SPLITS},
        "per_class": {k: sum(counts[s][k] for s in SPLITS) for k in keys},
        "total": sum(sum(c.values()) for c in counts.values()),
    }


def _class_rows(title: str, counts: dict[str, Counter[str]], keys: list[str]) -> list[list[str]]:
    rows = [[""], [title, *SPLITS, "total"]]
    for key in keys:
        cells = [counts[s][key] for s in SPLITS]
        rows.append([f"  {key}", *map(str, cells), str(sum(cells))])
    totals = [sum(counts[s].values()) for s in SPLITS]
    rows.append(["  total", *map(str, totals), str(sum(totals))])
    return rows


def _aligned(rows: list[list[str]]) -> list[str]:
    """Rows as text: the first column left-aligned, the numbers right-aligned under their headings."""
    width0 = max(len(r[0]) for r in rows)
    widths = [max((len(r[i]) for r in rows if len(r) > i), default=0) for i in range(1, max(map(len, rows)))]
    out = []
    for row in rows:
        cells = [row[0].ljust(width0)] + [c.rjust(w) for c, w in zip(row[1:], widths)]
        out.append("  ".join(cells).rstrip())
    return out


def class_of_line(line: str, names: list[str]) -> str:
    """The class name of a label line: its name, ``#ID`` for an id data.yaml does not name, ``?`` when unreadable."""
    try:
        value = float(line.split()[0])
    except (ValueError, IndexError):
        return UNKNOWN_CLASS
    if not value.is_integer() or value < 0:
        return UNKNOWN_CLASS
    cid = int(value)
    return names[cid] if cid < len(names) else f"#{cid}"


def dataset_stats(root: str) -> Stats:
    """Count the dataset at ``root`` (see the module). Reads only: no lock is taken."""
    session, elsewhere = dataset_session(root)
    session.reload()  # lists the frames without opening the session (which would take the lock)
    stats = Stats(session.root, session.fmt, session.family, list(session.names))
    if elsewhere is not None:
        stats.notes.append(
            f"data.yaml's path is {elsewhere}, another folder: ultralytics would read that one; these are the "
            "counts of this folder (vidcv dataset check --fix sets the path)"
        )
    folder_class = {class_folder(n): n for n in stats.classes}  # classify: a folder's class name
    for frame in session.frames:
        stats.frames[frame.split][frame.status] += 1
        if frame.status == REJECTED:
            continue
        if session.family == "classify":
            stats.images[frame.split][folder_class.get(frame.cls, frame.cls)] += 1
            continue
        try:
            with open(frame.label, encoding="utf-8", errors="replace") as fh:
                rows = [line for line in fh.read().splitlines() if line.strip()]
        except OSError:  # none, or not a file
            stats.missing[frame.split] += 1
            continue
        if not rows:
            stats.negatives[frame.split] += 1
        for line in rows:
            stats.labels[frame.split][class_of_line(line, stats.classes)] += 1
    return stats
