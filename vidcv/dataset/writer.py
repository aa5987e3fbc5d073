"""The dataset on disk: ultralytics' layouts, appended to and resumed safely.

``DIR/images/{train,val,test}/NAME.jpg`` and ``DIR/labels/{...}/NAME.txt`` (see ``formats``: boxes,
polygons, keypoints or oriented boxes; an empty file for a negative), ``DIR/data.yaml``,
``DIR/classes.txt`` and ``DIR/manifest.jsonl`` (provenance of every kept frame). ``coco`` keeps the same
files and adds ``DIR/annotations/instances_{split}.json``, rebuilt from the labels at the end of each run.
Each image and label is written under a temporary name and renamed, the label last, so a pair is complete
exactly when its label exists: a run killed at any moment leaves a dataset that loads, and the next run
continues it. ``classify`` (vidcv.dataset.classify) shares the split, names, manifest and resume.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import yaml

from vidcv.dataset.formats import FORMATS, flip_idx, label_lines
from vidcv.detections import KEYPOINTS, Classification, Detections
from vidcv.errors import VidcvError
from vidcv.fileio import atomic_path, is_partial, write_text_atomic

SPLITS = ("train", "val", "test")
CHUNK_FRAMES = 150  #: --split-by chunk keeps runs of at most this many consecutive frames in one split
MIN_CHUNK_FRAMES = 10  #: ... and of at least this many
CHUNKS_PER_SOURCE = 20  #: a source of known length is cut into at least this many runs, so the ratios can hold
GOLDEN = (5 ** 0.5 - 1) / 2  #: step of the low-discrepancy sequence that deals runs out to the splits


class DatasetError(VidcvError):
    """The output folder cannot take these frames (a clash with what is there, a bad option)."""


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1.0) > 1e-6:
        raise DatasetError(f"--split {text!r}: give three fractions for train, val and test that add up to 1, "
                           "e.g. 0.8,0.1,0.1")
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
    start = int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16 ** 12)
    return split_at((start + unit * GOLDEN) % 1.0, ratios)


def chunk_frames(frame_count: int | None) -> int:
    """Frames per run for ``--split-by chunk``: CHUNK_FRAMES, shorter for a short source of known length so
    that it still makes CHUNKS_PER_SOURCE runs (never under MIN_CHUNK_FRAMES)."""
    if not frame_count or frame_count <= 0:
        return CHUNK_FRAMES
    return max(MIN_CHUNK_FRAMES, min(CHUNK_FRAMES, frame_count // CHUNKS_PER_SOURCE))


def read_data_yaml(root: str) -> dict[str, Any]:
    """``root``/data.yaml as a dict ({} when there is none)."""
    path = os.path.join(root, "data.yaml")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise DatasetError(f"{path} is not valid YAML ({exc}); move it away or choose another --out") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path} is not a dataset description; move it away or choose another --out")
    return data


class Dataset:
    """What every layout shares: validation, the split, class names in the detectors' order, resume and the
    manifest. Nothing is written until ``create`` (or the first ``add``)."""

    def __init__(self, root: str, fmt: str | None = None, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 split_by: str = "chunk", seed: int = 0) -> None:
        self.root = os.path.abspath(root)
        self.meta = read_data_yaml(self.root)
        fmt = fmt or self.meta.get("vidcv_format") or "yolo"
        if fmt not in FORMATS:
            raise DatasetError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
        if split_by not in ("chunk", "frame"):
            raise DatasetError(f"--split-by {split_by!r}: use chunk or frame")
        self.fmt, self.ratios, self.split_by, self.seed = fmt, tuple(ratios), split_by, seed
        self._check_format()
        names = self.meta.get("names", {})
        self.names: list[str] = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else \
            [str(n) for n in names]
        self.chunk = CHUNK_FRAMES
        self.created = False
        self.done: set[str] = set()
        self.orphans_removed = 0
        self.kept = {split: 0 for split in SPLITS}
        self.positives = self.negatives = 0
        self.unlabelled = 0  #: detections this format cannot hold (no keypoints in a pose dataset, ...)

    def _check_format(self) -> None:
        """Formats of different families do not mix in one dataset: a run with another one is refused."""
        existing = self.meta.get("vidcv_format")
        if existing in FORMATS and FORMATS[existing].family != FORMATS[self.fmt].family:
            raise DatasetError(f"{self.root} holds '{existing}' labels and this run asks for '{self.fmt}': "
                               f"{FORMATS[existing].family} and {FORMATS[self.fmt].family} do not mix in one "
                               "dataset; use another --out or the same --format")

    def set_length(self, frame_count: int | None) -> None:
        """The source's length in frames (None or 0 when unknown, live): sets the run length of the split."""
        self.chunk = chunk_frames(frame_count)

    def create(self) -> None:
        """Make the folders, find what a previous run finished (and remove what it left half done)."""
        if self.created:
            return
        try:
            self._make_folders()
        except OSError as exc:
            raise DatasetError(f"cannot create the dataset in {self.root}: {exc.strerror}") from None
        self._scan()
        self.created = True
        self.save_meta()

    def _make_folders(self) -> None:
        raise NotImplementedError

    def _scan(self) -> None:
        raise NotImplementedError

    # --- adding ---------------------------------------------------------------------------------------------
    def split_for(self, stem: str, index: int) -> str:
        unit = index // self.chunk if self.split_by == "chunk" else index
        return choose_split(f"{self.seed}:{stem}:{self.split_by}", unit, self.ratios)

    def class_id(self, name: str, known: Mapping[int, str]) -> int:
        """The dataset id of class ``name``. Classes come in the detector's order: the first time a detector's
        names are seen, every one of them not yet in the dataset is appended in its id order, so a dataset
        made with one model keeps that model's ids, and another model's new classes go at the end."""
        if name not in self.names:
            self.names.extend(n for _, n in sorted(known.items()) if n not in self.names)
            if name not in self.names:
                self.names.append(name)
            self.save_meta()
        return self.names.index(name)

    def class_ids(self, dets: Detections) -> list[int]:
        """Dataset class ids of the detections (see ``class_id``)."""
        return [self.class_id(dets.class_name(cid), dets.names) for cid in dets.class_id]

    def record(self, name: str, split: str, labels: int, size_wh: tuple[int, int], provenance: dict[str, Any]) -> None:
        """Count a kept frame and add its manifest line."""
        self.done.add(name)
        self.kept[split] += 1
        if labels:
            self.positives += 1
        else:
            self.negatives += 1
        with open(os.path.join(self.root, "manifest.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "split": split, "labels": labels, "width": size_wh[0],
                                 "height": size_wh[1], **provenance}) + "\n")

    #: whether frames without labels can be kept (as negatives, up to --negatives)
    takes_negatives = True

    def has_labels(self, dets: Detections, classification: Classification | None) -> bool:
        """Whether a frame with these results gives this format anything to label."""
        return len(dets) > 0

    def add(self, stem: str, index: int, image: np.ndarray, dets: Detections, provenance: dict[str, Any],
            classification: Classification | None = None) -> str | None:
        """Add one frame; the split it went to, or None when it is already in the dataset."""
        raise NotImplementedError

    def split_note(self) -> str | None:
        """A line saying how far the kept frames are from the asked ratios, when more than 0.05 off."""
        total = sum(self.kept.values())
        if not total:
            return None
        got = [self.kept[s] / total for s in SPLITS]
        if max(abs(g - r) for g, r in zip(got, self.ratios)) <= 0.05:
            return None
        unit = f"runs of {self.chunk} consecutive frames" if self.split_by == "chunk" else "single frames"
        return (f"note: the split is {'/'.join(f'{g:.2f}' for g in got)} of {total} frames (asked "
                f"{'/'.join(f'{r:.2f}' for r in self.ratios)}): it deals out {unit}, too few here to match; "
                + ("--split-by frame splits finer (neighbouring frames may then land in different splits)"
                   if self.split_by == "chunk" else "more frames bring it closer"))

    def save_meta(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Write what is built from the whole dataset at the end of a run."""
        self.save_meta()


class DatasetWriter(Dataset):
    """ultralytics' YOLO layouts: ``images/`` and ``labels/`` per split, ``data.yaml``; ``coco`` adds COCO json."""

    def _make_folders(self) -> None:
        for split in SPLITS:
            os.makedirs(os.path.join(self.root, "images", split), exist_ok=True)
            os.makedirs(os.path.join(self.root, "labels", split), exist_ok=True)

    def _scan(self) -> None:
        """Complete pairs are done; images without a label, and temporary files, are leftovers of a killed run."""
        for split in SPLITS:
            labels = os.path.join(self.root, "labels", split)
            images = os.path.join(self.root, "images", split)
            for name in os.listdir(labels):
                if is_partial(name):
                    os.remove(os.path.join(labels, name))
                elif name.endswith(".txt"):
                    self.done.add(name[:-4])
            for name in os.listdir(images):
                stem = os.path.splitext(name)[0]
                if is_partial(name) or stem not in self.done:
                    os.remove(os.path.join(images, name))
                    self.orphans_removed += 1

    @property
    def kpt_shape(self) -> list[int] | None:
        shape = self.meta.get("kpt_shape")
        return [int(v) for v in shape] if shape else None

    def _learn_keypoints(self, dets: Detections) -> None:
        """A pose dataset takes its keypoint count from the first pose detections, and refuses another one."""
        keypoints = dets.data.get(KEYPOINTS.name)
        if self.fmt != "yolo-pose" or keypoints is None or not len(dets):
            return
        k = int(keypoints.shape[1])
        if self.kpt_shape is None:
            self.meta["kpt_shape"] = [k, 3]
            self.save_meta()
        elif self.kpt_shape[0] != k:
            raise DatasetError(f"{self.root} holds poses of {self.kpt_shape[0]} keypoints and this pipeline's model "
                               f"gives {k}: use another --out for this model")

    def label_lines(self, dets: Detections, size_wh: tuple[int, int]) -> list[str]:
        self._learn_keypoints(dets)
        lines, unlabelled = label_lines(self.fmt, dets, self.class_ids(dets), size_wh)
        self.unlabelled += unlabelled
        return lines

    def add(self, stem: str, index: int, image: np.ndarray, dets: Detections, provenance: dict[str, Any],
            classification: Classification | None = None) -> str | None:
        """Write one image and its label (label last); None when this frame is already in the dataset."""
        self.create()
        name = f"{stem}_{index:06d}"
        if name in self.done:
            return None
        split = self.split_for(stem, index)
        h, w = image.shape[:2]
        lines = self.label_lines(dets, (w, h))
        image_path = os.path.join(self.root, "images", split, f"{name}.jpg")
        with atomic_path(image_path) as tmp:
            if not cv2.imwrite(tmp, image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise DatasetError(f"could not write {image_path} (disk full or not writable?)")
        write_text_atomic(os.path.join(self.root, "labels", split, f"{name}.txt"), "".join(f"{ln}\n" for ln in lines))
        self.record(name, split, len(lines), (w, h), provenance)
        return split

    def finish(self) -> None:
        self.save_meta()
        if self.fmt == "coco":
            self.write_coco()

    def write_coco(self) -> None:
        """annotations/instances_{split}.json from the label files: boxes in pixels, category ids from 1."""
        sizes = {}
        manifest = os.path.join(self.root, "manifest.jsonl")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                    except ValueError:  # a line cut by a kill
                        continue
                    if "width" in entry:
                        sizes[entry["name"]] = (entry["width"], entry["height"])
        os.makedirs(os.path.join(self.root, "annotations"), exist_ok=True)
        categories = [{"id": i + 1, "name": n, "supercategory": "object"} for i, n in enumerate(self.names)]
        for split in SPLITS:
            images, annotations = [], []
            for label in sorted(os.listdir(os.path.join(self.root, "labels", split))):
                if not label.endswith(".txt"):
                    continue
                name = label[:-4]
                if name not in sizes:
                    img = cv2.imread(os.path.join(self.root, "images", split, f"{name}.jpg"))
                    sizes[name] = (img.shape[1], img.shape[0])
                w, h = sizes[name]
                image_id = len(images) + 1
                images.append({"id": image_id, "file_name": f"{split}/{name}.jpg", "width": w, "height": h})
                with open(os.path.join(self.root, "labels", split, label), encoding="utf-8") as fh:
                    for row in fh:
                        cls, xc, yc, bw, bh = (float(v) for v in row.split()[:5])
                        x, y, pw, ph = (xc - bw / 2) * w, (yc - bh / 2) * h, bw * w, bh * h
                        annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                            "category_id": int(cls) + 1, "bbox": [x, y, pw, ph], "area": pw * ph,
                                            "iscrowd": 0,
                                            "segmentation": [[x, y, x + pw, y, x + pw, y + ph, x, y + ph]]})
            doc = {"info": {"description": "made by vidcv extract"}, "images": images, "annotations": annotations,
                   "categories": categories}
            write_text_atomic(os.path.join(self.root, "annotations", f"instances_{split}.json"), json.dumps(doc))

    def save_meta(self) -> None:
        """data.yaml (absolute path, splits, names in their locked order, a pose dataset's keypoints) and
        classes.txt."""
        if not self.created:
            return
        data: dict[str, Any] = {"path": self.root, "train": "images/train", "val": "images/val",
                                "test": "images/test", "names": dict(enumerate(self.names))}
        if self.kpt_shape:
            data["kpt_shape"] = self.kpt_shape
            data["flip_idx"] = self.meta.get("flip_idx") or flip_idx(self.kpt_shape[0])  # keep the user's edit
        data["vidcv_format"] = self.fmt
        write_text_atomic(os.path.join(self.root, "data.yaml"), yaml.safe_dump(data, sort_keys=False))
        write_text_atomic(os.path.join(self.root, "classes.txt"), "".join(f"{n}\n" for n in self.names))
