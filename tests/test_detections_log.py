"""The detection log sink (vidcv/sinks/detections_log.py): written line by line under its temporary name,
renamed when complete; what an earlier run left is kept as NAME.recovered.EXT. Its disk-full and SIGKILL
cases run the real command: tests/cli/test_run_disk_full.py and tests/cli/test_run_signals.py."""

import json

import numpy as np

from vidcv.fileio import visible_partial_name
from vidcv.frame import Frame
from vidcv.sinks.detections_log import DetectionsLogSink, keep_killed_log


def frame(index: int) -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), index, index * 40.0)


def test_each_line_reaches_the_file_as_it_is_written(tmp_path):
    path = tmp_path / "d.jsonl"
    sink = DetectionsLogSink(str(path))
    tmp = visible_partial_name(str(path))
    for i in range(3):
        sink.write(frame(i))
        # another reader (or what a SIGKILL leaves) sees every frame so far, in whole lines
        assert [json.loads(x)["frame"] for x in open(tmp).read().splitlines()] == list(range(i + 1))
    assert not path.exists() and (sink.frames, sink.bytes) == (3, len(open(tmp, "rb").read()))
    sink.close()
    sink.close()  # twice is fine
    assert [json.loads(x)["frame"] for x in path.read_text().splitlines()] == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.jsonl"]


def test_an_earlier_runs_log_is_kept_beside_cut_to_its_whole_lines(tmp_path):
    target = str(tmp_path / "d.jsonl")
    tmp = visible_partial_name(target)
    with open(tmp, "w") as fh:
        fh.write('{"frame":0}\n{"frame":1}\n{"fra')  # cut off in the middle of a line
    assert keep_killed_log(target) == (str(tmp_path / "d.recovered.jsonl"), 2)
    assert (tmp_path / "d.recovered.jsonl").read_text() == '{"frame":0}\n{"frame":1}\n'
    with open(tmp, "w") as fh:
        fh.write('{"frame":0}\n' * 20_000)  # longer than one block read from the end
    assert keep_killed_log(target) == (str(tmp_path / "d.recovered-2.jsonl"), 20_000)
    with open(tmp, "w") as fh:
        fh.write('{"fra')  # no whole line: nothing to keep, left for removal with the other leftovers
    assert keep_killed_log(target) is None
    assert keep_killed_log(str(tmp_path / "none.jsonl")) is None
