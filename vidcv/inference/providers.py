"""ONNX Runtime sessions on the best provider there is, said plainly: never a silent fall-back to the CPU."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from vidcv.errors import VidcvError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "tensorrt")
PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
SHORT = {v: k for k, v in PROVIDERS.items()}


class InferenceError(VidcvError):
    """A model cannot be loaded or run as asked (file, layout, provider)."""


@dataclass
class SessionInfo:
    """What a session actually runs on, and why it is not what was asked for, if so."""

    provider: str  # short name in use: tensorrt, cuda or cpu
    providers: list[str]  # every provider of the session, in priority order
    warnings: list[str] = field(default_factory=list)  # one short line each: what runs, and where the fix is
    reasons: list[str] = field(default_factory=list)  # in full: why each GPU provider asked for is not in use
    why: str = ""  # the root of a fall-back in a few words (``no NVIDIA GPU driver found``), warned or not


_default_threads: int | None = None  #: threads of a session whose caller gives none (None: every core)
_said: set[str] = set()
_said_lock = threading.Lock()
_callers_report = threading.local()


#: the root of a fall-back on a machine without an NVIDIA GPU: said at INFO level (``-v``), not warned
NO_DRIVER = "no NVIDIA GPU driver found"


def _say_once(message: str, level: int = logging.WARNING) -> None:
    """Log a fall-back note the first time this process meets it (the GUI loads a model several times)."""
    if getattr(_callers_report, "active", False):
        return
    with _said_lock:
        if message in _said:
            return
        _said.add(message)
    log.log(level, "%s", message)


@contextmanager
def caller_reports_fallback() -> Iterator[None]:
    """Within this block (this thread), sessions log no fall-back note: the caller shows
    ``SessionInfo.warnings`` itself (``vidcv model info``, ``vidcv doctor``)."""
    before = getattr(_callers_report, "active", False)
    _callers_report.active = True
    try:
        yield
    finally:
        _callers_report.active = before


def set_default_threads(threads: int | None) -> None:
    """Threads of the sessions this process makes from now on when their caller gives none: a batch worker's
    share of the cores, so that N workers do not oversubscribe them (None: every core)."""
    global _default_threads
    _default_threads = threads


def onnxruntime() -> Any:
    """The onnxruntime module, or an InferenceError that says how to install it."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise InferenceError(
            f"onnxruntime is not installed ({exc}): pip install onnxruntime-gpu (it runs on the CPU too)"
        ) from None
    return ort


def available() -> list[str]:
    """Providers this onnxruntime build offers (offered is not working: a GPU one may still fail to start)."""
    return list(onnxruntime().get_available_providers())


def _wanted(device: str, offered: list[str]) -> list[str]:
    if device not in DEVICES:
        raise InferenceError(f"device {device!r} is not known; use one of {', '.join(DEVICES)}")
    if device == "cpu":
        return [PROVIDERS["cpu"]]
    if device == "auto":
        return [p for p in (PROVIDERS["tensorrt"], PROVIDERS["cuda"], PROVIDERS["cpu"]) if p in offered]
    name = PROVIDERS[device]
    if name not in offered:
        raise InferenceError(
            f"device '{device}' needs {name}, which this onnxruntime does not offer "
            f"(it offers {', '.join(offered)}); install onnxruntime-gpu, or use device: auto or cpu"
        )
    return (
        [name]
        + ([PROVIDERS["cuda"]] if device == "tensorrt" and PROVIDERS["cuda"] in offered else [])
        + [PROVIDERS["cpu"]]
    )


GPU_LIBRARIES = {
    "cuda": (
        ("libcuda.so.1", "the NVIDIA driver"),
        ("libcudart.so.13", "the CUDA 13 runtime"),
        ("libcublas.so.13", "cuBLAS 13"),
        ("libcudnn.so.9", "cuDNN 9"),
    ),
    "tensorrt": (("libnvinfer.so.10", "TensorRT 10"),),
}


def missing_libraries(provider: str) -> list[str]:
    """What a GPU provider needs and cannot load here (Linux; elsewhere ONNX Runtime reports it itself)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return []
    needs = GPU_LIBRARIES["cuda"] + (GPU_LIBRARIES["tensorrt"] if provider == "tensorrt" else ())
    missing = []
    for soname, what in needs:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(f"{what} ({soname})")
    return missing


def create_session(model_path: str, device: str = "auto", threads: int | None = None) -> tuple[Any, SessionInfo]:
    """An InferenceSession for ``model_path`` on ``device``; raises when an explicit GPU device cannot run."""
    ort = onnxruntime()
    offered = available()
    wanted = _wanted(device, offered)
    gpu_wanted = [p for p in wanted if p != PROVIDERS["cpu"]]
    if gpu_wanted and hasattr(ort, "preload_dlls"):
        said = io.StringIO()  # it prints each library it cannot load, on stdout: a --json reader's stream
        try:  # CUDA and cuDNN from the nvidia-* pip packages (the train extra's torch brings them), where present
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                ort.preload_dlls()
        except Exception as exc:  # noqa: BLE001 - a missing library shows up below as a provider that did not start
            log.debug("onnxruntime.preload_dlls failed: %s", exc)
        if said.getvalue().strip():
            log.debug("onnxruntime.preload_dlls: %s", said.getvalue().strip())
    # Providers whose libraries cannot load are left out before ONNX Runtime tries them (it would print a
    # screenful and fall back): the reason names the library.
    blocked = {p: missing_libraries(SHORT[p]) for p in gpu_wanted}
    blocked = {p: libs for p, libs in blocked.items() if libs}
    if blocked and device in ("cuda", "tensorrt"):
        raise InferenceError(
            f"device '{device}' cannot run here: missing {', '.join(blocked[PROVIDERS[device]])}; "
            "use device: auto or cpu (`vidcv doctor` lists what is installed)"
        )
    wanted = [p for p in wanted if p not in blocked]
    ort.set_default_logger_severity(3)  # no warnings from ORT's own fall-back: vidcv says what runs, below
    options = ort.SessionOptions()
    options.log_severity_level = 4  # vidcv reports a fall-back itself, in one line, instead of ORT's screenful
    options.intra_op_num_threads = threads or _default_threads or max(1, os.cpu_count() or 1)
    # Spinning threads stay on (ONNX Runtime's default): measured with the decode thread beside it, the demo
    # model ran faster with spinning than without; the README's benchmark section has the figures.
    try:
        session = ort.InferenceSession(model_path, sess_options=options, providers=wanted)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
        raise InferenceError(f"onnxruntime cannot load {model_path}: {str(exc).splitlines()[0]}") from None
    in_use = list(session.get_providers())
    info = SessionInfo(SHORT.get(in_use[0], in_use[0]), in_use)
    failed = [p for p in wanted if p not in in_use and p in gpu_wanted]
    info.reasons = [f"{SHORT[p]} needs {', '.join(libs)}" for p, libs in blocked.items()]
    info.reasons += [f"{SHORT[p]} did not start (is a GPU present?)" for p in failed]
    if info.reasons:
        if device in ("cuda", "tensorrt"):
            raise InferenceError(
                f"device '{device}' cannot run here: {'; '.join(info.reasons)}; use device: auto or cpu"
            )
        info.why = why = _why_short(blocked, failed)
        line = f"running on {info.provider.upper()}: {why} (`vidcv doctor` says how to fix it)"
        if why == NO_DRIVER:  # no GPU here: the CPU is what runs, as on most machines; the readout says so
            _say_once(line, logging.INFO)
        else:  # a GPU is here and cannot be used: worth a warning
            info.warnings.append(line)
    if device == "auto" and not gpu_wanted:
        log.info("running on CPU: this onnxruntime offers no GPU provider")
    for warning in info.warnings:
        _say_once(warning)
    return session, info


def _why_short(blocked: dict[str, list[str]], failed: list[str]) -> str:
    """The root of a fall-back in a few words: no driver, else the missing libraries, else what did not start."""
    missing = list(dict.fromkeys(lib for libs in blocked.values() for lib in libs))
    if any("libcuda.so.1" in lib for lib in missing):
        return NO_DRIVER
    if missing:
        return f"{', '.join(lib.split(' (')[0] for lib in missing)} not found"
    return f"{' and '.join(SHORT[p] for p in failed)} did not start"
