"""What detection drawings share, whoever draws them (the annotate plugin with OpenCV, the GUI with Qt)."""

from __future__ import annotations

from vidcv.detections import Classification, Detections

#: colours in RGB, one per class id or track id (ultralytics' palette order)
PALETTE_RGB = [
    (255, 56, 56),
    (255, 157, 151),
    (255, 112, 31),
    (255, 178, 29),
    (207, 210, 49),
    (72, 249, 10),
    (146, 204, 23),
    (61, 219, 134),
    (26, 147, 52),
    (0, 212, 187),
    (44, 153, 168),
    (0, 194, 255),
    (52, 69, 147),
    (100, 115, 255),
    (0, 24, 236),
    (132, 56, 255),
    (82, 0, 133),
    (203, 56, 255),
]


def color_rgb(key: int) -> tuple[int, int, int]:
    return PALETTE_RGB[int(key) % len(PALETTE_RGB)]


def color_key(dets: Detections, i: int, by_track: bool) -> int:
    """The palette index of detection ``i``: its track id when asked and tracked, else its class id."""
    if by_track and dets.tracker_id is not None and dets.tracker_id[i] >= 0:
        return int(dets.tracker_id[i])
    return int(dets.class_id[i])


def label_text(dets: Detections, i: int, confidence: bool = True) -> str:
    """'#7 person 0.91': track id (when tracked), class name, confidence."""
    text = dets.class_name(dets.class_id[i])
    if dets.tracker_id is not None and dets.tracker_id[i] >= 0:
        text = f"#{int(dets.tracker_id[i])} {text}"
    return f"{text} {float(dets.confidence[i]):.2f}" if confidence else text


#: COCO's 17-keypoint skeleton (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles), as pairs
#: of keypoint indices (ultralytics' plotting order).
COCO_SKELETON = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
]
KEYPOINT_MIN_CONF = 0.5  #: keypoints less sure than this are not drawn (ultralytics draws from 0.5 too)


def skeleton(keypoint_count: int) -> list[tuple[int, int]]:
    """The lines to draw between keypoints: COCO's skeleton for 17 keypoints, none otherwise (points only)."""
    return COCO_SKELETON if keypoint_count == 17 else []


def banner_lines(classification: Classification, count: int = 3) -> list[str]:
    """A classifier's top classes as lines of a banner: 'circle 0.93'."""
    return [
        f"{classification.class_name(c)} {float(p):.2f}"
        for c, p in zip(classification.class_id[:count], classification.confidence[:count])
    ]
