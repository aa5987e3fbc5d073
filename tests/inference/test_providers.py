"""Provider selection (vidcv/inference/providers.py): a fall-back to the CPU is said once per process, in one
short line that points to `vidcv doctor`; the full reasons stay in SessionInfo for the doctor to show."""

import ctypes
import logging

import pytest

from vidcv.bundled import DEMO_MODEL, bundled_models
from vidcv.inference import providers
from vidcv.inference.providers import PROVIDERS, caller_reports_fallback, create_session

MODEL = bundled_models()[DEMO_MODEL]
pytestmark = pytest.mark.timeout(300)


def has_gpu_driver() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


needs_cpu_only_machine = pytest.mark.skipif(
    has_gpu_driver() or PROVIDERS["cuda"] not in providers.available(),
    reason="needs GPU providers offered on a machine without an NVIDIA driver (the CPU-only set-up)",
)


@pytest.fixture
def fresh(monkeypatch):
    """A process that has said nothing yet."""
    monkeypatch.setattr(providers, "_said", set())


def notes(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == providers.__name__ and r.levelno >= logging.WARNING]


def notes_at(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == providers.__name__ and r.levelno == level]


@needs_cpu_only_machine
def test_a_machine_without_a_gpu_is_told_once_at_info_level_not_warned(fresh, caplog):
    """The CPU is what most machines run on: no warning on every run (`-v` shows the line); the readout and
    the summary say `inference CPU`, and the full story stays for `vidcv doctor`."""
    caplog.set_level(logging.INFO, logger=providers.__name__)
    infos = [create_session(MODEL, "auto")[1] for _ in range(3)]  # the GUI loads a model several times
    line = "running on CPU: no NVIDIA GPU driver found (`vidcv doctor` says how to fix it)"
    assert notes(caplog) == [] and notes_at(caplog, logging.INFO).count(line) == 1
    assert all(info.provider == "cpu" and info.warnings == [] for info in infos)
    # the full story is kept for `vidcv doctor`: each GPU provider and what it misses
    reasons = infos[0].reasons
    assert [r.split(" ")[0] for r in reasons] == ["tensorrt", "cuda"]
    assert all("libcuda.so.1" in r for r in reasons) and "libnvinfer.so.10" in reasons[0]


@pytest.fixture
def gpu_without_cudnn(monkeypatch):
    """A machine whose GPU driver loads but whose cuDNN does not (the libraries a GPU provider needs are
    looked up through ``missing_libraries``; without a GPU here, its answer is the only way to that case)."""
    monkeypatch.setattr(providers, "missing_libraries", lambda provider: ["cuDNN 9 (libcudnn.so.9)"])


@needs_cpu_only_machine
def test_a_gpu_that_cannot_be_used_is_warned_once_in_one_short_line(fresh, gpu_without_cudnn, caplog):
    caplog.set_level(logging.INFO, logger=providers.__name__)
    infos = [create_session(MODEL, "auto")[1] for _ in range(3)]
    line = "running on CPU: cuDNN 9 not found (`vidcv doctor` says how to fix it)"
    assert notes(caplog) == [line]
    assert all(info.provider == "cpu" and info.warnings == [line] for info in infos)


@needs_cpu_only_machine
def test_a_caller_that_shows_the_fallback_itself_gets_no_log_line(fresh, gpu_without_cudnn, caplog):
    caplog.set_level(logging.INFO, logger=providers.__name__)
    with caller_reports_fallback():
        _, info = create_session(MODEL, "auto")
    assert info.warnings and notes(caplog) == []
    create_session(MODEL, "auto")  # outside the block the note is said, the first time
    assert notes(caplog) == info.warnings


def test_device_cpu_says_nothing(fresh, caplog):
    caplog.set_level(logging.INFO, logger=providers.__name__)
    _, info = create_session(MODEL, "cpu")
    assert info.provider == "cpu" and info.warnings == [] and info.reasons == [] and notes(caplog) == []


@pytest.mark.parametrize(
    "blocked, failed, short",
    [
        (
            {
                "TensorrtExecutionProvider": ["the NVIDIA driver (libcuda.so.1)", "TensorRT 10 (libnvinfer.so.10)"],
                "CUDAExecutionProvider": ["the NVIDIA driver (libcuda.so.1)"],
            },
            [],
            "no NVIDIA GPU driver found",
        ),
        ({"TensorrtExecutionProvider": ["TensorRT 10 (libnvinfer.so.10)"]}, [], "TensorRT 10 not found"),
        (
            {"CUDAExecutionProvider": ["cuDNN 9 (libcudnn.so.9)", "cuBLAS 13 (libcublas.so.13)"]},
            [],
            "cuDNN 9, cuBLAS 13 not found",
        ),
        ({}, ["TensorrtExecutionProvider", "CUDAExecutionProvider"], "tensorrt and cuda did not start"),
    ],
    ids=["no driver", "no tensorrt", "no cuda libraries", "did not start"],
)
def test_the_short_line_names_the_root_cause(blocked, failed, short):
    assert providers._why_short(blocked, failed) == short


def test_what_preload_dlls_prints_stays_off_stdout(fresh, monkeypatch, capsys, caplog):
    # onnxruntime.preload_dlls prints each CUDA library it cannot load (a runtime install has no nvidia-* wheels):
    # on stdout it would break `vidcv model info --json` and clutter every run; it goes to the debug log instead
    import onnxruntime

    def noisy():
        print("Failed to load libcublasLt.so.13: please follow the instructions")

    monkeypatch.setattr(onnxruntime, "preload_dlls", noisy, raising=False)
    monkeypatch.setattr(providers, "available", lambda: [PROVIDERS["cuda"], PROVIDERS["cpu"]])
    with caplog.at_level(logging.DEBUG, logger=providers.__name__):
        create_session(MODEL, device="auto")
    assert capsys.readouterr().out == ""
    assert any("libcublasLt" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
