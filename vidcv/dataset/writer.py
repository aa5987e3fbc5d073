"""The dataset on disk: ultralytics' layout, appended to and resumed safely.

``DIR/images/{train,val,test}/NAME.jpg`` and ``DIR/labels/{...}/NAME.txt`` (``class xc yc w h``
normalised, or polygons for ``yolo-seg``; an empty file for a negative), ``DIR/data.yaml``,
``DIR/classes.txt`` and ``DIR/manifest.jsonl`` (provenance of every kept frame). ``coco`` keeps the same
files and adds ``DIR/annotations/instances_{split}.json``, rebuilt from the labels at the end of each run. Each image and label is
written under a temporary name and renamed, the label last, so a pair is complete exactly when its label
exists: a run killed at any moment leaves a dataset that loads, and the next run continues it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import yaml

from vidcv.detections import Detections
from vidcv.errors import VidcvError
from vidcv.fileio import atomic_path, is_partial, write_text_atomic

SPLITS = ("train", "val", "test")
FORMATS = ("yolo", "yolo-seg", "coco")
CHUNK_FRAMES = 150  #: --split-by chunk keeps runs of this many consecutive frames in one split


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


def choose_split(key: str, ratios: Sequence[float]) -> str:
    """A split for ``key``, the same on every run with the same key (the seed is part of it)."""
    u = int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / float(16 ** 12)
    edge = 0.0
    for split, ratio in zip(SPLITS, ratios):
        edge += ratio
        if u < edge:
            return split
    return next(s for s, r in zip(reversed(SPLITS), reversed(list(ratios))) if r > 0)


class DatasetWriter:
    """Adds frames and their labels to ``root``; ``names`` grows as new classes appear, never reorders."""

    def __init__(self, root: str, fmt: str = "yolo", ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 split_by: str = "chunk", seed: int = 0) -> None:
        if fmt not in FORMATS:
            raise DatasetError(f"--format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")
        if split_by not in ("chunk", "frame"):
            raise DatasetError(f"--split-by {split_by!r}: use chunk or frame")
        self.root, self.fmt, self.ratios, self.split_by, self.seed = os.path.abspath(root), fmt, ratios, split_by, seed
        try:
            for split in SPLITS:
                os.makedirs(os.path.join(self.root, "images", split), exist_ok=True)
                os.makedirs(os.path.join(self.root, "labels", split), exist_ok=True)
        except OSError as exc:
            raise DatasetError(f"cannot create the dataset in {self.root}: {exc.strerror}") from None
        self.names: list[str] = self._read_names()
        self._check_format()
        self.done: set[str] = set()
        self.orphans_removed = 0
        self._scan()
        self.kept = {split: 0 for split in SPLITS}
        self.positives = self.negatives = 0

    # --- what is there already -----------------------------------------------------------------------
    def _read_names(self) -> list[str]:
        path = os.path.join(self.root, "data.yaml")
        if not os.path.exists(path):
            return []
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path} is not valid YAML ({exc}); move it away or choose another --out") from None
        names = data.get("names", {})
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names)]
        return [str(n) for n in names]

    def _check_format(self) -> None:
        """Boxes and polygons do not mix in one dataset: a run with another label format is refused."""
        path = os.path.join(self.root, "data.yaml")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as fh:
            existing = (yaml.safe_load(fh) or {}).get("vidcv_format")
        segments = {"yolo-seg"}
        if existing and (existing in segments) != (self.fmt in segments):
            raise DatasetError(f"{self.root} holds '{existing}' labels and this run asks for '{self.fmt}': boxes "
                               "and polygons do not mix in one dataset; use another --out or the same --format")

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

    # --- adding ---------------------------------------------------------------------------------------------
    def split_for(self, stem: str, index: int) -> str:
        unit = index // CHUNK_FRAMES if self.split_by == "chunk" else index
        return choose_split(f"{self.seed}:{stem}:{self.split_by}:{unit}", self.ratios)

    def class_ids(self, dets: Detections) -> list[int]:
        """Dataset class ids of the detections, adding new class names at the end (and saving data.yaml)."""
        ids, grew = [], False
        for cid in dets.class_id:
            name = dets.class_name(cid)
            if name not in self.names:
                self.names.append(name)
                grew = True
            ids.append(self.names.index(name))
        if grew:
            self.save_meta()
        return ids

    def label_lines(self, dets: Detections, size_wh: tuple[int, int]) -> list[str]:
        w, h = size_wh
        ids = self.class_ids(dets)
        lines = []
        for i, cid in enumerate(ids):
            x1, y1, x2, y2 = np.clip(dets.xyxy[i], 0, [w, h, w, h]).astype(float)
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            if self.fmt in ("yolo", "coco"):
                lines.append(f"{cid} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} "
                             f"{(y2 - y1) / h:.6f}")
            else:
                polygon = self._polygon(dets, i, (x1, y1, x2, y2))
                coords = " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in np.clip(polygon, 0, [w, h]))
                lines.append(f"{cid} {coords}")
        return lines

    @staticmethod
    def _polygon(dets: Detections, i: int, box: tuple[float, float, float, float]) -> np.ndarray:
        if dets.polygons is not None and len(dets.polygons[i]) >= 3:
            return dets.polygons[i]
        if dets.masks is not None:
            contours, _ = cv2.findContours(dets.masks[i].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            if contours:
                return max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
        x1, y1, x2, y2 = box
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)

    def add(self, stem: str, index: int, image: np.ndarray, dets: Detections, provenance: dict[str, Any]) -> str | None:
        """Write one image and its label (label last); None when this frame is already in the dataset."""
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
        self.done.add(name)
        self.kept[split] += 1
        if lines:
            self.positives += 1
        else:
            self.negatives += 1
        with open(os.path.join(self.root, "manifest.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "split": split, "labels": len(lines), "width": w, "height": h,
                                 **provenance}) + "\n")
        return split

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
        """data.yaml (absolute path, splits, names in their locked order) and classes.txt."""
        data = {"path": self.root, "train": "images/train", "val": "images/val", "test": "images/test",
                "names": dict(enumerate(self.names)), "vidcv_format": self.fmt}
        write_text_atomic(os.path.join(self.root, "data.yaml"), yaml.safe_dump(data, sort_keys=False))
        write_text_atomic(os.path.join(self.root, "classes.txt"), "".join(f"{n}\n" for n in self.names))
