"""`vidcv doctor` (vidcv/cli/doctor.py): every component with its status and the fix for what is missing."""

import argparse
import json

import pytest

from media import run_cli

pytestmark = pytest.mark.timeout(300)


def test_doctor_reports_every_component_with_fixes():
    res = run_cli("doctor", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    for name in ("python", "opencv", "onnxruntime", "CUDA runtime 13", "cuDNN 9", "torch", "inference"):
        assert name in rows
    assert rows["opencv"]["status"] == "ok" and rows["onnxruntime"]["status"] == "ok"
    assert "a yolo stage with device auto runs on" in rows["inference"]["detail"]
    assert all(r["fix"] for r in rows.values() if r["status"] in ("missing", "warn"))
    text = run_cli("doctor")
    assert text.returncode == 0, text.stderr
    fixes = [line.strip() for line in text.stdout.splitlines() if line.strip().startswith("fix: ")]
    assert fixes == [f"fix: {r['fix']}" for r in rows.values() if r["status"] != "ok" and r["fix"]]


def fake_checks(*rows):
    """doctor.checks() that returns these (name, status, detail, fix) rows."""
    return lambda: [dict(zip(("name", "status", "detail", "fix"), row)) for row in rows]


def test_doctor_prints_no_fix_when_everything_is_ok(monkeypatch, capsys):
    from vidcv.cli import doctor

    monkeypatch.setattr(
        doctor,
        "checks",
        fake_checks(
            ("python", "ok", "3.11.9", "vidcv needs Python 3.10 or newer"),
            ("opencv", "ok", "4.11.0", "pip install opencv-python"),
            ("onnxruntime", "ok", "1.22.0", ""),
        ),
    )
    assert doctor.doctor_command(argparse.Namespace(json=False)) == 0
    assert capsys.readouterr().out == (
        "OK      python       3.11.9\nOK      opencv       4.11.0\nOK      onnxruntime  1.22.0\n"
    )


def test_doctor_prints_the_fix_under_each_component_that_is_not_ok(monkeypatch, capsys):
    from vidcv.cli import doctor

    monkeypatch.setattr(
        doctor,
        "checks",
        fake_checks(
            ("python", "ok", "3.11.9", "vidcv needs Python 3.10 or newer"),
            ("opencv", "missing", "no module cv2", "pip install opencv-python"),
            ("onnxruntime", "ok", "1.22.0", ""),
            ("torch", "info", "not installed", "pip install torch"),
            ("cuDNN 9", "missing", "libcudnn.so.9 not found", ""),
        ),
    )
    assert doctor.doctor_command(argparse.Namespace(json=False)) == 1  # an essential component is missing
    assert capsys.readouterr().out == (
        "OK      python       3.11.9\n"
        "MISSING opencv       no module cv2\n"
        "                     fix: pip install opencv-python\n"
        "OK      onnxruntime  1.22.0\n"
        "INFO    torch        not installed\n"
        "                     fix: pip install torch\n"
        "MISSING cuDNN 9      libcudnn.so.9 not found\n"
    )
    # --json says the same with the same exit status
    assert doctor.doctor_command(argparse.Namespace(json=True)) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["status"]) for r in rows][:2] == [("python", "ok"), ("opencv", "missing")]


def test_doctor_says_the_fallback_once_in_its_own_row_with_the_fix():
    res = run_cli("doctor", "--json")
    assert res.returncode == 0 and res.stderr == "", res.stderr  # no log line about the fall-back above the rows
    row = {r["name"]: r for r in json.loads(res.stdout)}["inference"]
    assert "vidcv doctor" not in row["detail"] + row["fix"]  # the doctor does not send the user to itself
    if "runs on CPU" in row["detail"] and "needs" in row["detail"]:  # the CPU-only machine of the tests
        assert row["status"] == "info" and "libcuda.so.1" in row["detail"]
        assert "NVIDIA GPU and its driver" in row["fix"] and "device: cpu" in row["fix"]


@pytest.mark.parametrize(
    "reasons, fix",
    [
        ([], ""),
        (
            [
                "tensorrt needs the NVIDIA driver (libcuda.so.1), TensorRT 10 (libnvinfer.so.10)",
                "cuda needs the NVIDIA driver (libcuda.so.1)",
            ],
            "a GPU provider needs an NVIDIA GPU and its driver",
        ),
        (["tensorrt needs TensorRT 10 (libnvinfer.so.10)"], "pip install 'tensorrt-cu13<11'"),
        (
            ["cuda needs cuDNN 9 (libcudnn.so.9)", "tensorrt needs TensorRT 10 (libnvinfer.so.10)"],
            "pip install nvidia-cudnn-cu13; pip install 'tensorrt-cu13<11'",
        ),
        (["cuda did not start (is a GPU present?)"], "check the GPU driver with nvidia-smi"),
    ],
    ids=["none", "no driver", "no tensorrt", "no cudnn and no tensorrt", "did not start"],
)
def test_the_gpu_fix_follows_the_reasons(reasons, fix):
    from vidcv.cli.doctor import gpu_fix

    assert gpu_fix(reasons).startswith(fix) and bool(gpu_fix(reasons)) == bool(reasons)
