"""annotate draws the detections onto the frame, in the right place whatever geometry came before."""

import numpy as np
from plugin_helpers import REG

from vidcv.detections import Detections
from vidcv.drawing import color_rgb
from vidcv.frame import Frame
from vidcv.tracks import TrackHistory


def frame_with(dets, shape=(100, 160, 3)):
    f = Frame(np.zeros(shape, np.uint8), 0, 0.0)
    f.detections = dets
    return f


def test_boxes_labels_and_masks_are_drawn():
    masks = np.zeros((1, 100, 160), bool)
    masks[0, 60:80, 100:140] = True
    dets = Detections(
        [[10, 20, 50, 60], [100, 60, 140, 80]],
        [0.9, 0.5],
        [0, 1],
        {0: "face", 1: "cat"},
        masks=np.concatenate([np.zeros((1, 100, 160), bool), masks]),
    )
    out = REG.create("annotate").process(frame_with(dets))
    img = out.image
    assert out.color_space == "bgr" and img.shape == (100, 160, 3)
    assert img[40, 10].any() and img[40, 50].any()  # left and right edges of the first box
    assert not img[40, 30].any()  # its inside is not filled
    assert img[70, 120].any()  # the mask is filled
    plain = REG.create("annotate", labels=False, masks=False).process(frame_with(dets)).image
    assert not plain[70, 120].any() and plain.sum() < img.sum()


def test_track_colours_and_trails():
    """Trails come from the 'trail' data a tracker attaches: the track's centres, drawn in its colour."""
    plugin = REG.create("annotate", color_by="track", trail=10, labels=False)
    history = TrackHistory()
    for i in range(5):
        dets = Detections([[10 + 10 * i, 10, 30 + 10 * i, 30]], [0.9], [0], {0: "x"}, tracker_id=[7])
        out = plugin.process(frame_with(history.annotate(dets, 33.3 * i)))
    assert len(out.detections.data["trail"][0]) == 5
    b, g, r = color_rgb(7)[::-1]
    assert (out.image[20, 25:55] == (b, g, r)).all(axis=1).all()  # the centres from x=20 to x=60, at y=20
    no_trail = REG.create("annotate", color_by="track", trail=0, labels=False).process(
        frame_with(history.annotate(dets, 200.0))
    )
    assert not no_trail.image[20, 25:45].any()


def test_after_a_resize_the_boxes_land_on_the_resized_image():
    big = Frame(np.zeros((200, 320, 3), np.uint8), 0, 0.0)
    small = REG.create("resize", scale=0.5).process(big)
    small.detections = Detections([[100, 100, 200, 150]], [0.9], [0], {0: "x"})  # source pixels
    out = REG.create("annotate", labels=False, thickness=1).process(small)
    ys, xs = np.nonzero(out.image.any(axis=2))
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (50, 50, 100, 75)
