"""Helpers of the batch tests: clips cut from the bundled sample (the demo detector's shapes move in it, so
detection, tracking and counting have work), a batch's results read back, and the processes of a run."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time

import cv2

from media import read_all
from vidcv.bundled import sample_video


def sample_frames(count: int, start: int = 0) -> list:
    return read_all(sample_video(), start, count)


def write_clip(path: str, frames: list) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for img in frames:
        writer.write(img)
    writer.release()
    return path


def ledger(out_dir) -> list[dict]:
    """The lines of OUT/batch.jsonl, parsed (every line must be whole JSON)."""
    text = os.path.join(str(out_dir), "batch.jsonl")
    with open(text, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    assert lines[-1] == "", "the ledger ends with a whole line"
    return [json.loads(line) for line in lines[:-1]]


def partial_leftovers(root) -> list[str]:
    """Temporary files or folders (the ``.NAME.partial`` convention) anywhere under ``root``."""
    found = []
    for folder, dirs, files in os.walk(str(root)):
        found += [os.path.join(folder, n) for n in dirs + files if n.startswith(".") and ".partial" in n]
    return found


def wait_for(condition, what: str, limit_s: float = 120.0, every_s: float = 0.02):
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``limit_s`` (a guard
    against a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"gave up waiting for {what}")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux: every process whose parent it is)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                kids.append(int(entry))
    return kids


def gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie waiting for its reaper counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def open_files(pid: int) -> list[str]:
    """The paths of the files ``pid`` holds open."""
    paths = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                paths.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return paths


def run_on_terminal(cmd: list[str], stdout_path: str, limit_s: float = 240.0) -> tuple[int, str, str]:
    """Run ``cmd`` with its stderr on a pseudo-terminal of 160 columns (so that its progress bar draws) and
    its stdout into ``stdout_path``; returns (exit status, stdout, what the terminal showed)."""
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    with open(stdout_path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=terminal)
    os.close(terminal)
    shown = bytearray()
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 1.0)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the process closed its end
                    chunk = b""
                if not chunk:
                    break
                shown += chunk
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    with open(stdout_path) as fh:
        return code, fh.read(), shown.decode(errors="replace")
