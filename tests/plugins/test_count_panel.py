"""The count stage's figures ("in 1  out 3") stay readable: written in a corner that the detections' boxes and
the labels annotate draws over them later leave free, and kept in that corner while it stays free (issue 24
item 10: on the bundled sample, labels covered them on 80 of 300 frames of track_shapes)."""

import cv2
import numpy as np
from plugin_helpers import REG

from vidcv.bundled import bundled_preset, sample_video
from vidcv.detections import Detections
from vidcv.drawing import CORNERS, Rect, label_text, labelled_boxes, overlaps, panel_rect, place_panel
from vidcv.frame import Frame
from vidcv.pipeline import Pipeline
from vidcv.presets import load_preset


def annotate_label_rects(dets: Detections) -> list[Rect]:
    """The label rectangles as the annotate plugin fills them (plugins/annotate.py), and the boxes."""
    rects = []
    for i in range(len(dets)):
        x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
        (tw, th), base = cv2.getTextSize(label_text(dets, i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(th + base, y1)
        rects += [(x1, top - th - base, x1 + tw + 3, top + 1), (x1, y1, x2 + 1, y2 + 1)]
    return rects


def tracked(boxes, ids) -> Detections:
    return Detections(boxes, [0.9] * len(boxes), [1] * len(boxes), {1: "triangle"}, tracker_id=np.array(ids))


def test_a_panel_takes_the_first_free_corner_and_stays_while_it_is_free():
    size, image = (120, 30), (640, 360)
    assert place_panel(size, image, []) == 0
    top_left = [(0, 0, 200, 80)]
    assert place_panel(size, image, top_left) == 1  # top right
    assert place_panel(size, image, top_left + [(500, 0, 640, 60)]) == 2  # bottom left
    assert place_panel(size, image, [], prefer=3) == 3  # where it was: it does not jump back
    everywhere = [(0, 0, 640, 360)]
    assert place_panel(size, image, everywhere + [(0, 0, 200, 80)], prefer=0) == 1  # the least covered
    assert len(CORNERS) == 4


def test_label_bands_cover_what_annotate_draws():
    dets = tracked([[100, 5, 140, 40], [300, 100, 320, 130]], [3, 12])
    bands = labelled_boxes(dets, (640, 360))
    for drawn in annotate_label_rects(dets):
        assert any(overlaps(drawn, band) == (drawn[2] - drawn[0]) * (drawn[3] - drawn[1]) for band in bands)


def test_the_counts_move_away_from_labels_and_stay_clear_of_them():
    pipeline = Pipeline([REG.create("count", line=[320, 0, 320, 360]), REG.create("annotate", color_by="track")])
    count = pipeline.stages[0].plugin
    image = np.full((360, 640, 3), 90, np.uint8)
    for i, x in enumerate(range(0, 200, 10)):  # a labelled object crossing the top left corner
        frame = Frame(image.copy(), i, i * 33.3)
        frame.detections = tracked([[x, 10 + i, x + 60, 70 + i]], [7])
        out = pipeline.process(frame)
        assert count.panel is not None
        for rect in annotate_label_rects(out.detections):
            assert overlaps(count.panel, rect) == 0, (i, count.panel, rect)
    assert count.corner == 1  # top right, taken when the object came; not back while it is still there


def test_the_counts_stay_readable_on_the_sample():
    pipeline = load_preset(bundled_preset("track_shapes"))
    count = pipeline.stages[2].plugin
    cap = cv2.VideoCapture(sample_video())
    covered, frames = [], 0
    for i in range(135):
        ok, image = cap.read()
        assert ok
        if i < 90:  # labels crossed the top left corner from frame 97 on
            continue
        out = pipeline.process(Frame(image, i, i * 1000 / 30))
        frames += 1
        assert count.panel is not None
        if any(overlaps(count.panel, rect) for rect in annotate_label_rects(out.detections)):
            covered.append(i)
    cap.release()
    assert frames == 45 and covered == []


def test_the_panel_is_drawn_in_its_corner():
    plugin = REG.create("count", line=[50, 0, 50, 200])
    out = plugin.process(Frame(np.full((200, 320, 3), 200, np.uint8), 0, 0.0))
    x1, y1, x2, y2 = plugin.panel
    assert (x1, y1) == panel_rect(0, (x2 - x1, y2 - y1), (320, 200))[:2]
    inside = out.image[y1:y2, x1:x2]
    assert inside.min() < 100 and inside.max() > 240  # dark panel, white figures
