"""Labelling a dataset in place: read its frames and labels, change them, review and reject frames, rename classes.

A ``LabelSession`` opens any dataset ``vidcv extract`` writes and a plain ultralytics YOLO folder made
elsewhere (its data.yaml's split folders, labels beside ``images`` as ultralytics finds them). While open it
holds the dataset's lock (``lock``: an ``extract`` into the same folder is refused, and this session is refused
while one runs). Every change reaches the disk at once and whole: a label file is replaced atomically and its
manifest line follows under the journal; a rejected frame's files move to ``rejected/`` (nothing is deleted) and
come back on restore; a class merge rewrites every label file and data.yaml as one journalled step that a
killed session's successor rolls forward.

Each frame has a review status, ``unreviewed`` (what extraction and proposals make), ``reviewed`` (a person
accepted it) or ``rejected``; the manifest (``manifest.jsonl``) keeps, per change, the status and who made each
label (``origins``: ``person``, ``model:...``, ``propagate``, ``grabcut``). The last line of a frame wins.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import yaml

from vidcv.dataset.existing import DatasetError, clean_name, names_of, read_data_yaml
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.journal import MANIFEST_NAME, Journal, last_line, manifest_entry_name
from vidcv.dataset.labels import PERSON, Label, box_iou, label_text, read_labels
from vidcv.dataset.lock import DatasetLock
from vidcv.dataset.writer import SPLITS, DatasetWriter
from vidcv.detections import Detections
from vidcv.fileio import make_dirs, open_partial, partial_name, write_text_atomic
from vidcv.fileio import replace as rename

UNREVIEWED, REVIEWED, REJECTED = "unreviewed", "reviewed", "rejected"
STATUSES = (UNREVIEWED, REVIEWED, REJECTED)
REJECTED_DIR = "rejected"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
FAMILY_FORMAT = {"boxes": "yolo", "segments": "yolo-seg", "obb": "yolo-obb", "pose": "yolo-pose"}
OVERLAP = 0.5  #: a proposal overlapping a person's label at least this much (IoU) is dropped


@dataclass
class FrameRef:
    """One frame of the dataset: its image, its label file (empty for ``classify``), split and status."""

    name: str
    split: str
    image: str
    label: str
    status: str = UNREVIEWED
    cls: str = ""  #: classify: the class folder

    @property
    def key(self) -> str:
        """``split/name``: names are unique within a split."""
        return f"{self.split}/{self.name}"


def label_path_of(image: str) -> str:
    """ultralytics' rule: the label of ``.../images/.../NAME.EXT`` is ``.../labels/.../NAME.txt``."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    head = sb.join(image.rsplit(sa, 1))
    return os.path.splitext(head)[0] + ".txt"


def _images_in(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(
        os.path.join(folder, n) for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTS) and not n.startswith(".")
    )


def split_folders(root: str, meta: dict[str, Any]) -> dict[str, str]:
    """The image folder of each split: data.yaml's (relative to its ``path`` or the dataset, ``../x`` as
    ultralytics reads it), else ``images/SPLIT``."""
    declared = meta.get("path")
    bases = [root]  # a copied dataset's data.yaml may still name the original's folder: its own comes first
    if isinstance(declared, str) and os.path.isabs(declared) and os.path.isdir(declared):
        bases.append(declared)
    folders = {}
    for split in SPLITS:
        value = meta.get(split)
        if isinstance(value, str) and value:
            tries = [
                os.path.normpath(os.path.join(b, v))
                for b in bases
                for v in (value, value[3:] if value.startswith("../") else value)
            ]
            folders[split] = next((t for t in tries if os.path.isdir(t)), tries[0])
        else:
            folders[split] = os.path.join(root, "images", split)
    return folders


def sniff_family(root: str, meta: dict[str, Any], folders: dict[str, str]) -> str:
    """The label family of a dataset: data.yaml's ``vidcv_format``, ``kpt_shape`` (pose), the classify layout
    (class folders in the split folders), else the width of its label lines."""
    fmt = meta.get("vidcv_format")
    if fmt in FORMATS:
        return FORMATS[fmt].family
    if meta.get("kpt_shape"):
        return "pose"
    widths: set[int] = set()
    for folder in folders.values():
        for image in _images_in(folder)[:20]:
            try:
                with open(label_path_of(image), encoding="utf-8", errors="replace") as fh:
                    widths.update(len(line.split()) for line in fh if line.strip())
            except OSError:
                continue
    if (
        not widths
        and any(
            os.path.isdir(os.path.join(root, s))
            and any(os.path.isdir(os.path.join(root, s, c)) for c in os.listdir(os.path.join(root, s)))
            for s in SPLITS
        )
        and not any(_images_in(f) for f in folders.values())
    ):
        return "classify"
    if widths and widths == {9}:
        return "obb"
    if any(w >= 7 and w % 2 for w in widths):
        return "segments"
    return "boxes"


def read_manifest(root: str) -> list[dict[str, Any]]:
    """Every whole line of the dataset's manifest (a line cut by a crash is skipped)."""
    entries: list[dict[str, Any]] = []
    try:
        with open(os.path.join(root, MANIFEST_NAME), encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    entries.append(entry)
    except FileNotFoundError:
        pass
    return entries


def last_entries(root: str) -> dict[str, dict[str, Any]]:
    """Per frame name, its manifest lines folded: later keys win (status, origins, labels)."""
    folded: dict[str, dict[str, Any]] = {}
    for entry in read_manifest(root):
        folded.setdefault(entry["name"], {}).update(entry)
    return folded


def statuses(root: str) -> dict[str, str]:
    """The review status of every frame the manifest names (``unreviewed`` unless a line set another)."""
    return {name: str(e.get("status", UNREVIEWED)) for name, e in last_entries(root).items()}


def merge_proposals(current: Sequence[Label], proposals: Sequence[Label], status: str) -> list[Label]:
    """The labels of a frame after proposals: a reviewed (or rejected) frame keeps its labels; otherwise a
    person's labels stay, earlier proposals give way to the new ones, and a proposal over a person's label
    (IoU >= OVERLAP) is dropped. A proposal never overwrites a label a person made or accepted."""
    if status != UNREVIEWED:
        return list(current)
    kept = [lab for lab in current if lab.origin == PERSON]
    new = [p for p in proposals if all(box_iou(p.box, k.box) < OVERLAP for k in kept)]
    return kept + new


def labels_from_detections(dets: Detections, names: list[str], origin: str) -> list[Label]:
    """Proposed labels from a stage's detections (their class names mapped to the dataset's ids by the caller's
    ``names``, new names appended to it)."""
    labels = []
    polygons = dets.polygons
    for i in range(len(dets)):
        name = clean_name(dets.class_name(int(dets.class_id[i])))
        if name not in names:
            names.append(name)
        x1, y1, x2, y2 = (float(v) for v in dets.xyxy[i])
        lab = Label(names.index(name), (x1, y1, x2, y2), origin=origin)
        if polygons is not None and len(polygons[i]) >= 3:
            lab = lab.with_polygon(np.asarray(polygons[i]).reshape(-1, 2).tolist())
        labels.append(lab)
    return labels


class LabelSession:
    """An open dataset being labelled (see the module). ``open`` takes the lock; ``close`` lets it go."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise DatasetError(f"{self.root} is not a folder: open a dataset folder (one with data.yaml)")
        self.meta = read_data_yaml(self.root)
        self.folders = split_folders(self.root, self.meta)
        self.family = sniff_family(self.root, self.meta, self.folders)
        if not self.meta and not any(_images_in(f) for f in self.folders.values()) and self.family != "classify":
            raise DatasetError(
                f"{self.root} has neither a data.yaml nor images in images/train, images/val or images/test: "
                "open a dataset folder, or make one with vidcv extract (or Add frame in the main window)"
            )
        self.fmt = str(self.meta.get("vidcv_format") or FAMILY_FORMAT.get(self.family, "classify"))
        self.names = names_of(self.meta) if self.meta.get("names") else self._classes_txt()
        self.writer: DatasetWriter | None = None
        self.lock: DatasetLock | None = None
        self.journal: Journal | None = None
        self.frames: list[FrameRef] = []
        self.history: dict[str, dict[str, Any]] = {}
        self.on_change: Callable[[], None] | None = None  #: called after every change (the view refreshes)

    @classmethod
    def create(cls, root: str, fmt: str = "yolo") -> LabelSession:
        """A session on ``root``, made a new empty dataset of ``fmt`` first when it holds nothing yet (a folder
        with files that is no dataset is refused, as ``vidcv extract`` refuses it)."""
        path = os.path.abspath(root)
        if not os.path.isfile(os.path.join(path, "data.yaml")):
            writer = DatasetWriter(path, fmt=fmt)
            writer.open()
            writer.close()
        return cls(path)

    def _classes_txt(self) -> list[str]:
        try:
            with open(os.path.join(self.root, "classes.txt"), encoding="utf-8", errors="replace") as fh:
                return [clean_name(n) for n in fh.read().splitlines() if n.strip()]
        except OSError:
            return []

    @property
    def writable_layout(self) -> bool:
        """Whether new frames can be added (vidcv's own layout: images/SPLIT and labels/SPLIT)."""
        return self.family != "classify" and all(
            os.path.normpath(f) == os.path.join(self.root, "images", s) for s, f in self.folders.items()
        )

    # --- a session ------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Take the dataset's lock (DatasetBusy naming the other writer), finish what a killed session left
        in flight, and list the frames."""
        if self.journal is not None:
            return
        if self.writable_layout:
            writer = DatasetWriter(self.root, fmt=self.fmt, merge=True)
            writer.open()
            self.writer, self.lock, self.journal = writer, writer.lock, writer.journal
            self.names, self.meta = list(writer.names), dict(writer.meta)
        else:
            self.lock = DatasetLock(self.root)
            self.lock.acquire()
            self.journal = Journal(self.root)
            self.journal.on_names = self.save_names
            try:
                self.journal.recover()
            except BaseException:
                self.lock.release()
                self.journal = None
                raise
        self.reload()

    def close(self) -> None:
        if self.journal is None:
            return
        try:
            if self.writer is not None:
                self.writer.close()
            else:
                self.journal.clear()
        finally:
            if self.lock is not None:
                self.lock.release()
            self.writer = self.lock = self.journal = None

    def __enter__(self) -> LabelSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reload(self) -> None:
        """List the frames (rejected ones included) and fold the manifest."""
        self.history = last_entries(self.root)
        frames: list[FrameRef] = []
        for split, folder in self.folders.items():
            if self.family == "classify":
                frames += self._classify_frames(split, os.path.join(self.root, split))
                frames += [
                    replace(f, status=REJECTED)
                    for f in self._classify_frames(split, os.path.join(self.root, REJECTED_DIR, split))
                ]
                continue
            for image in _images_in(folder):
                frames.append(self._frame(split, image, label_path_of(image)))
            for image in _images_in(os.path.join(self.root, REJECTED_DIR, "images", split)):
                frames.append(replace(self._frame(split, image, label_path_of(image)), status=REJECTED))
        self.frames = frames

    def _frame(self, split: str, image: str, label: str) -> FrameRef:
        name = os.path.splitext(os.path.basename(image))[0]
        status = str(self.history.get(name, {}).get("status", UNREVIEWED))
        return FrameRef(name, split, image, label, REVIEWED if status == REVIEWED else UNREVIEWED)

    def _classify_frames(self, split: str, folder: str) -> list[FrameRef]:
        frames: list[FrameRef] = []
        if not os.path.isdir(folder):
            return frames
        for cls in sorted(os.listdir(folder)):
            for image in _images_in(os.path.join(folder, cls)):
                frame = self._frame(split, image, "")
                frames.append(replace(frame, cls=cls))
        return frames

    def _require_open(self) -> Journal:
        if self.journal is None:
            raise DatasetError(f"{self.root} is not open for labelling: open the session first")
        return self.journal

    # --- reading --------------------------------------------------------------------------------------------
    def read_labels(self, frame: FrameRef, size_wh: tuple[int, int]) -> list[Label]:
        """The frame's labels in pixels, each with its origin from the manifest (``file`` when unknown)."""
        if not frame.label:
            return []
        try:
            with open(frame.label, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except FileNotFoundError:
            return []
        labels = read_labels(text, self.family, size_wh, frame.label)
        origins = self._origins(frame.name, len(labels))
        return [replace(lab, origin=o) for lab, o in zip(labels, origins)]

    def _origins(self, name: str, count: int) -> list[str]:
        entry = self.history.get(name, {})
        origins = entry.get("origins")
        if isinstance(origins, list) and len(origins) == count:
            return [str(o) for o in origins]
        detectors = entry.get("detectors")
        if detectors:
            stages = ",".join(str(d.get("model") or d.get("stage")) for d in detectors if isinstance(d, dict))
            return [f"model:{stages}"] * count
        return ["file"] * count

    def status_of(self, frame: FrameRef) -> str:
        return frame.status

    # --- changing -------------------------------------------------------------------------------------------
    def _entry(self, frame: FrameRef, event: str, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": frame.name,
            "split": frame.split,
            "event": event,
            "status": status,
            "by": PERSON,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **extra,
        }

    def save(
        self, frame: FrameRef, labels: Iterable[Label], size_wh: tuple[int, int], status: str | None = None
    ) -> None:
        """Write the frame's labels (clipped to the image; boxes under a pixel dropped) and, when given, its new
        status, as one journalled change."""
        journal = self._require_open()
        if frame.status == REJECTED or not frame.label:
            raise DatasetError(f"{frame.name} is rejected: restore it before changing its labels")
        kept = list(labels)
        text = label_text(kept, self.family, size_wh)
        written = [lab for lab in kept if label_text([lab], self.family, size_wh)]
        origins = [lab.origin for lab in written]
        new_status = status or (REVIEWED if frame.status == REVIEWED else UNREVIEWED)
        entry = self._entry(
            frame, "edit", new_status, labels=len(written), origins=origins, width=size_wh[0], height=size_wh[1]
        )
        rel = os.path.relpath(frame.label, self.root)
        inside = not rel.startswith(os.pardir)
        journal.begin([rel] if inside else [], entry)
        make_dirs(os.path.dirname(frame.label), below=self.root if inside else None)
        write_text_atomic(frame.label, text)
        journal.append_manifest(entry)
        journal.done()
        frame.status = new_status
        self.history.setdefault(frame.name, {}).update(entry)
        self._changed()

    def set_status(self, frame: FrameRef, status: str) -> None:
        """Mark the frame reviewed or unreviewed (``reject`` and ``restore`` move its files)."""
        journal = self._require_open()
        if status not in (REVIEWED, UNREVIEWED):
            raise DatasetError(f"status {status!r}: use reviewed or unreviewed (reject moves a frame out)")
        if frame.status == REJECTED:
            raise DatasetError(f"{frame.name} is rejected: restore it first")
        entry = self._entry(frame, "review", status)
        journal.append_manifest(entry)
        frame.status = status
        self.history.setdefault(frame.name, {}).update(entry)
        self._changed()

    def _rejected_paths(self, frame: FrameRef) -> tuple[str, str]:
        if self.family == "classify":
            return os.path.join(self.root, REJECTED_DIR, frame.split, frame.cls, os.path.basename(frame.image)), ""
        image = os.path.join(self.root, REJECTED_DIR, "images", frame.split, os.path.basename(frame.image))
        return image, label_path_of(image)

    def _home_paths(self, frame: FrameRef) -> tuple[str, str]:
        if self.family == "classify":
            return os.path.join(self.root, frame.split, frame.cls, os.path.basename(frame.image)), ""
        image = os.path.join(self.folders[frame.split], os.path.basename(frame.image))
        return image, label_path_of(image)

    def _move(self, ref: FrameRef, to: tuple[str, str], status: str, event: str) -> None:
        journal = self._require_open()
        pairs = [(ref.image, to[0])]
        if ref.label and os.path.exists(ref.label):
            pairs.append((ref.label, to[1]))
        for _, dst in pairs:
            if os.path.lexists(dst):
                raise DatasetError(f"cannot {event} {ref.name}: {dst} already exists; move it away first")
        rel = [(os.path.relpath(s, self.root), os.path.relpath(d, self.root)) for s, d in pairs]
        if any(p.startswith(os.pardir) for pair in rel for p in pair):
            raise DatasetError(f"cannot {event} {ref.name}: its files lie outside {self.root}")
        entry = self._entry(ref, event, status)
        journal.begin_moves(rel, entry)
        for src, dst in pairs:
            make_dirs(os.path.dirname(dst), below=self.root)
            rename(src, dst)
        journal.append_manifest(entry)
        journal.done()
        ref.image, ref.label = to[0], (to[1] if ref.label else "")
        ref.status = status
        self.history.setdefault(ref.name, {}).update(entry)
        if self.writer is not None and status != REJECTED:
            self.writer.done.add(ref.name)
        self._changed()

    def reject(self, frame: FrameRef) -> None:
        """Move the frame's image and label to ``rejected/`` (out of training, kept for ``restore``)."""
        if frame.status != REJECTED:
            self._move(frame, self._rejected_paths(frame), REJECTED, "reject")

    def restore(self, frame: FrameRef) -> None:
        """Bring a rejected frame back to its split, unreviewed."""
        if frame.status == REJECTED:
            self._move(frame, self._home_paths(frame), UNREVIEWED, "restore")

    # --- classes --------------------------------------------------------------------------------------------
    def add_class(self, name: str) -> int:
        """The id of class ``name``, added at the end when new."""
        self._require_open()
        name = clean_name(name)
        if name not in self.names:
            self.save_names([*self.names, name])
        return self.names.index(name)

    def rename_class(self, cid: int, name: str) -> None:
        """Rename class ``cid``. To the name of another class, the two merge: every label file is rewritten
        (ids after ``cid`` move down by one) and data.yaml with them, as one journalled step."""
        journal = self._require_open()
        name = clean_name(name)
        if not 0 <= cid < len(self.names):
            raise DatasetError(f"class id {cid} is not in this dataset (0..{len(self.names) - 1})")
        if name == self.names[cid]:
            return
        if name not in self.names:
            names = list(self.names)
            names[cid] = name
            self.save_names(names)
            return
        target = self.names.index(name)
        new_id = {c: (target if c == cid else c) for c in range(len(self.names))}
        new_id = {c: (t - 1 if t > cid else t) for c, t in new_id.items()}
        names = [n for i, n in enumerate(self.names) if i != cid]
        moves = []
        for path in self._label_files():
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
            out = []
            for line in lines:
                parts = line.split()
                if parts and parts[0].lstrip("-").isdigit() and int(parts[0]) in new_id:
                    parts[0] = str(new_id[int(parts[0])])
                out.append(" ".join(parts))
            text = "".join(f"{ln}\n" for ln in out if ln)
            if out != lines:
                with os.fdopen(open_partial(path), "wb") as fh:  # complete before the step is journalled
                    fh.write(text.encode())
                moves.append((os.path.relpath(partial_name(path), self.root), os.path.relpath(path, self.root)))
        journal.begin_moves(moves, names=names)
        for src, dst in moves:
            rename(os.path.join(self.root, src), os.path.join(self.root, dst))
        self.save_names(names)
        journal.done()
        self._changed()

    def _label_files(self) -> list[str]:
        files = []
        for split, folder in self.folders.items():
            for image in _images_in(folder) + _images_in(os.path.join(self.root, REJECTED_DIR, "images", split)):
                label = label_path_of(image)
                if os.path.isfile(label):
                    files.append(label)
        return files

    def save_names(self, names: list[str]) -> None:
        """data.yaml's names (and classes.txt) become ``names``; data.yaml's other keys are kept."""
        self.names = list(names)
        if self.writer is not None:
            self.writer.names = list(names)
            self.writer.save_meta()
            self.meta = dict(self.writer.meta)
            return
        meta = dict(read_data_yaml(self.root))
        meta["names"] = dict(enumerate(self.names))
        if "nc" in meta:
            meta["nc"] = len(self.names)
        self.meta = meta
        write_text_atomic(
            os.path.join(self.root, "data.yaml"), yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        )
        if os.path.isfile(os.path.join(self.root, "classes.txt")):
            write_text_atomic(os.path.join(self.root, "classes.txt"), "".join(f"{n}\n" for n in self.names))

    # --- new frames -----------------------------------------------------------------------------------------
    def add_frame(
        self, stem: str, index: int, image: np.ndarray, dets: Detections, provenance: dict[str, Any]
    ) -> FrameRef | None:
        """Add a frame (its original pixels, the pipeline's detections as proposed labels, unreviewed) through
        the same writer as ``vidcv extract``; None when a frame of that name is already in the dataset."""
        self._require_open()
        if self.writer is None:
            raise DatasetError(
                f"{self.root} keeps its images outside images/SPLIT (made by another tool): add frames to a "
                "dataset made by vidcv, or extract into a new folder"
            )
        split = self.writer.add(stem, index, image, dets, {"status": UNREVIEWED, **provenance})
        if split is None:
            return None
        self.names = list(self.writer.names)
        name = f"{stem}_{index:06d}"
        image_path = os.path.join(self.root, "images", split, f"{name}.jpg")
        # the frame's manifest line is the last one, just written: its tail is read, not the whole manifest again
        line, _ = last_line(os.path.join(self.root, MANIFEST_NAME))
        if line is not None and manifest_entry_name(line) == name:
            self.history.setdefault(name, {}).update(json.loads(line))
        frame = self._frame(split, image_path, label_path_of(image_path))
        self.frames.append(frame)
        self._changed()
        return frame

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # --- figures --------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """Frames per split and per status."""
        out: dict[str, dict[str, int]] = {"split": dict.fromkeys(SPLITS, 0), "status": dict.fromkeys(STATUSES, 0)}
        for frame in self.frames:
            out["split"][frame.split] += 1
            out["status"][frame.status] += 1
        return out
