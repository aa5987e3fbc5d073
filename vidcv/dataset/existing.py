"""What an output folder already holds, and whether a run may add to it.

A folder that does not exist or holds no file is a new dataset; one whose data.yaml has ``vidcv_format`` is a
vidcv dataset, continued. Anything else (a dataset made by another tool, a folder of other files) is refused
with a line that says what was found, unless ``--merge`` asks to add to it: then its files are kept as they
are, its class names come first (from data.yaml, else classes.txt) and the checks below must pass (its splits
where vidcv writes them, no foreign manifest, labels of the asked kind).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from vidcv.dataset.formats import FORMATS
from vidcv.dataset.journal import JOURNAL_NAME, MANIFEST_NAME
from vidcv.dataset.lock import LOCK_NAME
from vidcv.errors import PresetError, VidcvError
from vidcv.presets import safe_yaml

OWN_FILES = frozenset((LOCK_NAME, JOURNAL_NAME))  #: vidcv's own bookkeeping: not content of the folder
SPLITS = ("train", "val", "test")
SNIFF_LABELS = 20  #: label files read to tell what kind of labels a merged dataset holds
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class DatasetError(VidcvError):
    """The output folder cannot take these frames (a clash with what is there, a bad option)."""


def clean_name(name: object) -> str:
    """A class name fit for classes.txt (one per line) and data.yaml: control characters (newlines, tabs) become
    spaces, runs of spaces one space, ends trimmed; an empty name becomes ``unnamed``."""
    text = " ".join(_CONTROL.sub(" ", str(name)).split())
    return text or "unnamed"


MAX_DATA_YAML_BYTES = 4 * 2**20  #: ample for thousands of class names; a larger data.yaml is not read


def read_data_yaml(root: str) -> dict[str, Any]:
    """``root``/data.yaml as a dict ({} when there is none)."""
    path = os.path.join(root, "data.yaml")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DATA_YAML_BYTES + 1)
        if len(raw) > MAX_DATA_YAML_BYTES:
            raise DatasetError(
                f"{path} is over {MAX_DATA_YAML_BYTES // 2**20} MB, too large for a dataset "
                "description; move it away or choose another --out"
            )
        data = safe_yaml(raw.decode("utf-8"), path, "a dataset description") or {}
    except (PresetError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"{path} is not a readable data.yaml ({str(exc)[:200]}); move it away or choose another --out"
        ) from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path} is not a dataset description; move it away or choose another --out")
    return data


def names_of(meta: dict[str, Any]) -> list[str]:
    """data.yaml's class names in id order (a dict or a list), cleaned."""
    names = meta.get("names") or {}
    if isinstance(names, dict):
        try:
            return [clean_name(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise DatasetError("data.yaml's names must map class ids (0, 1, ...) to names") from None
    if isinstance(names, (list, tuple)):
        return [clean_name(n) for n in names]
    raise DatasetError("data.yaml's names must be a list or a map of class ids to names")


def _has_files(root: str) -> bool:
    """Whether ``root`` holds a file other than vidcv's own at its top."""
    return any(folder != root or f not in OWN_FILES for folder, _, files in os.walk(root) for f in files)


def _count_files(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _classes_txt(root: str) -> list[str] | None:
    path = os.path.join(root, "classes.txt")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [clean_name(line) for line in fh.read().splitlines() if line.strip()]


def _listing(root: str, limit: int = 4) -> str:
    entries = sorted(e for e in os.listdir(root) if e not in OWN_FILES)
    shown = [e + ("/" if os.path.isdir(os.path.join(root, e)) else "") for e in entries[:limit]]
    return ", ".join(shown) + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


def _describe_foreign(root: str, meta: dict[str, Any]) -> str:
    if meta:
        parts = ["a dataset that vidcv did not make (its data.yaml has no vidcv_format"]
        try:
            names = names_of(meta)
        except DatasetError:
            names = []
        if names:
            parts.append(f"classes {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
        for folder in ("images", "labels"):
            if os.path.isdir(os.path.join(root, folder)):
                count = _count_files(os.path.join(root, folder))
                parts.append(f"{count} file{'' if count == 1 else 's'} in {folder}/")
        return "; ".join(parts) + ")"
    return f"a folder that is not a vidcv dataset (it holds {_listing(root)})"


def survey(root: str, merge: bool) -> tuple[dict[str, Any], bool]:
    """data.yaml of the dataset at ``root`` ({} for a new one) and whether it is a foreign folder being merged.
    A foreign folder without ``merge`` raises DatasetError saying what is there and how to go on."""
    if not os.path.exists(root):
        return {}, False
    if not os.path.isdir(root):
        raise DatasetError(f"--out {root} is a file, not a folder: choose a folder for the dataset")
    if not _has_files(root):
        return {}, False
    meta = read_data_yaml(root)
    if meta.get("vidcv_format") in FORMATS:
        return meta, False
    if not merge:
        raise DatasetError(
            f"{root} is {_describe_foreign(root, meta)}: extract into a new folder, or pass --merge "
            "to add this run's frames to it (its own files are kept as they are)"
        )
    return meta, True


def merged_names(root: str, meta: dict[str, Any]) -> list[str]:
    """The class names of a foreign dataset being merged: data.yaml's, else classes.txt's; both present and
    different is refused."""
    names, listed = names_of(meta), _classes_txt(root)
    if names and listed is not None and listed != names:
        raise DatasetError(
            f"{root}: data.yaml's classes ({', '.join(names)}) and classes.txt's "
            f"({', '.join(listed)}) disagree: make them the same, then run again"
        )
    return names or listed or []


def _same_place(value: object, root: str, split: str) -> bool:
    if not isinstance(value, str):
        return False
    path = os.path.normpath(os.path.join(root, value))  # an absolute value stays itself
    return path == os.path.join(root, "images", split)


def check_merge(root: str, meta: dict[str, Any], fmt: str) -> None:
    """Refuse to merge into a foreign folder whose layout, manifest or labels would not agree with this run."""
    for split in SPLITS:
        if meta.get(split) is not None and fmt != "classify" and not _same_place(meta[split], root, split):
            raise DatasetError(
                f"{root}: its data.yaml puts {split} images at {meta[split]!r}, and vidcv writes "
                f"them to images/{split}: point {split} there in data.yaml, or use a new --out"
            )
    manifest = os.path.join(root, MANIFEST_NAME)
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        try:
            entry = json.loads(first) if first.strip() else {"name": "", "split": ""}
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not {"name", "split"} <= set(entry):
            raise DatasetError(
                f"{manifest} was not written by vidcv (its first line is not a vidcv manifest "
                "line): move it away, then --merge again"
            )
    family = FORMATS[fmt].family
    if family == "classify":
        return
    widths = _label_widths(root)
    expected = {"boxes": "5", "obb": "9", "segments": "an odd number, at least 7"}
    if family == "pose":
        shape = meta.get("kpt_shape") or [0, 3]
        ok = all(w == 5 + int(shape[0]) * int(shape[1]) for w in widths)
        expected["pose"] = f"5 + {shape[0]}x{shape[1]} keypoint values"
    elif family == "segments":
        ok = all(w >= 7 and w % 2 for w in widths)
    else:
        ok = all(w == int(expected[family]) for w in widths)
    if not ok:
        found = ", ".join(str(w) for w in sorted(widths))
        raise DatasetError(
            f"{root}: its labels have {found} numbers a line, and --format {fmt} writes "
            f"{expected[family]}: pass the --format its labels are in, or use a new --out"
        )


def _label_widths(root: str) -> set[int]:
    """How many numbers the lines of a few of the folder's label files have."""
    widths: set[int] = set()
    seen = 0
    for split in SPLITS:
        folder = os.path.join(root, "labels", split)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".txt") or seen >= SNIFF_LABELS:
                continue
            seen += 1
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as fh:
                widths.update(len(line.split()) for line in fh if line.strip())
    return widths
