"""Process-wide settings for processing frames: applied once by the command line when ``vidcv`` runs as the
process itself, and by every worker process a batch or an extraction starts.

- **Page faults on every frame.** A frame is allocated in one thread (the decoder's) and freed in another
  (the sink's), and each stage's output lives until the frame is written. glibc's malloc then keeps handing
  memory back to the kernel (its heap "trim", whose threshold follows the largest block freed) and faulting
  it in again, zeroed, for the next frame. ``tune_malloc`` fixes the thresholds so that frame buffers are
  reused instead.
- **The interpreter's shutdown.** Its last garbage collections walk every object NumPy, OpenCV and PyAV
  created; ``freeze_imports`` and ``collect_then_freeze_at_exit`` let them pass over what the imports made
  and what is alive at exit. The README's benchmark section has the figures.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

#: glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: blocks below this come from malloc's heap, reused, instead of a fresh mapping each (glibc's upper limit
#: on 64-bit: 32 MiB, a 4K BGR frame fits)
MMAP_THRESHOLD = 32 * 1024 * 1024
#: free memory at the top of a heap is handed back to the kernel only beyond this (a few 1080p frames)
TRIM_THRESHOLD = 64 * 1024 * 1024
#: set by the user, these win (glibc reads them at start-up): vidcv then leaves malloc alone
MALLOC_ENV = (
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "GLIBC_TUNABLES",
)

_applied: set[str] = set()


def tune_process() -> None:
    """The settings below, each once per process."""
    freeze_imports()
    tune_malloc()
    collect_then_freeze_at_exit()


def freeze_imports() -> None:
    """Leave every object alive now (the modules' own, made by the imports, which live as long as the process)
    out of the garbage collector's walks from now on (``gc.freeze``): its full collections during a long run,
    and the one at exit, pass over only what came later."""
    if "imports" not in _applied:
        _applied.add("imports")
        gc.freeze()


def glibc() -> bool:
    """Whether this process runs on glibc (whose malloc ``tune_malloc`` knows)."""
    try:
        return sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name: not glibc
        return False


def tune_malloc() -> bool:
    """Fix glibc malloc's mmap and trim thresholds (``MMAP_THRESHOLD``, ``TRIM_THRESHOLD``); True when they were
    set by this call or an earlier one. Nothing on another C library, or when the environment sets malloc's
    own parameters (``MALLOC_ENV``)."""
    if "malloc" in _applied:
        return True
    if not glibc() or any(name in os.environ for name in MALLOC_ENV):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mmap's first: setting either one ends glibc's own adjustment of both
    if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return False
    _applied.add("malloc")
    return True


def collect_then_freeze_at_exit() -> None:
    """At the process's exit, collect the garbage once, then freeze what is left (``gc.freeze``), so that the
    collections of the interpreter's shutdown pass over none of the objects alive then, which the end of the
    process frees anyway. Unreachable objects are still collected, their finalisers run; the exit handlers
    registered before this one (logging's flush) still run after it."""
    if "freeze" not in _applied:
        _applied.add("freeze")
        atexit.register(_collect_then_freeze)


def _collect_then_freeze() -> None:
    gc.collect()
    gc.freeze()
