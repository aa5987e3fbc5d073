"""`vidcv batch` and `vidcv extract` write the same bytes through every executor, and the same bytes as before
the jobs layer (vidcv/jobs/) took over their engines: a reference made by the code before that change is kept
in tests/assets/jobs_reference.json, and every run here must give it again.

The inputs are made here, deterministically (frames drawn with NumPy from a seeded generator, encoded
losslessly as FFV1, so that every FFmpeg decodes the very same pixels), at one fixed path, since dataset
names carry a digest of their source's path; the pipeline
is a classic one (colour range and contours), whose results do not depend on a model or a codec. What is
compared: each batch input's detection log and ledger line (status, frames), and the dataset's labels,
manifest (its lines sorted: workers file inputs interleaved), data.yaml and classes.txt, with one worker and
with two. Run this file as a script
(`python tests/jobs/test_reference_outputs.py`) to write the reference again.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REFERENCE = HERE.parent / "assets" / "jobs_reference.json"
WORK = pathlib.Path(tempfile.gettempdir()) / "vidcv-jobs-reference"
BLOBS = """pipeline:
  - plugin: in_range
    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}
  - plugin: contours
    params: {min_area: 100, draw: none}
"""


def make_inputs(root: pathlib.Path) -> list[str]:
    """Three videos of moving coloured squares over noise (a seeded generator: the same every time), FFV1."""
    import av

    rng = np.random.default_rng(2026)
    videos = []
    (root / "in").mkdir(parents=True)
    for n, frames in (("a", 24), ("b", 17), ("c", 30)):
        path = root / "in" / f"{n}.mkv"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("ffv1", rate=10)
            stream.width, stream.height, stream.pix_fmt = 160, 120, "bgr0"
            for t in range(frames):
                img = rng.integers(40, 90, (120, 160, 3), dtype=np.uint8)
                for k in range(1 + t % 3):
                    x, y = (10 + 7 * t + 40 * k) % 130, (15 + 3 * t + 25 * k) % 90
                    cv2.rectangle(img, (x, y), (x + 22, y + 18), (20 + 60 * k, 40, 230), -1)
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        videos.append(str(path))
    return videos


def vidcv(*args: str) -> None:
    # -S as this process has it: the reference is made by an older checkout on PYTHONPATH, without site's hooks
    cmd = [sys.executable, *(["-S"] if sys.flags.no_site else []), "-m", "vidcv.cli.main", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr


def digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def batch_outputs(out: pathlib.Path) -> dict[str, object]:
    ledger = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    lines = sorted([r["out"], r["status"], r["frames"]] for r in ledger)
    logs = {p.parent.name: digest(p) for p in sorted(out.glob("*/detections.jsonl"))}
    return {"ledger": lines, "detections": logs}


def dataset_outputs(root: pathlib.Path) -> dict[str, str]:
    """Digests of the dataset's text files; the manifest's lines sorted (workers file inputs interleaved)."""
    kept = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".txt", ".jsonl", ".yaml")]
    made = {str(p.relative_to(root)): digest(p) for p in kept if not p.name.startswith(".")}
    lines = sorted((root / "manifest.jsonl").read_text().splitlines())
    made["manifest.jsonl"] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return made


def outputs() -> dict[str, object]:
    """Every executor's outputs for the inputs at WORK (made afresh)."""
    shutil.rmtree(WORK, ignore_errors=True)
    inputs = make_inputs(WORK)
    preset = WORK / "blobs.yaml"
    preset.write_text(BLOBS)
    made: dict[str, object] = {}
    for workers in ("1", "2"):
        vidcv("batch", *inputs, "-p", str(preset), "--out", str(WORK / f"batch{workers}"), "--workers", workers, "-q")
        made[f"batch, {workers} worker(s)"] = batch_outputs(WORK / f"batch{workers}")
        out = WORK / f"ds{workers}"
        vidcv("extract", *inputs, "-p", str(preset), "--out", str(out), "--every", "2", "--workers", workers, "-q")
        made[f"extract, {workers} worker(s)"] = dataset_outputs(out)
    shutil.rmtree(WORK, ignore_errors=True)
    return made


def test_batch_and_extract_write_what_they_wrote_before_the_jobs_layer():
    made = outputs()
    assert made["batch, 1 worker(s)"] == made["batch, 2 worker(s)"]
    one, two = made["extract, 1 worker(s)"], made["extract, 2 worker(s)"]
    assert {k: v for k, v in one.items() if k != "data.yaml"} == {k: v for k, v in two.items() if k != "data.yaml"}
    assert made == json.loads(REFERENCE.read_text())  # data.yaml too: it names its own folder


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(outputs(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE}")
