"""haar equals CascadeClassifier.detectMultiScale with the same arguments; finds the sample's astronaut."""

import cv2
import numpy as np
import pytest
from plugin_helpers import REG

from vidcv.errors import ParamError, PresetError
from vidcv.frame import Frame
from vidcv.plugins.haar import class_name_of, shipped_cascades


def sample_frames(indices=(0, 75, 150, 225)):
    from vidcv.bundled import sample_video

    cap = cv2.VideoCapture(sample_video())
    frames = {}
    for i in range(max(indices) + 1):
        ok, img = cap.read()
        if i in indices:
            frames[i] = img
    return frames


FRAMES = sample_frames()


def same_boxes(a, b):
    """The same boxes, in any order (OpenCV's grouping does not fix one)."""
    return a.shape == b.shape and np.array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])


@pytest.mark.parametrize(
    "cascade",
    ["haarcascade_frontalface_default", "haarcascade_frontalface_alt2", "haarcascade_eye", "haarcascade_profileface"],
)
@pytest.mark.parametrize(
    "scale_factor, min_neighbors, min_size, max_size, equalize",
    [(1.1, 5, 30, 0, True), (1.05, 3, 20, 200, False), (1.3, 1, 10, 0, True)],
)
def test_haar_equals_detectmultiscale(cascade, scale_factor, min_neighbors, min_size, max_size, equalize):
    classifier = cv2.CascadeClassifier(shipped_cascades()[cascade])
    plugin = REG.create(
        "haar",
        cascade=cascade,
        scale_factor=scale_factor,
        min_neighbors=min_neighbors,
        min_size=min_size,
        max_size=max_size,
        equalize=equalize,
    )
    for img in FRAMES.values():
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        if equalize:
            gray = cv2.equalizeHist(gray)
        expected = classifier.detectMultiScale(
            gray,
            scaleFactor=scale_factor,
            minNeighbors=min_neighbors,
            minSize=(min_size, min_size),
            maxSize=(max_size, max_size) if max_size else (0, 0),
        )
        expected = np.asarray(expected, np.float32).reshape(-1, 4)
        out = plugin.process(Frame(img.copy(), 0, 0.0))
        want = (
            np.column_stack([expected[:, :2], expected[:, :2] + expected[:, 2:]])
            if len(expected)
            else np.zeros((0, 4), np.float32)
        )
        assert same_boxes(out.detections.xyxy, want)
        assert np.all((out.detections.confidence > 0) & (out.detections.confidence < 1))
        assert np.array_equal(out.image, img)  # the image is left as it is


def test_the_sample_has_a_face_for_the_face_cascade():
    plugin = REG.create("haar")
    found = [len(plugin.process(Frame(img.copy(), 0, 0.0)).detections) for img in FRAMES.values()]
    assert sum(n >= 1 for n in found) >= 3
    dets = plugin.process(Frame(FRAMES[150].copy(), 0, 0.0)).detections
    assert {dets.class_name(c) for c in dets.class_id} == {"face"}


def test_class_names_come_from_the_cascade():
    assert class_name_of("haarcascade_frontalface_default") == "face"
    assert class_name_of("haarcascade_frontalcatface") == "cat face"
    assert class_name_of("haarcascade_fullbody.xml") == "person"
    assert class_name_of("/x/my_widget.xml") == "my_widget"


def test_a_cascade_by_path_and_bad_cascades(tmp_path):
    path = shipped_cascades()["haarcascade_eye"]
    assert REG.create("haar", cascade=path).names == {0: "eye"}
    with pytest.raises(ParamError, match="expected a cascade shipped with OpenCV .*haarcascade_eye"):
        REG.create("haar", cascade="haarcascade_nose")
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(ParamError, match="not a valid cascade file"):
        REG.create("haar", cascade=str(bad))
    from vidcv.presets import parse_preset

    with pytest.raises(PresetError, match="stage 0 \\(haar\\): parameter 'cascade'"):
        parse_preset("pipeline:\n  - plugin: haar\n    params: {cascade: nope}\n", REG)


def test_boxes_after_a_resize_are_in_source_pixels():
    img = FRAMES[150]
    direct = REG.create("haar", min_size=15).process(Frame(img.copy(), 0, 0.0)).detections
    frame = REG.create("resize", scale=0.75).process(Frame(img.copy(), 0, 0.0))
    small = REG.create("haar", min_size=15).process(frame).detections
    assert len(direct) >= 1 and len(small) >= 1
    best = small.xyxy[np.argmax(small.confidence)]
    ious = []
    for box in direct.xyxy:
        ix = max(0, min(box[2], best[2]) - max(box[0], best[0])) * max(0, min(box[3], best[3]) - max(box[1], best[1]))
        ious.append(ix / ((box[2] - box[0]) * (box[3] - box[1]) + (best[2] - best[0]) * (best[3] - best[1]) - ix))
    assert max(ious) > 0.6  # the same face, found at 3/4 size, reported where it is in the source
