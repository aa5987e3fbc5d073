"""What a batch reads and where each input's results go: input specs expanded into video files, and one
output folder per input mirroring its path under the inputs' common parent.

Specs are video files, globs (``vids/**/*.mp4``), folders (their video files, subfolders included,
sorted naturally), ``@list.txt`` files (one spec per line, relative to the current folder; ``#`` starts a
comment) and ``env:NAME`` (the spec an environment variable holds, as ``vidcv run`` reads it; see
``vidcv.sources.reference``). The order is the order of the specs, each expanded in natural order; a file
named twice counts once. ``vidcv batch``, ``vidcv extract`` and the GUI's batch dialog all expand their inputs
here.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vidcv.errors import VidcvError
from vidcv.sources.images import natural_key
from vidcv.sources.reference import ENV_PREFIX, env_value, shown, spec_lines

#: Extensions of the files a folder or a glob contributes (an explicitly named file is taken as it is).
VIDEO_EXTENSIONS = (
    ".mp4",
    ".m4v",
    ".mov",
    ".avi",
    ".mkv",
    ".webm",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
    ".mxf",
    ".dv",
    ".h264",
    ".h265",
    ".hevc",
)

#: Names at the top of a batch's output folder that belong to the batch itself, never to an input.
RESERVED_NAMES = ("batch.jsonl",)

_NOT_FILES = (
    "rtsp://",
    "rtmp://",
    "http://",
    "https://",
    "udp://",
    "tcp://",
    "srt://",
    "pattern:",
    "camera:",
    "/dev/video",
)


def is_live_spec(spec: str) -> bool:
    """Whether ``spec`` names a camera, a stream or the test pattern rather than a file."""
    return spec.strip().lower().startswith(_NOT_FILES) or spec.strip().isdigit()


class InputError(VidcvError):
    """An input spec names nothing a batch can read."""


def is_video_name(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTENSIONS)


def expand_inputs(specs: Sequence[str], exclude: Iterable[str] = ()) -> list[str]:
    """The video files that ``specs`` name, in order, each once.

    A named file is kept even when it does not exist (the batch records it as failed, and the others go on);
    a glob, a folder or a list that yields no video is an InputError naming it. Files under a folder of
    ``exclude`` (the batch's output folder) are left out, so that a batch never reads its own outputs.
    """
    excluded = [os.path.abspath(p) for p in exclude]
    seen: set[str] = set()
    paths: list[str] = []
    for spec in specs:
        for path in _expand(spec, excluded, from_list=None):
            key = os.path.abspath(path)
            if key not in seen and not _inside(key, excluded):
                seen.add(key)
                paths.append(path)
    if not paths:
        raise InputError("no input: give video files, folders, globs such as 'videos/*.mp4', or @list.txt")
    return paths


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _expand(spec: str, excluded: list[str], from_list: str | None, literal: bool = False) -> list[str]:
    """The files of one spec; ``literal``: an ``env:`` value, which names no list and no variable."""
    where = f" (in {from_list})" if from_list else ""
    spec = spec.strip()
    if spec.startswith("@") and from_list is None:
        return _read_list(spec[1:], excluded)
    if spec.startswith(ENV_PREFIX) and not literal:  # its value as it is, named by the reference in messages
        value = env_value(spec)
        if is_live_spec(value):
            raise InputError(
                f"{shown(spec, value)}{where}: vidcv batch reads video files; for a camera, a stream "
                f"or a test pattern use vidcv run"
            )
        if not glob.has_magic(value) and not os.path.exists(os.path.expanduser(value)):
            # refused here rather than recorded as a failed input: the ledger would keep the value
            raise InputError(f"{shown(spec, value)}{where}: no such file or folder")
        return _expand(value, excluded, spec if from_list is None else f"{spec} in {from_list}", literal=True)
    if is_live_spec(spec):
        raise InputError(
            f"{spec}{where}: vidcv batch reads video files; for a camera, a stream or a test pattern use vidcv run"
        )
    path = os.path.expanduser(spec)
    if glob.has_magic(path):
        found = [p for p in glob.glob(path, recursive=True) if os.path.isfile(p) and is_video_name(p)]
        if not found:
            raise InputError(f"no video file matches {spec}{where} (looked for {_extensions()})")
        return sorted(found, key=_order)
    if os.path.isdir(path):
        found = _folder_videos(path, excluded)
        if not found:
            raise InputError(
                f"no video file in the folder {spec}{where} (looked for {_extensions()}, subfolders included)"
            )
        return found
    return [path]  # a file, or a missing one: reported as that input's failure


def _folder_videos(folder: str, excluded: list[str]) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and not _inside(os.path.abspath(os.path.join(root, d)), excluded)
        ]
        found += [os.path.join(root, f) for f in files if not f.startswith(".") and is_video_name(f)]
    return sorted(found, key=lambda p: _order(os.path.relpath(p, folder)))


def _order(path: str) -> tuple[list[object], list[object]]:
    """Natural order, the name before its extension first: clip.mp4, clip2.mp4, clip10.mp4."""
    return natural_key(os.path.splitext(path)[0]), natural_key(path)


def _read_list(list_path: str, excluded: list[str]) -> list[str]:
    try:
        lines = spec_lines(list_path)  # warns when it holds a password that other users may read
    except OSError as exc:
        raise InputError(f"cannot read the input list @{list_path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"the input list @{list_path} is not a text file (one path per line)") from None
    found = []
    for line in lines:
        found += _expand(line, excluded, from_list=f"@{list_path}")
    if not found:
        raise InputError(f"the input list @{list_path} names no file (one path per line)")
    return found


def _extensions() -> str:
    return ", ".join(VIDEO_EXTENSIONS[:6]) + " ..."


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch and its output folder: ``out`` relative to the batch's folder (as the ledger
    records it), ``out_dir`` the folder itself."""

    index: int
    source: str
    out: str
    out_dir: str


def common_parent(paths: Sequence[str]) -> str:
    """The deepest folder that holds every path (absolute)."""
    folders = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(folders) if folders else os.getcwd()


def plan_outputs(sources: Sequence[str], out_dir: str) -> list[BatchItem]:
    """One output folder per source under ``out_dir``: the source's path relative to the sources' common
    parent, without its extension (``a/clip.mp4`` -> ``OUT/a/clip``), so that ``a/clip.mp4`` and ``b/clip.mp4``
    never collide. Two sources of one folder with one stem (``clip.mp4``, ``clip.avi``) keep their extension
    (``clip_mp4``, ``clip_avi``). The plan depends only on the sources, so the same command plans the same
    folders again (resume)."""
    parent = common_parent(sources)
    stems = [_stem_path(os.path.relpath(os.path.abspath(s), parent)) for s in sources]
    taken = {name.lower() for name in RESERVED_NAMES}
    # a folder that holds another input's folder (``clip.mp4`` beside a folder ``clip/``) is no output folder
    parents = {"/".join(s.lower().split("/")[:k]) for s in stems for k in range(1, s.count("/") + 1)}
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    items = []
    for index, (source, stem) in enumerate(zip(sources, stems)):
        rel = stem
        if counts[stem.lower()] > 1 or stem.lower() in taken or stem.lower() in parents:
            ext = os.path.splitext(source)[1].lstrip(".")
            rel = f"{stem}_{ext}" if ext else f"{stem}_"
        base, n = rel, 2
        while rel.lower() in taken or rel.lower() in parents:
            rel, n = f"{base}_{n}", n + 1
        taken.add(rel.lower())
        items.append(BatchItem(index, source, rel, os.path.join(os.path.abspath(out_dir), *rel.split("/"))))
    return items


def _stem_path(rel: str) -> str:
    """``a/clip.mp4`` -> ``a/clip`` with forward slashes; a hidden or extension-less name stays whole."""
    parts = rel.replace(os.sep, "/").split("/")
    parts = [p for p in parts if p not in ("", ".")]
    parts = ["__" if p == ".." else p for p in parts]  # cannot happen under a common parent; never escape
    stem = os.path.splitext(parts[-1])[0] or parts[-1]
    return "/".join([*parts[:-1], stem])
