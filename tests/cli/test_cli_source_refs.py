"""SOURCE as ``env:NAME`` or ``@FILE`` (vidcv/sources/reference.py): a stream's password kept off the command
line, read by `vidcv run`, `vidcv batch` and `vidcv extract` as the plain SOURCE, and written nowhere."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from media import run_cli
from vidcv.errors import SourceError
from vidcv.sources import FileSource, StreamSource, parse_source

SECRET = "s3cretPw"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: a stream there is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDCV_TEST_")}
    return {**env, **values}


def source_file(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_text(text)
    path.chmod(mode)
    return f"@{path}"


def files_holding(root: Path, text: str, skip: tuple[Path, ...] = ()) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and p not in skip and text.encode() in p.read_bytes()]


def test_env_and_file_give_the_frames_of_the_plain_path(tmp_path, video_file):
    specs = {
        "plain": video_file,
        "env": "env:VIDCV_TEST_CLIP",
        "file": source_file(tmp_path / "clip.txt", f"# the clip\n\n  {video_file}  \n"),
    }
    frames = {}
    for name, spec in specs.items():
        out = tmp_path / name
        res = run_cli(
            "run",
            spec,
            "-o",
            str(out / "f_%03d.png"),
            "--max-frames",
            "8",
            "--stats-json",
            str(tmp_path / f"{name}.json"),
            "-q",
            env=with_env(VIDCV_TEST_CLIP=video_file),
        )
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""  # a file of mode 600: no warning
        frames[name] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        assert json.loads((tmp_path / f"{name}.json").read_text())["frames"] == 8
    assert len(frames["plain"]) == 8 and frames["env"] == frames["plain"] and frames["file"] == frames["plain"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("env:VIDCV_TEST_UNSET", "env:VIDCV_TEST_UNSET: the environment variable VIDCV_TEST_UNSET is not set"),
        ("env:VIDCV_TEST_EMPTY", "env:VIDCV_TEST_EMPTY: the environment variable VIDCV_TEST_EMPTY is empty"),
        ("env:", "'env:' names no environment variable"),
        ("@{tmp}/missing.txt", "@{tmp}/missing.txt: cannot read it (No such file or directory)"),
        ("@{tmp}/empty.txt", "@{tmp}/empty.txt holds no SOURCE"),
        (
            "@{tmp}/two.txt",
            "@{tmp}/two.txt holds 2 lines and one SOURCE is read here; several video files go to "
            "vidcv batch @{tmp}/two.txt",
        ),
    ],
)
def test_a_missing_variable_or_file_is_one_clear_error_line(tmp_path, spec, says):
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    (tmp_path / "two.txt").write_text("a.mp4\nb.mp4\n")
    res = run_cli("run", spec.format(tmp=tmp_path), "-q", env=with_env(VIDCV_TEST_EMPTY="  "))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [res.stderr.strip()] and res.stderr.startswith("vidcv: error: ")
    assert says.format(tmp=tmp_path) in res.stderr


def test_a_mistyped_url_in_a_reference_is_not_quoted_in_the_error(monkeypatch):
    monkeypatch.setenv("VIDCV_TEST_CAM", f"rtsp:/admin:{SECRET}@cam.local/live")  # one slash: taken for a path
    with pytest.raises(SourceError) as err:
        parse_source("env:VIDCV_TEST_CAM")
    assert "no such file or folder: env:VIDCV_TEST_CAM " in str(err.value) and SECRET not in str(err.value)


def test_parse_source_reads_the_reference_and_labels_the_value_without_credentials(monkeypatch, video_file):
    monkeypatch.setenv("VIDCV_TEST_CLIP", video_file)
    monkeypatch.setenv("VIDCV_TEST_CAM", f"rtsp://admin:{SECRET}@cam.local/live")
    clip = parse_source("env:VIDCV_TEST_CLIP")
    assert isinstance(clip, FileSource) and clip.label == video_file
    cam = parse_source(" env:VIDCV_TEST_CAM ")
    assert isinstance(cam, StreamSource) and cam.label == "rtsp://***@cam.local/live"


@pytest.mark.parametrize("how", ["env", "file 600", "file 644"])
def test_a_stream_password_from_env_or_file_is_written_and_printed_nowhere(tmp_path, closed_port, how):
    url = f"rtsp://admin:{SECRET}@127.0.0.1:{closed_port}/cam"
    cam_txt = tmp_path / "cam.txt"
    spec = "env:VIDCV_TEST_CAM" if how == "env" else source_file(cam_txt, url + "\n", int(how[-3:], 8))
    out = tmp_path / "out"
    res = run_cli(
        "run",
        spec,
        "-p",
        "edges",
        "--reconnect-attempts",
        "1",
        "-o",
        str(out / "rec.mkv"),
        "--stats-json",
        str(out / "stats.json"),
        "--detections-jsonl",
        str(out / "det.jsonl"),
        env=with_env(VIDCV_TEST_CAM=url),
    )
    assert res.returncode == 1
    assert SECRET not in res.stdout + res.stderr
    assert f"rtsp://***@127.0.0.1:{closed_port}/cam" in res.stderr and "gave up after 1" in res.stderr
    assert json.loads((out / "stats.json").read_text())["frames"] == 0
    assert files_holding(tmp_path, SECRET, skip=(cam_txt,)) == []
    warned = f"{cam_txt} holds a password and other users may read it (mode 0644): chmod 600 {cam_txt}"
    assert (warned in res.stderr) == (how == "file 644")


def test_batch_reads_env_as_the_video_it_names_and_records_the_path(tmp_path, video_file):
    res = run_cli(
        "batch",
        "env:VIDCV_TEST_CLIP",
        "-p",
        "edges",
        "--out",
        str(tmp_path / "res"),
        "--max-frames",
        "3",
        "-q",
        env=with_env(VIDCV_TEST_CLIP=video_file),
    )
    assert res.returncode == 0, res.stderr
    [line] = (tmp_path / "res" / "batch.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (record["source"], record["out"], record["status"]) == (video_file, "input", "ok")
    assert json.loads((tmp_path / "res" / "input" / "stats.json").read_text())["frames"] == 3


def test_batch_refuses_a_stream_from_env_or_a_list_without_printing_its_password(tmp_path):
    url = f"rtsp://admin:{SECRET}@127.0.0.1:9/cam"
    listed = source_file(tmp_path / "list.txt", f"{url}\n", 0o644)
    for spec, says in [
        ("env:VIDCV_TEST_CAM", "env:VIDCV_TEST_CAM (rtsp://***@127.0.0.1:9/cam): vidcv batch reads video files"),
        (listed, f"rtsp://***@127.0.0.1:9/cam (in {listed}): vidcv batch reads video files"),
    ]:
        res = run_cli(
            "batch", spec, "-p", "edges", "--out", str(tmp_path / "res"), "-q", env=with_env(VIDCV_TEST_CAM=url)
        )
        assert res.returncode == 1 and says in res.stderr, res.stderr
        assert SECRET not in res.stdout + res.stderr
    assert files_holding(tmp_path, SECRET, skip=(tmp_path / "list.txt",)) == []


def test_batch_refuses_an_env_path_that_names_nothing_before_recording_it(tmp_path):
    res = run_cli(
        "batch",
        "env:VIDCV_TEST_CLIP",
        "-p",
        "edges",
        "--out",
        str(tmp_path / "res"),
        "-q",
        env=with_env(VIDCV_TEST_CLIP=f"rtsp:/admin:{SECRET}@cam/x"),
    )  # mistyped: no URL, no file
    assert res.returncode == 1 and "env:VIDCV_TEST_CLIP: no such file or folder" in res.stderr, res.stderr
    assert SECRET not in res.stdout + res.stderr and files_holding(tmp_path, SECRET) == []


def test_extract_names_the_frames_of_env_as_those_of_the_plain_path(tmp_path, video_file):
    names = {}
    for name, spec in {"plain": video_file, "env": "env:VIDCV_TEST_CLIP"}.items():
        out = tmp_path / name
        res = run_cli(
            "extract",
            spec,
            "-p",
            "edges",
            "--out",
            str(out),
            "--every",
            "10",
            "--negatives-only",
            "-q",
            env=with_env(VIDCV_TEST_CLIP=video_file),
        )
        assert res.returncode == 0, res.stderr
        names[name] = sorted(p.name for p in (out / "images").rglob("*.jpg"))
    assert names["env"] == names["plain"] and len(names["plain"]) == 6
