"""PySide6 6.12.0 on CPython 3.11 drops a reference to True on every Signal.emit; after a few thousand emits the
interpreter aborts with `Fatal Python error: bool_dealloc`. 6.11.3, 6.10.3 and 6.9.3 do not. The pin keeps 6.12
out; this test keeps the pin honest."""

import subprocess
import sys
from importlib.metadata import version

CODE = r"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    changed = Signal(bool)
    value = Signal(int, bool)

app = QCoreApplication([])
e = Emitter()
got = []
e.changed.connect(lambda v: got.append(v))
e.value.connect(lambda i, v: None)
before = sys.getrefcount(True)
for i in range(20000):
    e.changed.emit(True)
    e.value.emit(i, True)
after = sys.getrefcount(True)
print(len(got), before - after)
"""


def test_pyside6_is_below_6_12():
    major, minor = (int(x) for x in version("PySide6").split(".")[:2])
    assert (major, minor) < (6, 12), "PySide6 6.12 aborts CPython 3.11 after many Signal.emit calls"


def test_many_thousand_signal_emits_keep_the_interpreter_alive():
    res = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr[-2000:]
    received, lost = map(int, res.stdout.split())
    assert received == 20000
    assert lost < 100  # a leaking build loses one reference to True per emit
