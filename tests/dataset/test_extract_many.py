"""vidcv extract with several inputs: one dataset from files, globs, folders and @lists, names unique when file
names collide, the split per (source, run of frames), a failing input among good ones, resume after SIGKILL."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from media import BLOBS, SLOW_BLOBS, run_cli, vidcv_cmd
from vidcv.dataset.extract import source_stem
from vidcv.dataset.writer import SPLITS, choose_split, chunk_frames

pytestmark = pytest.mark.timeout(300)


LENGTHS = {"a/clip.avi": 24, "b/clip.avi": 30, "more/one.avi": 20, "more/two.avi": 16}


def write_clip(path, frames, seed):
    """A red square moving over noise: one box in every frame."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    rng = np.random.default_rng(seed)
    for t in range(frames):
        img = np.full((120, 160, 3), 70, np.uint8) + rng.integers(0, 10, (120, 160, 3), dtype=np.uint8)
        cv2.rectangle(img, (10 + 3 * t % 100, 40), (40 + 3 * t % 100, 70), (30, 30, 220), -1)
        writer.write(img)
    writer.release()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    for seed, (rel, frames) in enumerate(LENGTHS.items()):
        write_clip(str(folder / rel), frames, seed)
    (folder / "blobs.yaml").write_text(BLOBS)
    return folder


def dataset_files(root):
    """{name: split} of the labels, and every image name."""
    labels = {n[:-4]: s for s in SPLITS for n in os.listdir(os.path.join(root, "labels", s))}
    images = [n for s in SPLITS for n in os.listdir(os.path.join(root, "images", s))]
    return labels, images


def expected_names(folder):
    return {f"{source_stem(str(folder / rel))}_{i:06d}": rel for rel, n in LENGTHS.items() for i in range(n)}


def test_files_a_glob_a_folder_and_a_list_make_one_dataset(clips, tmp_path):
    """a/clip.avi and b/clip.avi share a file name; both are in, under names of their own, each frame once,
    every frame in the split of its (source, run) as for one source, and ultralytics loads the result."""
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two clips named alike\n{clips / 'a' / 'clip.avi'}\n{clips / 'b' / 'clip.avi'}\n")
    out = tmp_path / "ds"
    res = run_cli(
        "extract",
        f"@{listing}",
        str(clips / "more" / "*.avi"),
        str(clips / "more"),
        "-p",
        str(clips / "blobs.yaml"),
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    labels, images = dataset_files(out)
    expected = expected_names(clips)
    assert sorted(labels) == sorted(expected)  # the folder repeats the glob's files: each counted once
    assert len(images) == len(labels) == sum(LENGTHS.values()) == 90
    assert len({n.rsplit("_", 2)[0] + "_" + n.rsplit("_", 2)[1] for n in labels}) == 4  # four sources
    assert source_stem(str(clips / "a" / "clip.avi")) != source_stem(str(clips / "b" / "clip.avi"))
    for name, split in labels.items():
        stem, index = name.rsplit("_", 1)
        unit = int(index) // chunk_frames(LENGTHS[expected[name]])
        assert split == choose_split(f"0:{stem}:chunk", unit, (0.8, 0.1, 0.1))
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(m["name"] for m in manifest) == sorted(expected)
    for n in LENGTHS.values():  # one line per input, in order, then the total
        assert f"kept {n} frames ({n} with labels, 0 negatives)" in res.stdout
    assert "kept 90 frames from 4 of 4 inputs" in res.stdout
    assert (
        res.stdout.index("a/clip.avi: kept")
        < res.stdout.index("b/clip.avi: kept")
        < res.stdout.index("one.avi: kept")
        < res.stdout.index("two.avi: kept")
    )
    assert not (out / ".vidcv.lock").exists() and not (out / ".vidcv.journal").exists()
    from ultralytics.data.utils import check_det_dataset

    info = check_det_dataset(str(out / "data.yaml"))
    assert info["nc"] == 1 and info["names"] == {0: "blob"}

    again = run_cli(
        "extract",
        str(clips / "a" / "clip.avi"),
        str(clips / "b" / "clip.avi"),
        str(clips / "more"),
        "-p",
        str(clips / "blobs.yaml"),
        "--out",
        str(out),
    )
    assert again.returncode == 0, again.stderr
    assert "kept 0 frames from 4 of 4 inputs" in again.stdout and "24 already in the dataset" in again.stdout
    assert dataset_files(out)[0] == labels


def test_an_input_that_fails_is_reported_and_the_others_go_on(clips, tmp_path):
    out = tmp_path / "ds"
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video at all" * 100)
    res = run_cli(
        "extract",
        str(clips / "a" / "clip.avi"),
        str(broken),
        str(clips / "more" / "one.avi"),
        "-p",
        str(clips / "blobs.yaml"),
        "--out",
        str(out),
    )
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("vidcv: error: 1 of 3 inputs failed: ") and "broken.avi" in res.stderr
    assert f"{broken}: failed: " in res.stdout and "kept 44 frames from 2 of 3 inputs" in res.stdout
    assert len(dataset_files(out)[0]) == 44


@pytest.mark.parametrize(
    "specs, words",
    [
        (["{clips}/a/clip.avi", "{clips}/nothing/*.avi"], "no video file matches"),
        (["{clips}/a/clip.avi", "@{clips}/absent.txt"], "cannot read the input list"),
        (["{clips}/a/clip.avi", "pattern:"], "pattern:: several inputs are video files; extract a camera"),
        (["pattern:", "--engine", "ray"], "pattern:: --engine ray extracts video files (each is sent to a Ray task)"),
        (["{clips}/a", "--engine", "local", "--address", "h:1"], "--address is a Ray cluster's, and --engine local"),
    ],
)
def test_inputs_that_name_nothing_are_one_line_before_anything_is_written(clips, tmp_path, specs, words):
    out = tmp_path / "ds"
    res = run_cli(
        "extract", *[s.format(clips=clips) for s in specs], "-p", str(clips / "blobs.yaml"), "--out", str(out)
    )
    assert res.returncode != 0 and words in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not out.exists()


def test_one_folder_of_images_is_still_one_source(clips, tmp_path):
    """A single folder without videos is read as before: its images are the frames of one source."""
    images = tmp_path / "frames"
    images.mkdir()
    cap = cv2.VideoCapture(str(clips / "more" / "two.avi"))
    for i in range(5):
        ok, img = cap.read()
        assert ok
        cv2.imwrite(str(images / f"f{i}.png"), img)
    cap.release()
    out = tmp_path / "ds"
    res = run_cli("extract", str(images), "-p", str(clips / "blobs.yaml"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert sorted(dataset_files(out)[0]) == [f"{source_stem(str(images))}_{i:06d}" for i in range(5)]


@pytest.mark.parametrize("spec", ["{folder}", "{folder}/*.avi"])
def test_a_folder_or_glob_of_one_video_extracts_that_video(clips, tmp_path, spec):
    """The help's "folders of videos" holds for a folder of one video too (it is no folder of images)."""
    out = tmp_path / "ds"
    spec = spec.format(folder=clips / "a")
    res = run_cli("extract", spec, "-p", str(clips / "blobs.yaml"), "--out", str(out), "-q")
    assert res.returncode == 0, res.stderr
    want = {name for name, rel in expected_names(clips).items() if rel == "a/clip.avi"}
    assert set(dataset_files(out)[0]) == want and len(want) == LENGTHS["a/clip.avi"]


def resume_to_every_frame_once(clips, out, args, killed_pid):
    """The same command again, after a writer was SIGKILLed: it takes the stale lock over and ends with every
    frame of every input in the dataset exactly once, nothing half written left."""
    res = run_cli("extract", *args, timeout=240)
    assert res.returncode == 0, res.stderr
    assert f"took over the lock of a writer that has ended (pid {killed_pid}" in res.stdout
    labels, images = dataset_files(out)
    assert sorted(labels) == sorted(expected_names(clips))
    assert len(images) == 90 and not [n for n in images if "partial" in n]
    names = [json.loads(line)["name"] for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(names) == len(set(names)) == 90


def test_a_killed_multi_input_run_resumes_to_the_same_dataset(clips, tmp_path):
    """A real SIGKILL part way through the inputs; the same command again takes over the lock, removes what the
    killed run left half written and ends with every frame of every input exactly once."""
    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW_BLOBS)  # slows each frame down
    out = tmp_path / "ds"
    args = [
        str(clips / "a" / "clip.avi"),
        str(clips / "b" / "clip.avi"),
        str(clips / "more"),
        "-p",
        str(slow),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen([*vidcv_cmd(), "extract", *args, "-q"])
    manifest = out / "manifest.jsonl"
    try:
        deadline = time.monotonic() + 120
        # killed once the second input (b/clip.avi, named like the first) has frames in
        b_stem = source_stem(str(clips / "b" / "clip.avi"))
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists() and b_stem in manifest.read_text():
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    partial, _ = dataset_files(out)
    assert LENGTHS["a/clip.avi"] < len(partial) < 90  # the first input whole, the second begun
    assert json.loads((out / ".vidcv.lock").read_text())["pid"] == proc.pid
    resume_to_every_frame_once(clips, out, args, proc.pid)
    assert not (out / ".vidcv.lock").exists() and not (out / ".vidcv.journal").exists()
    from ultralytics.data.utils import check_det_dataset

    assert check_det_dataset(str(out / "data.yaml"))["nc"] == 1


def test_vidcv_run_points_several_videos_to_vidcv_batch(clips, tmp_path):
    """`vidcv run a b` and `vidcv run "glob of videos"` are one line each naming vidcv batch (kept here beside
    the other many-input commands); a glob of images still runs."""
    a, b = str(clips / "a" / "clip.avi"), str(clips / "b" / "clip.avi")
    two = run_cli("run", a, b, "-q")
    assert two.returncode == 1 and len(two.stderr.strip().splitlines()) == 1
    assert f"vidcv run reads one source and got 2; for several videos use vidcv batch {a} {b}" in two.stderr
    pattern = str(clips / "*" / "*.avi")
    glob_run = run_cli("run", pattern, "-q")
    assert glob_run.returncode == 1 and len(glob_run.stderr.strip().splitlines()) == 1
    assert "names 4 video files, not images" in glob_run.stderr and f"vidcv batch '{pattern}'" in glob_run.stderr
    assert "no images found" not in glob_run.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("run", str(empty), "-q")
    assert nothing.returncode == 1 and "no images found in" in nothing.stderr
    one = run_cli("run", a, "-q", "--max-frames", "3")
    assert one.returncode == 0, one.stderr


def dataset_contents(root):
    """Every image and label file's path with its label text (images: their size)."""
    out = {}
    for kind in ("images", "labels"):
        for split in SPLITS:
            for name in os.listdir(os.path.join(root, kind, split)):
                path = os.path.join(root, kind, split, name)
                if kind == "labels":
                    with open(path) as fh:
                        out[f"{kind}/{split}/{name}"] = fh.read()
                else:
                    out[f"{kind}/{split}/{name}"] = os.path.getsize(path) > 0
    return out


def test_workers_make_the_same_dataset_as_one_after_another(clips, tmp_path):
    """--workers 3: detection in three processes, one writer; the same files, labels and manifest names as the
    sequential run, a failing input reported among them, and the result loads in ultralytics."""
    specs = [str(clips / "a" / "clip.avi"), str(clips / "b" / "clip.avi"), str(clips / "more")]
    one = run_cli("extract", *specs, "-p", str(clips / "blobs.yaml"), "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    missing = str(tmp_path / "missing.avi")
    three = run_cli(
        "extract", *specs, missing, "-p", str(clips / "blobs.yaml"), "--out", str(tmp_path / "three"), "--workers", "3"
    )
    assert three.returncode == 1 and len(three.stderr.strip().splitlines()) == 1
    assert f"1 of 5 inputs failed: {missing}: no such file" in three.stderr
    assert dataset_contents(tmp_path / "three") == dataset_contents(tmp_path / "one")
    assert len(dataset_contents(tmp_path / "one")) == 2 * 90
    names = [json.loads(x)["name"] for x in (tmp_path / "three" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(names) == sorted(expected_names(clips))
    for rel, n in LENGTHS.items():
        assert f"{clips / rel}: kept {n} frames ({n} with labels, 0 negatives)" in three.stdout
    assert "kept 90 frames from 4 of 5 inputs" in three.stdout
    assert not (tmp_path / "three" / ".vidcv.lock").exists()
    from ultralytics.data.utils import check_det_dataset

    assert check_det_dataset(str(tmp_path / "three" / "data.yaml"))["nc"] == 1


def children(pid):
    """The process ids of ``pid``'s children (Linux /proc)."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as fh:
            found += [int(c) for c in fh.read().split()]
    return found


def running(pid):
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_writer_with_workers_resumes_and_its_workers_end(clips, tmp_path):
    """SIGKILL of the writer while two workers detect: the workers see it gone and end, the lock is stale, and
    the same command again completes the dataset with every frame once."""
    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW_BLOBS)
    out = tmp_path / "ds"
    args = [
        str(clips / "a" / "clip.avi"),
        str(clips / "b" / "clip.avi"),
        str(clips / "more"),
        "-p",
        str(slow),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen([*vidcv_cmd(), "extract", *args, "-q"])
    manifest = out / "manifest.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists() and len(manifest.read_text().splitlines()) >= 10:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        workers = children(proc.pid)
        assert len(workers) >= 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 180  # a bound on a hang, not a timing: they end at their next frame
    while time.monotonic() < deadline and [p for p in workers if running(p)]:
        time.sleep(0.1)
    left = [p for p in workers if running(p)]
    assert not left, f"outlived their killed writer: {[Path(f'/proc/{p}/cmdline').read_text() for p in left]}"
    partial, _ = dataset_files(out)
    assert 0 < len(partial) < 90
    resume_to_every_frame_once(clips, out, args, proc.pid)


def test_ctrl_c_stops_the_workers_and_keeps_a_complete_dataset(clips, tmp_path):
    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW_BLOBS)
    out = tmp_path / "ds"
    proc = subprocess.Popen(
        [
            *vidcv_cmd(),
            "extract",
            str(clips / "a" / "clip.avi"),
            str(clips / "b" / "clip.avi"),
            "-p",
            str(slow),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be stopped"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "the same command again continues it" in stderr and "Traceback" not in stderr
    labels, images = dataset_files(out)
    assert 0 < len(labels) < 54 and len(images) == len(labels)
    assert not (out / ".vidcv.lock").exists() and not (out / ".vidcv.journal").exists()
