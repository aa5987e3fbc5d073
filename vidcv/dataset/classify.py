"""ultralytics' classification layout: ``DIR/{train,val,test}/CLASS/NAME.jpg``.

A frame goes whole into the folder of a classifier's top-1 class, or, with ``crops``, each detection is cut
out into its class's folder. Every known class has a folder in every split (empty ones included), so each
split's class list is the same. ultralytics numbers the classes of this layout by folder name, in sorted
order; ``data.yaml`` and ``classes.txt`` keep them in the model's order for reference. Images are written
under a temporary name and renamed: a run killed at any moment leaves only whole images.
"""

from __future__ import annotations

import os
import re
from typing import Any

import cv2
import numpy as np
import yaml

from vidcv.dataset.writer import SPLITS, Dataset, DatasetError
from vidcv.detections import Classification, Detections
from vidcv.fileio import atomic_path, is_partial, write_text_atomic

CROP_NAME = re.compile(r"_k\d+$")  #: the suffix of a crop's file name: its detection's index in the frame
CROP_MARGIN = 0.1  #: a crop reaches this fraction of the box's size beyond each side (clipped to the image)


def class_folder(name: str) -> str:
    """A class name as a folder name (path separators and leading dots replaced)."""
    safe = name.replace(os.sep, "_").replace("/", "_").strip()
    return safe.lstrip(".") or "_"


class ClassifyWriter(Dataset):
    """Frames (or detection crops) filed by class, split like the YOLO layouts, resumable."""

    def __init__(self, root: str, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), split_by: str = "chunk",
                 seed: int = 0, crops: bool = False) -> None:
        super().__init__(root, "classify", ratios, split_by, seed)
        self.crops = crops

    takes_negatives = False

    def has_labels(self, dets: Detections, classification: Classification | None) -> bool:
        if self.crops:
            return len(dets) > 0
        return classification is not None and len(classification) > 0

    def _make_folders(self) -> None:
        for split in SPLITS:
            os.makedirs(os.path.join(self.root, split), exist_ok=True)
            for name in self.names:
                os.makedirs(os.path.join(self.root, split, class_folder(name)), exist_ok=True)

    def _scan(self) -> None:
        """Whole images are done (a crop's name ends in its index, ``NAME_kNN``); temporary files are removed."""
        for split in SPLITS:
            for folder in os.listdir(os.path.join(self.root, split)):
                path = os.path.join(self.root, split, folder)
                if not os.path.isdir(path):
                    continue
                for name in os.listdir(path):
                    if is_partial(name):
                        os.remove(os.path.join(path, name))
                        self.orphans_removed += 1
                    elif name.endswith(".jpg"):
                        self.done.add(CROP_NAME.sub("", name[:-4]))

    def class_id(self, name: str, known: Any) -> int:
        grew = name not in self.names
        cid = super().class_id(name, known)
        if grew and self.created:
            self._make_folders()
        return cid

    def _write(self, path: str, image: np.ndarray) -> None:
        with atomic_path(path) as tmp:
            if not cv2.imwrite(tmp, image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise DatasetError(f"could not write {path} (disk full or not writable?)")

    def add(self, stem: str, index: int, image: np.ndarray, dets: Detections, provenance: dict[str, Any],
            classification: Classification | None = None) -> str | None:
        """File the frame (or its crops); the split, or None when it is already here or has nothing to file."""
        self.create()
        name = f"{stem}_{index:06d}"
        if name in self.done:
            return None
        split = self.split_for(stem, index)
        h, w = image.shape[:2]
        if self.crops:
            files = self._crops(name, image, dets)
        else:
            files = self._whole(name, image, classification)
        if not files:
            return None
        for class_name, file_name, picture in files:
            self._write(os.path.join(self.root, split, class_folder(class_name), file_name), picture)
        self.record(name, split, len(files), (w, h), {**provenance, "classes": [c for c, _, _ in files]})
        return split

    def _whole(self, name: str, image: np.ndarray,
               classification: Classification | None) -> list[tuple[str, str, np.ndarray]]:
        if classification is None or not len(classification):
            return []
        class_name = classification.class_name(classification.class_id[0])
        self.class_id(class_name, classification.names)
        return [(class_name, f"{name}.jpg", image)]

    def _crops(self, name: str, image: np.ndarray, dets: Detections) -> list[tuple[str, str, np.ndarray]]:
        h, w = image.shape[:2]
        files = []
        for k, (box, cid) in enumerate(zip(dets.xyxy, dets.class_id)):
            mx, my = (box[2] - box[0]) * CROP_MARGIN, (box[3] - box[1]) * CROP_MARGIN
            x1, y1 = max(0, int(box[0] - mx)), max(0, int(box[1] - my))
            x2, y2 = min(w, int(np.ceil(box[2] + mx))), min(h, int(np.ceil(box[3] + my)))
            if x2 - x1 < 2 or y2 - y1 < 2:
                self.unlabelled += 1
                continue
            class_name = dets.class_name(cid)
            self.class_id(class_name, dets.names)
            files.append((class_name, f"{name}_k{k:02d}.jpg", np.ascontiguousarray(image[y1:y2, x1:x2])))
        return files

    def save_meta(self) -> None:
        """data.yaml (names in the model's order, format) and classes.txt; ultralytics reads the folders."""
        if not self.created:
            return
        data = {"path": self.root, "names": dict(enumerate(self.names)), "vidcv_format": self.fmt}
        write_text_atomic(os.path.join(self.root, "data.yaml"), yaml.safe_dump(data, sort_keys=False))
        write_text_atomic(os.path.join(self.root, "classes.txt"), "".join(f"{n}\n" for n in self.names))
