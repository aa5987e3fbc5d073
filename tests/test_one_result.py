"""One result everywhere by default (issue 23, item 1): on saturated, textured footage (MPEG-4 and H.264), the
window's processed frame, `vidcv run`'s output and the exported script's process() are bit-equal to each
other and to the direct OpenCV calls on the BGR decode. The luma path is opt-in (--gray-decode, a preset's
`decode: luma`), said in the stats, and the window follows a preset's choice as `vidcv run` does."""

import importlib.util
import json
import os
import sys

import av
import cv2
import numpy as np
import pytest

from media import run_cli, write_textured_video
from vidcv.bundled import bundled_preset
from vidcv.sources.file import choose_backend

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the window's session and readout, without a screen

FRAMES = 10
SIZE = (320, 240)

PRESETS = {
    "edges": None,  # the bundled preset: color to gray, Gaussian 5x5, Canny 50/150
    "binary": "pipeline:\n  - plugin: threshold\n    params: {method: binary, thresh: 127}\n",
    "otsu_open": (
        "pipeline:\n  - plugin: threshold\n    params: {method: otsu}\n"
        "  - plugin: morphology\n    params: {op: open, shape: rect, ksize: 3}\n"
    ),
}


def direct(name: str, bgr: np.ndarray) -> np.ndarray:
    """What each pipeline is, as plain OpenCV calls on a BGR frame."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if name == "edges":
        return cv2.Canny(cv2.GaussianBlur(gray, (5, 5), 0), 50, 150, apertureSize=3, L2gradient=False)
    if name == "binary":
        return cv2.threshold(gray, 127, 255, cv2.THRESH_BINARY)[1]
    binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    return cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)), iterations=1)


def bgr_decode(path: str) -> list[np.ndarray]:
    """Every frame of ``path`` as BGR, by the decoder vidcv picks for that file (``choose_backend``)."""
    with av.open(path) as inp:
        stream = inp.streams.video[0]
        backend = choose_backend((stream.width, stream.height))
        if backend == "pyav":
            return [frame.to_ndarray(format="bgr24") for frame in inp.decode(stream)]
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture(scope="module", params=["mpeg4", "h264"])
def clip(request, tmp_path_factory):
    path = str(tmp_path_factory.mktemp(request.param) / f"texture_{request.param}.mp4")
    write_textured_video(path, FRAMES, request.param, SIZE)
    return path


def preset_file(name: str, folder) -> str:
    if PRESETS[name] is None:
        return bundled_preset(name)
    path = os.path.join(folder, f"{name}.yaml")
    with open(path, "w") as fh:
        fh.write(PRESETS[name])
    return path


def run_outputs(clip: str, preset: str, folder: str, *extra: str) -> tuple[list[np.ndarray], dict]:
    """`vidcv run`'s frames as a PNG sequence (lossless) and its --stats-json."""
    frames, stats = os.path.join(folder, "frames/"), os.path.join(folder, "stats.json")
    res = run_cli("run", clip, "-p", preset, "-o", frames, "--stats-json", stats, "-q", *extra)
    assert res.returncode == 0, res.stderr
    names = sorted(os.listdir(frames))
    assert len(names) == FRAMES
    out = [cv2.imread(os.path.join(frames, n), cv2.IMREAD_UNCHANGED) for n in names]
    with open(stats) as fh:
        return out, json.load(fh)


def window_frames(qtbot, preset: str, clip: str) -> tuple[list[np.ndarray], object]:
    """The processed frames the window shows for ``clip`` with ``preset`` loaded (its Session, every frame of
    the run in order) and the run's last summary."""
    from vidcv.ui.session import Session

    session = Session()
    got = []
    shown = session._on_frame  # the window's sink: every processed frame passes here, in order
    session._on_frame = lambda frame: (got.append(frame), shown(frame))
    try:
        session.load_preset(preset)
        session.set_realtime(False)
        assert session.open_source(clip)
        qtbot.waitUntil(lambda: session.runner.at_end and len(got) == FRAMES, timeout=20000)
        summary = session.runner.summary()
    finally:
        assert session.shutdown(10)
    assert [f.index for f in got] == list(range(FRAMES))
    assert all(f.source_image.ndim == 3 for f in got)  # the original stays colour in the window
    return [f.image for f in got], summary


def script_frames(preset: str, clip: str, folder: str) -> list[np.ndarray]:
    """The exported script's process() on the BGR decode."""
    script = os.path.join(folder, "exported.py")
    res = run_cli("export-script", preset, "-o", script)
    assert res.returncode == 0, res.stderr
    spec = importlib.util.spec_from_file_location(f"exported_{abs(hash(folder))}", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return [module.process(module.Frame(bgr, i, i * 1000 / 30)).image for i, bgr in enumerate(bgr_decode(clip))]


@pytest.mark.parametrize("name", list(PRESETS))
def test_window_run_and_script_are_bit_equal_to_opencv_on_the_bgr_decode(qtbot, clip, name, tmp_path):
    preset = preset_file(name, tmp_path)
    want = [direct(name, bgr) for bgr in bgr_decode(clip)]
    assert len(want) == FRAMES
    ran, stats = run_outputs(clip, preset, str(tmp_path))
    assert stats["decode"] == "bgr"
    shown, summary = window_frames(qtbot, preset, clip)
    assert summary.decode == "bgr"
    scripted = script_frames(preset, clip, str(tmp_path))
    for i in range(FRAMES):
        assert want[i].any() and not want[i].all()  # the frames hold something to compare
        assert np.array_equal(ran[i], want[i]), f"vidcv run, frame {i}"
        assert np.array_equal(shown[i], want[i]), f"the window, frame {i}"
        assert np.array_equal(scripted[i], want[i]), f"the exported script, frame {i}"


def test_the_luma_path_is_opt_in_said_in_the_stats_and_the_window_follows_the_preset(qtbot, tmp_path):
    clip = write_textured_video(str(tmp_path / "texture.mp4"), FRAMES, "h264", SIZE)
    want = [direct("edges", bgr) for bgr in bgr_decode(clip)]
    asked, stats = run_outputs(clip, "edges", str(tmp_path / "flag"), "--gray-decode")
    assert stats["decode"] == "luma"
    assert not all(np.array_equal(a, w) for a, w in zip(asked, want))  # saturated colours: not the same edges
    # a preset's decode: luma is the same path; --no-gray-decode overrides it
    with open(bundled_preset("edges")) as fh:
        luma = tmp_path / "luma.yaml"
        luma.write_text("decode: luma\n" + fh.read())
    preset_says, stats = run_outputs(clip, str(luma), str(tmp_path / "preset"))
    assert stats["decode"] == "luma" and all(np.array_equal(a, b) for a, b in zip(preset_says, asked))
    refused, stats = run_outputs(clip, str(luma), str(tmp_path / "refused"), "--no-gray-decode")
    assert stats["decode"] == "bgr" and all(np.array_equal(a, w) for a, w in zip(refused, want))
    # the window with that preset computes what vidcv run computes with it, and says so in its readout
    shown, summary = window_frames(qtbot, str(luma), clip)
    assert summary.decode == "luma"
    assert all(np.array_equal(a, b) for a, b in zip(shown, preset_says))


def test_a_window_edit_that_needs_colour_takes_the_colour_decode_again(qtbot, tmp_path):
    from vidcv.ui.session import Session

    clip = write_textured_video(str(tmp_path / "texture.mp4"), FRAMES, "mpeg4", SIZE)  # OpenCV decodes it at first
    luma = tmp_path / "luma.yaml"
    luma.write_text("decode: luma\n" + PRESETS["binary"])
    session = Session()
    try:
        session.set_realtime(False)
        assert session.open_source(clip)
        qtbot.waitUntil(lambda: session.runner.at_end, timeout=20000)
        assert session.runner.summary().decode == "bgr"
        session.load_preset(str(luma))  # while it runs: the next frames take the luma path
        session.seek(3)
        qtbot.waitUntil(lambda: session.last_frame is not None and session.last_frame.index == 3, timeout=20000)
        qtbot.waitUntil(lambda: session.runner.summary().decode == "luma", timeout=20000)
        assert session.last_frame.image.ndim == 2 and session.last_frame.source_image.ndim == 3
        bgr = bgr_decode(clip)[3]
        want = cv2.threshold(cv2.cvtColor(cv2.GaussianBlur(bgr, (5, 5), 0), cv2.COLOR_BGR2GRAY), 127, 255, 0)[1]
        session.add_stage("blur", 0)  # a first stage that works on colour: colour again, exactly (frame 3 redone)
        qtbot.waitUntil(lambda: np.array_equal(session.last_frame.image, want), timeout=20000)
        assert session.last_frame.index == 3 and session.runner.summary().decode == "bgr"
    finally:
        assert session.shutdown(10)


def test_the_readout_shows_the_luma_path_only_while_it_is_in_use(qtbot):
    from vidcv.stats import RunSummary
    from vidcv.ui.readout import Readout

    readout = Readout()
    qtbot.addWidget(readout)
    summary = RunSummary(10, 10, 1.0, 10.0, 0, 10.0, None, None)
    readout.update_from(summary, live=False)
    assert readout.decode_label.isHidden()
    readout.update_from(RunSummary(10, 10, 1.0, 10.0, 0, 10.0, None, None, decode="luma"), live=False)
    assert not readout.decode_label.isHidden() and "luma" in readout.decode_label.text()
    readout.update_from(None, live=False)
    assert readout.decode_label.isHidden()


def test_a_batch_decodes_colour_by_default_and_luma_when_asked(tmp_path):
    clip = write_textured_video(str(tmp_path / "texture.mp4"), FRAMES, "h264", SIZE)
    for extra, decode in (((), "bgr"), (("--gray-decode",), "luma")):
        out = tmp_path / f"out_{decode}"
        res = run_cli("batch", clip, "-p", "edges", "--out", str(out), "--workers", "1", "-q", *extra)
        assert res.returncode == 0, res.stderr
        stats = json.loads((out / "texture" / "stats.json").read_text())
        assert stats["decode"] == decode and stats["frames"] == FRAMES
