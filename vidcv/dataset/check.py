"""``vidcv dataset check``: what would stop or mislead training in a dataset, found file by file, line by line.

Every dataset ``vidcv extract`` writes passes (all formats); a dataset made elsewhere in ultralytics' layout is
read the same way (``editor.LabelSession`` lists its frames). Found, each as one ``Problem``:

``missing_label``       an image without its label file (ultralytics would take it as a frame without objects)
``orphan_label``        a label file without its image
``class_out_of_range``  a class id that is not in data.yaml's names
``out_of_bounds``       a coordinate outside the image (a normalised value outside 0..1 by more than TOLERANCE)
``zero_size``           a box (or outline) of zero width or height
``malformed``           a line with the wrong number of values for the family, or a value that is not a number
``undecodable``         an image OpenCV cannot decode, or one cut short (a JPEG without its end marker, a PNG
                        without its IEND chunk), which a decoder may half show with a warning
``duplicate``           a frame with the same pixels as another of its split (hashed decoded pixels, not bytes)
``in_two_splits``       a frame in two splits: the same name, or the same pixels
``path_elsewhere``      a vidcv dataset whose data.yaml ``path`` names another folder (it was copied or moved):
                        ultralytics would train on that folder's images; this dataset's own are checked

Frames in ``rejected/`` (rejected in the dataset view) and files in ``quarantine/`` are not checked, and a label
whose frame was rejected is not an orphan.

``fix`` (``--fix``) does what needs no guess, under the dataset's lock (refused while another writer holds it):
orphan label files and undecodable images (with their labels) move to ``DIR/quarantine/`` keeping their path
relative to the dataset (nothing is deleted; the moves are journalled like a rejection, so a kill half way is
rolled forward); data.yaml's ``path`` of a copied vidcv dataset is set to the dataset (vidcv writes it so);
coordinates at most CLIP_MARGIN outside the image are clipped to it and the label file is
replaced atomically (a box further out is a wrong normalisation, pixels perhaps: correcting it would be a guess).
A missing label is not made up (an empty one would say "nothing here"), and duplicates, class ids and malformed
lines are reported only. A COCO dataset's annotations are rebuilt from the labels after a fix.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import yaml

from vidcv.dataset.editor import (
    IMAGE_EXTS,
    REJECTED,
    REJECTED_DIR,
    FrameRef,
    LabelSession,
    label_path_of,
    split_folders,
)
from vidcv.dataset.existing import DatasetError, read_data_yaml
from vidcv.dataset.formats import FORMATS
from vidcv.dataset.journal import Journal
from vidcv.dataset.lock import LOCK_NAME, DatasetBusy, DatasetLock, describe
from vidcv.dataset.writer import SPLITS
from vidcv.errors import OutputError
from vidcv.fileio import is_partial, link_on_the_way, make_dirs, refusal, replace, write_text_atomic

QUARANTINE_DIR = "quarantine"
TOLERANCE = 1e-3  #: how far outside 0..1 a normalised value may lie (rounding) before it is a problem
CLIP_MARGIN = 0.05  #: --fix clips coordinates at most this far outside the image (5% of its side)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOT_LABELS = frozenset(("classes.txt",))  #: text files some tools keep among the labels

KINDS = (
    "missing_label",
    "orphan_label",
    "class_out_of_range",
    "out_of_bounds",
    "zero_size",
    "malformed",
    "undecodable",
    "duplicate",
    "in_two_splits",
    "path_elsewhere",
)


@dataclass
class Problem:
    """One problem: ``path`` relative to the dataset, its 1-based ``line`` in a label file (None for a whole
    file), what is wrong and what to do. ``fixable``: ``fix`` can mend it without a guess; ``fixed``: what
    it did."""

    kind: str
    path: str
    line: int | None
    message: str
    advice: str
    fixable: bool = False
    fix_action: str = ""  #: what ``fix`` did: ``moved`` (the file), ``moved_with_image`` or ``clipped``
    fix_paths: tuple[str, ...] = ()  #: the files it moved to (or rewrote), relative to the dataset

    @property
    def fixed(self) -> bool:
        return bool(self.fix_action)

    def fixed_text(self, shown_root: str = "") -> str:
        """What ``fix`` did, naming every file it moved or rewrote (under ``shown_root``)."""
        paths = [os.path.join(shown_root, p) for p in self.fix_paths]
        if self.fix_action == "path_set":
            return f"{paths[0]} now names this folder as its path"
        if self.fix_action == "clipped":
            return f"clipped to the image ({paths[0]} replaced through the atomic writer)"
        if self.fix_action == "moved_with_image":
            return f"moved to {paths[0]} with its undecodable image"
        if self.fix_action == "moved":
            return f"moved to {paths[0]}" + (f", its label to {paths[1]}" if len(paths) > 1 else "")
        return ""

    def where(self, shown_root: str) -> str:
        place = os.path.join(shown_root, self.path)
        return f"{place}:{self.line}" if self.line is not None else place

    def text(self, shown_root: str) -> str:
        """The problem's one line: ``DIR/labels/train/x.txt:3: what is wrong: what to do`` (or what was done)."""
        tail = f"fixed: {self.fixed_text(shown_root)}" if self.fixed else self.advice
        return f"{self.where(shown_root)}: {self.message}: {tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "fix": self.advice,
            "fixable": self.fixable,
            "fixed": self.fixed_text() or None,
        }


@dataclass
class Change:
    """A file ``fix`` changed: ``quarantined`` (moved to ``to``), ``clipped`` (rewritten in place),
    ``path_set`` (data.yaml's path) or ``rebuilt`` (COCO annotations); paths relative to the dataset."""

    action: str
    path: str
    to: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "path": self.path, "to": self.to}


@dataclass
class Report:
    """What a check found (and a fix did) in the dataset at ``root``."""

    root: str
    fmt: str
    family: str
    images: int = 0
    label_files: int = 0
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixed_run: bool = False  #: the report of a ``fix``

    @property
    def left(self) -> list[Problem]:
        """The problems still there (all of them, unless fixed)."""
        return [p for p in self.problems if not p.fixed]

    @property
    def clean(self) -> bool:
        return not self.left

    def counts(self) -> dict[str, int]:
        return {kind: sum(p.kind == kind for p in self.problems) for kind in KINDS}

    def summary(self, shown_root: str) -> str:
        checked = f"{self.images} image{'' if self.images == 1 else 's'}"
        if self.family != "classify":
            checked += f" and {self.label_files} label file{'' if self.label_files == 1 else 's'}"
        if not self.problems:
            return f"{shown_root}: no problems in {checked}"
        n = len(self.problems)
        found = f"{n} problem{'' if n == 1 else 's'} in {checked}"
        if not self.fixed_run:
            fixable = sum(p.fixable for p in self.problems)
            return f"{shown_root}: {found}" + (f" ({fixable} fixable with --fix)" if fixable else "")
        moved = sum(c.action == "quarantined" for c in self.changes)
        clipped = sum(c.action == "clipped" for c in self.changes)
        done = []
        if moved:
            done.append(f"moved {moved} file{'' if moved == 1 else 's'} to {os.path.join(shown_root, QUARANTINE_DIR)}")
        if clipped:
            done.append(f"clipped the lines of {clipped} label file{'' if clipped == 1 else 's'}")
        if any(c.action == "path_set" for c in self.changes):
            done.append("set data.yaml's path")
        left = len(self.left)
        return (
            f"{shown_root}: {found}; fixed {n - left}"
            + (f" ({', '.join(done)})" if done else "")
            + (f"; {left} left, not fixable without a guess" if left else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON of ``vidcv dataset check --json`` (see vidcv.cli.dataset)."""
        return {
            "dataset": self.root,
            "format": self.fmt,
            "family": self.family,
            "checked": {"images": self.images, "label_files": self.label_files},
            "clean": self.clean,
            "counts": self.counts(),
            "problems": [p.to_dict() for p in self.problems],
            "fixed": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
        }


# --- label lines ------------------------------------------------------------------------------------------------
class Finding(NamedTuple):
    """One thing wrong with a label line."""

    kind: str
    message: str
    advice: str
    fixable: bool = False


@dataclass
class LineResult:
    """What is wrong with one label line, and its text clipped to the image when clipping mends it."""

    findings: list[Finding]
    clipped: str | None = None


def _widths(family: str, kpt_shape: Sequence[int] | None) -> tuple[Callable[[int], bool], str]:
    """Whether a line of n values suits the family, and how the family's line reads (for the message)."""
    if family == "obb":
        return (lambda n: n == 9), "9 (a class and four corners x y)"
    if family == "segments":
        return (lambda n: n >= 7 and n % 2 == 1), "an odd number, at least 7 (a class and three or more x y points)"
    if family == "pose":
        if kpt_shape:
            k, d = int(kpt_shape[0]), int(kpt_shape[1])
            return (lambda n: n == 5 + k * d), f"{5 + k * d} (a class, a box and {k} keypoints of {d} values)"
        return (lambda n: n >= 5 and ((n - 5) % 3 == 0 or (n - 5) % 2 == 0)), "5 plus the keypoints' values"
    return (lambda n: n == 5), "5 (a class and a box xc yc w h)"


def _fmt(v: float) -> str:
    return f"{v:.6f}"


def _clip01(v: float) -> float:
    return min(max(v, 0.0), 1.0)


def _outside(values: Sequence[float]) -> float:
    """How far the furthest of ``values`` lies outside 0..1 (0 when all are inside)."""
    return max([0.0, *(-v for v in values), *(v - 1.0 for v in values)])


def _out_of_bounds(worst: float, what: str, clippable: bool) -> Finding:
    """``what`` reaches ``worst`` outside the image; fixable when clipping it leaves something of it."""
    message = f"{what} reaches {worst:.4f} outside the image (normalised values are 0..1)"
    if worst > CLIP_MARGIN:
        if worst > 0.5:
            return Finding("out_of_bounds", message, "correct it: its values look like pixels, and labels are 0..1")
        return Finding("out_of_bounds", message, f"correct it (--fix clips only up to {CLIP_MARGIN:.0%} outside)")
    if not clippable:
        return Finding("out_of_bounds", message, "it lies outside the image: remove the line")
    return Finding("out_of_bounds", message, "--fix clips it to the image", True)


def _polygon_area(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


def check_line(text: str, family: str, n_names: int | None, kpt_shape: Sequence[int] | None) -> LineResult:
    """The problems of one label line of ``family`` (``n_names``: how many classes data.yaml names, None when it
    names none; ``kpt_shape``: a pose dataset's keypoints and values per keypoint)."""
    parts = text.split()
    fits, expected = _widths(family, kpt_shape)
    fix_line = "fix or remove the line"
    if not fits(len(parts)):
        count = f"{len(parts)} value{'' if len(parts) == 1 else 's'}"
        return LineResult([Finding("malformed", f"{count}, and a {family} line has {expected}", fix_line)])
    try:
        values = [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_number(p))
        return LineResult([Finding("malformed", f"{bad[:20]!r} is not a number", fix_line)])
    if not all(math.isfinite(v) for v in values):
        return LineResult([Finding("malformed", "a value is not a finite number", fix_line)])
    cls, coords = values[0], values[1:]
    if cls < 0 or not cls.is_integer():
        return LineResult([Finding("malformed", f"class {parts[0][:20]!r} is not a class id (0, 1, ...)", fix_line)])
    findings = []
    if n_names is not None and int(cls) >= n_names:
        findings.append(
            Finding(
                "class_out_of_range",
                f"class {int(cls)} is not in data.yaml's names ({_id_range(n_names)})",
                "correct the id, or add the class to data.yaml's names",
            )
        )
    if family in ("boxes", "pose"):
        return _check_box(parts[0], coords, kpt_shape, findings)
    return _check_outline(parts[0], coords, family, findings)


def _check_box(cls: str, coords: list[float], kpt_shape: Sequence[int] | None, findings: list[Finding]) -> LineResult:
    """A box ``xc yc w h``, and a pose's keypoints after it."""
    xc, yc, w, h = coords[:4]
    keypoints = coords[4:]
    dims = int(kpt_shape[1]) if kpt_shape else (3 if len(keypoints) % 3 == 0 else 2)
    if dims == 3 and any(keypoints[i + 2] not in (0.0, 1.0, 2.0) for i in range(0, len(keypoints), 3)):
        return LineResult([*findings, Finding("malformed", "a keypoint's visibility is not 0, 1 or 2", "fix the line")])
    if w <= 0 or h <= 0:
        size = f"a box of zero size (w {_fmt(w)}, h {_fmt(h)})"
        return LineResult([*findings, Finding("zero_size", size, "draw the box again, or remove the line")])
    corners = [xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2]
    kxy = [keypoints[i + j] for i in range(0, len(keypoints), dims) for j in (0, 1)]
    worst_box, worst_kpt = _outside(corners), _outside(kxy)
    worst = max(worst_box, worst_kpt)
    if worst <= TOLERANCE:
        return LineResult(findings)
    x1, y1, x2, y2 = (_clip01(v) for v in corners)
    finding = _out_of_bounds(worst, "the box" if worst_box >= worst_kpt else "a keypoint", x2 > x1 and y2 > y1)
    if not finding.fixable:
        return LineResult([*findings, finding])
    kpts = list(keypoints)
    for i in range(0, len(kpts), dims):
        kpts[i], kpts[i + 1] = _clip01(kpts[i]), _clip01(kpts[i + 1])
    text = [_fmt((x1 + x2) / 2), _fmt((y1 + y2) / 2), _fmt(x2 - x1), _fmt(y2 - y1)]
    text += [str(int(v)) if dims == 3 and i % 3 == 2 else _fmt(v) for i, v in enumerate(kpts)]
    return LineResult([*findings, finding], " ".join([cls, *text]))


def _check_outline(cls: str, coords: list[float], family: str, findings: list[Finding]) -> LineResult:
    """A polygon (``segments``) or an oriented box's four corners (``obb``): x y pairs."""
    xs, ys = coords[0::2], coords[1::2]
    if family == "obb":
        degenerate = _polygon_area(xs, ys) < 1e-12
    else:
        degenerate = max(xs) - min(xs) <= 0 or max(ys) - min(ys) <= 0
    if degenerate:
        return LineResult(
            [*findings, Finding("zero_size", "an outline of zero size", "draw it again, or remove the line")]
        )
    worst = _outside(coords)
    if worst <= TOLERANCE:
        return LineResult(findings)
    cx, cy = [_clip01(v) for v in xs], [_clip01(v) for v in ys]
    finding = _out_of_bounds(worst, "the outline", max(cx) > min(cx) and max(cy) > min(cy))
    if not finding.fixable:
        return LineResult([*findings, finding])
    return LineResult([*findings, finding], " ".join([cls, *(f"{_fmt(x)} {_fmt(y)}" for x, y in zip(cx, cy))]))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _id_range(n: int) -> str:
    return "none" if n == 0 else ("0" if n == 1 else f"0..{n - 1}")


# --- images ---------------------------------------------------------------------------------------------------
def decode_problem(path: str) -> tuple[str | None, np.ndarray | None]:
    """Why the image at ``path`` cannot be used (None when it can), and its decoded pixels."""
    import cv2

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", None
    if not data:
        return "an empty file", None
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jpg", ".jpeg") and jpeg_cut_short(data):
        return "a truncated JPEG (no end marker FFD9 after its image data: the file was cut short)", None
    if ext == ".png" and data.startswith(PNG_SIGNATURE) and b"IEND" not in data:
        return "a truncated PNG (no IEND chunk: the file was cut short)", None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return "OpenCV cannot decode it", None
    return None, image


def jpeg_cut_short(data: bytes) -> bool:
    """Whether JPEG ``data`` lacks its end: no end-of-image marker (FFD9) after the first scan of its image. A
    decoder may still show such a file, its lower part grey, with a mere warning. The segments before the scan
    are stepped over by their lengths (an EXIF thumbnail in them has an end marker of its own); data after the
    end marker (a phone's appended video) is allowed. Data that is no JPEG at all is left to the decoder."""
    if not data.startswith(b"\xff\xd8"):
        return False
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return False  # not a marker where one belongs: the decoder says what it makes of it
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0xDA:  # start of scan: entropy-coded data, where FFD9 cannot occur but as the end
            return data.find(b"\xff\xd9", i) < 0
        elif marker == 0xD9:
            return False
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
        else:
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return True


def pixel_digest(image: np.ndarray) -> str:
    """A digest of decoded pixels (and their shape): the same picture in any encoding gives the same one."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((image.shape, image.dtype.str)).encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


# --- the check ------------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    """What ``fix`` would do: files to move to quarantine (with the problems they mend) and label files to
    rewrite with clipped lines."""

    moves: dict[str, list[Problem]] = field(default_factory=dict)  #: absolute source path -> problems
    clips: dict[str, dict[int, str]] = field(default_factory=dict)  #: label path -> line number -> new text
    clip_problems: dict[str, list[Problem]] = field(default_factory=dict)
    path_problem: Problem | None = None  #: data.yaml's path to set to the dataset


def dataset_session(root: str) -> tuple[LabelSession, str | None]:
    """A LabelSession listing the dataset at ``root`` (not opened: no lock), and the other folder that its
    data.yaml's ``path`` names when a vidcv dataset was copied or moved (None otherwise). vidcv's own layout
    is always ``DIR/images/SPLIT`` (``DIR/SPLIT`` for classify), so such a dataset is read from ``DIR``."""
    session = LabelSession(root)
    path = session.meta.get("path")
    if (
        session.meta.get("vidcv_format") in FORMATS
        and isinstance(path, str)
        and os.path.isabs(path)
        and os.path.realpath(path) != os.path.realpath(session.root)
    ):
        session.folders = split_folders(session.root, {k: v for k, v in session.meta.items() if k != "path"})
        return session, path
    return session, None


class Checker:
    """Reads the dataset at ``root`` (no lock needed) and, for ``fix``, mends what needs no guess."""

    def __init__(self, root: str) -> None:
        self.session, self.elsewhere = dataset_session(root)  # reads data.yaml and the layout: no lock
        self.root = self.session.root
        self.plan = _Plan()
        self.holding_lock = False

    def _rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def run(self) -> Report:
        session = self.session
        session.reload()  # the frames, rejected ones included: no lock needed to list them
        self.plan = _Plan()
        report = Report(self.root, session.fmt, session.family)
        if not self.holding_lock:
            self._note_writer(report)
        if self.elsewhere is not None:
            problem = Problem(
                "path_elsewhere",
                "data.yaml",
                None,
                f"its path is {self.elsewhere}, another folder (the dataset was copied or moved from there): "
                "ultralytics would train on that folder's images; this check read this folder's",
                "--fix sets path to this folder",
                True,
            )
            report.problems.append(problem)
            self.plan.path_problem = problem
        frames = [f for f in session.frames if f.status != REJECTED]
        frames = self._shared_folders(frames, report)
        report.images = len(frames)
        digests: dict[str, FrameRef] = {}
        names: dict[str, FrameRef] = {}
        for frame in frames:
            self._check_image(frame, report, digests, names)
        if session.family != "classify":
            n_names = len(session.names) if session.names else None
            if n_names is None and frames:
                report.notes.append("data.yaml names no classes: class ids are not checked")
            kpt_shape = session.meta.get("kpt_shape")
            kpt = [int(v) for v in kpt_shape] if isinstance(kpt_shape, list) and len(kpt_shape) == 2 else None
            for frame in frames:
                self._check_labels(frame, report, n_names, kpt)
            self._orphans(report)
        report.problems.sort(key=lambda p: (p.path, p.line or 0))
        return report

    def _note_writer(self, report: Report) -> None:
        """A note when the lock file names a writer that may be running: what it writes now may show up."""
        try:
            with open(os.path.join(self.root, LOCK_NAME), encoding="utf-8", errors="replace") as fh:
                owner = json.loads(fh.read(4096) or "{}")
        except (OSError, ValueError):
            return
        if not isinstance(owner, dict) or not owner.get("pid"):
            return
        if owner.get("host") in (None, socket.gethostname()):
            try:
                os.kill(int(owner["pid"]), 0)
            except ProcessLookupError:
                return  # a killed writer's lock file: nobody writes
            except (OSError, ValueError, TypeError):
                pass
        report.notes.append(
            f"{LOCK_NAME} names a writer ({describe(owner)}): a frame it is writing now may show as a problem"
        )

    def _shared_folders(self, frames: list[FrameRef], report: Report) -> list[FrameRef]:
        """Splits whose data.yaml entries name one folder: said once, and the later split's frames not checked
        again (each would be 'in two splits')."""
        seen: dict[str, str] = {}
        skip = set()
        for split in SPLITS:
            folder = self.session.folders.get(split)
            if self.session.family == "classify" or folder is None or not os.path.isdir(folder):
                continue
            real = os.path.realpath(folder)
            if real in seen:
                skip.add(split)
                report.problems.append(
                    Problem(
                        "in_two_splits",
                        "data.yaml",
                        None,
                        f"{split} uses the images of {seen[real]} ({self._rel(folder)})",
                        f"give {split} a folder of its own: validating on training frames measures nothing",
                    )
                )
            else:
                seen[real] = split
        return [f for f in frames if f.split not in skip]

    def _check_image(
        self, frame: FrameRef, report: Report, digests: dict[str, FrameRef], names: dict[str, FrameRef]
    ) -> None:
        rel = self._rel(frame.image)
        why, image = decode_problem(frame.image)
        if why is not None:
            problem = Problem("undecodable", rel, None, why, "--fix moves it (and its label) to quarantine/", True)
            report.problems.append(problem)
            self.plan.moves.setdefault(frame.image, []).append(problem)
            if frame.label and os.path.isfile(frame.label):
                self.plan.moves.setdefault(frame.label, []).append(problem)
            return
        other = names.get(frame.name)
        if other is not None and other.split != frame.split:
            report.problems.append(
                Problem(
                    "in_two_splits",
                    rel,
                    None,
                    f"also in {other.split} as {self._rel(other.image)} (the same name in two splits)",
                    "keep the frame in one split (reject the other copy in the dataset view)",
                )
            )
        names.setdefault(frame.name, frame)
        assert image is not None
        digest = pixel_digest(image)
        first = digests.get(digest)
        if first is None:
            digests[digest] = frame
        elif first.split != frame.split:
            if first.name != frame.name:  # the same name was said above
                report.problems.append(
                    Problem(
                        "in_two_splits",
                        rel,
                        None,
                        f"the same pixels as {self._rel(first.image)}, in {first.split}",
                        f"keep one of them ({frame.split} should not hold {first.split}'s frames)",
                    )
                )
        else:
            report.problems.append(
                Problem(
                    "duplicate",
                    rel,
                    None,
                    f"the same pixels as {self._rel(first.image)} (a duplicate frame counts twice in training)",
                    "reject one of them in the dataset view",
                )
            )

    def _check_labels(self, frame: FrameRef, report: Report, n_names: int | None, kpt: list[int] | None) -> None:
        rel = self._rel(frame.label)
        try:
            with open(frame.label, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            report.problems.append(
                Problem(
                    "missing_label",
                    self._rel(frame.image),
                    None,
                    f"no label file ({rel}); ultralytics would take it as a frame without objects",
                    "label it in the dataset view, or reject it",
                )
            )
            return
        except OSError as exc:
            report.problems.append(
                Problem("malformed", rel, None, f"cannot be read ({exc.strerror})", "make it readable")
            )
            return
        report.label_files += 1
        moving = self.plan.moves.get(frame.label)
        for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            result = check_line(line, self.session.family, n_names, kpt)
            for kind, message, advice, fixable in result.findings:
                problem = Problem(kind, rel, number, message, advice, fixable)
                report.problems.append(problem)
                if moving is not None:
                    moving.append(problem)  # mended by the move of an undecodable frame
                elif fixable and result.clipped is not None:
                    self.plan.clips.setdefault(frame.label, {})[number] = result.clipped
                    self.plan.clip_problems.setdefault(frame.label, []).append(problem)

    def _orphans(self, report: Report) -> None:
        """Label files of the splits' label folders whose image is neither there nor rejected."""
        for split, folder in self.session.folders.items():
            labels = os.path.dirname(label_path_of(os.path.join(folder, "x.jpg")))
            if not os.path.isdir(labels):
                continue
            stems = {os.path.splitext(n)[0] for n in _listdir(folder) if n.lower().endswith(IMAGE_EXTS)}
            rejected = os.path.join(self.root, REJECTED_DIR, "images", split)
            stems |= {os.path.splitext(n)[0] for n in _listdir(rejected) if n.lower().endswith(IMAGE_EXTS)}
            for name in sorted(_listdir(labels)):
                if not name.endswith(".txt") or name in NOT_LABELS or name.startswith(".") or is_partial(name):
                    continue
                if name[:-4] in stems:
                    continue
                path = os.path.join(labels, name)
                if not os.path.isfile(path):
                    continue
                problem = Problem(
                    "orphan_label",
                    self._rel(path),
                    None,
                    f"a label file without its image (no {name[:-4]}.* in {self._rel(folder)})",
                    "--fix moves it to quarantine/",
                    True,
                )
                report.problems.append(problem)
                self.plan.moves.setdefault(path, []).append(problem)

    # --- fixing ---------------------------------------------------------------------------------------------
    def fix(self) -> Report:
        """Check and mend under the dataset's lock (DatasetBusy naming the other writer)."""
        lock = DatasetLock(self.root)
        try:
            lock.acquire()
        except DatasetBusy:
            raise DatasetBusy(
                f"{self.root} is being written by another vidcv ({self._owner()}): --fix changes files, and "
                "one writer at a time may; wait for it to finish (a check without --fix reads it now)"
            ) from None
        self.holding_lock = True
        try:
            journal = Journal(self.root)
            journal.on_names = self._save_names
            journal.recover()  # what a killed writer left in flight, finished or undone as a writer would
            report = self.run()
            report.fixed_run = True
            try:
                self._apply(report, journal)
            finally:
                journal.clear()  # the journal file stays when a step is left in flight: the next writer ends it
        finally:
            self.holding_lock = False
            lock.release()
        return report

    def _owner(self) -> str:
        try:
            with open(os.path.join(self.root, LOCK_NAME), encoding="utf-8", errors="replace") as fh:
                owner = json.loads(fh.read(4096) or "{}")
        except (OSError, ValueError):
            owner = {}
        return describe(owner if isinstance(owner, dict) else {})

    def _save_names(self, names: list[str]) -> None:
        """The class names a killed class merge set (its labels are rewritten already): saved to data.yaml."""
        self.session.save_names(names)

    def _inside(self, path: str) -> None:
        """OutputError for a file outside the dataset; LinkRefused for a link on the way to it, or at it."""
        rel = os.path.relpath(path, self.root)
        if rel == os.curdir or rel.startswith(os.pardir) or os.path.isabs(rel):
            raise OutputError(f"{path} lies outside {self.root}: --fix changes files inside the dataset only")
        if link := link_on_the_way(self.root, rel):
            raise refusal(link)

    def _apply(self, report: Report, journal: Journal) -> None:
        """Every planned change, checked first (inside the dataset, no link on the way): a refusal leaves
        everything as it was."""
        plan = self.plan
        moves: list[tuple[str, str]] = []
        taken: set[str] = set()
        for src in sorted(plan.moves):
            self._inside(src)
            dst = self._free(os.path.join(self.root, QUARANTINE_DIR, self._rel(src)), taken)
            self._inside(dst)  # a link at quarantine/ (or below) is refused before anything moves
            moves.append((src, dst))
        for path in plan.clips:
            self._inside(path)
        if plan.path_problem is not None:
            self._inside(os.path.join(self.root, "data.yaml"))
        for _, dst in moves:
            make_dirs(os.path.dirname(dst), below=self.root)
        if moves:
            journal.begin_moves([(self._rel(s), self._rel(d)) for s, d in moves])
            for src, dst in moves:
                replace(src, dst)
                report.changes.append(Change("quarantined", self._rel(src), self._rel(dst)))
            journal.done()
            where = {src: self._rel(dst) for src, dst in moves}
            for problems in plan.moves.values():
                for problem in problems:
                    self._mark_moved(problem, where)
        for path, lines in sorted(plan.clips.items()):
            with open(path, "rb") as fh:
                rows = fh.read().decode("utf-8", "replace").splitlines()
            for number, new in lines.items():
                rows[number - 1] = new
            write_text_atomic(path, "".join(f"{row}\n" for row in rows))
            report.changes.append(Change("clipped", self._rel(path)))
            for problem in plan.clip_problems[path]:
                problem.fix_action, problem.fix_paths = "clipped", (self._rel(path),)
        if plan.path_problem is not None:
            meta = read_data_yaml(self.root)
            meta["path"] = self.root
            write_text_atomic(
                os.path.join(self.root, "data.yaml"), yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
            )
            report.changes.append(Change("path_set", "data.yaml"))
            plan.path_problem.fix_action, plan.path_problem.fix_paths = "path_set", ("data.yaml",)
        if report.changes and self.session.fmt == "coco":
            self._rebuild_coco(report)

    def _mark_moved(self, problem: Problem, where: dict[str, str]) -> None:
        """Record on ``problem`` the moves that mended it."""
        path = os.path.join(self.root, problem.path)
        if problem.kind == "undecodable":
            label = label_path_of(path)
            problem.fix_action = "moved"
            problem.fix_paths = (where[path], *([where[label]] if label in where else []))
        elif problem.kind == "orphan_label":
            problem.fix_action, problem.fix_paths = "moved", (where[path],)
        else:  # a line of the label of an undecodable image
            problem.fix_action, problem.fix_paths = "moved_with_image", (where[path],)

    @staticmethod
    def _free(path: str, taken: set[str]) -> str:
        """``path``, or ``NAME.2.EXT``, ... when something is there already (an earlier quarantine)."""
        stem, ext = os.path.splitext(path)
        n, candidate = 1, path
        while os.path.lexists(candidate) or candidate in taken:
            n += 1
            candidate = f"{stem}.{n}{ext}"
        taken.add(candidate)
        return candidate

    def _rebuild_coco(self, report: Report) -> None:
        """COCO's annotations/instances_SPLIT.json again from the labels (a fix changed them)."""
        from vidcv.dataset.writer import DatasetWriter

        try:
            DatasetWriter(self.root, fmt="coco", merge=True).write_coco()
        except (DatasetError, OutputError, OSError, ValueError) as exc:
            report.notes.append(
                f"annotations/instances_*.json not rebuilt ({str(exc)[:160]}): mend the problems left, then "
                "run vidcv extract into the dataset (or open it in the dataset view) to rebuild them"
            )
            return
        report.changes.append(Change("rebuilt", "annotations"))


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def check_dataset(root: str, fix: bool = False) -> Report:
    """Check the dataset at ``root`` (read only, no lock); with ``fix`` mend what needs no guess, under its lock."""
    checker = Checker(root)
    return checker.fix() if fix else checker.run()


__all__ = ["CLIP_MARGIN", "KINDS", "QUARANTINE_DIR", "TOLERANCE", "Problem", "Report", "check_dataset", "check_line"]
