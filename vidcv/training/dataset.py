"""The dataset a training reads: its layout and task, its digest, what ultralytics is given, and the line that
records a training in the dataset's manifest.

A vidcv dataset names its layout in data.yaml (``vidcv_format``); the layout gives the task (``yolo`` and
``coco``: detect, ``yolo-seg``: segment, ``yolo-pose``: pose, ``yolo-obb``: obb, ``classify``: classify) and
the model must be one of that task (``yolo11n-seg.yaml`` for segment: the suffix of ultralytics' model names).

The digest is a SHA-256 over the sorted relative paths and the bytes of every image and label file of the
training layout (``images/`` and ``labels/``, or a classify dataset's split folders) and data.yaml's class
names: a label changed, an image added or a class renamed gives another digest. A run records it, and the
dataset's ``manifest.jsonl`` gets one line per training (``{"event": "train", ...}``), appended under the
dataset's lock; its readers take the lines that name a frame and pass this one by.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from vidcv.dataset.existing import DatasetError, names_of, read_data_yaml
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.journal import JOURNAL_NAME, MANIFEST_NAME, Journal
from vidcv.dataset.lock import DatasetBusy, DatasetLock
from vidcv.errors import OutputError, VidcvError

__all__ = [
    "IMAGE_EXTS",
    "TASKS",
    "TrainingData",
    "dataset_digest",
    "default_model",
    "model_task",
    "read_dataset",
    "record_training",
    "ultralytics_data",
]

#: the task of each layout (``vidcv_format``)
TASK_OF_FORMAT = {
    "yolo": "detect",
    "coco": "detect",
    "yolo-seg": "segment",
    "yolo-pose": "pose",
    "yolo-obb": "obb",
    "classify": "classify",
}
#: the suffix of ultralytics' model names for each task (yolo11n-seg.yaml, yolo11n-cls.yaml)
MODEL_SUFFIX = {"detect": "", "segment": "-seg", "pose": "-pose", "obb": "-obb", "classify": "-cls"}
TASKS = tuple(MODEL_SUFFIX)
#: the image files ultralytics reads (its IMG_FORMATS)
IMAGE_EXTS = (
    ".avif",
    ".bmp",
    ".dng",
    ".heic",
    ".heif",
    ".jp2",
    ".jpeg",
    ".jpg",
    ".mpo",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
)
SPLITS = ("train", "val", "test")
_SUFFIX = re.compile(r"-(seg|pose|obb|cls)(?=[-.\d]|$)")
DIGEST_VERSION = b"vidcv-dataset-digest-1\0"


def default_model(task: str) -> str:
    """The model built from ultralytics' own yaml for ``task`` (nothing to download): ``yolo11n-seg.yaml`` ..."""
    return f"yolo11n{MODEL_SUFFIX[task]}.yaml"


def model_task(model: str) -> str | None:
    """The task of a model yaml by its name's suffix (``-seg``, ``-pose``, ``-obb``, ``-cls``, none: detect);
    None for weights (a .pt tells its task once loaded)."""
    name = os.path.basename(model).lower()
    if not name.endswith((".yaml", ".yml")):
        return None
    found = _SUFFIX.search(name)
    return {"seg": "segment", "pose": "pose", "obb": "obb", "cls": "classify"}[found.group(1)] if found else "detect"


@dataclass
class TrainingData:
    """A dataset as a training sees it."""

    root: str  #: absolute
    fmt: str
    task: str
    names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)  #: data.yaml
    images: dict[str, int] = field(default_factory=dict)  #: image files per split

    @property
    def name(self) -> str:
        return os.path.basename(self.root.rstrip(os.sep)) or "dataset"

    def split_folder(self, split: str) -> str:
        """The folder of a split's images."""
        if self.fmt == "classify":
            return os.path.join(self.root, split)
        return os.path.join(self.root, "images", split)

    def content_folders(self) -> list[str]:
        """The folders whose files make the dataset's digest."""
        if self.fmt == "classify":
            return [os.path.join(self.root, s) for s in SPLITS]
        return [os.path.join(self.root, "images"), os.path.join(self.root, "labels")]


def _files(folder: str, exts: tuple[str, ...]) -> list[str]:
    """The files below ``folder`` ending in one of ``exts`` (hidden ones, vidcv's temporary files among them, left
    out, as ultralytics leaves them), sorted; [] when there is no such folder."""
    found = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(top, n) for n in names if not n.startswith(".") and n.lower().endswith(exts)]
    return sorted(found)


def read_dataset(path: str) -> TrainingData:
    """The dataset at ``path``; DatasetError of one line saying what is missing and how to make it."""
    root = os.path.abspath(path)
    if not os.path.exists(root):
        raise DatasetError(f"no such dataset folder: {path} (give the folder that `vidcv extract --out` wrote)")
    if not os.path.isdir(root):
        raise DatasetError(f"{path} is a file: give the dataset's folder (the one holding data.yaml)")
    if not os.path.isfile(os.path.join(root, "data.yaml")):
        raise DatasetError(
            f"{path} has no data.yaml: not a dataset (`vidcv extract VIDEO -p PRESET --out {path}` makes one)"
        )
    meta = read_data_yaml(root)
    fmt = meta.get("vidcv_format")
    if fmt not in FORMATS:
        raise DatasetError(
            f"{os.path.join(path, 'data.yaml')} has no vidcv_format: vidcv did not make it; add the line "
            f"'vidcv_format: yolo' (or {', '.join(f for f in FORMATS if f != 'yolo')}, as its labels are) to train on it"
        )
    names = names_of(meta)
    if not names:
        raise DatasetError(f"{path} has no classes in its data.yaml: extract frames with a detector into it first")
    data = TrainingData(root, str(fmt), TASK_OF_FORMAT[str(fmt)], names, meta)
    data.images = {split: len(_files(data.split_folder(split), IMAGE_EXTS)) for split in SPLITS}
    if not data.images["train"]:
        where = os.path.relpath(data.split_folder("train"), root)
        raise DatasetError(f"{path} has no training images ({where}/ is empty): extract frames into it first")
    if fmt == "classify" and not data.images["val"]:
        raise DatasetError(
            f"{path} has no validation images (val/ is empty), which a classifier needs: extract more frames "
            "into it, or with a --split that gives val a share"
        )
    if fmt == "yolo-pose" and not meta.get("kpt_shape"):
        raise DatasetError(f"{path}/data.yaml has no kpt_shape: a pose dataset needs it (extract with a pose model)")
    return data


def check_model(data: TrainingData, model: str) -> str:
    """The model to build or load for ``data`` (its task's default when ``model`` is empty); VidcvError of one line
    for a missing weights file or a model yaml of another task."""
    if not model:
        return default_model(data.task)
    task = model_task(model)
    if task is None:
        if not model.lower().endswith((".pt", ".pth")):
            raise VidcvError(
                f"--model {model}: give a model yaml (such as {default_model(data.task)}, built untrained) or "
                "PyTorch weights (.pt)"
            )
        if not os.path.isfile(model):
            raise VidcvError(
                f"no such weights file: {model} (official weights are a download: give a model yaml, "
                f"such as {default_model(data.task)}, or the path of weights you have)"
            )
        return os.path.abspath(model)
    if task != data.task:
        raise VidcvError(
            f"--model {model} is a {task} model and {data.root} is a {data.fmt} dataset ({data.task}): use "
            f"{default_model(data.task)} or another {data.task} model"
        )
    if os.path.isfile(model):
        return os.path.abspath(model)
    if not ultralytics_has_yaml(model):
        raise VidcvError(
            f"--model {model}: no such file, nor a model yaml of ultralytics; give one of its own, such as "
            f"{default_model(data.task)}, yolov8s{MODEL_SUFFIX[data.task]}.yaml or yolo26n{MODEL_SUFFIX[data.task]}.yaml"
        )
    return model


def ultralytics_has_yaml(model: str) -> bool:
    """Whether ultralytics ships the model yaml ``model`` names, found as it finds it (the scale letter taken off:
    yolo11n-seg.yaml is cfg/models/11/yolo11-seg.yaml), without importing it; True when that cannot be told."""
    import importlib.util

    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return True  # the child says what is missing
    stem = os.path.splitext(os.path.basename(model))[0]
    stems = {stem, re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", stem)}
    for location in spec.submodule_search_locations:
        for _top, _dirs, names in os.walk(os.path.join(location, "cfg", "models")):
            if any(os.path.splitext(n)[0] in stems for n in names if n.endswith((".yaml", ".yml"))):
                return True
    return False


def dataset_digest(data: TrainingData) -> str:
    """The dataset's digest (see the module): hex SHA-256."""
    digest = hashlib.sha256(DIGEST_VERSION)
    files = []
    for folder in data.content_folders():
        files += _files(folder, IMAGE_EXTS + (".txt",))
    for path in sorted(files, key=lambda p: os.path.relpath(p, data.root).replace(os.sep, "/")):
        rel = os.path.relpath(path, data.root).replace(os.sep, "/")
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + size.to_bytes(8, "little"))
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    digest.update(b"names\0" + json.dumps(data.names, ensure_ascii=True).encode("ascii"))
    return digest.hexdigest()


def ultralytics_data(data: TrainingData) -> tuple[dict[str, Any] | None, list[str]]:
    """What ultralytics is given for ``data``: a data.yaml document with absolute paths (None for a classify
    dataset, which ultralytics reads as its folder), and warnings (an empty val split validated on another)."""
    if data.fmt == "classify":
        return None, []
    notes = []
    val = "val"
    if not data.images["val"]:
        val = "test" if data.images["test"] else "train"
        notes.append(
            f"{data.root} has no validation images: validating on its {val} images"
            + (" (metrics measure how well it learnt them, not how it generalises)" if val == "train" else "")
        )
    doc: dict[str, Any] = {
        "path": data.root,
        "train": data.split_folder("train"),
        "val": data.split_folder(val),
        "names": dict(enumerate(data.names)),
    }
    if data.images["test"]:
        doc["test"] = data.split_folder("test")
    for key in ("kpt_shape", "flip_idx"):
        if data.meta.get(key) is not None:
            doc[key] = data.meta[key]
    return doc, notes


def record_training(root: str, entry: dict[str, Any]) -> str | None:
    """Append ``entry`` as one line to the dataset's manifest, under its lock; a warning (the line not written)
    when another writer holds the lock, a killed writer left a step unfinished, or the file cannot be written."""
    manifest = os.path.join(root, MANIFEST_NAME)
    lock = DatasetLock(root)
    try:
        lock.acquire()
    except DatasetBusy as exc:
        held = str(exc).split(": one writer", 1)[0]
        return f"{manifest} does not record this training: {held} (the run folder holds the same record)"
    except (OSError, OutputError) as exc:
        return f"{manifest} does not record this training: {exc}"
    try:
        if os.path.lexists(os.path.join(root, JOURNAL_NAME)):
            return (
                f"{manifest} does not record this training: a killed vidcv left the dataset in the middle of a "
                "write, which the next `vidcv extract` into it finishes (the run folder holds the same record)"
            )
        journal = Journal(root)
        try:
            journal.append_manifest(entry)
        finally:
            journal.close()
    except (OSError, OutputError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"{manifest} does not record this training: {reason}"
    finally:
        lock.release()
    return None
