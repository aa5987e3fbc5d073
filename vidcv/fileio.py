"""Every file and folder vidcv creates, opens for writing, truncates, renames or removes goes through here.

Two guarantees:

- **Atomic**: a file is written under ``partial_name(path)`` beside its final name and renamed when complete,
  so a crash leaves either the previous file or a ``.NAME.partial.EXT`` leftover, never a half-written file
  under the final name.
- **No planted links followed**: a symbolic link standing where vidcv writes (an output, a temporary name,
  a lock, a journal, a manifest, a ledger, a dataset file or folder, a staging folder) is never written,
  truncated or removed through. New names are created with ``O_EXCL | O_NOFOLLOW``, existing files are opened
  with ``O_NOFOLLOW``, names are checked with ``lstat`` before a rename or removal, and folders vidcv makes
  inside an output are checked to be real folders. Such a link stops the operation with ``LinkRefused``, one
  line naming the link and its target. A rename onto a final name replaces a link there, never its target.
"""

from __future__ import annotations

import errno
import glob
import os
import re
import shutil
import stat
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

from vidcv.errors import READ_ONLY, OutputError, read_only, write_error

PARTIAL_MARK = ".partial"
_PRINTF_FIELD = re.compile(r"%[-+ #0]*\d*[diouxX]")  # the frame-number field of an image pattern


class LinkRefused(OutputError):
    """A symbolic link stood where vidcv was about to write: vidcv never follows one it did not make."""


def refusal(path: str) -> LinkRefused:
    """The one-line error for the link at ``path``."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return LinkRefused(
        f"refusing to write through {path}: it is a symbolic link (to {target}) that vidcv did not "
        "make, and vidcv never follows one where it writes; remove the link, or write elsewhere"
    )


def refuse_link(path: str) -> None:
    """Raise LinkRefused when ``path`` itself is a symbolic link (the folders above it are the user's)."""
    if os.path.islink(path):
        raise refusal(path)


_MODES = {
    "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
    "r+": os.O_RDWR,
    "r": os.O_RDONLY,
}


def open_fd(path: str, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that never follows a link at ``path`` (``O_NOFOLLOW``, close-on-exec); LinkRefused for one."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and os.path.islink(path)):
            raise refusal(path) from None
        raise


def open_file(path: str, mode: str = "w", encoding: str | None = None, buffering: int = -1) -> IO[Any]:
    """``open`` for the modes ``w``, ``a``, ``x``, ``r+`` and ``r`` (``b`` for bytes), through ``open_fd``: a link
    at ``path`` is refused, never followed."""
    binary = "b" in mode
    flags = _MODES[mode.replace("b", "")]
    fd = open_fd(path, flags)
    try:
        return os.fdopen(
            fd,
            mode if binary else mode.replace("b", ""),
            buffering=buffering,
            encoding=None if binary else (encoding or "utf-8"),
        )
    except BaseException:
        os.close(fd)
        raise


def create_new(path: str, mode: int = 0o666) -> int:
    """Create ``path``, which must not exist (``O_EXCL``: neither a file nor a link), for writing; its fd."""
    return open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)


def _lstat_no_link(path: str) -> os.stat_result | None:
    """What is at ``path`` itself (None: nothing); LinkRefused for a link."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise refusal(path)
    return info


def remove(path: str) -> bool:
    """Remove the file ``path``; False when there was none. A link there is refused (vidcv removes only files
    it made, and a link is not one of them)."""
    if _lstat_no_link(path) is None:
        return False
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


def replace(src: str, dst: str) -> None:
    """Rename ``src`` (a file or folder vidcv made, never a link) to ``dst``; a link at ``dst`` is replaced, not
    followed."""
    refuse_link(src)
    os.replace(src, dst)


def truncate(path: str, size: int) -> None:
    """Cut the file ``path`` to ``size`` bytes; a link there is refused."""
    fd = open_fd(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def make_dirs(path: str, below: str | None = None) -> None:
    """Create the folder ``path`` and what is missing above it. Each folder from ``below`` (a folder the user
    named) down to ``path`` must be a real folder: a link among them is refused, so nothing vidcv makes inside
    an output lands elsewhere. Without ``below`` only ``path`` itself is checked."""
    if below is None:
        os.makedirs(path, exist_ok=True)
        refuse_link(path)
        return
    os.makedirs(below, exist_ok=True)
    rel = os.path.relpath(path, below)
    if rel == os.curdir:
        return
    if rel.startswith(os.pardir):
        raise OutputError(f"{path} is not inside {below}")
    current = below
    for part in rel.split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current)
        except FileExistsError:
            info = os.lstat(current)
            if stat.S_ISLNK(info.st_mode):
                raise refusal(current) from None
            if not stat.S_ISDIR(info.st_mode):
                raise OutputError(
                    f"cannot create the folder {current}: a file of that name is in the way "
                    "(move it, or write elsewhere)"
                ) from None


def remove_tree(path: str) -> bool:
    """Remove the folder ``path`` and everything in it; False when there was none. A link at ``path`` is refused;
    links inside are removed as links, never followed (``shutil.rmtree`` works through folder descriptors)."""
    info = _lstat_no_link(path)
    if info is None:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return remove(path)
    shutil.rmtree(path)
    return True


def missing_folders(folder: str) -> list[str]:
    """The folders that making ``folder`` would create (absolute, deepest first); none when it exists. Taken
    before a run makes its output folders, it is the list of what that run created, to remove again when they
    stay empty (``remove_empty_folders``)."""
    missing = []
    current = os.path.abspath(folder)
    while not os.path.lexists(current) and os.path.dirname(current) != current:
        missing.append(current)
        current = os.path.dirname(current)
    return missing


def remove_empty_folders(folders: Iterable[str]) -> list[str]:
    """Remove each of ``folders`` that is an empty real folder, deepest first (a folder vidcv made for a run
    that wrote nothing into it); returns those removed. A link, a file, or a folder with anything in it is left
    as it is: only an empty folder is removed (``rmdir``), never one with a file that someone put there."""
    removed = []
    for folder in sorted(set(folders), key=lambda f: f.count(os.sep), reverse=True):
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):  # a link or a file there now: not what vidcv made
                continue
            os.rmdir(folder)
        except OSError:  # gone already, not empty, or not ours to remove
            continue
        removed.append(folder)
    return removed


def discard_tree(path: str) -> None:
    """Remove the folder ``path`` that vidcv made, if it can (a link there is left alone, never followed)."""
    try:
        remove_tree(path)
    except (OSError, OutputError):
        pass


def free_name(stem: str, ext: str, mark: str) -> str:
    """``STEM.MARK.EXT``, or ``STEM.MARK-2.EXT``, ... : the first such name where nothing is, not even a link."""
    n, name = 1, f"{stem}.{mark}{ext}"
    while os.path.lexists(name):
        n += 1
        name = f"{stem}.{mark}-{n}{ext}"
    return name


@contextmanager
def folder_locked(folder: str) -> Iterator[None]:
    """``folder`` locked for the ``with`` block: an exclusive ``flock`` on the folder itself (nothing written,
    released however the process ends), so that two processes checking and marking what the folder holds take
    turns. Unlocked where there is no ``flock`` (Windows) or no such folder (the caller's own checks say so)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def link_on_the_way(root: str, rel: str) -> str | None:
    """The first symbolic link on the way from the folder ``root`` down to ``root/rel``, the file itself
    included (a folder planted as a link would lead a write or a removal out of ``root``); None where there
    is none."""
    current = root
    for part in os.path.normpath(rel).split(os.sep):
        current = os.path.join(current, part)
        if os.path.islink(current):
            return current
    return None


def same_file(a: str, b: str) -> bool:
    """Whether the names ``a`` and ``b`` are one file: the same path, or, where both exist, the same file on disk
    (a link to it, another hard link): an output that would replace the video it reads."""
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def unused_path(path: str, taken: Container[str] = ()) -> str:
    """``path``, or ``STEM-2.EXT``, ``STEM-3.EXT``, ...: the first where nothing is, complete or partial (not
    even a link), and that is not in ``taken``. For outputs named by the second (a recording, a snapshot, an
    event's clip), so a second one within the same second never replaces the first."""
    stem, ext = os.path.splitext(path)
    n, name = 1, path
    while name in taken or os.path.lexists(name) or os.path.lexists(visible_partial_name(name)):
        n += 1
        name = f"{stem}-{n}{ext}"
    return name


def writer_path(fd: int, path: str) -> str:
    """A name under which a library that opens files by name (FFmpeg) writes the very file open as ``fd``: on
    Linux ``/proc/self/fd/N``, which cannot be swapped for a link between vidcv's open and the library's;
    elsewhere ``path`` itself."""
    proc = f"/proc/self/fd/{fd}"
    return proc if os.path.exists(proc) else path


def open_partial(path: str) -> int:
    """Start writing ``path`` afresh under its temporary name: a leftover there is removed (a link refused), and
    the name is created new. The fd, open for writing."""
    tmp = partial_name(path)
    remove(tmp)
    return create_new(tmp)


def partial_name(path: str) -> str:
    """The temporary name beside ``path``: hidden, marked ``.partial``, keeping the extension (OpenCV and
    FFmpeg pick the format from it): ``out/clip.mp4`` -> ``out/.clip.partial.mp4``."""
    head, tail = os.path.split(path)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f".{stem}{PARTIAL_MARK}{ext}")


def is_partial(name: str) -> bool:
    """True for a file name made by ``partial_name`` (a leftover of a write that did not finish)."""
    return name.startswith(".") and PARTIAL_MARK in name


def visible_partial_name(path: str) -> str:
    """The name a user-facing output grows under while it is written (a recording, a detection log): beside
    ``path``, not hidden, marked ``.partial`` and keeping the extension: ``out/clip.mp4`` ->
    ``out/clip.partial.mp4``. A run killed outright leaves it where the user looks, playable as far as it got
    and never taken for the complete file, which appears only by the rename at a clean end. vidcv's internal
    atomic writes keep the hidden ``partial_name``."""
    head, tail = os.path.split(path)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f"{stem}{PARTIAL_MARK}{ext}")


def is_visible_partial(name: str) -> bool:
    """True for a file name made by ``visible_partial_name`` (``clip.partial.mp4``; not hidden)."""
    stem = os.path.splitext(name)[0]
    return not name.startswith(".") and stem.endswith(PARTIAL_MARK) and len(stem) > len(PARTIAL_MARK)


def open_visible_partial(path: str) -> int:
    """Start writing ``path`` afresh under ``visible_partial_name``: a leftover there is removed (a link
    refused), and the name is created new. The fd, open for writing, holds an exclusive ``flock`` while it is
    open (``in_use`` tells another process that the file is still being written, not cut short). Where a live
    vidcv holds that name, the write is refused (OutputError) and its file left as it is."""
    tmp = visible_partial_name(path)
    if in_use(tmp):
        raise OutputError(
            f"cannot write {path}: another vidcv is writing it now (as {os.path.basename(tmp)}); "
            "wait until that run ends, or write elsewhere"
        )
    remove(tmp)
    fd = create_new(tmp)
    _hold(fd)
    return fd


def _hold(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): a file being written cannot be told from one cut short
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # a file system without locks: as without fcntl


def in_use(path: str) -> bool:
    """Whether the file ``path`` is held open for writing by a live vidcv (``open_visible_partial``'s lock): a
    recording or log still going, in this process or another, rather than one whose writer was killed."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = open_fd(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the shared lock taken
    return False


def remove_stale_visible(target: str) -> list[str]:
    """Remove the ``visible_partial_name`` of the file ``target`` that an earlier write left when it was killed
    (a recording or log that held nothing worth keeping: see ``vidcv.sinks``' ``keep_killed_*``), unless a
    live vidcv still writes it (``in_use``); the paths removed. A link there is refused."""
    tmp = visible_partial_name(target)
    if os.path.islink(tmp):
        raise refusal(tmp)
    if not os.path.isfile(tmp) or in_use(tmp):
        return []
    try:
        os.remove(tmp)
    except OSError:
        return []  # not ours to remove (permissions): the write that follows says what is wrong
    return [tmp]


def commit_visible(path: str) -> None:
    """Rename the finished ``visible_partial_name`` of ``path`` to ``path``."""
    replace(visible_partial_name(path), path)


def remove_stale_partials(target: str) -> list[str]:
    """Remove what earlier writes of ``target`` left when they were killed before their rename (SIGKILL, power
    loss), and return the paths removed. ``target`` is a file (its temporary file), a printf image pattern such
    as ``out/f_%05d.png`` (the temporary files of its names) or a folder (the temporary files in it). A run
    calls this before it writes ``target`` again: two runs writing one output at once would overwrite each
    other's temporary file anyway."""
    if "%" in target:
        head, tail = os.path.split(target)
        stem, ext = os.path.splitext(tail)
        wild = "*".join(glob.escape(p) for p in _PRINTF_FIELD.split(stem))
        candidates = glob.glob(os.path.join(glob.escape(head), f".{wild}{PARTIAL_MARK}{glob.escape(ext)}"))
    elif os.path.isdir(target):
        candidates = [os.path.join(target, n) for n in os.listdir(target) if is_partial(n)]
    else:
        candidates = [partial_name(target)]
    removed = []
    for path in sorted(candidates):
        if os.path.islink(path):
            raise refusal(path)
        if os.path.isfile(path):
            try:
                os.remove(path)
            except OSError:
                continue  # not ours to remove (permissions): the write that follows says what is wrong
            removed.append(path)
    return removed


def existing_folder(path: str) -> str:
    """The nearest folder at or above ``path`` that exists (where making ``path`` would start)."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder


def read_only_reason(folder: str) -> str:
    """Why the existing ``folder`` cannot be written: ``read-only file system`` when it is on one, else
    ``permission denied``."""
    try:
        on_read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        on_read_only = False
    return READ_ONLY[errno.EROFS] if on_read_only else READ_ONLY[errno.EACCES]


def ensure_parent(path: str) -> None:
    """Create the folder of ``path``; OutputError saying which folder and why when that is impossible. A
    read-only place is said in one wording, whether the folder exists or had to be made, and whether the
    permissions or a read-only file system forbid it (``vidcv.errors.read_only``)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        if exc.errno in READ_ONLY:  # the folder above that exists is the read-only one
            above = existing_folder(folder)
            raise read_only(above, read_only_reason(above)) from None
        raise OutputError(f"cannot create the output folder {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise read_only(folder, read_only_reason(folder))


def check_not_read_only(path: str, shown: str | None = None) -> None:
    """OutputError when the file ``path`` exists and is read-only: vidcv would replace it by a rename, which
    its permissions do not forbid, and a file made read-only is one its owner wants kept."""
    if os.path.isfile(path) and not os.path.islink(path) and not os.access(path, os.W_OK):
        raise read_only(shown or path, read_only_reason(os.path.dirname(os.path.abspath(path))))


def commit(path: str) -> None:
    """Rename the finished temporary file of ``path`` to ``path``."""
    replace(partial_name(path), path)


def discard(path: str) -> None:
    """Remove the temporary file of ``path`` if there is one (a link there is left alone)."""
    try:
        remove(partial_name(path))
    except LinkRefused:
        pass


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield the temporary name to write ``path`` under, created empty and new by vidcv (a leftover or a link
    there is dealt with first); renamed on success, removed on an exception."""
    ensure_parent(path)
    os.close(open_partial(path))
    tmp = partial_name(path)
    try:
        yield tmp
    except BaseException:
        discard(path)
        raise
    replace(tmp, path)


def _write_atomic(path: str, write: Callable[[BinaryIO], object]) -> None:
    """``write`` the file ``path`` through its temporary name, created new with ``O_EXCL | O_NOFOLLOW``, then
    renamed; OutputError naming the file and the reason (disk full, permission, a planted link)."""
    ensure_parent(path)
    try:
        fd = open_partial(path)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
        except BaseException:
            discard(path)
            raise
        replace(partial_name(path), path)
    except OutputError:
        raise
    except OSError as exc:
        if exc.errno in READ_ONLY:
            raise write_error(path, exc) from None
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through its temporary name (see ``_write_atomic``)."""
    _write_atomic(path, lambda fh: fh.write(data))


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through its temporary name."""
    _write_atomic(path, lambda fh: fh.write(bytes(text, "utf-8")))


def copy_atomic(src: str, path: str) -> None:
    """Copy the file ``src`` to ``path`` through its temporary name (not read whole into memory)."""

    def copy(fh: BinaryIO) -> None:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, fh, 1 << 20)

    _write_atomic(path, copy)


class AtomicTextFile:
    """A text file written line by line under its temporary name (a log), renamed by ``close``."""

    def __init__(self, path: str) -> None:
        ensure_parent(path)
        self.path = path
        self._fh: IO[str] = os.fdopen(open_partial(path), "w", encoding="utf-8")

    def write(self, text: str) -> None:
        self._fh.write(text)

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def close(self) -> None:
        """Flush and rename to the final name (once)."""
        if self._fh.closed:
            return
        self._fh.close()
        commit(self.path)
