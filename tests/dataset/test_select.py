"""vidcv extract --select: exactly --budget frames per mode, uncertain frames from where the model hesitates,
diverse frames further apart than a stride's, memory that does not grow with the video, the manifest's
record, resume without duplicates, and bad combinations in one line (vidcv/dataset/select.py)."""

import itertools
import json
import math
import os
import sys
import tracemalloc

import cv2
import numpy as np
import pytest

from media import BLOBS, run_cli
from vidcv.cli.main import main
from vidcv.dataset.extract import ExtractOptions, prepare
from vidcv.dataset.select import MODES, Pool, choose, embedding, k_center, spread_by_score
from vidcv.presets import parse_preset

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from make_sample import COLORS, Shape, draw_shape

pytestmark = pytest.mark.timeout(300)

W, H = 256, 192
HARD = ((40, 60), (100, 120))  #: the shapes half hidden, then motion-blurred: the demo model hesitates there
BUDGET = 8


def hard(t):
    return any(a <= t < b for a, b in HARD)


def shapes_frame(t):
    """The demo model's three shapes, clear (confidences about 0.9) but half hidden or smeared in HARD."""
    img = np.full((H, W, 3), 110, np.uint8) + np.random.default_rng(t).integers(0, 20, (H, W, 3), dtype=np.uint8)
    for k, (kind, cx, cy) in enumerate((("circle", 60, 60), ("square", 170, 70), ("triangle", 110, 140))):
        x = cx + 12 * math.sin(t / 6 + k)
        draw_shape(img, Shape(kind, x, cy, 28, 0.0, COLORS[kind]), (60 if t >= 100 else 0, 0))
        if 40 <= t < 60:
            x0 = int(x - 14)
            cv2.rectangle(img, (x0, cy - 16), (x0 + 14, cy + 16), (110, 110, 110), -1)
    return img


def write(path, frames, size=(W, H)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
    for img in frames:
        writer.write(img)
    writer.release()
    return str(path)


def manifest(out):
    return [json.loads(line) for line in open(os.path.join(out, "manifest.jsonl"))]


def label_rows(out, entry):
    return open(os.path.join(out, "labels", entry["split"], entry["name"] + ".txt")).read().splitlines()


def image_of(out, entry):
    return cv2.imread(os.path.join(out, "images", entry["split"], entry["name"] + ".jpg"))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """The shapes clip (120 frames) and the datasets that each mode, and --every at the same budget, make of it."""
    folder = tmp_path_factory.mktemp("shapes")
    video = write(folder / "hard.mp4", (shapes_frame(t) for t in range(120)))
    made = {}
    for mode in MODES:
        out = str(folder / mode.replace("+", "_"))
        res = run_cli("extract", video, "-p", "shapes", "--out", out, "--every", "2", "--select", mode, "--budget", "8")
        assert res.returncode == 0, res.stderr
        made[mode] = (out, res.stdout)
    out = str(folder / "every")
    res = run_cli("extract", video, "-p", "shapes", "--out", out, "--every", str(120 // BUDGET))
    assert res.returncode == 0, res.stderr
    made["every"] = (out, res.stdout)
    return made


@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_keeps_exactly_the_budget_of_the_thinned_candidates(shapes, mode):
    out, stdout = shapes[mode]
    entries = manifest(out)
    frames = [e["frame"] for e in entries]
    assert len(entries) == BUDGET == len(set(frames)) and all(f % 2 == 0 for f in frames)  # --every 2 first
    assert all(os.path.exists(os.path.join(out, "labels", e["split"], e["name"] + ".txt")) for e in entries)
    assert f"--select {mode}: chose {BUDGET} of 60 candidate frames" in stdout
    assert "not selected 52" in stdout


def test_uncertain_picks_the_hard_stretches_more_than_a_stride_and_spreads_them(shapes):
    picked = {m: [e["frame"] for e in manifest(shapes[m][0])] for m in ("uncertain", "uncertain+diverse", "every")}
    on_hard = {m: sum(map(hard, frames)) for m, frames in picked.items()}
    assert on_hard["every"] == 2  # frames 0, 15, ... 105: as much as the hard stretches' share of the clip
    assert on_hard["uncertain"] >= 6 and on_hard["uncertain+diverse"] >= 5
    gaps = np.diff(sorted(picked["uncertain"]))
    assert gaps.min() >= math.ceil(119 / (4 * BUDGET))  # no run of neighbours from one hard moment


def test_the_manifest_says_how_uncertain_each_frame_is_and_why_it_was_chosen(shapes):
    for mode in ("uncertain", "uncertain+diverse"):
        for entry in manifest(shapes[mode][0]):
            record = entry["select"]
            assert record["mode"] == mode and 0 <= record["score"] <= 1 and record["why"]
            if hard(entry["frame"]):
                assert record["score"] > 0.5 and "conf near threshold" in record["why"]
    diverse = manifest(shapes["uncertain+diverse"][0])
    assert all("distance" in e["select"] for e in diverse) and sum("new view" in e["select"]["why"] for e in diverse)
    assert all("select" not in e for e in manifest(shapes["every"][0]))


def scenes_clip(path):
    """120 frames of one scene (a red blob moving over gray) with four bursts of four frames of other, colourless
    scenes (nothing the blob detector finds) that a stride of 20 misses."""
    ramp = np.tile(np.linspace(0, 255, 128, dtype=np.uint8)[None, :, None], (96, 1, 3))
    checks = np.kron((np.indices((6, 8)).sum(axis=0) % 2 * 255).astype(np.uint8), np.ones((16, 16), np.uint8))
    bursts = {8: np.full((96, 128, 3), 230, np.uint8), 33: ramp, 65: np.full((96, 128, 3), 15, np.uint8)}
    bursts[85] = np.repeat(checks[:, :, None], 3, axis=2)
    frames = []
    for t in range(120):
        start = next((s for s in bursts if s <= t < s + 4), None)
        if start is None:
            img = np.full((96, 128, 3), 70, np.uint8) + np.random.default_rng(t).integers(0, 8, (96, 128, 3), np.uint8)
            cv2.rectangle(img, (10 + t // 2, 30), (40 + t // 2, 60), (30, 30, 220), -1)
        else:
            img = bursts[start].copy()
        frames.append(img)
    return write(path, frames, (128, 96))


def pairwise(images):
    vectors = [embedding(img) for img in images]
    d = [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(vectors, 2)]
    return float(np.mean(d)), min(d)


def test_diverse_frames_are_further_apart_than_a_strides_and_kept_without_detections(tmp_path):
    video = scenes_clip(tmp_path / "scenes.mp4")
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    res = run_cli(
        "extract", video, "-p", str(preset), "--out", str(tmp_path / "d"), "--select", "diverse", "--budget", "6"
    )
    assert res.returncode == 0, res.stderr
    stride = run_cli("extract", video, "-p", str(preset), "--out", str(tmp_path / "s"), "--every", "20")
    assert stride.returncode == 0, stride.stderr
    chosen, strided = manifest(str(tmp_path / "d")), manifest(str(tmp_path / "s"))
    assert len(chosen) == len(strided) == 6
    mean_d, min_d = pairwise([image_of(str(tmp_path / "d"), e) for e in chosen])
    mean_s, min_s = pairwise([image_of(str(tmp_path / "s"), e) for e in strided])
    assert mean_d > 1.2 * mean_s and min_d > 1.5 * min_s  # measured: 1.19 against 0.83, 0.89 against 0.53
    empty = [e for e in chosen if not label_rows(str(tmp_path / "d"), e)]
    assert {e["frame"] // 4 for e in empty} >= {2, 8, 16, 21}  # every burst, as an empty label without --negatives
    assert "0 negatives" in stride.stdout  # a plain extraction keeps none without --negatives


def looped_clip(path, loops):
    """A 30-frame clip (a blob crossing, another blinking) played ``loops`` times."""
    base = []
    for t in range(30):
        img = np.full((72, 96, 3), 70, np.uint8)
        cv2.rectangle(img, (5 + 2 * t, 10), (25 + 2 * t, 30), (30, 30, 220), -1)
        if t % 7 == 0:
            cv2.rectangle(img, (60, 45), (80, 65), (30, 30, 220), -1)
        base.append(img)
    return write(path, (img for _ in range(loops) for img in base), (96, 72))


def select_into(video, out, mode="uncertain+diverse", budget=BUDGET):
    job = prepare(video, parse_preset(BLOBS), ExtractOptions(str(out), select=mode, budget=budget))
    job.runner.run()
    assert job.runner.error is None
    return job


def test_memory_does_not_grow_with_the_length_of_the_video(tmp_path):
    videos = {n: looped_clip(tmp_path / f"x{n}.mp4", n) for n in (10, 40)}
    select_into(videos[10], tmp_path / "warm")  # imports and caches, before measuring
    peaks, pools = {}, {}
    for n, video in videos.items():
        tracemalloc.start()
        job = select_into(video, tmp_path / f"ds{n}")
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pools[n] = job.selection.pool
        assert len(manifest(str(tmp_path / f"ds{n}"))) == BUDGET and pools[n].seen == 30 * n
    assert pools[10].peak == pools[40].peak <= pools[40].capacity  # the pool: bounded, whatever the length
    assert peaks[40] < 1.5 * peaks[10]  # 4 times the frames, not 4 times the memory


def test_a_selection_stopped_while_writing_resumes_without_duplicates(tmp_path):
    video = looped_clip(tmp_path / "clip.mp4", 4)
    out = tmp_path / "ds"
    job = prepare(video, parse_preset(BLOBS), ExtractOptions(str(out), select="uncertain", budget=10))
    add = job.writer.add

    def add_then_stop(*args, **kwargs):  # Ctrl-C after the third chosen frame
        split = add(*args, **kwargs)
        if sum(job.writer.kept.values()) == 3:
            job.runner.request_stop()
        return split

    job.writer.add = add_then_stop
    job.runner.run()
    assert len(manifest(str(out))) == 3 and "the same command again" in job.summary()
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    res = run_cli("extract", video, "-p", str(preset), "--out", str(out), "--select", "uncertain", "--budget", "10")
    assert res.returncode == 0, res.stderr
    names = [e["name"] for e in manifest(str(out))]
    assert len(names) == len(set(names)) == 10 and "already in dataset 3" in res.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["--select", "uncertain"], "--select uncertain needs --budget N"),
        (["--select", "surprising", "--budget", "5"], "--select 'surprising' is not a selection: use uncertain"),
        (["--select", "diverse", "--budget", "0"], "--budget must be at least 1, got 0"),
        (["--budget", "5"], "--budget 5 is how many frames --select keeps"),
        (["--select", "diverse", "--budget", "5", "--workers", "2"], "drop --workers and --engine ray"),
        (["--select", "diverse", "--budget", "5", "--negatives", "0.2"], "drop --negatives"),
        (["--select", "diverse", "--budget", "5", "--format", "classify", "--crops"], "drop --select"),
    ],
)
def test_bad_combinations_are_refused_in_one_line(tmp_path, capsys, args, says):
    video = looped_clip(tmp_path / "clip.mp4", 1)
    preset = tmp_path / "blobs.yaml"
    preset.write_text(BLOBS)
    assert main(["extract", video, "-p", str(preset), "--out", str(tmp_path / "ds"), *args]) == 1
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and err.startswith("vidcv: error: ")
    assert not (tmp_path / "ds").exists()


def test_a_camera_or_stream_cannot_be_selected_from(tmp_path, capsys):
    assert (
        main(
            [
                "extract",
                "pattern:",
                "-p",
                "shapes",
                "--out",
                str(tmp_path / "ds"),
                "--select",
                "diverse",
                "--budget",
                "3",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "cannot be read again: record it first" in err and len(err.strip().splitlines()) == 1


def test_fewer_candidates_than_the_budget_are_all_kept(tmp_path):
    video = looped_clip(tmp_path / "clip.mp4", 1)
    job = select_into(video, tmp_path / "ds", "uncertain", budget=50)
    assert len(manifest(str(tmp_path / "ds"))) == 30
    assert "only 30 candidate frames, fewer than --budget 50: kept them all" in job.summary()


def candidates(scores, indices=None):
    from vidcv.dataset.select import Candidate
    from vidcv.detections import Detections

    indices = range(len(scores)) if indices is None else indices
    return [
        Candidate(i, i * 33.3, np.zeros(4, np.float32), Detections.empty(), None, score=s)
        for i, s in zip(indices, scores)
    ]


def test_the_pool_keeps_the_best_of_each_block_evenly_over_time():
    pool = Pool(8, key=lambda c: c.score)
    rng = np.random.default_rng(1)
    scores = rng.random(1000)
    for cand in candidates(scores):
        pool.add(cand)
    kept = pool.candidates()
    assert pool.peak <= 8 and pool.seen == 1000 and 4 <= len(kept) <= 8
    blocks = [int(c.index) // pool.block for c in kept]
    assert blocks == sorted(set(blocks))  # one per block, in time order
    for c in kept:  # each the best of its block
        start = (c.index // pool.block) * pool.block
        assert c.score == scores[start : start + pool.block].max()


def test_temporal_suppression_and_k_center_pick_exactly_the_budget():
    scores = [0.0] * 100
    for i in range(40, 50):  # one hard moment
        scores[i] = 0.9
    picked = sorted(i for i, _ in spread_by_score(candidates(scores), 5))
    assert len(picked) == 5 and sum(40 <= i < 50 for i in picked) == 2  # not five neighbours
    assert sorted(i for i, _ in spread_by_score(candidates([0.0] * 100), 10)) == list(range(4, 100, 10))  # even
    points = np.array([[0, 0], [0, 0.1], [5, 5], [5, 5.1], [10, 0]], np.float32)
    assert sorted(i for i, _ in k_center(points, 3)) in ([0, 2, 4], [1, 2, 4], [0, 3, 4], [1, 3, 4])
    assert [c.index for c, _ in choose("uncertain", candidates(scores), 500)] == list(range(100))


def boxes(xyxy, classes, ids=None, conf=0.9):
    from vidcv.detections import Detections

    n = len(xyxy)
    return Detections(
        np.array(xyxy, np.float32).reshape(n, 4),
        np.full(n, conf, np.float32),
        np.array(classes, np.int32),
        {0: "circle", 1: "square"},
        None if ids is None else np.array(ids, np.int64),
    )


def test_flicker_follows_track_ids_when_there_are_some_and_box_overlaps_otherwise():
    from vidcv.dataset.select import conf_part, count_part, flicker_part

    two = boxes([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0], ids=[1, 2])
    assert flicker_part(two, boxes([[0, 0, 10, 10]], [0], ids=[1]), two)[1] == "flicker (1 gone)"
    flipped = boxes([[0, 0, 10, 10], [20, 20, 30, 30]], [1, 0], ids=[1, 2])
    assert flicker_part(two, flipped, two)[1] == "flicker (1 changed class)"
    renamed = boxes([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0], ids=[1, 7])  # same place, a new identity
    assert flicker_part(two, renamed, two)[1] == "flicker (1 gone, 1 here only)"
    one, extra = boxes([[0, 0, 10, 10]], [0]), boxes([[1, 1, 11, 11], [50, 50, 60, 60]], [0, 0])  # no ids
    score, why = flicker_part(one, extra, one)
    assert why == "flicker (1 here only)" and score == 0.5
    assert flicker_part(two, two, two) == (0.0, "")
    assert count_part(2, 5, 2) == (1.0, "count jump (5 against 2 and 2)") and count_part(2, 3, 4)[0] == 0.0
    assert conf_part(boxes([[0, 0, 10, 10]] * 2, [0, 0], conf=0.9), 0.25) == (0.0, "")
    score, why = conf_part(boxes([[0, 0, 10, 10]] * 2, [0, 0], conf=0.3), 0.25)
    assert why == "conf near threshold (2 of 2 boxes)" and score == pytest.approx(1 - 0.25**2)
    assert conf_part(boxes([[0, 0, 10, 10]], [0], conf=0.3), None) == (0.0, "")  # no threshold to be near


def test_masks_are_held_as_their_outlines_until_the_frame_is_written():
    from vidcv.dataset.formats import label_lines
    from vidcv.dataset.select import compact
    from vidcv.detections import Detections

    masks = np.zeros((1, 60, 80), bool)
    masks[0, 10:30, 20:50] = True
    dets = Detections(
        np.array([[20, 10, 50, 30]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int32), masks=masks
    )
    held = compact(dets)
    assert held.masks is None and label_lines("yolo-seg", held, [0], (80, 60)) == label_lines(
        "yolo-seg", dets, [0], (80, 60)
    )
