"""vidcv export-script: every bundled preset becomes a script that runs on the sample like vidcv run does."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from media import run_cli
from vidcv.bundled import bundled_presets, sample_video

RUFF = os.path.join(os.path.dirname(sys.executable), "ruff")


def frame_count(path: str) -> int:
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.mark.parametrize("preset", bundled_presets())
def test_every_bundled_preset_exports_to_a_script_that_runs_on_the_sample(tmp_path, preset):
    script = tmp_path / f"{preset}.py"
    res = run_cli("export-script", preset, "-o", str(script))
    assert res.returncode == 0, res.stderr
    assert f"wrote {script}" in res.stdout
    subprocess.run([sys.executable, "-m", "py_compile", str(script)], check=True)
    lint = subprocess.run([RUFF, "check", "--no-cache", str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout
    long_lines = [line for line in script.read_text().splitlines() if len(line) > 110]
    assert long_lines == []
    out = tmp_path / "out.mp4"
    ran = subprocess.run(
        [sys.executable, str(script), sample_video(), "--output", str(out), "--max-frames", "40"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().endswith("40 frames") and frame_count(str(out)) == 40


def test_a_classic_script_imports_only_opencv_and_numpy(tmp_path):
    script = tmp_path / "edges.py"
    assert run_cli("export-script", "edges", "-o", str(script)).returncode == 0
    code = script.read_text()
    assert "vidcv" not in code.split('"""', 2)[2]  # past the docstring: no vidcv anywhere
    probe = (
        "import sys, runpy; sys.argv = ['x', '--help']\n"
        f"try:\n    runpy.run_path({str(script)!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vidcv', 'torch', 'onnxruntime')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip().endswith("[]"), out.stdout + out.stderr


def test_the_whole_video_and_an_image_folder(tmp_path):
    script = tmp_path / "gray.py"
    assert run_cli("export-script", "edges", "-o", str(script)).returncode == 0
    ran = subprocess.run(
        [sys.executable, str(script), sample_video(), "--output", str(tmp_path / "all.mp4")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert ran.returncode == 0 and frame_count(str(tmp_path / "all.mp4")) == 300
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((20, 30, 3), 60 * i, np.uint8))
    ran = subprocess.run(
        [sys.executable, str(script), str(folder), "--output", str(tmp_path / "pngs")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert sorted(os.listdir(tmp_path / "pngs")) == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]


def test_a_source_the_script_cannot_open_is_said_without_its_password(tmp_path):
    script = tmp_path / "edges.py"
    assert run_cli("export-script", "edges", "-o", str(script)).returncode == 0
    for source in ("rtsp://user:S3cr3tPW@127.0.0.1:9/x", "rtsp://user:pa/S3cr3tPW@127.0.0.1:9/x"):
        ran = subprocess.run(
            [sys.executable, str(script), source], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert ran.returncode == 1 and "S3cr3tPW" not in ran.stdout + ran.stderr and "user" not in ran.stderr
        assert ran.stderr.strip().splitlines()[-1] == (
            "cannot open rtsp://***@127.0.0.1:9/x: give a video file, a camera index or an image folder"
        )


def test_the_script_never_replaces_its_preset_and_a_folder_is_said(tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text(run_cli("presets", "edges").stdout)
    os.symlink("mine.yaml", tmp_path / "alias.yaml")
    (tmp_path / "folder").mkdir()
    for args, words in (
        (["mine.yaml", "-o", "mine.yaml"], "-o mine.yaml is the preset itself; give the script another name (NAME.py)"),
        (
            ["alias.yaml", "-o", "mine.yaml"],
            "-o mine.yaml is the preset itself; give the script another name (NAME.py)",
        ),
        (["edges", "-o", "folder"], "cannot write folder: it is a folder (give a file name)"),
    ):
        res = run_cli("export-script", *args, cwd=tmp_path)
        assert res.returncode == 1 and res.stderr == f"vidcv: error: {words}\n"
    assert preset.read_text() == run_cli("presets", "edges").stdout
    assert sorted(os.listdir(tmp_path)) == ["alias.yaml", "folder", "mine.yaml"]


def test_the_script_equals_vidcv_run_on_the_sample(tmp_path):
    """The same frames out of `vidcv run` and out of the script's process(): both decode colour and convert
    (vidcv's default; the luma path is opt-in, --gray-decode)."""
    script = tmp_path / "denoise.py"
    assert run_cli("export-script", "edges", "-o", str(script)).returncode == 0
    res = run_cli(
        "run",
        sample_video(),
        "-p",
        "edges",
        "-o",
        str(tmp_path / "frames/"),
        "--max-frames",
        "5",
        "-q",
    )
    assert res.returncode == 0, res.stderr
    ran = subprocess.run(
        [sys.executable, str(script), sample_video(), "--output", str(tmp_path / "mine"), "--max-frames", "5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    for i in range(5):
        want = cv2.imread(str(tmp_path / "frames" / f"frame_{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        got = cv2.imread(str(tmp_path / "mine" / f"frame_{i:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert want is not None and np.array_equal(got, want), i


def test_a_detector_preset_gives_the_detections_of_vidcv_run(tmp_path):
    script = tmp_path / "shapes.py"
    assert run_cli("export-script", "shapes", "-o", str(script)).returncode == 0
    code = script.read_text()
    assert "It needs vidcv" in code and "from vidcv.registry import default_registry" in code
    log = tmp_path / "d.jsonl"
    res = run_cli("run", sample_video(), "-p", "shapes", "--max-frames", "8", "--detections-jsonl", str(log), "-q")
    assert res.returncode == 0, res.stderr
    want = [json.loads(line)["detections"] for line in log.read_text().splitlines()]
    probe = (
        f"import runpy, json\nns = runpy.run_path({str(script)!r})\nimport cv2\n"
        f"cap = cv2.VideoCapture({sample_video()!r})\nout = []\n"
        "for i in range(8):\n    ok, img = cap.read()\n"
        "    out.append(ns['process'](ns['Frame'](img, i, i * 1000 / 30)).detections.to_records())\n"
        "print(json.dumps(out))"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stderr
    got = json.loads(ran.stdout.strip().splitlines()[-1])
    assert got == want and any(got)


def test_a_missing_preset_is_one_line(tmp_path):
    res = run_cli("export-script", "nope.yaml")
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "no such preset file: nope.yaml" in res.stderr
