"""vidcv extract in every label format: pose, oriented boxes and classification, checked against the model's
own outputs and loaded (and trained on for one epoch) by ultralytics; class ids that follow the model; the
split of a short source; pipelines that cannot label."""

import os
import sys

import cv2
import numpy as np
import pytest
import yaml

from media import run_cli
from vidcv.dataset.extract import source_stem
from vidcv.dataset.writer import choose_split, chunk_frames
from vidcv.frame import xywhr_corners
from vidcv.inference.yolo import YoloModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from train_test_models import scene_classify, scene_obb, scene_pose, scene_shapes

MODELS = os.environ.get("VIDCV_TEST_MODELS") or os.path.join(os.path.dirname(__file__), "..", "assets", "models")
pytestmark = pytest.mark.timeout(600)
SPLIT_ALL_TRAIN = ("--split", "1,0,0")


@pytest.fixture(scope="module")
def onnx(tmp_path_factory):
    """task -> an ONNX export of the tiny test model (raw head), made once for this module."""
    from ultralytics import YOLO

    os.environ.update(YOLO_OFFLINE="1", YOLO_AUTOINSTALL="false")
    folder, cache = tmp_path_factory.mktemp("onnx"), {}

    def get(task):
        if task not in cache:
            model = YOLO(os.path.join(MODELS, f"tiny_{task}.pt"), task=task)
            path = model.export(format="onnx", imgsz=int(model.model.args.get("imgsz", 160)), verbose=False)
            cache[task] = str(folder / f"{task}.onnx")
            os.replace(path, cache[task])
        return cache[task]

    return get


def folder_of(tmp_path, name, images):
    """An image folder source: the pictures as PNG files in order."""
    folder = tmp_path / name
    folder.mkdir()
    for i, img in enumerate(images):
        cv2.imwrite(str(folder / f"{i:04d}.png"), img)
    return str(folder), images


def preset(tmp_path, model, conf=0.25, extra=""):
    path = tmp_path / f"{os.path.basename(model)}.yaml"
    path.write_text(f"pipeline:\n  - plugin: yolo\n    params: {{model: {model}, conf: {conf}}}\n{extra}")
    return str(path)


def labels_of(root):
    """name -> rows of floats, over every split."""
    out = {}
    for split in ("train", "val", "test"):
        for name in sorted(os.listdir(os.path.join(root, "labels", split))):
            with open(os.path.join(root, "labels", split, name)) as fh:
                out[name[:-4]] = [list(map(float, line.split())) for line in fh]
    return out


def train_one_epoch(weights, data, tmp_path, task, imgsz=64):
    from ultralytics import YOLO

    YOLO(weights, task=task).train(
        data=data,
        epochs=1,
        imgsz=imgsz,
        batch=8,
        device="cpu",
        workers=0,
        plots=False,
        project=str(tmp_path / "runs"),
        name=task,
        exist_ok=True,
        verbose=False,
        amp=False,
        val=False,
    )
    assert (tmp_path / "runs" / task / "weights" / "last.pt").exists()


def test_yolo_pose_labels_are_the_models_keypoints_and_train(onnx, tmp_path):
    from ultralytics.data.utils import check_det_dataset

    rng = np.random.default_rng(5)
    source, images = folder_of(tmp_path, "poses", [scene_pose(rng, 160)[0] for _ in range(12)])
    out = tmp_path / "pose_ds"
    res = run_cli(
        "extract",
        source,
        "-p",
        preset(tmp_path, onnx("pose")),
        "--out",
        str(out),
        "--format",
        "yolo-pose",
        *SPLIT_ALL_TRAIN,
    )
    assert res.returncode == 0, res.stderr
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["kpt_shape"] == [5, 3] and data["flip_idx"] == [0, 1, 2, 3, 4] and data["names"] == {0: "square"}
    model = YoloModel(onnx("pose"))
    labels = labels_of(out)
    assert len(labels) == 12
    for i, img in enumerate(images):
        rows, dets = labels[f"{source_stem(source)}_{i:06d}"], model(img, 0.25)
        assert len(rows) == len(dets) and all(len(r) == 5 + 15 for r in rows)
        for row, kpts in zip(rows, dets.data["keypoints"]):
            got = np.array(row[5:]).reshape(5, 3)
            visible = kpts[:, 2] >= 0.5
            assert (got[:, 2] == np.where(visible, 2, 0)).all()
            assert np.abs(got[visible, :2] * 160 - kpts[visible, :2]).max() < 0.01
            assert (got[~visible] == 0).all()
    # a second run with a manual flip_idx keeps it
    data["flip_idx"] = [1, 0, 3, 2, 4]
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli("extract", source, "-p", preset(tmp_path, onnx("pose")), "--out", str(out)).returncode == 0
    assert yaml.safe_load((out / "data.yaml").read_text())["flip_idx"] == [1, 0, 3, 2, 4]
    assert check_det_dataset(str(out / "data.yaml"))["kpt_shape"] == [5, 3]
    (out / "images" / "val").rmdir(), (out / "labels" / "val").rmdir()
    os.symlink(out / "images" / "train", out / "images" / "val")  # ultralytics wants a val set to train
    train_one_epoch(os.path.join(MODELS, "tiny_pose.pt"), str(out / "data.yaml"), tmp_path, "pose")


def test_yolo_obb_labels_are_the_models_rotated_boxes_and_train(onnx, tmp_path):
    from ultralytics.data.utils import check_det_dataset

    rng = np.random.default_rng(6)
    source, images = folder_of(tmp_path, "rotated", [scene_obb(rng, 160)[0] for _ in range(12)])
    out = tmp_path / "obb_ds"
    res = run_cli(
        "extract",
        source,
        "-p",
        preset(tmp_path, onnx("obb")),
        "--out",
        str(out),
        "--format",
        "yolo-obb",
        *SPLIT_ALL_TRAIN,
    )
    assert res.returncode == 0, res.stderr
    model = YoloModel(onnx("obb"))
    labels = labels_of(out)
    for i, img in enumerate(images):
        rows, dets = labels[f"{source_stem(source)}_{i:06d}"], model(img, 0.25)
        assert len(rows) == len(dets) and all(len(r) == 9 for r in rows)
        for row, cid, box in zip(rows, dets.class_id, dets.data["obb"]):
            corners = np.clip(xywhr_corners(box)[0], 0, 160)
            assert row[0] == cid and np.abs(np.array(row[1:]).reshape(4, 2) * 160 - corners).max() < 0.01
    assert check_det_dataset(str(out / "data.yaml"))["names"] == {0: "rectangle", 1: "ellipse"}
    (out / "images" / "val").rmdir(), (out / "labels" / "val").rmdir()
    os.symlink(out / "images" / "train", out / "images" / "val")
    train_one_epoch(os.path.join(MODELS, "tiny_obb.pt"), str(out / "data.yaml"), tmp_path, "obb")


def test_classify_files_whole_frames_by_the_top_class_and_trains(onnx, tmp_path):
    from ultralytics.data.utils import check_cls_dataset

    rng = np.random.default_rng(7)
    source, images = folder_of(tmp_path, "pictures", [scene_classify(rng, 128, i % 6) for i in range(24)])
    out = tmp_path / "cls_ds"
    res = run_cli(
        "extract",
        source,
        "-p",
        preset(tmp_path, onnx("classify")),
        "--out",
        str(out),
        "--format",
        "classify",
        "--split",
        "0.5,0.5,0",
    )
    assert res.returncode == 0, res.stderr
    # the training hint names a model yaml that ultralytics builds offline (without it, it downloads weights)
    assert f"train with: vidcv train {out}" in res.stdout
    from ultralytics import YOLO

    assert YOLO("yolo11n-cls.yaml").task == "classify"
    model = YoloModel(onnx("classify"))
    names = model.info.names
    filed = {}
    for split in ("train", "val", "test"):
        assert sorted(os.listdir(out / split)) == sorted(names.values())  # every class has a folder in every split
        for cls in os.listdir(out / split):
            for name in os.listdir(out / split / cls):
                filed[name[:-4]] = cls
    assert len(filed) == 24
    for i, img in enumerate(images):
        assert filed[f"{source_stem(source)}_{i:06d}"] == names[int(model(img).class_id[0])]
    info = check_cls_dataset(str(out))
    assert info["nc"] == 6 and sorted(info["names"].values()) == sorted(names.values())
    train_one_epoch(os.path.join(MODELS, "tiny_classify.pt"), str(out), tmp_path, "classify", imgsz=32)


def test_classify_crops_cut_each_detection_into_its_class_folder(onnx, tmp_path):
    rng = np.random.default_rng(8)
    source, images = folder_of(tmp_path, "shapes", [scene_shapes(rng, 160, "detect")[0] for _ in range(6)])
    out = tmp_path / "crops"
    res = run_cli(
        "extract",
        source,
        "-p",
        preset(tmp_path, onnx("detect"), conf=0.5),
        "--out",
        str(out),
        "--format",
        "classify",
        "--crops",
        *SPLIT_ALL_TRAIN,
    )
    assert res.returncode == 0, res.stderr
    model = YoloModel(onnx("detect"))
    for i, img in enumerate(images):
        dets = model(img, 0.5)
        for k, (box, cid) in enumerate(zip(dets.xyxy, dets.class_id)):
            crop = cv2.imread(
                str(out / "train" / model.info.names[int(cid)] / f"{source_stem(source)}_{i:06d}_k{k:02d}.jpg")
            )
            w, h = box[2] - box[0], box[3] - box[1]
            assert crop is not None and abs(crop.shape[1] - 1.2 * w) <= 3 + 1.2 * w - min(1.2 * w, 160)
            assert abs(crop.shape[0] - 1.2 * h) <= 3 + 1.2 * h - min(1.2 * h, 160)
    again = run_cli(
        "extract",
        source,
        "-p",
        preset(tmp_path, onnx("detect"), conf=0.5),
        "--out",
        str(out),
        "--crops",
        *SPLIT_ALL_TRAIN,
    )  # the format comes from the dataset; nothing is added twice
    assert again.returncode == 0 and "already in dataset 6" in again.stdout


def test_class_ids_follow_the_model_and_new_names_are_appended(onnx, tmp_path):
    rng = np.random.default_rng(9)
    triangle_first = []
    while len(triangle_first) < 4:  # pictures whose first (most confident) shape is not the model's class 0
        img = scene_shapes(rng, 160, "detect")[0]
        dets = YoloModel(onnx("detect"))(img, 0.5)
        if len(dets) and dets.class_id.min() > 0:
            triangle_first.append(img)
    source, images = folder_of(tmp_path, "later_classes", triangle_first)
    out = tmp_path / "ids"
    res = run_cli(
        "extract", source, "-p", preset(tmp_path, onnx("detect"), conf=0.5), "--out", str(out), *SPLIT_ALL_TRAIN
    )
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "circle", 1: "square", 2: "triangle"}
    model = YoloModel(onnx("detect"))
    labels = labels_of(out)
    for i, img in enumerate(images):
        assert [int(r[0]) for r in labels[f"{source_stem(source)}_{i:06d}"]] == model(img, 0.5).class_id.tolist()
    # a second detector's classes map by name, new names go at the end; --classes still filters
    blobs = tmp_path / "blobs.yaml"
    blobs.write_text(
        "pipeline:\n  - plugin: in_range\n    params: {space: hsv, lower: [0, 60, 60], upper: [179, 255, 255]}"
        "\n  - plugin: contours\n    params: {min_area: 60, draw: none}\n"
    )
    other, _ = folder_of(tmp_path, "other", triangle_first)
    refused = run_cli("extract", other, "-p", str(blobs), "--out", str(out), *SPLIT_ALL_TRAIN)
    assert refused.returncode == 1 and "detector adds blob: pass --merge to append them (ids 3..3)" in refused.stderr
    assert run_cli("extract", other, "-p", str(blobs), "--out", str(out), "--merge", *SPLIT_ALL_TRAIN).returncode == 0
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {
        0: "circle",
        1: "square",
        2: "triangle",
        3: "blob",
    }
    assert all(int(r[0]) == 3 for name, rows in labels_of(out).items() if name.startswith("other") for r in rows)
    only, _ = folder_of(tmp_path, "only", triangle_first)
    assert (
        run_cli(
            "extract",
            only,
            "-p",
            preset(tmp_path, onnx("detect"), conf=0.5),
            "--out",
            str(out),
            "--classes",
            "triangle",
            *SPLIT_ALL_TRAIN,
        ).returncode
        == 0
    )
    kept = [int(r[0]) for name, rows in labels_of(out).items() if name.startswith("only") for r in rows]
    assert kept and set(kept) == {2}


def test_a_pose_dataset_refuses_a_model_with_other_keypoints_and_formats_do_not_mix(onnx, tmp_path):
    rng = np.random.default_rng(10)
    source, _ = folder_of(tmp_path, "p", [scene_pose(rng, 160)[0] for _ in range(3)])
    out = tmp_path / "mix"
    (out).mkdir()
    (out / "data.yaml").write_text(
        yaml.safe_dump({"names": {0: "square"}, "kpt_shape": [17, 3], "vidcv_format": "yolo-pose"})
    )
    res = run_cli("extract", source, "-p", preset(tmp_path, onnx("pose")), "--out", str(out))
    assert res.returncode == 1 and "poses of 17 keypoints and this pipeline's model gives 5" in res.stderr
    res = run_cli("extract", source, "-p", preset(tmp_path, onnx("pose")), "--out", str(out), "--format", "yolo-obb")
    assert res.returncode == 1 and "pose and obb do not mix" in res.stderr


def test_pipelines_that_cannot_label_are_refused_before_anything_is_written(tmp_path):
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "assets", "sample.mp4")
    out = tmp_path / "nothing"
    res = run_cli("extract", sample, "-p", "edges", "--out", str(out))
    assert res.returncode == 1 and "no stage that finds objects" in res.stderr and "--negatives-only" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not out.exists()
    res = run_cli("extract", sample, "-p", "shapes", "--out", str(out), "--format", "classify")
    assert res.returncode == 1 and "has no classifier" in res.stderr and not out.exists()
    res = run_cli("extract", os.path.join(str(tmp_path), "missing.mp4"), "-p", "shapes", "--out", str(out))
    assert res.returncode != 0 and not out.exists()  # a source that does not open leaves no folder behind
    res = run_cli("extract", sample, "-p", "edges", "--out", str(out), "--negatives-only", "--every", "30")
    assert res.returncode == 0, res.stderr
    assert "kept 10 frames" in res.stdout and "0 with labels, 10 negatives" in res.stdout


def test_a_short_source_is_split_close_to_the_ratios():
    assert chunk_frames(300) == 15 and chunk_frames(90) == 10 and chunk_frames(100_000) == 150
    assert chunk_frames(None) == 150  # a live source keeps long runs
    for seed in range(50):
        units = [choose_split(f"{seed}:clip:chunk", u, (0.8, 0.1, 0.1)) for u in range(20)]
        assert units.count("val") >= 1 and units.count("test") >= 1 and 15 <= units.count("train") <= 17
        assert units == [choose_split(f"{seed}:clip:chunk", u, (0.8, 0.1, 0.1)) for u in range(20)]


def test_the_sample_with_the_default_split_fills_every_split(tmp_path):
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "assets", "sample.mp4")
    out = tmp_path / "short"
    res = run_cli("extract", sample, "-p", "edges", "--negatives-only", "--out", str(out), "--every", "5")
    assert res.returncode == 0, res.stderr
    kept = {s: len(os.listdir(out / "images" / s)) for s in ("train", "val", "test")}
    assert sum(kept.values()) == 60 and kept["val"] >= 3 and kept["test"] >= 3 and kept["train"] >= 42, kept
    assert "note: the split" not in res.stdout  # within 0.05 of the ratios
    loud = run_cli("extract", sample, "-p", "edges", "--negatives-only", "--out", str(tmp_path / "d"), "--every", "100")
    assert "note: the split is" in loud.stdout and "--split-by frame" in loud.stdout


def test_a_data_yaml_bomb_is_refused_in_one_line(tmp_path):
    """A data.yaml of nested aliases (a few hundred bytes that expand to gigabytes) is not expanded."""
    out = tmp_path / "bomb"
    out.mkdir()
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (out / "data.yaml").write_text("\n".join(lines) + "\nnames: *a8\nvidcv_format: yolo\n")
    sample = os.path.join(os.path.dirname(__file__), "..", "..", "assets", "sample.mp4")
    res = run_cli("extract", sample, "-p", "edges", "--negatives-only", "--out", str(out), timeout=60)
    assert res.returncode == 1 and "aliases" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_sigterm_stops_an_extraction_cleanly(tmp_path):
    """SIGTERM as Ctrl-C: the frame in hand is finished, the dataset is complete and loads, exit 143."""
    import signal
    import subprocess
    import time

    from media import vidcv_cmd

    sample = os.path.join(os.path.dirname(__file__), "..", "..", "assets", "sample.mp4")
    out = tmp_path / "term"
    slow = tmp_path / "slow.yaml"
    slow.write_text("pipeline:\n  - plugin: kmeans\n    params: {k: 6, attempts: 3}\n")
    proc = subprocess.Popen(
        [*vidcv_cmd(), "extract", sample, "-p", str(slow), "--negatives-only", "--out", str(out), "-q"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out / "manifest.jsonl").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err, err
    kept = sum(len(os.listdir(out / "images" / s)) for s in ("train", "val", "test"))
    assert 0 < kept < 300 and kept == len((out / "manifest.jsonl").read_text().splitlines())
    labels = sum(len(os.listdir(out / "labels" / s)) for s in ("train", "val", "test"))
    assert labels == kept and not (out / ".vidcv.lock").exists()  # every image has its label, the lock is gone
