"""Event clips with pre-roll (vidcv.sinks.events): a clip from the keyframe at or before t - pre to t + post,
events close together in one clip, every event a line of events.jsonl naming its clip, with a real encoder."""

from __future__ import annotations

import json
import os

import av
import pytest

from media import decode_index, encode_index
from vidcv.frame import Frame
from vidcv.sinks.events import EventsSink
from vidcv.status import EventKind, SceneEvent, StageStatus

FPS = 25


def frames_with_events(count: int, event_frames: dict[int, EventKind]):
    for i in range(count):
        f = Frame(encode_index(i), i, i * 1000.0 / FPS)
        if i in event_frames:
            event = SceneEvent(event_frames[i], i, f.pts_ms, stage="zone", zone="door", track_id=i)
            f.record_status("zone", StageStatus(events=(event,)))
        yield f


def decoded_numbers(path: str) -> list[int]:
    with av.open(path) as c:
        return [decode_index(fr.to_ndarray(format="bgr24")) for fr in c.decode(video=0)]


def run_sink(tmp_path, count, event_frames, pre=2.0, post=2.0, **kw):
    sink = EventsSink(str(tmp_path / "events"), pre, post, FPS, source="test.mp4", **kw)
    for f in frames_with_events(count, event_frames):
        sink.write(f)
    sink.close()
    lines = [json.loads(x) for x in (tmp_path / "events" / "events.jsonl").read_text().splitlines()]
    return sink, lines


def test_a_clip_starts_at_the_keyframe_before_t_minus_pre_and_ends_after_t_plus_post(tmp_path):
    # events at 4.0 s and 5.0 s (one clip: the second extends it to 7.0 s), and at 10.0 s (a second clip)
    sink, lines = run_sink(tmp_path, 300, {100: EventKind.ZONE_ENTER, 125: EventKind.DWELL, 250: EventKind.ZONE_EXIT})
    assert [(x["frame"], x["kind"], x["zone"], x["track_id"]) for x in lines] == [
        (100, "zone_enter", "door", 100),
        (125, "dwell", "door", 125),
        (250, "zone_exit", "door", 250),
    ]
    assert lines[0]["clip"] == lines[1]["clip"] != lines[2]["clip"]
    assert len(sink.clips) == 2 and all(os.path.isfile(p) for p in sink.clips)
    assert sorted(os.listdir(tmp_path / "events")) == sorted(["events.jsonl", *map(os.path.basename, sink.clips)])
    first = decoded_numbers(sink.clips[0])
    # pre-roll: from the keyframe at or before t - pre = 2.0 s (frame 50: a keyframe every 25 frames), no later
    # and at most one GOP earlier; post: to t + post of the later event (7.0 s, frame 175) or beyond
    assert first[0] == 50 and lines[0]["clip_from_t"] == pytest.approx(2.0)
    assert first[-1] >= 175 and first == list(range(first[0], first[-1] + 1))  # every frame, in order
    second = decoded_numbers(sink.clips[1])
    assert second[0] == 200 and second[-1] == 299  # the run ended before t + post: to the last frame
    assert lines[2]["clip_from_t"] == pytest.approx(8.0)


@pytest.mark.parametrize("event_frame", [10, 37, 61])
def test_the_pre_roll_is_honoured_within_one_gop_wherever_the_event_falls(tmp_path, event_frame):
    pre, post = 1.0, 0.5
    sink, lines = run_sink(tmp_path, 120, {event_frame: EventKind.CLASS_APPEARED}, pre=pre, post=post)
    got = decoded_numbers(sink.clips[0])
    want_from = max(0, event_frame - pre * FPS)
    assert want_from - FPS < got[0] <= want_from  # no later than t - pre, less than a GOP earlier
    assert got[-1] >= event_frame + post * FPS
    assert lines[0]["clip_from_t"] == pytest.approx(got[0] / FPS)


def test_without_a_folder_only_the_receivers_get_the_events_and_nothing_is_encoded(tmp_path):
    got = []

    class Receiver:
        def send(self, payload):
            got.append(payload)

    sink = EventsSink(None, receivers=[Receiver()], source="cam")
    for f in frames_with_events(30, {3: EventKind.LINE_CROSS, 9: EventKind.COUNT_ABOVE}):
        sink.write(f)
    sink.close()
    assert [(p["frame"], p["kind"], p["source"]) for p in got] == [(3, "line_cross", "cam"), (9, "count_above", "cam")]
    assert "clip" not in got[0] and sink._worker is None and os.listdir(tmp_path) == []


def test_events_append_to_an_existing_log_and_clip_names_never_overwrite(tmp_path):
    run_sink(tmp_path, 60, {30: EventKind.ZONE_ENTER})
    sink, lines = run_sink(tmp_path, 60, {30: EventKind.ZONE_ENTER})
    assert len(lines) == 2 and lines[0]["clip"] != lines[1]["clip"]
    assert all(os.path.isfile(tmp_path / "events" / x["clip"]) for x in lines)


def test_two_sinks_open_at_once_never_share_a_clip_name_nor_take_a_partial_one(tmp_path, monkeypatch):
    import vidcv.sinks.events as events

    # the same video opened twice within a second: one stem for both sinks' clips
    monkeypatch.setattr(events, "clip_name", lambda event, wall: "20261207-233534_f000030_zone_enter_door")
    folder = tmp_path / "events"
    folder.mkdir()
    leftover = folder / "20261207-233534_f000030_zone_enter_door.partial.mp4"
    leftover.write_bytes(b"a killed run's clip")
    sinks = [EventsSink(str(folder), 0.5, 0.5, FPS) for _ in range(2)]
    for frame in frames_with_events(40, {30: EventKind.ZONE_ENTER}):
        for sink in sinks:  # the first clip's file is not yet made when the second sink names its own
            sink.write(frame)
    names = [os.path.basename(sink.clips[0]) for sink in sinks]
    for sink in sinks:
        sink.close()
    assert names == [
        "20261207-233534_f000030_zone_enter_door-2.mp4",
        "20261207-233534_f000030_zone_enter_door-3.mp4",
    ]
    assert leftover.read_bytes() == b"a killed run's clip"
    assert all(decoded_numbers(str(folder / name))[-1] == 39 for name in names)
    assert not events._NAMED  # closed sinks hold no names


def test_a_planted_link_for_the_events_log_is_refused(tmp_path):
    from vidcv.errors import OutputError

    target = tmp_path / "victim.txt"
    target.write_text("keep")
    (tmp_path / "events").mkdir()
    os.symlink(target, tmp_path / "events" / "events.jsonl")
    with pytest.raises(OutputError):
        EventsSink(str(tmp_path / "events"))
    assert target.read_text() == "keep"


def test_a_folder_that_cannot_be_made_is_one_output_error_naming_it(tmp_path):
    from vidcv.errors import OutputError

    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="file/events"):
        EventsSink(str(tmp_path / "file" / "events"))
