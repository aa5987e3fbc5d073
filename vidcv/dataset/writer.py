"""The dataset on disk: ultralytics' layouts, appended to and resumed safely, by one writer at a time.

``DIR/images/{train,val,test}/NAME.jpg`` and ``DIR/labels/{...}/NAME.txt`` (see ``formats``: boxes,
polygons, keypoints or oriented boxes; an empty file for a negative), ``DIR/data.yaml``,
``DIR/classes.txt`` and ``DIR/manifest.jsonl`` (provenance of every kept frame). ``coco`` keeps the same
files and adds ``DIR/annotations/instances_{split}.json``, rebuilt from the labels at the end of each run.
A writing session (``open`` .. ``close``) holds the dataset's lock (``lock``). Each image and label is
written under a temporary name and renamed, the label last, after the journal (``journal``) has named them:
a run killed at any moment leaves a dataset that loads, and the next run removes exactly what the killed one
left unfinished and continues. ``classify`` (vidcv.dataset.classify) shares the split, names, manifest,
lock and resume. Files that vidcv did not write are never removed (see ``existing``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import yaml

from vidcv.dataset.existing import (
    DatasetError,
    check_merge,
    clean_name,
    merged_names,
    names_of,
    survey,
)
from vidcv.dataset.formats import FORMATS, flip_idx, label_lines
from vidcv.dataset.journal import MANIFEST_NAME, Journal
from vidcv.dataset.lock import DatasetLock
from vidcv.detections import KEYPOINTS, Classification, Detections
from vidcv.errors import OutputError
from vidcv.fileio import is_partial, make_dirs, remove, write_bytes_atomic, write_text_atomic

__all__ = ["SPLITS", "Dataset", "DatasetError", "DatasetWriter", "choose_split", "chunk_frames", "parse_split"]

SPLITS = ("train", "val", "test")
CHUNK_FRAMES = 150  #: --split-by chunk keeps runs of at most this many consecutive frames in one split
MIN_CHUNK_FRAMES = 10  #: ... and of at least this many
CHUNKS_PER_SOURCE = 20  #: a source of known length is cut into at least this many runs, so the ratios can hold
GOLDEN = (5**0.5 - 1) / 2  #: step of the low-discrepancy sequence that deals runs out to the splits


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1.0) > 1e-6:
        raise DatasetError(
            f"--split {text!r}: give three fractions for train, val and test that add up to 1, e.g. 0.8,0.1,0.1"
        )
    return parts[0], parts[1], parts[2]


def split_at(u: float, ratios: Sequence[float]) -> str:
    """The split in which ``u`` (0..1) falls when the unit interval is cut by ``ratios``."""
    edge = 0.0
    for split, ratio in zip(SPLITS, ratios):
        edge += ratio
        if u < edge:
            return split
    return next(s for s, r in zip(reversed(SPLITS), reversed(list(ratios))) if r > 0)


def choose_split(key: str, unit: int, ratios: Sequence[float]) -> str:
    """The split of run ``unit`` of the source named by ``key`` (seed, source, unit kind), the same on every run.

    Runs are dealt out along a golden-ratio sequence from a start that the key hashes to: any stretch of
    consecutive runs goes to the splits in close to the ratios (10 runs at 0.8/0.1/0.1: 8, 1 and 1), where
    a hash per run would leave a short video's few runs wherever chance puts them.
    """
    start = int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16**12)
    return split_at((start + unit * GOLDEN) % 1.0, ratios)


def chunk_frames(frame_count: int | None) -> int:
    """Frames per run for ``--split-by chunk``: CHUNK_FRAMES, shorter for a short source of known length so
    that it still makes CHUNKS_PER_SOURCE runs (never under MIN_CHUNK_FRAMES)."""
    if not frame_count or frame_count <= 0:
        return CHUNK_FRAMES
    return max(MIN_CHUNK_FRAMES, min(CHUNK_FRAMES, frame_count // CHUNKS_PER_SOURCE))


def few(names: Sequence[str], shown: int = 8) -> str:
    """Up to ``shown`` names, comma-separated, and how many more there are."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


#: a file of a frame: its path relative to the dataset, and what makes its bytes (when it is written)
FileWrite = tuple[str, Callable[[], bytes]]


def jpeg_writer(image: np.ndarray) -> Callable[[], bytes]:
    def encode() -> bytes:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise OSError(22, "the image could not be encoded as JPEG")
        return data.tobytes()

    return encode


def text_writer(text: str) -> Callable[[], bytes]:
    return lambda: text.encode("utf-8")


class Dataset:
    """What every layout shares: validation, the split, class names in the detectors' order, the lock, resume
    and the manifest. Nothing is written until ``open`` (or an ``add`` outside a session, which is a session of
    its own). ``merge`` allows adding to a folder vidcv did not make, and new classes to an existing dataset."""

    def __init__(
        self,
        root: str,
        fmt: str | None = None,
        ratios: Sequence[float] = (0.8, 0.1, 0.1),
        split_by: str = "chunk",
        seed: int = 0,
        merge: bool = False,
    ) -> None:
        self.root = os.path.abspath(root)
        self.merge = merge
        if fmt is not None and fmt not in FORMATS:
            raise DatasetError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
        if split_by not in ("chunk", "frame"):
            raise DatasetError(f"--split-by {split_by!r}: use chunk or frame")
        self.asked_fmt, self.ratios, self.split_by, self.seed = fmt, tuple(ratios), split_by, seed
        self.lock = DatasetLock(self.root)
        self.journal = Journal(self.root)
        self.journal.on_names = self._names_from_journal
        self._read_existing()  # checked now, before a source is opened, and again under the lock
        self.chunk = CHUNK_FRAMES
        self.chunks: dict[str, int] = {}  #: run length per source stem, where several sources are written at once
        self.opened = False
        self.done: set[str] = set()
        self.orphans_removed = 0
        self.kept = dict.fromkeys(SPLITS, 0)
        self.positives = self.negatives = 0  #: frames this run kept with labels and without
        self.total_positives = self.total_negatives = 0  #: ... in the whole dataset (earlier runs included)
        self.unlabelled = 0  #: detections this format cannot hold (no keypoints in a pose dataset, ...)

    def _read_existing(self) -> None:
        """What the folder holds: its format, classes and whether it is a foreign one being merged."""
        self.meta, self.foreign = survey(self.root, self.merge)
        fmt = self.asked_fmt or self.meta.get("vidcv_format") or "yolo"
        if fmt not in FORMATS:
            raise DatasetError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self._check_format()
        if self.foreign:
            check_merge(self.root, self.meta, fmt)
            self.names: list[str] = merged_names(self.root, self.meta)
        else:
            self.names = names_of(self.meta)
        self.names_at_start = list(self.names)

    def _names_from_journal(self, names: list[str]) -> None:
        """The class names of a class merge that a killed labelling session left half done (its labels are
        rewritten already): saved with the rest of data.yaml when the session opens."""
        self.names = list(names)
        self.names_at_start = list(names)

    def _check_format(self) -> None:
        """Formats of different families do not mix in one dataset: a run with another one is refused."""
        existing = self.meta.get("vidcv_format")
        if existing in FORMATS and FORMATS[existing].family != FORMATS[self.fmt].family:
            raise DatasetError(
                f"{self.root} holds '{existing}' labels and this run asks for '{self.fmt}': "
                f"{FORMATS[existing].family} and {FORMATS[self.fmt].family} do not mix in one "
                "dataset; use another --out or the same --format"
            )

    def set_length(self, frame_count: int | None, stem: str | None = None) -> None:
        """The source's length in frames (None or 0 when unknown, live): sets the run length of the split, of
        the source named ``stem`` only when given (sources written at once, each with its own length)."""
        if stem is None:
            self.chunk = chunk_frames(frame_count)
        else:
            self.chunks[stem] = chunk_frames(frame_count)

    # --- a writing session ----------------------------------------------------------------------------------
    def open(self) -> None:
        """Take the dataset's lock (DatasetBusy while another writer has it), read what is there now, finish or
        undo what a killed run left in flight, and make the folders."""
        if self.opened:
            return
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"cannot create the dataset in {self.root}: {exc.strerror}") from None
        self.lock.acquire()
        try:
            self._read_existing()
            self._make_folders()
            self.orphans_removed = self.journal.recover() + self._remove_partials()
            self.done = set()
            self.total_positives = self.total_negatives = 0
            self._scan()
            self.opened = True
            self.save_meta()
        except BaseException as exc:
            self.journal.close()  # what it holds stays for the next run
            self.lock.release()
            self.opened = False
            if isinstance(exc, OSError):
                raise DatasetError(f"cannot write the dataset in {self.root}: {exc.strerror or exc}") from None
            raise

    def close(self) -> None:
        """Write what is built from the whole dataset (data.yaml, COCO json) and let go of the lock."""
        if not self.opened:
            return
        try:
            self.finish()
        finally:
            self.opened = False
            try:
                self.journal.clear()
            finally:
                self.lock.release()

    def finish(self) -> None:
        """What is rebuilt at the end of a session."""
        self.save_meta()

    def _make_folders(self) -> None:
        raise NotImplementedError

    def _content_folders(self) -> list[str]:
        """The folders that hold images and labels (searched for leftover temporary files)."""
        raise NotImplementedError

    def _scan(self) -> None:
        """Find the frames already in the dataset (``done``) and count its positives and negatives."""
        raise NotImplementedError

    def _remove_partials(self) -> int:
        """vidcv's own temporary files (``.NAME.partial.EXT``) left by a killed write."""
        removed = 0
        for folder in self._content_folders():
            for name in os.listdir(folder):
                if is_partial(name) and os.path.lexists(os.path.join(folder, name)):
                    removed += remove(os.path.join(folder, name))  # a link there is refused
        return removed

    # --- adding ---------------------------------------------------------------------------------------------
    def split_for(self, stem: str, index: int) -> str:
        unit = index // self.chunks.get(stem, self.chunk) if self.split_by == "chunk" else index
        return choose_split(f"{self.seed}:{stem}:{self.split_by}", unit, self.ratios)

    def class_id(self, name: str, known: Mapping[int, str]) -> int:
        """The dataset id of class ``name`` (cleaned, see ``clean_name``). Classes come in the detector's order:
        the first time a detector's names are seen, every one of them not yet in the dataset is appended in its
        id order, so a dataset made with one model keeps that model's ids, and another model's new classes go
        at the end. A dataset that had classes before this run takes new ones only with ``merge``."""
        name = clean_name(name)
        if name not in self.names:
            new = [n for n in dict.fromkeys(clean_name(v) for _, v in sorted(known.items())) if n not in self.names]
            if name not in new:
                new.append(name)
            if self.names_at_start and not self.merge:
                raise DatasetError(
                    f"{self.root} has the classes {few(self.names)}, and this pipeline's detector "
                    f"adds {few(new)}: pass --merge to append them (ids {len(self.names)}.."
                    f"{len(self.names) + len(new) - 1}), or use a new --out"
                )
            self.names.extend(new)
            self.save_meta()
        return self.names.index(name)

    def class_ids(self, dets: Detections) -> list[int]:
        """Dataset class ids of the detections (see ``class_id``)."""
        return [self.class_id(dets.class_name(cid), dets.names) for cid in dets.class_id]

    #: whether frames without labels can be kept (as negatives, up to --negatives)
    takes_negatives = True

    def has_labels(self, dets: Detections, classification: Classification | None) -> bool:
        """Whether a frame with these results gives this format anything to label."""
        return len(dets) > 0

    def add(
        self,
        stem: str,
        index: int,
        image: np.ndarray,
        dets: Detections,
        provenance: dict[str, Any],
        classification: Classification | None = None,
    ) -> str | None:
        """Add one frame; the split it went to, or None when it is already in the dataset (or, classify, has
        nothing to file). Outside a session (``open``) the frame is a session of its own."""
        if not self.opened:
            self.open()
            try:
                return self.add(stem, index, image, dets, provenance, classification)
            finally:
                self.close()
        name = f"{stem}_{index:06d}"
        if name in self.done:
            return None
        split = self.split_for(stem, index)
        h, w = image.shape[:2]
        planned = self._files(name, split, image, dets, classification)
        if planned is None:
            return None
        files, labels, extra = planned
        entry = {"name": name, "split": split, "labels": labels, "width": w, "height": h, **provenance, **extra}
        self._write(files, entry)
        self.done.add(name)
        self.kept[split] += 1
        if labels:
            self.positives += 1
            self.total_positives += 1
        else:
            self.negatives += 1
            self.total_negatives += 1
        return split

    def _files(
        self, name: str, split: str, image: np.ndarray, dets: Detections, classification: Classification | None
    ) -> tuple[list[FileWrite], int, dict[str, Any]] | None:
        """The files of a frame in the order they are written (the last completes it), its label count and what
        its manifest line adds; None when it has nothing to write."""
        raise NotImplementedError

    def _write(self, files: list[FileWrite], entry: dict[str, Any]) -> None:
        """Journal the frame, write its files (each under its temporary name, then renamed) and its manifest line.
        A write that fails removes the frame's files written so far and raises DatasetError naming the file."""
        current = os.path.join(self.root, MANIFEST_NAME)
        written: list[str] = []
        try:
            self.journal.begin([rel for rel, _ in files], entry)
            for rel, write in files:
                current = os.path.join(self.root, rel)
                write_bytes_atomic(current, write())  # new under its temporary name: never through a link
                written.append(current)
            current = os.path.join(self.root, MANIFEST_NAME)
            self.journal.append_manifest(entry)
            self.journal.done()
        except (OSError, OutputError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._undo(written)
            raise DatasetError(f"could not write {current}: {reason}") from None
        except BaseException:
            self._undo(written)
            raise

    def _undo(self, written: list[str]) -> None:
        """Remove the files of a frame that failed half way (left to the journal when even that fails)."""
        try:
            for path in written:
                remove(path)
        except OSError:
            return
        self.journal.done()

    def split_note(self) -> str | None:
        """A line saying how far the kept frames are from the asked ratios, when more than 0.05 off."""
        total = sum(self.kept.values())
        if not total:
            return None
        got = [self.kept[s] / total for s in SPLITS]
        if max(round(abs(g - r), 6) for g, r in zip(got, self.ratios)) <= 0.05:  # 0.05 itself is within
            return None
        chunk = min(self.chunks.values()) if self.chunks else self.chunk
        unit = f"runs of {chunk} consecutive frames" if self.split_by == "chunk" else "single frames"
        return (
            f"note: the split is {'/'.join(f'{g:.2f}' for g in got)} of {total} frames (asked "
            f"{'/'.join(f'{r:.2f}' for r in self.ratios)}): it deals out {unit}, too few here to match; "
            + (
                "--split-by frame splits finer (neighbouring frames may then land in different splits)"
                if self.split_by == "chunk"
                else "more frames bring it closer"
            )
        )

    def _meta(self) -> dict[str, Any]:
        """The keys of data.yaml this layout sets."""
        raise NotImplementedError

    def save_meta(self) -> None:
        """data.yaml and classes.txt, in agreement (the same cleaned names in the same order). Keys of data.yaml
        that vidcv does not set (a merged dataset's own, a user's edit) are kept. Only within a session."""
        if not self.opened:
            return
        data = dict(self.meta)
        data.update(self._meta())
        if "nc" in data:
            data["nc"] = len(self.names)
        data["vidcv_format"] = self.fmt
        self.meta = data
        write_text_atomic(
            os.path.join(self.root, "data.yaml"), yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )
        write_text_atomic(os.path.join(self.root, "classes.txt"), "".join(f"{n}\n" for n in self.names))


class DatasetWriter(Dataset):
    """ultralytics' YOLO layouts: ``images/`` and ``labels/`` per split, ``data.yaml``; ``coco`` adds COCO json."""

    def _make_folders(self) -> None:
        for folder in self._content_folders():
            make_dirs(folder, below=self.root)

    def _content_folders(self) -> list[str]:
        return [os.path.join(self.root, kind, split) for kind in ("images", "labels") for split in SPLITS]

    def _scan(self) -> None:
        """A frame is done when its label exists; an empty label is a negative. A frame rejected in the dataset
        view (``rejected/``) is done too: a later run does not bring it back."""
        for split in SPLITS:
            rejected = os.path.join(self.root, "rejected", "labels", split)
            if os.path.isdir(rejected):
                self.done.update(n[:-4] for n in os.listdir(rejected) if n.endswith(".txt") and not is_partial(n))
            with os.scandir(os.path.join(self.root, "labels", split)) as entries:
                for entry in entries:
                    if entry.name.endswith(".txt") and not is_partial(entry.name):
                        self.done.add(entry.name[:-4])
                        if entry.stat().st_size:
                            self.total_positives += 1
                        else:
                            self.total_negatives += 1

    @property
    def kpt_shape(self) -> list[int] | None:
        shape = self.meta.get("kpt_shape")
        return [int(v) for v in shape] if shape else None

    def _learn_keypoints(self, dets: Detections) -> None:
        """A pose dataset takes its keypoint count from the first pose detections, and refuses another one."""
        keypoints = dets.data.get(KEYPOINTS.name)
        if self.fmt != "yolo-pose" or keypoints is None or not len(dets):
            return
        k = int(np.asarray(keypoints).shape[1])
        if self.kpt_shape is None:
            self.meta["kpt_shape"] = [k, 3]
            self.save_meta()
        elif self.kpt_shape[0] != k:
            raise DatasetError(
                f"{self.root} holds poses of {self.kpt_shape[0]} keypoints and this pipeline's model "
                f"gives {k}: use another --out for this model"
            )

    def label_lines(self, dets: Detections, size_wh: tuple[int, int]) -> list[str]:
        self._learn_keypoints(dets)
        lines, unlabelled = label_lines(self.fmt, dets, self.class_ids(dets), size_wh)
        self.unlabelled += unlabelled
        return lines

    def _files(
        self, name: str, split: str, image: np.ndarray, dets: Detections, classification: Classification | None
    ) -> tuple[list[FileWrite], int, dict[str, Any]]:
        """The image, then its label (an empty one for a negative)."""
        h, w = image.shape[:2]
        lines = self.label_lines(dets, (w, h))
        files = [
            (os.path.join("images", split, f"{name}.jpg"), jpeg_writer(image)),
            (os.path.join("labels", split, f"{name}.txt"), text_writer("".join(f"{ln}\n" for ln in lines))),
        ]
        return files, len(lines), {}

    def finish(self) -> None:
        self.save_meta()
        if self.fmt == "coco":
            self.write_coco()

    def write_coco(self) -> None:
        """annotations/instances_{split}.json from the label files: boxes in pixels, category ids from 1."""
        sizes = {}
        manifest = os.path.join(self.root, MANIFEST_NAME)
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:  # a line cut by a kill
                        continue
                    if "width" in entry:
                        sizes[entry["name"]] = (entry["width"], entry["height"])
        make_dirs(os.path.join(self.root, "annotations"), below=self.root)
        categories = [{"id": i + 1, "name": n, "supercategory": "object"} for i, n in enumerate(self.names)]
        for split in SPLITS:
            images: list[dict[str, Any]] = []
            annotations: list[dict[str, Any]] = []
            for label in sorted(os.listdir(os.path.join(self.root, "labels", split))):
                if not label.endswith(".txt"):
                    continue
                name = label[:-4]
                if name not in sizes:
                    path = os.path.join(self.root, "images", split, f"{name}.jpg")
                    img = cv2.imread(path)
                    if img is None:
                        raise DatasetError(f"cannot read {path}, the image of {label}: restore it, or remove both")
                    sizes[name] = (img.shape[1], img.shape[0])
                w, h = sizes[name]
                image_id = len(images) + 1
                images.append({"id": image_id, "file_name": f"{split}/{name}.jpg", "width": w, "height": h})
                with open(os.path.join(self.root, "labels", split, label), encoding="utf-8") as fh:
                    for row in fh:
                        cls, xc, yc, bw, bh = (float(v) for v in row.split()[:5])
                        x, y, pw, ph = (xc - bw / 2) * w, (yc - bh / 2) * h, bw * w, bh * h
                        annotations.append(
                            {
                                "id": len(annotations) + 1,
                                "image_id": image_id,
                                "category_id": int(cls) + 1,
                                "bbox": [x, y, pw, ph],
                                "area": pw * ph,
                                "iscrowd": 0,
                                "segmentation": [[x, y, x + pw, y, x + pw, y + ph, x, y + ph]],
                            }
                        )
            doc = {
                "info": {"description": "made by vidcv extract"},
                "images": images,
                "annotations": annotations,
                "categories": categories,
            }
            write_text_atomic(os.path.join(self.root, "annotations", f"instances_{split}.json"), json.dumps(doc))

    def _meta(self) -> dict[str, Any]:
        """The dataset's folder (a relative path of a merged data.yaml is kept), the splits where they are
        already named, names, and a pose dataset's keypoints (``flip_idx``: the user's edit is kept)."""
        path = self.meta.get("path")
        data: dict[str, Any] = {
            "path": path if isinstance(path, str) and path and not os.path.isabs(path) else self.root
        }
        data.update({split: self.meta.get(split) or f"images/{split}" for split in SPLITS})
        data["names"] = dict(enumerate(self.names))
        if self.kpt_shape:
            data["kpt_shape"] = self.kpt_shape
            data["flip_idx"] = self.meta.get("flip_idx") or flip_idx(self.kpt_shape[0])
        return data
