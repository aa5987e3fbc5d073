"""A training's run folder: its name (never an existing folder's), its record and its preset.

``RUN/vidcv_run.json`` says what the run is: ``status`` (``running`` from the start; ``finished``, ``stopped``
or ``failed`` at the end; a run killed outright stays ``running`` with no ``ended``, so it is never taken for a
complete one), the dataset (path, layout, classes, digest), the options, the final metrics, the files made and
the versions. It is rewritten whole each time (temporary name, then rename). ``RUN/pipeline.yaml`` is written
only once the ONNX model it names is complete.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from typing import Any

from vidcv._version import __version__
from vidcv.errors import OutputError, VidcvError
from vidcv.fileio import create_new, make_dirs, write_text_atomic

RECORD_NAME = "vidcv_run.json"
PRESET_NAME = "pipeline.yaml"
LOG_NAME = "train.log"
DATA_NAME = "dataset.yaml"  #: what ultralytics reads: the dataset's data.yaml with absolute paths
DEFAULT_RUNS = "runs"
MAX_RUNS = 10_000  #: free names tried under runs/ before giving up


def now() -> str:
    """The local time, ISO 8601 with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "dataset"


def _claim(run: str) -> bool:
    """Make ``run`` and create its record file new (O_EXCL): True when this process owns the folder now, False when
    another run got there first."""
    make_dirs(run)
    try:
        os.close(create_new(os.path.join(run, RECORD_NAME)))
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise OutputError(f"cannot create the run folder {run}: {exc.strerror or exc}") from None
    return True


def claim_run_folder(out: str, dataset_name: str, dataset_root: str = "") -> str:
    """The run folder, made and owned by this run (absolute). ``out`` given: that folder, which must not exist or be
    empty; otherwise ``runs/train-NAME-N`` with the first N free. An existing run is never written into, and none
    is made inside ``dataset_root`` (its plots would become images of the dataset)."""
    where = os.path.abspath(out or DEFAULT_RUNS)
    if dataset_root and is_inside(os.path.realpath(where), os.path.realpath(dataset_root)):  # links resolved
        given = f"--out {out}" if out else f"the default {DEFAULT_RUNS}/ of this folder ({where})"
        raise VidcvError(
            f"{given} lies inside the dataset {dataset_root}: a run's files there would become part of it; give "
            "--out a folder outside it, or train from another folder"
        )
    if out:
        run = os.path.abspath(out)
        if os.path.islink(run):
            raise OutputError(f"--out {out} is a symbolic link: give a new folder for the run")
        if os.path.exists(run) and (not os.path.isdir(run) or os.listdir(run)):
            what = "a file" if not os.path.isdir(run) else "a folder that is not empty"
            raise VidcvError(
                f"--out {out} is {what}: a training never writes over another; give a new folder, or leave --out out "
                f"for a free {DEFAULT_RUNS}/train-{_slug(dataset_name)}-N"
            )
        try:
            claimed = _claim(run)
        except OSError as exc:
            raise OutputError(f"cannot create the run folder {out}: {exc.strerror or exc}") from None
        if not claimed:
            raise VidcvError(f"--out {out} was taken by another training just now: give another folder")
        return run
    base = os.path.abspath(DEFAULT_RUNS)
    stem = f"train-{_slug(dataset_name)}"
    for n in range(1, MAX_RUNS + 1):
        run = os.path.join(base, f"{stem}-{n}")
        if os.path.lexists(run):
            continue
        try:
            if _claim(run):
                return run
        except OSError as exc:
            raise OutputError(f"cannot create the run folder {run}: {exc.strerror or exc}") from None
    raise VidcvError(f"{base} holds {MAX_RUNS} runs named {stem}-N: move some away, or give --out")


def record_path(run: str) -> str:
    return os.path.join(run, RECORD_NAME)


def read_record(run: str) -> dict[str, Any]:
    """The run's record ({} when it cannot be read)."""
    try:
        with open(record_path(run), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def write_record(run: str, record: dict[str, Any]) -> None:
    write_text_atomic(record_path(run), json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def update_record(run: str, **changes: Any) -> dict[str, Any]:
    """Read the record, apply ``changes`` (top-level keys) and write it back; the new record."""
    record = read_record(run)
    record.update(changes)
    write_record(run, record)
    return record


def new_record(dataset: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "running",
        "started": now(),
        "ended": None,
        "vidcv_version": __version__,
        "dataset": dataset,
        "options": options,
    }


def is_inside(path: str, folder: str) -> bool:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
    return not rel.startswith(os.pardir) and not os.path.isabs(rel)


def preset_text(onnx: str, names: list[str], model: str, dataset: str, run: str) -> str:
    """``pipeline.yaml``: the yolo stage on the run's ONNX model (by its path inside the run folder, which a
    preset resolves from its own folder: the preset runs from any working folder, and so does a run folder
    moved or copied whole) and the annotate stage; the classes in its comment and description."""
    import yaml  # here: the parent side of a training stays light

    doc = {
        "description": f"{os.path.basename(model)} trained on {os.path.basename(dataset.rstrip(os.sep))} "
        f"(classes: {', '.join(names)})",
        "pipeline": [
            {"plugin": "yolo", "params": {"model": os.path.relpath(onnx, run) if is_inside(onnx, run) else onnx}},
            {"plugin": "annotate"},
        ],
    }
    head = (
        f"# Made by vidcv train: {run}\n"
        f"# dataset {dataset}\n"
        f"# classes {json.dumps(dict(enumerate(names)), ensure_ascii=False)}\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
