"""One writer per dataset: an exclusive lock file, ``DIR/.vidcv.lock``, holding the owner's pid.

The lock is an ``flock`` on that file, so the kernel releases it when its owner ends in any way (exit,
crash, SIGKILL): a lock file left by a dead process is stale, detected as such and taken over. The file's
text (pid, host, command, start time) is only there to name the owner in the refusal and the stale note.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time

from vidcv.errors import OutputError, VidcvError
from vidcv.fileio import open_fd, remove

LOCK_NAME = ".vidcv.lock"


class DatasetBusy(VidcvError):
    """Another process (or another writer in this one) is writing the dataset."""


def _owner_text() -> str:
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:2])) or "python"
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


def _read_owner(fd: int) -> dict:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        owner = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def describe(owner: dict) -> str:
    """``pid 123, vidcv extract, since 2026-01-01 10:00:00`` (what the lock file says of its owner)."""
    parts = [f"pid {owner.get('pid', '?')}"]
    if owner.get("host") and owner["host"] != socket.gethostname():
        parts[0] += f" on {owner['host']}"
    parts += [str(owner[k]) if k == "command" else f"since {owner[k]}" for k in ("command", "since") if owner.get(k)]
    return ", ".join(parts)


class DatasetLock:
    """The exclusive lock of the dataset in ``root``; ``acquire`` raises DatasetBusy while another holds it."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.path = os.path.join(root, LOCK_NAME)
        self._fd: int | None = None
        self.stale: dict | None = None  #: what a dead owner's lock file said, when this one took it over

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (the folder must exist). A lock file of a process that has ended is taken over and
        remembered in ``stale``."""
        if self._fd is not None:
            return
        while True:
            try:
                fd = open_fd(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OutputError:
                raise
            except OSError as exc:
                raise OutputError(f"cannot write to {self.root}: {exc.strerror} (choose another --out)") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                mine = " (this process)" if owner.get("pid") == os.getpid() else ""
                raise DatasetBusy(
                    f"{self.root} is being written by another vidcv ({describe(owner)}{mine}): one "
                    "writer at a time; wait for it to finish, or use another --out"
                ) from None
            except OSError as exc:
                os.close(fd)
                raise DatasetBusy(
                    f"cannot lock {self.path}: {exc.strerror} (a file system without locks? use a "
                    "local folder for --out)"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.lstat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous owner removed the file between our open and our lock: take the new one
        owner = _read_owner(fd)
        self.stale = owner if owner.get("pid") else None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _owner_text().encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and let go (removed while still held, so no one locks a file about to vanish)."""
        if self._fd is None:
            return
        try:
            remove(self.path)
        except (OSError, OutputError):  # gone, or swapped for a link: the lock is let go all the same
            pass
        os.close(self._fd)
        self._fd = None
