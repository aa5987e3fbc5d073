"""The one program of the bundle (scripts/bundle.sh): ``vidcv`` and ``vidcv-gui`` are two copies of it.

It picks by the name of its own executable, so that the window and the command line share one folder of
libraries (``dist/vidcv/_internal``) and one analysis of the code: ``vidcv-gui`` runs the window
(``vidcv.ui.app``), anything else the command line (``vidcv.cli.main``). ``python -m MODULE`` has no meaning in
a frozen program, yet vidcv starts its children that way (``vidcv label`` the window, ``vidcv train`` its
child; ``vidcv.jobs.processes.start_module``) with ``sys.executable``, which here is this program: so
``-m MODULE ARGS`` runs MODULE as ``python -m`` would. Worker processes (``spawn``) come back in through
``multiprocessing.freeze_support``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def main() -> int:
    multiprocessing.freeze_support()  # a spawned worker (vidcv batch, vidcv extract) runs its target and exits here
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        import runpy

        module = sys.argv[2]
        sys.argv = [sys.argv[0], *sys.argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if os.path.basename(sys.executable).startswith("vidcv-gui"):
        from vidcv.ui.app import main as window

        return window()
    from vidcv.cli.main import main as command_line

    return command_line()


if __name__ == "__main__":
    sys.exit(main())
