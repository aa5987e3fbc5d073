"""vidcv train: a tiny dataset trained for two epochs on the CPU (once, shared by the tests below), its run folder,
the preset that runs its model, the dataset's manifest line, Ctrl-C keeping last.pt, and the one-line refusals."""

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import yaml

from media import SHAPE_NAMES as NAMES
from media import make_shapes_dataset as make_dataset
from media import run_cli, vidcv_cmd, write_video
from vidcv.dataset.writer import DatasetWriter
from vidcv.detections import Detections
from vidcv.training import Started, Status, TrainOptions, start_training
from vidcv.training.dataset import dataset_digest, read_dataset
from vidcv.training.events import Batch, EpochEnd, Finished, Stopped, from_line, headline, to_line

pytestmark = pytest.mark.timeout(300)

SMALL = ["--imgsz", "64", "--batch", "4", "--workers", "0", "--device", "cpu"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training of two epochs, shared: (the command's result, the run folder, the dataset folder)."""
    folder = tmp_path_factory.mktemp("train")
    dataset = make_dataset(str(folder / "shapes"))
    run = str(folder / "run")
    res = run_cli("train", dataset, "--epochs", "2", *SMALL, "--out", run, timeout=240, cwd=str(folder))
    assert res.returncode == 0, res.stdout + res.stderr
    return res, run, dataset


def leftovers(folder: str) -> list[str]:
    """vidcv's temporary files (.NAME.partial.EXT) anywhere below ``folder``."""
    return [os.path.join(t, n) for t, _, names in os.walk(folder) for n in names if ".partial" in n]


def test_a_run_holds_plots_weights_the_onnx_model_and_a_preset(trained):
    res, run, dataset = trained
    for name in ("results.png", "results.csv", "confusion_matrix.png", "BoxPR_curve.png", "labels.jpg"):
        assert os.path.isfile(os.path.join(run, name)), name
    for name in ("best.pt", "last.pt", "best.onnx"):
        assert os.path.getsize(os.path.join(run, "weights", name)) > 100_000, name
    preset = os.path.join(run, "pipeline.yaml")
    assert res.stdout.splitlines()[-1] == f"vidcv run VIDEO --pipeline {preset}"
    assert [line for line in res.stdout.splitlines() if line.startswith("epoch ")][1].startswith("epoch 2/2  box_loss ")
    record = json.loads(open(os.path.join(run, "vidcv_run.json")).read())
    assert record["status"] == "finished" and record["started"] <= record["ended"]
    assert record["dataset"]["path"] == dataset and record["dataset"]["classes"] == ["square", "circle"]
    assert record["dataset"]["digest"] == dataset_digest(read_dataset(dataset))
    assert record["options"]["epochs"] == 2 and record["options"]["imgsz"] == 64 and record["epochs_done"] == 2
    assert {"mAP50(B)", "mAP50-95(B)"} <= set(record["metrics"]) and record["vidcv_version"]
    assert record["files"]["onnx"] == os.path.join(run, "weights", "best.onnx")
    log = open(os.path.join(run, "train.log"), encoding="utf-8", errors="replace").read()
    assert "refused a network request" not in log  # nothing was even attempted (the child refuses it)
    assert not leftovers(run) and not leftovers(dataset)
    assert sorted(os.listdir(os.path.join(dataset, "labels"))) == ["test", "train", "val"]  # no ultralytics cache


def test_the_preset_runs_the_model_from_any_folder(trained, tmp_path):
    _, run, _ = trained
    video = write_video(str(tmp_path / "clip.mp4"), 6, size=(128, 96))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dets = tmp_path / "dets.jsonl"
    pipeline = os.path.join(run, "pipeline.yaml")
    res = run_cli("run", video, "--pipeline", pipeline, "--detections-jsonl", str(dets), "-q", cwd=str(elsewhere))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in dets.read_text().splitlines()]
    assert len(lines) == 6 and all("detections" in line for line in lines)
    stages = yaml.safe_load(open(pipeline))["pipeline"]
    assert [s["plugin"] for s in stages] == ["yolo", "annotate"]
    assert stages[0]["params"]["model"] == os.path.join("weights", "best.onnx")  # found beside the preset
    moved = tmp_path / "moved-run"
    shutil.copytree(run, moved)  # a run folder copied whole still runs
    res = run_cli(
        "run", video, "--pipeline", str(moved / "pipeline.yaml"), "--max-frames", "2", "-q", cwd=str(elsewhere)
    )
    assert res.returncode == 0, res.stderr
    info = run_cli("model", "info", os.path.join(run, "weights", "best.onnx"), "--json", "--device", "cpu")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["classes"] == {"0": "square", "1": "circle"}  # the dataset's classes


def test_the_dataset_manifest_records_the_training_and_stays_writable(trained):
    _, run, dataset = trained
    manifest = os.path.join(dataset, "manifest.jsonl")
    entries = [json.loads(line) for line in open(manifest)]
    train = [e for e in entries if e.get("event") == "train"]
    assert len(train) == 1 and set(train[0]) == {"event", "run", "digest", "time"}
    assert train[0]["run"] == run and train[0]["digest"] == dataset_digest(read_dataset(dataset))
    # the writer reads the manifest's last line when it opens the dataset: a frame added after the train line
    dets = Detections(np.array([[10, 10, 40, 40]], np.float32), np.ones(1, np.float32), np.array([0]), names=NAMES)
    assert DatasetWriter(dataset).add("more", 0, np.zeros((96, 96, 3), np.uint8), dets, {"source": "x"})
    last = json.loads(open(manifest).read().splitlines()[-1])
    assert last["name"] == "more_000000"


def test_the_digest_follows_labels_images_and_class_names(tmp_path):
    root = make_dataset(str(tmp_path / "ds"), frames=4)
    first = dataset_digest(read_dataset(root))
    label = os.path.join(root, "labels", "train", sorted(os.listdir(os.path.join(root, "labels", "train")))[0])
    os.utime(label, (1, 1))
    assert dataset_digest(read_dataset(root)) == first  # the bytes count, not the time
    text = open(label).read()
    with open(label, "w") as fh:
        fh.write(text.replace("0 ", "1 ", 1))
    changed = dataset_digest(read_dataset(root))
    assert changed != first
    with open(label, "w") as fh:
        fh.write(text)
    assert dataset_digest(read_dataset(root)) == first
    data = yaml.safe_load(open(os.path.join(root, "data.yaml")))
    data["names"][1] = "ball"
    with open(os.path.join(root, "data.yaml"), "w") as fh:
        yaml.safe_dump(data, fh)
    assert dataset_digest(read_dataset(root)) not in (first, changed)


def train_until(args: list[str], prefix: str) -> tuple[subprocess.Popen, str, str]:
    """`vidcv train ARGS`, sent a real SIGINT once it prints a line starting with ``prefix``; (process, stdout,
    stderr) once it has ended."""
    proc = subprocess.Popen([*vidcv_cmd(), "train", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(prefix):
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc, "".join(seen) + out, err


def test_ctrl_c_keeps_last_pt_of_the_last_epoch_and_resume_goes_on(tmp_path):
    """A real SIGINT to the command after its first epoch: exit status 130, last.pt kept and named; --resume goes on
    from the next epoch (and is stopped the same way)."""
    dataset = make_dataset(str(tmp_path / "ds"))
    run = str(tmp_path / "run")
    proc, out, err = train_until([dataset, "--epochs", "100", *SMALL, "--out", run], "epoch 1/100")
    last = os.path.join(run, "weights", "last.pt")
    assert proc.returncode == 130, err
    record = json.loads(open(os.path.join(run, "vidcv_run.json")).read())
    done = record["epochs_done"]
    assert record["status"] == "stopped" and done >= 1 and record["last_pt"] == last
    assert f"kept {last} after epoch {done}" in err and f"vidcv train --resume {run}" in err
    assert os.path.getsize(last) > 100_000 and not leftovers(run)
    assert not os.path.exists(os.path.join(run, "pipeline.yaml"))
    assert not any('"event": "train"' in line for line in open(os.path.join(dataset, "manifest.jsonl")))

    proc, out, err = train_until(["--resume", run, "--workers", "0", "--device", "cpu"], "epoch ")
    assert proc.returncode == 130, err
    assert out.startswith(f"resuming {run} from {last}")
    assert next(line for line in out.splitlines() if line.startswith("epoch ")).startswith(f"epoch {done + 1}/100 ")
    record = json.loads(open(os.path.join(run, "vidcv_run.json")).read())
    assert record["status"] == "stopped" and record["epochs_done"] > done and len(record["resumed"]) == 1


def test_killed_training_keeps_whole_weights_and_says_so(tmp_path, monkeypatch):
    """The API a window uses: events in order; kill() after the first epoch ends the child and its group at once;
    the end is Stopped with the last whole last.pt (a zip archive, as PyTorch writes it), the record says killed."""
    dataset = make_dataset(str(tmp_path / "ds"))
    monkeypatch.chdir(tmp_path)
    training = start_training(TrainOptions(dataset, epochs=100, imgsz=64, batch=4, workers=0, device="cpu"))
    seen = []
    with training:
        for event in training.events():
            seen.append(event)
            if isinstance(event, EpochEnd):
                training.kill()
    assert isinstance(seen[0], Status) and any(isinstance(e, Started) for e in seen)
    first = next(e for e in seen if isinstance(e, EpochEnd))
    assert first.epoch == 1 and first.epochs == 100 and "box_loss" in first.losses and "mAP50(B)" in first.metrics
    end = seen[-1]
    assert isinstance(end, Stopped) and training.result == end and end.last_pt is not None
    assert zipfile.is_zipfile(end.last_pt) and zipfile.ZipFile(end.last_pt).testzip() is None
    assert training.run_dir == str(tmp_path / "runs" / "train-ds-1")  # the default: the first free name
    record = json.loads(open(os.path.join(training.run_dir, "vidcv_run.json")).read())
    assert record["status"] == "killed" and record["ended"]
    with pytest.raises(ProcessLookupError):
        os.kill(training.pid, 0)


def one_line_error(res) -> str:
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_refusals_are_one_line_and_start_nothing(tmp_path):
    dataset = make_dataset(str(tmp_path / "ds"), frames=4)
    line = one_line_error(run_cli("train", dataset, "--model", "yolo11n-seg.yaml", cwd=str(tmp_path)))
    assert "segment model" in line and "yolo dataset" in line and "yolo11n.yaml" in line
    line = one_line_error(run_cli("train", str(tmp_path / "missing"), cwd=str(tmp_path)))
    assert (
        line
        == f"vidcv: error: no such dataset folder: {tmp_path / 'missing'} (give the folder that `vidcv extract --out` wrote)"
    )
    line = one_line_error(run_cli("train", dataset, "--model", "yolo99n.yaml", cwd=str(tmp_path)))
    assert "no such file, nor a model yaml of ultralytics" in line
    line = one_line_error(run_cli("train", dataset, "--model", "mine.pt", cwd=str(tmp_path)))
    assert "no such weights file: mine.pt" in line
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    line = one_line_error(run_cli("train", dataset, "--out", str(tmp_path / "taken"), cwd=str(tmp_path)))
    assert "not empty" in line and "never writes over another" in line
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: a}\n")
    line = one_line_error(run_cli("train", str(foreign), cwd=str(tmp_path)))
    assert "has no vidcv_format" in line and "vidcv_format: yolo" in line
    assert not (tmp_path / "runs").exists()  # nothing was started
    # a run folder inside the dataset, given or by default from within it: its plots would become images there
    before = sorted(os.path.relpath(os.path.join(d, f), dataset) for d, _, fs in os.walk(dataset) for f in fs)
    line = one_line_error(run_cli("train", dataset, "--out", os.path.join(dataset, "images", "train", "run1")))
    assert "lies inside the dataset" in line and "give --out a folder outside it" in line
    line = one_line_error(run_cli("train", ".", cwd=dataset))
    assert f"the default runs/ of this folder ({os.path.join(dataset, 'runs')}) lies inside the dataset" in line
    assert sorted(os.path.relpath(os.path.join(d, f), dataset) for d, _, fs in os.walk(dataset) for f in fs) == before


def test_events_travel_as_json_lines():
    events = [
        Batch(1, 2, 3, 4, {"box_loss": 0.5}),
        EpochEnd(1, 2, {"box_loss": 0.5}, {"mAP50(B)": float("nan"), "mAP50-95(B)": 0.25}, 1.5),
        Finished("r", "r/w/best.onnx", "r/pipeline.yaml", "b", "l", {"mAP50(B)": 0.9}),
        Stopped("r", None, 0),
    ]
    back = [from_line(to_line(event)) for event in events]
    assert back[0] == events[0] and back[2:] == events[2:]
    assert back[1].metrics == {"mAP50(B)": None, "mAP50-95(B)": 0.25}  # JSON has no NaN
    assert from_line(b"Ultralytics 8.4 print\n") is None and from_line(b'{"event": "nonsense"}') is None
    assert headline(back[1].metrics) == {"mAP50": None, "mAP50-95": 0.25}
    assert headline({"accuracy_top1": 0.5, "accuracy_top5": 1.0}, "classify") == {"top1": 0.5, "top5": 1.0}


def test_the_parent_side_imports_neither_torch_nor_ultralytics():
    code = (
        "import sys, vidcv.training, vidcv.cli.train; from vidcv.training import start_training; "
        "print(sorted(m for m in ('torch', 'ultralytics', 'PySide6') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stderr


def test_two_resumes_of_one_run_take_turns_and_the_second_finds_the_first(tmp_path):
    """A resume checks the run and marks it with its own pid in one step, the run folder locked meanwhile: the
    second resume, even a moment later, finds the run training (before, the pid came only with the child)."""
    import threading

    from vidcv.fileio import folder_locked
    from vidcv.training.process import plan_resume
    from vidcv.training.runs import new_record, read_record, write_record

    dataset = make_dataset(str(tmp_path / "ds"), frames=4)
    run = tmp_path / "run"
    (run / "weights").mkdir(parents=True)
    (run / "weights" / "last.pt").write_bytes(b"weights")
    record = new_record({"path": dataset}, {"model": "yolo11n.yaml", "epochs": 3, "imgsz": 64, "batch": 2})
    write_record(str(run), {**record, "status": "stopped"})
    options = TrainOptions(resume=str(run), workers=0, device="cpu")
    taken = threading.Event()
    with folder_locked(str(run)):  # a resume in the middle of its check: the other waits for it
        waiting = threading.Thread(target=lambda: (plan_resume(options), taken.set()))
        waiting.start()
        assert not taken.wait(0.3)
    waiting.join(10)
    assert taken.is_set()
    marked = read_record(str(run))
    assert marked["status"] == "running" and marked["pid"] == os.getpid() and marked["resumed"]
    with pytest.raises(Exception, match=rf"that run is still training \(pid {os.getpid()}\): stop it first"):
        plan_resume(options)
