"""vidcv extract: labels against known boxes, splits, filters, append and resume, a killed run, ultralytics."""

import json
import os
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest
import yaml

from media import BLOBS, SLOW_BLOBS, run_cli, vidcv_cmd
from vidcv.dataset.extract import source_stem
from vidcv.dataset.sampling import Sampler, dhash, sharpness
from vidcv.dataset.writer import choose_split
from vidcv.fileio import is_partial

pytestmark = pytest.mark.timeout(300)


def boxes_at(t):
    """Known boxes (x1, y1, x2, y2) of frame t: two squares moving; the second gone after frame 60."""
    out = [(20 + 2 * t, 40, 20 + 2 * t + 30, 70)]
    if t < 60:
        out.append((200, 100 + t, 240, 140 + t))
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    path = str(folder / "known.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    rng = np.random.default_rng(0)
    for t in range(90):
        img = np.full((240, 320, 3), 70, np.uint8) + rng.integers(0, 10, (240, 320, 3), dtype=np.uint8)
        for x1, y1, x2, y2 in boxes_at(t):
            cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), (30, 30, 220), -1)
        writer.write(img)
    writer.release()
    preset = folder / "blobs.yaml"
    preset.write_text(BLOBS)
    return path, str(preset)


def read_dataset(root):
    """name -> (split, label rows) of every finished label; a killed writer's temporary files (vidcv's own
    ``.NAME.partial.txt``, which the next run removes) are not labels."""
    labels = {}
    for split in ("train", "val", "test"):
        for name in sorted(os.listdir(os.path.join(root, "labels", split))):
            if is_partial(name):
                continue
            rows = [list(map(float, line.split())) for line in open(os.path.join(root, "labels", split, name))]
            labels[name[:-4]] = (split, rows)
    return labels


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix)


def test_labels_match_the_known_boxes(clip, tmp_path):
    video, preset = clip
    out = tmp_path / "ds"
    res = run_cli("extract", video, "-p", preset, "--out", str(out), "--every", "3")
    assert res.returncode == 0, res.stderr
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "blob"} and data["path"] == str(out) and data["train"] == "images/train"
    assert (out / "classes.txt").read_text() == "blob\n"
    labels = read_dataset(out)
    stem = source_stem(video)
    assert sorted(labels) == [f"{stem}_{i:06d}" for i in range(0, 90, 3)]
    for name, (split, rows) in labels.items():
        t = int(name.split("_")[-1])
        assert os.path.exists(out / "images" / split / f"{name}.jpg")
        got = [(r[1] - r[3] / 2, r[2] - r[4] / 2, r[1] + r[3] / 2, r[2] + r[4] / 2) for r in rows]
        got = [(x1 * 320, y1 * 240, x2 * 320, y2 * 240) for x1, y1, x2, y2 in got]
        want = boxes_at(t)
        assert len(got) == len(want) and all(r[0] == 0 for r in rows)
        assert all(max(iou(w, g) for g in got) >= 0.9 for w in want)
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 30 and {m["source"] for m in manifest} == {video}
    assert all({"frame", "pts_ms", "split", "preset_sha256", "detectors"} <= set(m) for m in manifest)
    image = cv2.imread(str(out / "images" / labels[f"{stem}_000000"][0] / f"{stem}_000000.jpg"))
    assert image.shape == (240, 320, 3) and image[50, 30, 2] > 150  # the original frame, not the mask


def test_running_again_adds_nothing_twice(clip, tmp_path):
    video, preset = clip
    out = str(tmp_path / "ds")
    first = run_cli("extract", video, "-p", preset, "--out", out, "--every", "10")
    again = run_cli("extract", video, "-p", preset, "--out", out, "--every", "10")
    assert "already in dataset 9" in again.stdout
    assert len(read_dataset(out)) == 9 and len((tmp_path / "ds" / "manifest.jsonl").read_text().splitlines()) == 9
    more = run_cli("extract", video, "-p", preset, "--out", out, "--every", "5")
    assert more.returncode == first.returncode == 0
    assert len(read_dataset(out)) == 18  # the new frames only


def test_a_second_writer_is_refused_and_a_killed_writers_lock_is_taken_over(clip, tmp_path):
    """Two real processes on one dataset: the second is refused while the first holds the lock; the first is
    then SIGKILLed; its manifest kept every finished frame, its lock is stale, and a rerun takes it over,
    removes what the killed one left half written (and nothing else) and completes the dataset."""
    video, preset = clip
    out = tmp_path / "ds"
    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW_BLOBS)  # slows each frame down
    proc = subprocess.Popen([*vidcv_cmd(), "extract", video, "-p", str(slow), "--out", str(out), "-q"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "manifest.jsonl").exists():
        time.sleep(0.05)
    time.sleep(0.4)
    proc.send_signal(signal.SIGSTOP)  # the writer is alive and holds the lock, whatever the machine's speed
    try:
        assert json.loads((out / ".vidcv.lock").read_text())["pid"] == proc.pid
        second = run_cli("extract", video, "-p", preset, "--out", str(out), "--every", "2")
        assert second.returncode == 1, second.stderr
        assert f"is being written by another vidcv (pid {proc.pid}" in second.stderr
        assert "wait for it to finish, or use another --out" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    partial = read_dataset(out)
    assert 0 < len(partial) < 90
    for name, (split, _) in partial.items():  # every label has its image
        assert (out / "images" / split / f"{name}.jpg").exists()
    logged = [json.loads(x)["name"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert set(logged) <= set(partial) and len(partial) - len(logged) <= 1  # flushed line by line
    from ultralytics.data.utils import check_det_dataset

    assert check_det_dataset(str(out / "data.yaml"))["nc"] == 1
    assert json.loads((out / ".vidcv.lock").read_text())["pid"] == proc.pid  # left behind by the kill
    background = out / "images" / "train" / "my_background.jpg"  # the user's own image without a label
    cv2.imwrite(str(background), np.zeros((24, 32, 3), np.uint8))
    res = run_cli("extract", video, "-p", preset, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert f"took over the lock of a writer that has ended (pid {proc.pid}" in res.stdout
    assert background.exists() and not (out / ".vidcv.lock").exists() and not (out / ".vidcv.journal").exists()
    final = read_dataset(out)
    assert sorted(final) == [f"{source_stem(video)}_{i:06d}" for i in range(90)]
    images = [n for s in ("train", "val", "test") for n in os.listdir(out / "images" / s)]
    assert len(images) == 91 and not [n for n in images if "partial" in n]
    names = [json.loads(x)["name"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(names) == len(set(names)) == 90


def test_ultralytics_trains_one_epoch_on_it(clip, tmp_path):
    video, preset = clip
    out = tmp_path / "ds"
    assert (
        run_cli(
            "extract", video, "-p", preset, "--out", str(out), "--split", "0.7,0.3,0", "--split-by", "frame"
        ).returncode
        == 0
    )
    os.environ["YOLO_OFFLINE"] = "1"
    from ultralytics import YOLO
    from ultralytics.data.utils import check_det_dataset

    info = check_det_dataset(str(out / "data.yaml"))
    assert info["names"] == {0: "blob"}
    model = YOLO("yolov8n.yaml")
    model.train(
        data=str(out / "data.yaml"),
        epochs=1,
        imgsz=64,
        batch=8,
        device="cpu",
        workers=0,
        plots=False,
        project=str(tmp_path / "runs"),
        name="t",
        exist_ok=True,
        verbose=False,
        amp=False,
    )
    assert (tmp_path / "runs" / "t" / "weights" / "last.pt").exists()


def test_splits_are_deterministic_and_chunks_stay_together():
    from vidcv.dataset.writer import DatasetWriter

    ratios = (0.6, 0.2, 0.2)
    writer = DatasetWriter("/nonexistent/never-created", "yolo", ratios, "chunk", seed=7)
    chunk = [writer.split_for("clip", i) for i in range(600)]
    assert all(len(set(chunk[k : k + 150])) == 1 for k in range(0, 600, 150))  # unknown length: runs of 150
    writer.set_length(600)  # a 600-frame file: 20 runs of 30
    chunk = [writer.split_for("clip", i) for i in range(600)]
    assert all(len(set(chunk[k : k + 30])) == 1 for k in range(0, 600, 30))
    assert {s: chunk.count(s) // 30 for s in set(chunk)} in (
        {"train": 12, "val": 4, "test": 4},
        {"train": 12, "val": 5, "test": 3},
        {"train": 12, "val": 3, "test": 5},
        {"train": 11, "val": 5, "test": 4},
        {"train": 11, "val": 4, "test": 5},
        {"train": 13, "val": 4, "test": 3},
        {"train": 13, "val": 3, "test": 4},
    )
    frames = [choose_split("7:clip:frame", i, ratios) for i in range(3000)]
    assert frames == [choose_split("7:clip:frame", i, ratios) for i in range(3000)]
    share = {s: frames.count(s) / 3000 for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.6) < 0.01 and abs(share["val"] - 0.2) < 0.01
    assert choose_split("x", 5, (1.0, 0.0, 0.0)) == "train"
    assert not os.path.exists("/nonexistent/never-created")  # nothing is written before a frame is added


def test_sampling_filters():
    img = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8), (3, 3), 0)
    blurred = cv2.GaussianBlur(img, (0, 0), 5)
    assert sharpness(img) > 10 * sharpness(blurred)
    s = Sampler(every=1, dedupe=5, min_sharpness=sharpness(blurred) * 2)
    decisions = [s.accept(x, t * 33.3) for t, x in enumerate([img, img.copy(), blurred, np.roll(img, 40, 1)])]
    assert decisions == [True, False, False, True]
    assert s.skipped == {"not sampled": 0, "duplicate": 1, "blurred": 1}
    assert bin(dhash(img) ^ dhash(img)).count("1") == 0
    by_time = Sampler(fps=2)
    assert [by_time.accept(img, t * 100.0) for t in range(12)] == [t % 5 == 0 for t in range(12)]
    every = Sampler(every=4)
    assert [every.accept(img, 0) for _ in range(9)] == [i % 4 == 0 for i in range(9)]


def test_negatives_classes_and_confidence(clip, tmp_path):
    video, preset = clip
    out = tmp_path / "neg"
    # nothing is a 'dog': every frame is a negative, and with ratio 0 none is kept
    res = run_cli("extract", video, "-p", preset, "--out", str(out), "--classes", "dog")
    assert res.returncode == 0 and len(read_dataset(out)) == 0 and "negative over ratio 90" in res.stdout
    res = run_cli("extract", video, "-p", preset, "--out", str(tmp_path / "conf"), "--min-conf", "0.5", "--every", "30")
    assert len(read_dataset(tmp_path / "conf")) == 3


def test_polygons_for_yolo_seg(clip, tmp_path):
    video, preset = clip
    out = tmp_path / "seg"
    assert (
        run_cli("extract", video, "-p", preset, "--out", str(out), "--format", "yolo-seg", "--every", "45").returncode
        == 0
    )
    split, rows = read_dataset(out)[f"{source_stem(video)}_000000"]
    assert len(rows) == 2 and all(len(r) >= 1 + 2 * 4 and (len(r) - 1) % 2 == 0 for r in rows)
    xs = np.array(rows[0][1::2]) * 320
    assert xs.min() >= 0 and xs.max() <= 320


@pytest.mark.parametrize(
    "args, words",
    [
        (["--split", "0.5,0.5"], "three fractions"),
        (["--every", "0"], "--every must be at least 1"),
    ],
)
def test_bad_options_are_clear_errors(clip, tmp_path, args, words):
    video, preset = clip
    res = run_cli("extract", video, "-p", preset, "--out", str(tmp_path / "x"), *args)
    assert res.returncode != 0 and words in res.stderr and "Traceback" not in res.stderr


def test_coco_annotations_load_in_pycocotools(clip, tmp_path):
    from pycocotools.coco import COCO

    video, preset = clip
    out = tmp_path / "coco"
    assert (
        run_cli(
            "extract", video, "-p", preset, "--out", str(out), "--format", "coco", "--every", "9", "--split", "1,0,0"
        ).returncode
        == 0
    )
    coco = COCO(str(out / "annotations" / "instances_train.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["blob"]
    assert len(coco.getImgIds()) == 10
    for image in coco.loadImgs(coco.getImgIds()):
        t = int(image["file_name"].split("_")[-1][:-4])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert (image["width"], image["height"]) == (320, 240) and len(anns) == len(boxes_at(t))
        for want in boxes_at(t):
            assert (
                max(
                    iou(want, (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]))
                    for a in anns
                )
                >= 0.9
            )
        assert os.path.exists(out / "images" / image["file_name"])


def test_boxes_and_polygons_do_not_mix(clip, tmp_path):
    video, preset = clip
    out = str(tmp_path / "mixed")
    assert run_cli("extract", video, "-p", preset, "--out", out, "--every", "45").returncode == 0
    res = run_cli("extract", video, "-p", preset, "--out", out, "--format", "yolo-seg")
    assert res.returncode == 1 and "holds 'yolo' labels and this run asks for 'yolo-seg'" in res.stderr
    assert run_cli("extract", video, "-p", preset, "--out", out, "--format", "coco", "--every", "45").returncode == 0
