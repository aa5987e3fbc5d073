"""`vidcv sources` (vidcv/cli/sources.py): the cameras of this machine.

Named test_cli_sources, not test_sources: the test folders are not packages, so test module names must be
unique across them, and tests/test_sources.py tests the sources themselves (vidcv/sources/).
"""

import json
import os

from media import run_cli


def test_sources_says_plainly_when_there_are_no_cameras():
    res = run_cli("sources")
    assert res.returncode == 0
    if not os.path.exists("/dev/video0"):
        assert "No cameras found" in res.stdout
    assert json.loads(run_cli("sources", "--json").stdout).keys() == {"cameras"}
