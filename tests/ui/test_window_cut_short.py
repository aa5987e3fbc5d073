"""A window killed while it records leaves NAME.partial.mp4 in its recordings folder, visible and playable; the
next window names it in its status line at start (issue 23, item 2)."""

import os
import signal
import subprocess
import sys

import av

from media import wait_for_fragments

RECORD = """
import sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from vidcv.ui.main_window import MainWindow
from vidcv.ui.session import Session
from vidcv.ui.settings import Settings
window = MainWindow(Session(), Settings())
assert window.open_source("pattern:320x240@30")
window.toggle_record()
print(window.session.recording.path, flush=True)
while True:
    app.processEvents()
    time.sleep(0.02)
"""


def kill_while_recording(outputs: str, config: str) -> str:
    """A window (its own process) that records the test pattern, SIGKILLed once its recording holds two whole
    fragments; the path it was recording to."""
    env = {**os.environ, "VIDCV_OUTPUT_DIR": outputs, "VIDCV_CONFIG_DIR": config, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-c", RECORD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        path = proc.stdout.readline().strip()
        assert path, proc.stderr.read()
        growing = path[: -len(".mp4")] + ".partial.mp4"
        wait_for_fragments(proc, growing, 2)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    return path


def test_a_window_started_after_a_killed_recording_names_it_and_it_plays(make_window, tmp_path):
    recordings = tmp_path / "outputs" / "recordings"  # the window's, as the fixture sets VIDCV_OUTPUT_DIR
    path = kill_while_recording(str(tmp_path / "outputs"), str(tmp_path / "config-killed"))
    assert os.path.dirname(path) == str(recordings)
    left = os.listdir(recordings)
    name = os.path.basename(path)[: -len(".mp4")] + ".partial.mp4"  # vidcv_YYYYmmdd_HHMMSS.partial.mp4
    assert left == [name]  # visible, beside where the recording would be; never under its final name
    window = make_window()
    message = window.statusBar().currentMessage()
    assert message.startswith(f"a recording cut short is in {recordings / name} ("), message
    assert message.endswith(" s, playable)")
    # the file plays as it is, without vidcv
    with av.open(str(recordings / name)) as inp:
        got = []
        try:
            for frame in inp.decode(video=0):
                got.append(frame.to_ndarray(format="bgr24"))
        except av.InvalidDataError:  # the fragment the kill cut
            pass
    assert len(got) >= 20 and got[0].shape == (240, 320, 3)
    assert int(message.rsplit("(", 1)[1].split(" s")[0]) >= 1
    assert os.listdir(recordings) == [name]  # named, not moved nor changed
