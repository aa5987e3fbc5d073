"""Symbolic links planted where vidcv writes: every place (outputs, partials, recovered files, locks, journals,
manifests, ledgers, dataset files and folders, staging folders, settings) is tried with a real link to a
victim file or folder, through the real command line; the victim is never changed, and a refusal is one line
naming the link."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from media import BLOBS, run_cli, write_video

pytestmark = pytest.mark.timeout(300)

SECRET = "ssh-ed25519 AAAA... user@host\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    preset = folder / "blobs.yaml"
    preset.write_text(BLOBS)
    return write_video(str(folder / "clip.mp4"), 12), str(preset)


@pytest.fixture
def victim(tmp_path):
    """A file outside every output (an ``authorized_keys`` stand-in), with its content and times."""
    path = tmp_path / "home" / "authorized_keys"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def victim_dir(tmp_path):
    """A folder outside every output, holding one file."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "keep.txt").write_text(SECRET)
    return folder


def untouched(path) -> bool:
    return path.read_text() == SECRET and not os.path.islink(path)


def folder_untouched(folder) -> bool:
    return sorted(os.listdir(folder)) == ["keep.txt"] and (folder / "keep.txt").read_text() == SECRET


def plant(link, target) -> None:
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(target, link)


def refused(res, link) -> bool:
    """One line on stderr saying that vidcv refused to write through ``link``."""
    lines = res.stderr.strip().splitlines()
    return (
        res.returncode != 0
        and len(lines) == 1
        and "refusing to write through" in lines[0]
        and os.path.basename(str(link)) in lines[0]
        and "Traceback" not in res.stderr
    )


# --- vidcv run ------------------------------------------------------------------------------------------------

RUN_REFUSED = {
    "video partial": ("o.mp4", "o.partial.mp4"),
    "video partial of earlier vidcvs": ("o.mp4", ".o.partial.mp4"),
    "video faststart copy": ("o.mp4", ".o.partial.faststart.mp4"),
    "detections log partial": ("d.jsonl", "d.partial.jsonl"),
    "detections log partial of earlier vidcvs": ("d.jsonl", ".d.partial.jsonl"),
    "stats partial": ("s.json", ".s.partial.json"),
    "image sequence partial": ("frames/", "frames/.frame_000000.partial.png"),
}


def run_args(clip, out, target):
    option = {".mp4": "--output", ".jsonl": "--detections-jsonl", ".json": "--stats-json"}.get(
        os.path.splitext(target)[1], "--output"
    )
    return ("run", clip[0], "-p", "edges", "--max-frames", "5", option, str(out / target))


@pytest.mark.parametrize("place", list(RUN_REFUSED))
def test_run_refuses_a_link_at_its_temporary_names(clip, tmp_path, victim, place):
    target, name = RUN_REFUSED[place]
    out = tmp_path / "o"
    plant(out / name, victim)
    res = run_cli(*run_args(clip, out, target))
    assert refused(res, name), res.stderr
    assert untouched(victim)
    assert os.path.islink(out / name)  # left for the user to see, not removed behind their back


@pytest.mark.parametrize("target", ["o.mp4", "d.jsonl", "s.json"])
def test_run_replaces_a_link_at_a_final_name_and_leaves_its_target(clip, tmp_path, victim, target):
    out = tmp_path / "o"
    plant(out / target, victim)
    res = run_cli(*run_args(clip, out, target))
    assert res.returncode == 0, res.stderr
    assert untouched(victim)
    assert not os.path.islink(out / target) and os.path.getsize(out / target) > 0


@pytest.mark.parametrize("partial", ["d.partial.jsonl", ".d.partial.jsonl"])
def test_a_recovered_log_is_never_written_through_a_link(clip, tmp_path, victim, partial):
    """A killed run's log is kept as NAME.recovered.EXT; a link planted at that name is passed over."""
    out = tmp_path / "o"
    out.mkdir()
    (out / partial).write_text('{"frame": 0}\n{"frame": 1}\n{"fra')
    plant(out / "d.recovered.jsonl", victim)
    res = run_cli(*run_args(clip, out, "d.jsonl"))
    assert res.returncode == 0, res.stderr
    assert untouched(victim)
    assert (out / "d.recovered-2.jsonl").read_text() == '{"frame": 0}\n{"frame": 1}\n'


@pytest.mark.parametrize("partial", ["d.partial.jsonl", ".d.partial.jsonl"])
def test_a_recovered_log_whose_partial_is_a_link_is_refused(clip, tmp_path, victim, partial):
    """The issue's probe: the link at the partial was cut back and kept as d.recovered.jsonl."""
    victim.write_text(SECRET + '{"fra')
    out = tmp_path / "o"
    plant(out / partial, victim)
    res = run_cli(*run_args(clip, out, "d.jsonl"))
    assert refused(res, partial), res.stderr
    assert victim.read_text() == SECRET + '{"fra'
    assert not os.path.lexists(out / "d.recovered.jsonl")


# --- vidcv batch ----------------------------------------------------------------------------------------------


def batch(clip, out):
    return run_cli("batch", clip[0], "-p", "edges", "--out", str(out), "-q")


def test_batch_refuses_a_link_at_its_lock(clip, tmp_path, victim):
    out = tmp_path / "OUT"
    plant(out / ".batch.lock", victim)
    res = batch(clip, out)
    assert refused(res, ".batch.lock"), res.stderr
    assert untouched(victim)


@pytest.mark.parametrize("name", ["batch.jsonl", ".batch-config.json"])
def test_batch_replaces_a_link_at_its_ledger_and_config(clip, tmp_path, victim, name):
    out = tmp_path / "OUT"
    plant(out / name, victim)
    res = batch(clip, out)
    assert res.returncode == 0, res.stderr
    assert untouched(victim)
    assert not os.path.islink(out / name)
    assert json.loads((out / "batch.jsonl").read_text().splitlines()[-1])["frames"] == 12


@pytest.mark.parametrize("name", [".clip.partial", ".clip.partial.old"])
def test_batch_refuses_a_linked_staging_folder(clip, tmp_path, victim_dir, name):
    """The staging folder and the earlier output moved aside, each a link to a folder elsewhere: the batch
    says so in one line, the folder is unchanged, and a rerun says the same (it was a raw FileExistsError)."""
    out = tmp_path / "OUT"
    plant(out / name, victim_dir)
    for _ in range(2):
        res = batch(clip, out)
        assert refused(res, name), res.stderr
        assert folder_untouched(victim_dir)


def test_batch_never_replaces_a_linked_output_folder(clip, tmp_path, victim_dir):
    """The input's output folder is a link to a folder elsewhere: that input fails with the one line, in the
    ledger and on stderr, and the folder is unchanged."""
    out = tmp_path / "OUT"
    plant(out / "clip", victim_dir)
    res = batch(clip, out)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert "refusing to write through" in res.stderr and "clip" in res.stderr
    assert folder_untouched(victim_dir)
    record = json.loads((out / "batch.jsonl").read_text().splitlines()[-1])
    assert record["status"] == "failed" and "refusing to write through" in record["error"]
    assert record["frames"] == 12  # processed, then refused at the rename: the ledger says how many


# --- vidcv extract --------------------------------------------------------------------------------------------


def extract(clip, out):
    return run_cli("extract", clip[0], "-p", clip[1], "--out", str(out), "--every", "4")


@pytest.mark.parametrize("name", [".vidcv.lock", ".vidcv.journal", "manifest.jsonl"])
def test_extract_refuses_a_link_at_its_lock_journal_and_manifest(clip, tmp_path, victim, name):
    out = tmp_path / "DS"
    assert extract(clip, out).returncode == 0  # an existing dataset, as in the probe
    before = (out / "manifest.jsonl").read_text()
    if name == "manifest.jsonl":
        victim.write_text(SECRET + "a line cut short")  # vidcv would cut this back and append to it
        os.remove(out / name)
    plant(out / name, victim)
    res = extract(clip, out)
    assert refused(res, name), res.stderr
    assert victim.read_text() == SECRET + ("a line cut short" if name == "manifest.jsonl" else "")
    if name != "manifest.jsonl":
        assert (out / "manifest.jsonl").read_text() == before


@pytest.mark.parametrize("folder", ["labels/train", "images/val", "labels"])
def test_extract_refuses_a_linked_dataset_folder(clip, tmp_path, victim_dir, folder):
    out = tmp_path / "DS"
    plant(out / folder, victim_dir)
    res = extract(clip, out)
    assert refused(res, os.path.basename(folder)), res.stderr
    assert folder_untouched(victim_dir)


def test_extract_refuses_a_link_among_its_temporary_files(clip, tmp_path, victim):
    out = tmp_path / "DS"
    assert extract(clip, out).returncode == 0
    plant(out / "images" / "train" / ".clip_x_000000.partial.jpg", victim)
    res = extract(clip, out)
    assert refused(res, ".clip_x_000000.partial.jpg"), res.stderr
    assert untouched(victim)


@pytest.mark.parametrize("name", ["data.yaml", "classes.txt"])
def test_extract_reads_a_link_at_a_whole_file_and_never_writes_it(clip, tmp_path, victim, name):
    """data.yaml or classes.txt of an existing dataset swapped for a link: vidcv reads it as any file of the
    dataset, and either says in one line that it does not describe a dataset or writes a new file in the link's
    place; the target is unchanged."""
    out = tmp_path / "DS"
    assert extract(clip, out).returncode == 0
    os.remove(out / name)
    plant(out / name, victim)
    res = extract(clip, out)
    assert untouched(victim)
    if res.returncode == 0:
        assert not os.path.islink(out / name)
    else:
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr


def test_a_journal_cannot_name_a_file_outside_its_dataset(clip, tmp_path, victim):
    """A journal is vidcv's note of the frame in flight; one written by someone else naming ``../`` paths or an
    absolute path has those files left alone when the next run finishes or undoes the frame."""
    out = tmp_path / "DS"
    assert extract(clip, out).returncode == 0
    outside = os.path.relpath(victim, out)
    for files in ([outside, "labels/train/nothing.txt"], [str(victim), "labels/train/nothing.txt"]):
        (out / ".vidcv.journal").write_text(json.dumps({"files": files, "manifest": {"name": "x"}}) + "\n")
        res = extract(clip, out)
        assert res.returncode == 0, res.stderr
        assert untouched(victim)


@pytest.mark.parametrize("fix", [False, True], ids=["extract", "dataset check --fix"])
def test_a_journal_cannot_reach_outside_through_a_folder_planted_as_a_link(clip, tmp_path, victim, fix):
    """A link inside the dataset to a folder outside it: a journal naming a file through it (to remove, or to
    move into the dataset) leaves that file where it is, for the next extract and for check --fix."""
    out = tmp_path / "DS"
    assert extract(clip, out).returncode == 0
    os.symlink(victim.parent, out / "evil")
    steps = [
        {"files": ["evil/authorized_keys", "labels/train/nothing.txt"], "manifest": {"name": "x"}},
        {"moves": [["evil/authorized_keys", "rejected/stolen.txt"]]},
    ]
    for step in steps:
        (out / ".vidcv.journal").write_text(json.dumps(step) + "\n")
        res = run_cli("dataset", "check", str(out), "--fix") if fix else extract(clip, out)
        assert res.returncode == 0, res.stderr
        assert untouched(victim) and not (out / "rejected").exists()


# --- the window's settings ------------------------------------------------------------------------------------


def test_the_window_does_not_save_its_settings_through_a_link(tmp_path, victim, monkeypatch):
    pytest.importorskip("PySide6")
    from vidcv.ui.settings import Settings

    config = tmp_path / "config"
    plant(config / "vidcv.ini", victim)
    monkeypatch.setenv("VIDCV_CONFIG_DIR", str(config))
    settings = Settings()
    assert settings.read_only and "refusing to write through" in (settings.refused or "")
    settings.last_source = "/videos/clip.mp4"
    settings.sync()
    assert untouched(victim)
    shutil.rmtree(config)
