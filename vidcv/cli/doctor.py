"""``vidcv doctor``: what this machine has for vidcv, what a session would run on, and how to fix the rest."""

from __future__ import annotations

import argparse
import ctypes
import glob
import json
import os
import platform
import site
import sys

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK
from vidcv.cli.output import say
from vidcv.extras import RAY, TRAIN, missing_modules


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version  # here: every command imports this module

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _find_library(names: list[str]) -> str | None:
    """A shared library by name: from the nvidia-* pip packages first, then the system loader."""
    roots = [*site.getsitepackages(), site.getusersitepackages()]
    for root in roots:
        for name in names:
            hits = glob.glob(os.path.join(root, "nvidia", "**", name), recursive=True)
            if hits:
                return hits[0]
    for name in names:
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return None


def checks() -> list[dict[str, str]]:
    """One row per component: name, status (ok, missing, warn, info), detail, fix."""
    rows: list[dict[str, str]] = []

    def add(name: str, status: str, detail: str, fix: str = "") -> None:
        rows.append({"name": name, "status": status, "detail": detail, "fix": fix})

    from vidcv._version import __version__

    add("vidcv", "ok", __version__)
    add(
        "python",
        "ok" if sys.version_info >= (3, 10) else "missing",
        f"{platform.python_version()} ({sys.executable})",
        "vidcv needs Python 3.10 or newer",
    )
    import cv2

    haar = os.path.isdir(getattr(getattr(cv2, "data", None), "haarcascades", "") or "")
    ffmpeg = cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG)
    ok = cv2.__version__.startswith("4.") and hasattr(cv2, "CascadeClassifier") and haar and ffmpeg
    add(
        "opencv",
        "ok" if ok else "missing",
        f"{cv2.__version__}; FFmpeg video {'yes' if ffmpeg else 'NO'}; Haar cascades {'yes' if haar else 'NO'}",
        "pip install 'opencv-python>=4.10,<5' (OpenCV 5 has no Haar cascades)",
    )
    ort_dists = [d for d in ("onnxruntime", "onnxruntime-gpu") if _version(d)]
    try:
        import onnxruntime as ort

        providers = ort.get_available_providers()
        add(
            "onnxruntime",
            "ok" if len(ort_dists) == 1 else "warn",
            f"{ort.__version__} ({', '.join(ort_dists)}); providers offered: {', '.join(providers)}",
            ""
            if len(ort_dists) == 1
            else "onnxruntime and onnxruntime-gpu are both installed and share one module: "
            "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu",
        )
    except ImportError as exc:
        providers = []
        add("onnxruntime", "missing", str(exc), "pip install onnxruntime-gpu (it runs on the CPU too)")
    for label, names, fix in (
        ("CUDA runtime 13", ["libcudart.so.13"], "pip install nvidia-cuda-runtime (torch's CUDA build brings it)"),
        ("cuBLAS 13", ["libcublas.so.13"], "pip install nvidia-cublas"),
        ("cuDNN 9", ["libcudnn.so.9"], "pip install nvidia-cudnn-cu13"),
    ):
        found = _find_library(names)
        add(
            label,
            "ok" if found else "missing",
            found or f"{names[0]} not found",
            "" if found else f"{fix}; needed only for the CUDA and TensorRT providers",
        )
    gpu = "no NVIDIA driver found"
    if _find_library(["libcuda.so.1"]):
        gpu = "NVIDIA driver present (libcuda.so.1)"
    add(
        "gpu driver",
        "ok" if "present" in gpu else "info",
        gpu,
        "" if "present" in gpu else "a GPU and its driver are needed for CUDA; vidcv runs on the CPU without them",
    )
    torch_version = _version("torch")
    if torch_version:
        try:
            import torch

            cuda = torch.cuda.is_available()
            detail = (
                f"{torch.__version__}; CUDA build {torch.version.cuda or 'no'}; GPU usable: {'yes' if cuda else 'no'}"
            )
            if cuda:
                detail += f" ({torch.cuda.get_device_name(0)})"
            add("torch", "ok", detail)
        except Exception as exc:  # noqa: BLE001 - a broken torch install shows its own error
            add("torch", "warn", f"{torch_version} does not import: {exc}", "pip install --force-reinstall torch")
    else:
        add("torch", "info", "not installed", f"only training and `vidcv model export` need it: {TRAIN.install}")
    add(
        "ultralytics",
        "ok" if _version("ultralytics") else "info",
        _version("ultralytics") or "not installed",
        "" if _version("ultralytics") else f"only training and `vidcv model export` need it: {TRAIN.install}",
    )
    # the extras: pipelines, the window and batches need neither (tracking is vidcv's own, without ultralytics)
    for extra, needed_by in (
        (TRAIN, "vidcv train, Dataset > Train… and vidcv model export need it"),
        (RAY, "--engine ray needs it"),
    ):
        absent = missing_modules(extra)
        add(
            f"{extra.name} extra",
            "info" if absent else "ok",
            f"not installed: {', '.join(absent)}" if absent else f"installed ({', '.join(extra.modules)})",
            f"{needed_by}: {extra.install}" if absent else "",
        )
    add(
        "auto-install",
        "ok" if os.environ.get("YOLO_AUTOINSTALL", "false").lower() == "false" else "warn",
        f"YOLO_AUTOINSTALL={os.environ.get('YOLO_AUTOINSTALL', 'false')}",
        "vidcv never lets ultralytics pip-install at run time; unset YOLO_AUTOINSTALL",
    )
    pyside = _version("PySide6") or _version("PySide6-Essentials")
    if pyside:
        bad = tuple(int(x) for x in pyside.split(".")[:2]) >= (6, 12)
        add(
            "PySide6",
            "warn" if bad else "ok",
            pyside,
            "PySide6 6.12 aborts Python 3.11 after many signals: pip install 'PySide6<6.12'" if bad else "",
        )
    else:
        add("PySide6", "missing", "not installed", "pip install 'PySide6<6.12' (for vidcv-gui)")
    try:
        from vidcv.bundled import DEMO_MODEL, bundled_models
        from vidcv.inference.providers import caller_reports_fallback
        from vidcv.inference.yolo import YoloModel

        with caller_reports_fallback():  # this row says it, with the fix
            model = YoloModel(bundled_models()[DEMO_MODEL], "auto", warmup=False)
        reasons = model.session_info.reasons
        detail = f"a yolo stage with device auto runs on {model.provider.upper()}"
        add(
            "inference",
            "info" if reasons else "ok",
            detail + (f" ({'; '.join(reasons)})" if reasons else ""),
            gpu_fix(reasons),
        )
    except Exception as exc:  # noqa: BLE001 - report, do not crash the doctor
        add("inference", "warn", f"the demo model does not load: {exc}", "reinstall vidcv (pip install -e .)")
    return rows


#: What to install for each library a GPU provider could not load (providers.GPU_LIBRARIES).
GPU_FIXES = (
    (
        "libcuda.so.1",
        (
            "a GPU provider needs an NVIDIA GPU and its driver; without them vidcv runs on the CPU, "
            "and `device: cpu` on a yolo stage skips the GPU providers and this note"
        ),
    ),
    ("libcudart.so.13", "pip install nvidia-cuda-runtime"),
    ("libcublas.so.13", "pip install nvidia-cublas"),
    ("libcudnn.so.9", "pip install nvidia-cudnn-cu13"),
    ("libnvinfer.so.10", "pip install 'tensorrt-cu13<11' (TensorRT 10, for device tensorrt)"),
)


def gpu_fix(reasons: list[str]) -> str:
    """The fix for the fall-back reasons of a session: the driver first (without it nothing else helps)."""
    text = " ".join(reasons)
    if not text:
        return ""
    fixes = [fix for soname, fix in GPU_FIXES if soname in text]
    if "libcuda.so.1" in text:
        return fixes[0]
    return "; ".join(fixes) or "check the GPU driver with nvidia-smi; run with --debug to see ONNX Runtime's log"


def doctor_command(args: argparse.Namespace) -> int:
    rows = checks()
    essential_ok = all(r["status"] in ("ok", "info") for r in rows if r["name"] in ("python", "opencv", "onnxruntime"))
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK if essential_ok else EXIT_ERROR
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        say(f"{r['status'].upper():<8}{r['name']:<{width + 2}}{r['detail']}")
        if r["fix"] and r["status"] != "ok":
            say(f"{'':<8}{'':<{width + 2}}fix: {r['fix']}")
    return EXIT_OK if essential_ok else EXIT_ERROR


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check the installation and what inference runs on",
        description="Python, OpenCV, ONNX Runtime and its providers, CUDA and cuDNN libraries, "
        "torch, and what a yolo stage would run on; the fix for each missing piece.",
        epilog="examples:\n  vidcv doctor\n  vidcv doctor --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=doctor_command)
