"""heatmap: generated tracks walking known paths leave heat exactly where they walked, decaying by the half-life
given; the saved image is the map held in memory, written through vidcv.fileio (links refused, not followed)."""

import os

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.detections import Detections
from vidcv.errors import ParamError
from vidcv.fileio import LinkRefused
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import parse_preset

H, W = 240, 400
DT = 40.0  # ms a frame (25 fps)
NAMES = {0: "person", 1: "car"}


def frame_at(i, anchors, ids=True, pts=None, classes=None):
    """Frame ``i`` with one 20x30 box standing on each anchor (x, y): its bottom centre; track ids 1, 2, ..."""
    boxes = [[x - 10, y - 30, x + 10, y] for x, y in anchors]
    f = Frame(np.full((H, W, 3), 60, np.uint8), i, i * DT if pts is None else pts)
    f.detections = Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        [0.9] * len(anchors),
        classes or [0] * len(anchors),
        NAMES,
        tracker_id=np.arange(1, len(anchors) + 1) if ids else None,
    )
    return f


def walk(plugin, steps, **kw):
    """A track walking right along y = 200, 5 px a frame from x = 50; the frames out."""
    return [plugin.process(frame_at(i, [(50 + 5 * i, 200)], **kw)) for i in range(steps)]


def test_the_heat_is_where_the_path_is_one_per_frame_and_nowhere_else():
    plugin = REG.create("heatmap", radius=1, cell=1)  # a mark of one cell: the heat counts visits
    walk(plugin, 40)
    heat = plugin.heat
    assert heat.shape == (H, W)
    xs = [50 + 5 * i for i in range(40)]
    assert np.all(heat[200, xs] == 1.0)
    assert heat.sum() == 40 and np.count_nonzero(heat) == 40
    assert plugin.status().figures == {"peak": 1.0}


def test_cells_and_the_mark_spread_the_same_heat_around_the_anchor():
    plugin = REG.create("heatmap", radius=16, cell=4)
    plugin.process(frame_at(0, [(102, 201)]))
    heat = plugin.heat
    assert heat.shape == (H // 4, W // 4)
    assert heat[50, 25] == 1.0 and heat.max() == 1.0  # the anchor's cell: floor(102 / 4), floor(201 / 4)
    ys, xs = np.nonzero(heat)
    assert np.all((ys - 50) ** 2 + (xs - 25) ** 2 < 16)  # within 4 cells (16 px) of it
    assert heat[50, 27] == pytest.approx(1 - (2 / 4) ** 2)  # 1 - (d / r)^2, r in cells


def test_a_standing_track_accumulates_and_a_gone_one_halves_every_half_life():
    plugin = REG.create("heatmap", radius=1, cell=1, half_life=0.5)
    for i in range(10):  # stands at (100, 100) for 10 frames
        plugin.process(frame_at(i, [(100, 100)]))
    factor = 0.5 ** (DT / 1000 / 0.5)
    standing = sum(factor**k for k in range(10))
    assert plugin.heat[100, 100] == pytest.approx(standing, rel=1e-6)
    # gone: frames with nobody, at uneven intervals; the heat follows the time, not the frame count
    pts = [9 * DT + d for d in (40, 100, 110, 500, 1500)]
    for j, t in enumerate(pts):
        plugin.process(frame_at(10 + j, [], pts=t))
        assert plugin.heat[100, 100] == pytest.approx(standing * 0.5 ** ((t - 9 * DT) / 500), rel=1e-6)


def test_without_decay_the_heat_stays():
    plugin = REG.create("heatmap", radius=1, cell=1)
    plugin.process(frame_at(0, [(100, 100)]))
    for i in range(1, 30):
        plugin.process(frame_at(i, []))
    assert plugin.heat[100, 100] == 1.0


def test_each_track_counts_once_a_frame_and_untracked_detections_each():
    plugin = REG.create("heatmap", radius=1, cell=1)
    f = frame_at(0, [(100, 100), (100, 100)])
    f.detections = Detections(f.detections.xyxy, [0.9, 0.8], [0, 0], NAMES, tracker_id=[7, 7])  # one track twice
    plugin.process(f)
    assert plugin.heat[100, 100] == 1.0 and plugin.status().state == ""

    untracked = REG.create("heatmap", radius=1, cell=1)
    untracked.process(frame_at(0, [(100, 100), (100, 100)], ids=False))
    assert untracked.heat[100, 100] == 2.0
    assert untracked.status().state == "no track ids: each detection counts"


def test_classes_and_the_centre_anchor():
    plugin = REG.create("heatmap", radius=1, cell=1, classes="car", anchor="center")
    plugin.process(frame_at(0, [(100, 100), (200, 100)], classes=[0, 1]))
    assert plugin.heat.sum() == 1.0 and plugin.heat[85, 200] == 1.0  # the car's box centre; the person ignored


def test_the_heat_is_in_source_pixels_whatever_the_display_scaling():
    plain = REG.create("heatmap", radius=12, cell=2)
    resized = parse_preset(
        "pipeline:\n  - plugin: resize\n    params: {scale: 0.5}\n"
        "  - plugin: heatmap\n    params: {radius: 12, cell: 2}\n",
        REG,
    )
    for i in range(20):
        plain.process(frame_at(i, [(50 + 5 * i, 200)]))
        out = resized.process(frame_at(i, [(50 + 5 * i, 200)]))
    assert np.array_equal(resized.stages[1].plugin.heat, plain.heat)
    # drawn where the path is on the half-size image: coloured on it, the background elsewhere
    assert out.image.shape[:2] == (H // 2, W // 2)
    assert not np.array_equal(out.image[100, 60], [60, 60, 60])
    assert np.array_equal(out.image[20, 60], [60, 60, 60])


def test_drawing_lays_the_heat_over_the_frame_and_can_be_off():
    outs = walk(REG.create("heatmap"), 20)
    last = outs[-1].image
    assert not np.array_equal(last[200, 60], [60, 60, 60]) and np.array_equal(last[20, 20], [60, 60, 60])
    outs = walk(REG.create("heatmap", draw=False), 20)
    assert np.all(outs[-1].image == 60)


def test_reset_clears_the_heat():
    plugin = REG.create("heatmap", radius=1, cell=1)
    walk(plugin, 10)
    plugin.reset()
    assert plugin.heat is None and plugin.peak() == 0.0 and plugin.picture() is None
    plugin.process(frame_at(0, [(300, 100)]))
    assert plugin.heat.sum() == 1.0 and plugin.heat[100, 300] == 1.0


def test_edits_keep_the_heat_except_a_new_cell_size():
    plugin = REG.create("heatmap", radius=1, cell=1)
    walk(plugin, 10)
    for name, value in (("half_life", 2.0), ("radius", 8), ("opacity", 0.3), ("classes", "person")):
        plugin.set_param(name, value)
    plugin.apply_pending()
    assert plugin.heat.sum() == 10
    plugin.set_param("save", "heat.txt")
    with pytest.raises(ParamError, match="save"):
        plugin.apply_pending()
    plugin.set_param("save", "")
    plugin.apply_pending()  # set up again
    walk(plugin, 10)
    plugin.set_param("cell", 2)
    plugin.apply_pending()
    assert plugin.heat is None  # another grid


def test_close_saves_the_map_held_in_memory(tmp_path):
    path = tmp_path / "out" / "heat.png"
    plugin = REG.create("heatmap", save=str(path))
    walk(plugin, 30)
    Pipeline([plugin]).close()
    saved = cv2.imread(str(path))
    assert saved is not None and np.array_equal(saved, plugin.picture())  # PNG: lossless
    assert saved.shape == (H, W, 3) and not np.array_equal(saved[200, 100], [60, 60, 60])
    assert os.listdir(path.parent) == ["heat.png"]  # no temporary file left


def test_a_name_without_extension_is_a_png_and_an_unknown_extension_is_refused(tmp_path):
    plugin = REG.create("heatmap", save=str(tmp_path / "heat"))
    walk(plugin, 3)
    plugin.close()
    assert (tmp_path / "heat").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ParamError, match="save"):
        REG.create("heatmap", save=str(tmp_path / "heat.txt"))


def test_nothing_is_saved_without_a_frame(tmp_path):
    REG.create("heatmap", save=str(tmp_path / "heat.png")).close()  # a preset loaded and closed, never run
    assert not os.listdir(tmp_path)


SECRET = "ssh-ed25519 AAAA... user@host\n"


def test_a_link_at_the_temporary_name_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text(SECRET)
    os.symlink(victim, tmp_path / ".heat.partial.png")
    plugin = REG.create("heatmap", save=str(tmp_path / "heat.png"))
    walk(plugin, 3)
    with pytest.raises(LinkRefused, match="refusing to write through .*heat.partial.png"):
        plugin.close()
    assert victim.read_text() == SECRET and os.path.islink(tmp_path / ".heat.partial.png")
    assert not os.path.lexists(tmp_path / "heat.png")


def test_a_link_at_the_saved_name_is_replaced_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text(SECRET)
    os.symlink(victim, tmp_path / "heat.png")
    plugin = REG.create("heatmap", save=str(tmp_path / "heat.png"))
    walk(plugin, 3)
    plugin.close()
    assert victim.read_text() == SECRET
    assert not os.path.islink(tmp_path / "heat.png") and cv2.imread(str(tmp_path / "heat.png")) is not None


def test_a_run_from_the_command_line_saves_the_heatmap(tmp_path):
    """A real pipeline (colour mask, contours, track, heatmap) over a generated video: the saved heat is along
    the path the blob took, and the written frames carry the overlay."""
    from media import run_cli

    clip = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 25, (W, H))
    for i in range(30):
        img = np.full((H, W, 3), 90, np.uint8)
        cv2.circle(img, (60 + 8 * i, 150), 12, (0, 0, 255), -1)  # bottom at y = 162
        writer.write(img)
    writer.release()
    preset = tmp_path / "p.yaml"
    heat = tmp_path / "heat.png"
    preset.write_text(
        "pipeline:\n"
        "  - plugin: in_range\n    params: {space: hsv, lower: [0, 120, 90], upper: [179, 255, 255]}\n"
        "  - plugin: contours\n    params: {min_area: 100, draw: none}\n"
        "  - plugin: track\n"
        f"  - plugin: heatmap\n    params: {{save: '{heat}', radius: 8, opacity: 1.0}}\n"
    )
    res = run_cli("run", clip, "-p", str(preset), "-o", str(tmp_path / "f_%03d.png"), "-q")
    assert res.returncode == 0, res.stderr
    picture = cv2.imread(str(heat))
    cap = cv2.VideoCapture(clip)
    cap.set(cv2.CAP_PROP_POS_FRAMES, 29)
    last = cap.read()[1]  # the saved heat lies over the last frame
    changed = np.abs(picture.astype(int) - last).max(axis=2) > 20
    ys, xs = np.nonzero(changed)
    assert len(ys) and ys.min() >= 162 - 9 and ys.max() <= 162 + 9  # heat along the blob's bottom edge (radius 8)
    assert xs.min() < 80 and xs.max() > 280  # ... from where it started to where it ended
    assert np.any(cv2.imread(str(tmp_path / "f_029.png"))[162, 100] != 0)  # the overlay on the mask frame
