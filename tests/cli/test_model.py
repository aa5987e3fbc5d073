"""`vidcv model export`, `vidcv model info`, `vidcv doctor`, and a yolo run from the command line."""

import argparse
import json
import os

import pytest

from media import run_cli

pytestmark = pytest.mark.timeout(300)


def test_model_info_of_the_demo_model():
    res = run_cli("model", "info", "shapes_yolov8n", "--device", "cpu", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["task"] == "detect" and doc["classes"] == {"0": "circle", "1": "square", "2": "triangle"}
    assert doc["imgsz"] == [256, 256] and doc["provider_in_use"] == "cpu" and "CPUExecutionProvider" in \
        doc["providers_available"]
    text = run_cli("model", "info", "shapes_yolov8n").stdout
    assert "runs on    CPU" in text and "0=circle" in text


def test_export_builds_an_onnx_that_vidcv_runs(tmp_path):
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    code = ("from ultralytics import YOLO; m = YOLO('yolov8n.yaml'); m.save(r'%s')" % (tmp_path / "tiny.pt"))
    import subprocess
    import sys
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env, timeout=120)
    res = run_cli("model", "export", str(tmp_path / "tiny.pt"), "--imgsz", "160", env=env)
    assert res.returncode == 0, res.stderr
    assert "unpickles it, which can run code" in res.stderr
    out = tmp_path / "tiny.onnx"
    assert out.exists() and f"wrote {out}" in res.stdout
    info = json.loads(run_cli("model", "info", str(out), "--device", "cpu", "--json").stdout)
    assert info["imgsz"] == [160, 160] and len(info["classes"]) == 80


def test_export_of_an_official_name_offline_says_where_to_put_it(tmp_path):
    res = run_cli("model", "export", "yolo11n.pt", cwd=tmp_path, env={**os.environ, "YOLO_OFFLINE": "1"})
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "yolo11n.pt is not here and could not be downloaded" in res.stderr
    assert "put it at ./yolo11n.pt" in res.stderr


def test_export_refuses_what_it_cannot_export(tmp_path):
    assert "no such weights file" in run_cli("model", "export", str(tmp_path / "mine.pt")).stderr
    assert "needs no export" in run_cli("model", "export", str(tmp_path / "mine.onnx")).stderr


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

    monkeypatch.setattr(doctor, "checks", fake_checks(
        ("python", "ok", "3.11.9", "vidcv needs Python 3.10 or newer"),
        ("opencv", "ok", "4.11.0", "pip install opencv-python"),
        ("onnxruntime", "ok", "1.22.0", "")))
    assert doctor.doctor_command(argparse.Namespace(json=False)) == 0
    assert capsys.readouterr().out == ("OK      python       3.11.9\n"
                                       "OK      opencv       4.11.0\n"
                                       "OK      onnxruntime  1.22.0\n")


def test_doctor_prints_the_fix_under_each_component_that_is_not_ok(monkeypatch, capsys):
    from vidcv.cli import doctor

    monkeypatch.setattr(doctor, "checks", fake_checks(
        ("python", "ok", "3.11.9", "vidcv needs Python 3.10 or newer"),
        ("opencv", "missing", "no module cv2", "pip install opencv-python"),
        ("onnxruntime", "ok", "1.22.0", ""),
        ("torch", "info", "not installed", "pip install torch"),
        ("cuDNN 9", "missing", "libcudnn.so.9 not found", "")))
    assert doctor.doctor_command(argparse.Namespace(json=False)) == 1  # an essential component is missing
    assert capsys.readouterr().out == ("OK      python       3.11.9\n"
                                       "MISSING opencv       no module cv2\n"
                                       "                     fix: pip install opencv-python\n"
                                       "OK      onnxruntime  1.22.0\n"
                                       "INFO    torch        not installed\n"
                                       "                     fix: pip install torch\n"
                                       "MISSING cuDNN 9      libcudnn.so.9 not found\n")


def test_a_yolo_run_logs_detections_with_class_names(tmp_path):
    log = tmp_path / "dets.jsonl"
    stats = tmp_path / "stats.json"
    from vidcv.bundled import sample_video
    res = run_cli("run", sample_video(), "-p", "shapes", "--max-frames", "30", "--detections-jsonl", str(log),
                  "--stats-json", str(stats), "-q")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 30
    names = {d["class_name"] for line in lines for d in line["detections"]}
    assert names and names <= {"circle", "square", "triangle"}
    stage = json.loads(stats.read_text())["stages"][0]
    assert stage["plugin"] == "yolo" and stage["provider"] == "CPU"
