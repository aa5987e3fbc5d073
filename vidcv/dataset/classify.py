"""ultralytics' classification layout: ``DIR/{train,val,test}/CLASS/NAME.jpg``.

A frame goes whole into the folder of a classifier's top-1 class, or, with ``crops``, each detection is cut
out into its class's folder. Every known class has a folder in every split (empty ones included), so each
split's class list is the same. ultralytics numbers the classes of this layout by folder name, in sorted
order; ``data.yaml`` and ``classes.txt`` keep them in the model's order for reference. Images are written
under a temporary name and renamed after the journal named them: a run killed at any moment leaves only
whole images, and the next run removes the crops of a frame it left half filed.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from vidcv.dataset.existing import clean_name
from vidcv.dataset.writer import SPLITS, Dataset, DatasetError, FileWrite, jpeg_writer
from vidcv.detections import Classification, Detections
from vidcv.fileio import is_partial, make_dirs

CROP_NAME = re.compile(r"_k\d+$")  #: the suffix of a crop's file name: its detection's index in the frame
CROP_MARGIN = 0.1  #: a crop reaches this fraction of the box's size beyond each side (clipped to the image)


def class_folder(name: str) -> str:
    """A class name as a folder name (path separators and leading dots replaced)."""
    safe = name.replace(os.sep, "_").replace("/", "_").strip()
    return safe.lstrip(".") or "_"


class ClassifyWriter(Dataset):
    """Frames (or detection crops) filed by class, split like the YOLO layouts, resumable."""

    def __init__(
        self,
        root: str,
        ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
        split_by: str = "chunk",
        seed: int = 0,
        crops: bool = False,
        merge: bool = False,
    ) -> None:
        super().__init__(root, "classify", ratios, split_by, seed, merge)
        self.crops = crops

    takes_negatives = False

    def has_labels(self, dets: Detections, classification: Classification | None) -> bool:
        if self.crops:
            return len(dets) > 0
        return classification is not None and len(classification) > 0

    def _make_folders(self) -> None:
        self._check_folder_names()
        for split in SPLITS:
            make_dirs(os.path.join(self.root, split), below=self.root)
            for name in self.names:
                make_dirs(os.path.join(self.root, split, class_folder(name)), below=self.root)

    def _check_folder_names(self) -> None:
        """DatasetError naming the first class whose folder name the file system cannot hold, before any folder
        is made (it failed half way, leaving empty class folders and naming no class)."""
        try:
            limit = os.pathconf(self.root, "PC_NAME_MAX")
        except (OSError, ValueError):
            limit = 255
        for name in self.names:
            size = len(class_folder(name).encode("utf-8", "surrogateescape"))
            if size > limit:
                raise DatasetError(
                    f"the class {name[:40]!r}... ({len(name)} characters) is too long for a folder "
                    f"name ({size} bytes, at most {limit} here): shorten it in the model's names, or "
                    "extract with --format yolo, which keeps class names in data.yaml"
                )

    def _content_folders(self) -> list[str]:
        folders = []
        for split in SPLITS:
            with os.scandir(os.path.join(self.root, split)) as entries:
                folders += [entry.path for entry in entries if entry.is_dir()]
        return folders

    def _scan(self) -> None:
        """Every image is done (a crop's name ends in its index, ``NAME_kNN``)."""
        for folder in self._content_folders():
            for name in os.listdir(folder):
                if name.endswith(".jpg") and not is_partial(name):
                    self.done.add(CROP_NAME.sub("", name[:-4]))

    def class_id(self, name: str, known: Any) -> int:
        grew = clean_name(name) not in self.names
        cid = super().class_id(name, known)
        if grew and self.opened:
            self._make_folders()
        return cid

    def _files(
        self, name: str, split: str, image: np.ndarray, dets: Detections, classification: Classification | None
    ) -> tuple[list[FileWrite], int, dict[str, Any]] | None:
        """The frame into its class's folder, or each crop into its own; None when there is nothing to file."""
        found = self._crops(name, image, dets) if self.crops else self._whole(name, image, classification)
        if not found:
            return None
        files = [
            (os.path.join(split, class_folder(c), file_name), jpeg_writer(picture)) for c, file_name, picture in found
        ]
        return files, len(files), {"classes": [c for c, _, _ in found]}

    def _whole(
        self, name: str, image: np.ndarray, classification: Classification | None
    ) -> list[tuple[str, str, np.ndarray]]:
        if classification is None or not len(classification):
            return []
        cid = self.class_id(classification.class_name(classification.class_id[0]), classification.names)
        return [(self.names[cid], f"{name}.jpg", image)]

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
            dataset_id = self.class_id(dets.class_name(cid), dets.names)
            files.append((self.names[dataset_id], f"{name}_k{k:02d}.jpg", np.ascontiguousarray(image[y1:y2, x1:x2])))
        return files

    def _meta(self) -> dict[str, Any]:
        """Names in the model's order (ultralytics reads the folders)."""
        return {"path": self.root, "names": dict(enumerate(self.names))}
