"""Box propagation (vidcv.dataset.propagate) on generated videos whose boxes are known on every frame: three
plain shapes of different colours and sizes over a photograph-like texture, one growing, one leaving the image;
a textured patch on a like texture; and the bundled sample, whose truth is known too."""

import json
import os

import cv2
import numpy as np
import pytest

from vidcv.bundled import assets_dir, sample_video
from vidcv.dataset.labels import box_iou
from vidcv.dataset.propagate import BoxTracker, LabelError, Step, propagate, visible_fraction
from vidcv.errors import SourceError

W, H, N = 320, 240, 120
SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 pixel


def background(seed: int) -> np.ndarray:
    """A photograph-like scene: noise at three scales (mostly brightness, some colour) under rectangles and
    lines of random colours."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 120, np.float32)
    for cell, amp in ((4, 40), (12, 50), (40, 60)):
        shape = (H // cell + 2, W // cell + 2)
        noise = rng.normal(0, 1, (*shape, 1)) + 0.35 * rng.normal(0, 1, (*shape, 3))
        big = cv2.resize(noise.astype(np.float32), (W + 2 * cell, H + 2 * cell), interpolation=cv2.INTER_CUBIC)
        img += amp * big[cell : cell + H, cell : cell + W]
    for _ in range(25):
        colour = [int(v) for v in rng.integers(30, 220, 3)]
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(5, 40)), y + int(rng.integers(5, 40))), colour, -1)
        else:
            end = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            cv2.line(img, (x, y), end, colour, int(rng.integers(1, 4)))
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.8), 0, 255).astype(np.uint8)


def truth(t: int) -> np.ndarray:
    """The true boxes (x1, y1, x2, y2, pixel edges) on frame t: a red circle that leaves on the right from
    about frame 98, a green rectangle going to and fro, a blue ellipse that grows by half."""
    cx, cy, r = 60 + 2.5 * t, 80 + 20 * np.sin(t / 12), 16
    x, y = 150 + 70 * np.sin(t / 25), 160 + 30 * np.cos(t / 18)
    ex, ey, ax, ay = 250 - 0.8 * t, 60 + 0.6 * t, 12 + 0.06 * t, 9 + 0.045 * t
    return np.array([[cx - r, cy - r, cx + r, cy + r], [x, y, x + 40, y + 26], [ex - ax, ey - ay, ex + ax, ey + ay]])


def draw(scene: np.ndarray, t: int, hidden: int | None = None, hidden_from: int = 0) -> np.ndarray:
    """Frame t: the shapes of ``truth(t)`` drawn over ``scene`` (shape ``hidden`` left out from
    ``hidden_from``)."""
    img = scene.copy()
    colours = [(40, 40, 230), (60, 200, 60), (220, 120, 30)]
    for k, (x1, y1, x2, y2) in enumerate(truth(t)):
        if k == hidden and t >= hidden_from:
            continue
        # pixel (i, j) spans i..i+1: its centre, where OpenCV draws, is at i + 0.5
        center = (round(((x1 + x2) / 2 - 0.5) * 16), round(((y1 + y2) / 2 - 0.5) * 16))
        axes = (round((x2 - x1) / 2 * 16), round((y2 - y1) / 2 * 16))
        if k == 1:
            corners = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) - 0.5
            cv2.fillPoly(img, [np.round(corners * 16).astype(np.int32)], colours[k], cv2.LINE_AA, SHIFT)
        else:
            cv2.ellipse(img, center, axes, 0, 0, 360, colours[k], -1, cv2.LINE_AA, SHIFT)
    return img


def write(path: str, scene: np.ndarray, **hide: int) -> str:
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30, (W, H))
    assert writer.isOpened()
    for t in range(N):
        writer.write(draw(scene, t, **hide))
    writer.release()
    return path


@pytest.fixture(scope="module")
def scene():
    return background(7)


@pytest.fixture(scope="module")
def video(tmp_path_factory, scene):
    return write(str(tmp_path_factory.mktemp("propagate") / "shapes.mp4"), scene)


@pytest.fixture(scope="module")
def run(video):
    """Every step of the boxes labelled on frame 0, carried to the end."""
    return list(propagate(video, 0, truth(0)))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.clip(a, 0, [W, H, W, H]), np.clip(b, 0, [W, H, W, H])
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def in_view(t: int, k: int) -> bool:
    """Whether shape k is still in the image on frame t: at least half of its box inside."""
    return visible_fraction(truth(t)[k], (W, H)) >= 0.5


def first_lost(steps: list[Step], k: int) -> int | None:
    return next((s.index for s in steps if not s.alive[k]), None)


def test_boxes_follow_the_shapes_until_they_leave(run):
    assert [s.index for s in run[:3]] == [1, 2, 3]
    by_index = {s.index: s for s in run}
    for k, name in enumerate(("circle", "rectangle", "growing ellipse")):
        frames = [t for t in range(1, N) if in_view(t, k)]
        good = [
            t
            for t in frames
            if t in by_index and by_index[t].alive[k] and iou(by_index[t].boxes[k], truth(t)[k]) >= 0.8
        ]
        print(f"{name}: IoU >= 0.8 on {len(good)}/{len(frames)} frames ({len(good) / len(frames):.0%})")
        assert len(good) >= 0.9 * len(frames), name


def test_a_shape_that_leaves_the_image_is_lost_and_stays_lost(run):
    left = next(t for t in range(N) if not in_view(t, 0))
    lost = first_lost(run, 0)
    assert lost is not None and left - 3 <= lost <= left + 3, (left, lost)
    assert not any(s.alive[0] for s in run if s.index >= lost)
    gone = [s for s in run if s.index >= lost]
    assert all(np.array_equal(s.boxes[0], gone[0].boxes[0]) for s in gone)  # its last place
    # the others are followed to the end of the video
    assert run[-1].index == N - 1 and run[-1].alive[1:].all()


def test_a_shape_that_disappears_is_lost(tmp_path, scene):
    """The rectangle vanishes in the middle of the image on frame 60: its box is lost there, not carried on
    over the background."""
    video = write(str(tmp_path / "vanish.mp4"), scene, hidden=1, hidden_from=60)
    steps = list(propagate(video, 40, truth(40), max_frames=40))
    lost = first_lost(steps, 1)
    assert lost is not None and 60 <= lost <= 62, lost
    assert all(s.alive[[0, 2]].all() for s in steps)


def test_only_the_frames_asked_for_are_yielded(video):
    every = {s.index: s for s in propagate(video, 10, truth(10))}
    picked = list(propagate(video, 10, truth(10), frames=[55, 4, 12, 13, 30, 10]))
    assert [s.index for s in picked] == [12, 13, 30, 55]  # after the start, in order; 4 and 10 are not later
    for s in picked:  # tracked through every frame in between, as the full run was
        np.testing.assert_allclose(s.boxes, every[s.index].boxes)
        assert np.array_equal(s.alive, every[s.index].alive)
    assert list(propagate(video, 10, truth(10), frames=[3, 10])) == []


def test_cancel_and_max_frames_stop_it(video):
    steps: list[Step] = []
    for step in propagate(video, 0, truth(0), cancel=lambda: len(steps) >= 5):
        steps.append(step)
    assert [s.index for s in steps] == [1, 2, 3, 4, 5]
    assert list(propagate(video, 0, truth(0), cancel=lambda: True)) == []
    assert [s.index for s in propagate(video, 20, truth(20), max_frames=7)] == list(range(21, 28))


def test_it_stops_when_every_box_is_lost(video):
    steps = list(propagate(video, 80, truth(80)[:1]))  # the circle alone, which leaves
    left = next(t for t in range(N) if not in_view(t, 0))
    assert not steps[-1].alive[0] and steps[-1].index <= left + 3
    assert all(s.alive[0] for s in steps[:-1])


def test_it_stops_at_the_end_of_the_video(video):
    steps = list(propagate(video, N - 4, truth(N - 4)[1:]))
    assert [s.index for s in steps] == [N - 3, N - 2, N - 1]
    assert all(iou(b, t) >= 0.8 for s in steps for b, t in zip(s.boxes, truth(s.index)[1:]))


def test_an_image_folder_is_a_video_too(tmp_path, scene):
    for t in range(8):
        cv2.imwrite(str(tmp_path / f"frame{t:02d}.png"), draw(scene, t))
    steps = list(propagate(str(tmp_path), 2, truth(2)))
    assert [s.index for s in steps] == [3, 4, 5, 6, 7]
    assert all(iou(b, t) >= 0.8 for s in steps for b, t in zip(s.boxes, truth(s.index)))


def test_what_cannot_be_propagated_is_said_in_one_line(video, tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        next(propagate(str(tmp_path / "missing.mp4"), 0, truth(0)))
    with pytest.raises(SourceError, match=f"has no frame {N + 5} .*pick one"):
        next(propagate(video, N + 5, truth(0)))
    with pytest.raises(SourceError, match="live; give a video file"):
        next(propagate("pattern:", 0, truth(0)))
    with pytest.raises(LabelError, match=r"\(n, 4\) array"):
        next(propagate(video, 0, [[1, 2, 3]]))


def test_the_tracker_follows_frames_in_memory(scene):
    """BoxTracker alone, on frames never encoded (a live source's), in colour and in gray."""
    tracker = BoxTracker()
    tracker.init(draw(scene, 0), truth(0))
    for t in range(1, 60):
        boxes, alive, score = tracker.update(draw(scene, t))
        assert alive.all() and (score > 0.5).all()
        assert all(iou(b, g) >= 0.8 for b, g in zip(boxes, truth(t))), t
    gray = BoxTracker()
    gray.init(cv2.cvtColor(draw(scene, 0), cv2.COLOR_BGR2GRAY), truth(0)[1:2])
    for t in range(1, 30):
        boxes, alive, _ = gray.update(cv2.cvtColor(draw(scene, t), cv2.COLOR_BGR2GRAY))
        assert alive[0] and iou(boxes[0], truth(t)[1]) >= 0.8


def test_the_tracker_skips_boxes_it_cannot_follow(scene):
    tracker = BoxTracker()
    x1, y1, x2, y2 = truth(0)[1]
    boxes = [[x2, y2, x1, y1], [10, 10, 12, 40], [-60, 10, -20, 40], [300, 10, 360, 40]]
    tracker.init(draw(scene, 0), boxes)
    boxes_now, alive, score = tracker.state()
    # drawn from the far corner: the same box; too thin, outside, mostly outside: lost at once
    assert alive.tolist() == [True, False, False, False] and score[1:].tolist() == [0, 0, 0]
    np.testing.assert_allclose(boxes_now[0], truth(0)[1])
    assert (boxes_now >= 0).all() and (boxes_now[:, [0, 2]] <= W).all()
    boxes_now, alive, _ = tracker.update(draw(scene, 1))
    assert alive.tolist() == [True, False, False, False] and iou(boxes_now[0], truth(1)[1]) >= 0.8
    empty = BoxTracker()
    empty.init(draw(scene, 0), np.zeros((0, 4)))
    assert [a.shape for a in empty.update(draw(scene, 1))] == [(0, 4), (0,), (0,)]


def test_the_tracker_refuses_wrong_frames(scene):
    tracker = BoxTracker()
    with pytest.raises(LabelError, match="before init"):
        tracker.update(draw(scene, 0))
    tracker.init(draw(scene, 0), truth(0))
    with pytest.raises(LabelError, match=r"frame size \(160, 120\) differs"):
        tracker.update(cv2.resize(draw(scene, 1), (160, 120)))
    with pytest.raises(LabelError, match="uint8 BGR or gray"):
        tracker.update(draw(scene, 1).astype(np.float32))


def test_a_box_on_a_plain_region_stays_put():
    """Nothing to match (a plain grey wall): the box stays where it was drawn, not pulled to a corner of the
    search; a plain square moving over the same wall is followed."""

    def frame(t: int) -> np.ndarray:
        img = np.full((H, W, 3), 128, np.uint8)
        cv2.rectangle(img, (40 + 3 * t, 100), (69 + 3 * t, 129), (0, 0, 200), -1)
        return img

    tracker = BoxTracker()
    tracker.init(frame(0), [[40, 100, 70, 130], [200.3, 30.7, 240.1, 60.2]])
    for t in range(1, 30):
        boxes, alive, _ = tracker.update(frame(t))
        assert alive.all() and iou(boxes[0], np.array([40 + 3 * t, 100, 70 + 3 * t, 130])) >= 0.9
        np.testing.assert_allclose(boxes[1], [200.3, 30.7, 240.1, 60.2], atol=0.5)


@pytest.mark.parametrize("seed", [11, 21])
def test_a_textured_patch_on_a_like_texture_is_followed_by_its_pattern(scene, seed):
    """A patch cut from another scene of the same kind glides over this one: colours much like its
    surroundings', some of them its own (seed 21's patch is half a plain rectangle), followed by its pattern
    without the colours pulling the box."""
    patch = background(seed)[60:96, 150:198]

    def place(t: int) -> np.ndarray:
        x, y = 100 + round(1.5 * t), 120 + round(25 * np.sin(t / 15))
        return np.array([x, y, x + 48, y + 36], np.float64)

    def frame(t: int) -> np.ndarray:
        img = scene.copy()
        x, y = place(t)[:2].astype(int)
        img[y : y + 36, x : x + 48] = patch
        return img

    tracker = BoxTracker()
    tracker.init(frame(0), [place(0)])
    for t in range(1, 80):
        boxes, alive, _ = tracker.update(frame(t))
        assert alive[0] and iou(boxes[0], place(t)) >= 0.9, t


@pytest.fixture(scope="module")
def sample_truth():
    with open(os.path.join(assets_dir(), "sample_truth.json")) as fh:
        data = json.load(fh)
    return {f["frame"]: {o["class"]: o["xyxy"] for o in f["objects"]} for f in data["frames"]}


@pytest.mark.parametrize("start", [0, 150])
def test_the_shapes_of_the_bundled_sample_are_followed(sample_truth, start):
    """The sample (640x360): three plain shapes, two of them half background in their boxes, over a photograph
    that pans otherwise and a portrait that glides under them, the triangle over the square once; labelled on
    ``start`` and carried 90 frames, each box keeps IoU >= 0.8 with the truth on 90 % of the frames."""
    names = ("square", "triangle", "circle")
    steps = list(propagate(sample_video(), start, [sample_truth[start][n] for n in names], max_frames=90))
    assert [s.index for s in steps] == list(range(start + 1, start + 91))
    for k, name in enumerate(names):
        frames = [s for s in steps if visible_fraction(np.array(sample_truth[s.index][name]), (640, 360)) >= 0.5]
        good = [s for s in frames if s.alive[k] and box_iou(s.boxes[k], sample_truth[s.index][name]) >= 0.8]
        print(f"{name} from frame {start}: IoU >= 0.8 on {len(good)}/{len(frames)} frames")
        assert len(good) >= 0.9 * len(frames), name
