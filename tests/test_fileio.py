"""Atomic writes (vidcv/fileio.py): the partial-name convention, renames, cleanup and output-folder errors."""

import errno
import os

import pytest

from vidcv import fileio
from vidcv.errors import OutputError, write_error
from vidcv.fileio import AtomicTextFile, atomic_path, ensure_parent, is_partial, partial_name, write_text_atomic


def test_partial_name_is_hidden_marked_and_keeps_the_extension():
    assert partial_name("out/clip.mp4") == os.path.join("out", ".clip.partial.mp4")
    assert partial_name("/a/b/preset.yaml") == "/a/b/.preset.partial.yaml"
    assert partial_name("clip.mp4") == ".clip.partial.mp4"
    assert partial_name("notes") == ".notes.partial"
    assert os.path.splitext(partial_name("x/frame_000001.png"))[1] == ".png"


def test_is_partial():
    assert is_partial(os.path.basename(partial_name("out/clip.mp4")))
    assert is_partial(".notes.partial")
    assert not is_partial("clip.mp4")
    assert not is_partial(".hidden.mp4")
    assert not is_partial("clip.partial.mp4")  # not hidden: not one of ours


def test_write_text_atomic_creates_folders_and_leaves_no_partial(tmp_path):
    path = tmp_path / "a" / "b" / "out.txt"
    write_text_atomic(str(path), "héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert os.listdir(path.parent) == ["out.txt"]
    write_text_atomic(str(path), "again")  # replaces
    assert path.read_text(encoding="utf-8") == "again"
    assert os.listdir(path.parent) == ["out.txt"]


def test_write_bytes_atomic(tmp_path):
    path = tmp_path / "blob.bin"
    fileio.write_bytes_atomic(str(path), b"\x00\x01\x02")
    assert path.read_bytes() == b"\x00\x01\x02"
    assert os.listdir(tmp_path) == ["blob.bin"]


def test_atomic_path_renames_on_success(tmp_path):
    path = str(tmp_path / "sub" / "data.csv")
    with atomic_path(path) as tmp:
        assert tmp == partial_name(path)
        with open(tmp, "w") as fh:
            fh.write("a,b\n")
        assert not os.path.exists(path)  # nothing under the final name while writing
    assert open(path).read() == "a,b\n"
    assert not os.path.exists(partial_name(path))


def test_atomic_path_removes_the_temporary_file_and_reraises(tmp_path):
    path = str(tmp_path / "data.csv")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk on fire")
    assert os.listdir(tmp_path) == []


def test_atomic_path_tolerates_a_body_that_wrote_nothing_before_failing(tmp_path):
    path = str(tmp_path / "data.csv")
    with pytest.raises(KeyError), atomic_path(path):
        raise KeyError("nothing written")
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "preset.yaml"
    write_text_atomic(str(path), "stages: []\n")
    with pytest.raises(RuntimeError), atomic_path(str(path)) as tmp:
        with open(tmp, "w") as fh:
            fh.write("stages: [broken")
        raise RuntimeError("interrupted")
    assert path.read_text() == "stages: []\n"
    # a write that fails inside write_text_atomic itself (after the temporary file was opened)
    with pytest.raises(TypeError):
        write_text_atomic(str(path), 12345)  # not text
    assert path.read_text() == "stages: []\n"
    assert os.listdir(tmp_path) == ["preset.yaml"]


def test_atomic_text_file_appears_only_on_close(tmp_path):
    path = tmp_path / "logs" / "detections.jsonl"
    log = AtomicTextFile(str(path))
    assert log.path == str(path) and not log.closed
    log.write('{"frame": 0}\n')
    log.write('{"frame": 1}\n')
    assert not path.exists()
    assert os.path.exists(partial_name(str(path)))
    log.close()
    assert log.closed
    assert path.read_text(encoding="utf-8") == '{"frame": 0}\n{"frame": 1}\n'
    assert os.listdir(path.parent) == ["detections.jsonl"]
    log.close()  # a second close is harmless
    assert path.read_text(encoding="utf-8") == '{"frame": 0}\n{"frame": 1}\n'


def test_ensure_parent_creates_nested_folders(tmp_path):
    path = tmp_path / "x" / "y" / "z.png"
    ensure_parent(str(path))
    assert path.parent.is_dir() and not path.exists()
    ensure_parent(str(path))  # existing folder: fine


def test_ensure_parent_names_a_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("I am a file")
    path = blocker / "sub" / "out.mp4"
    with pytest.raises(OutputError) as info:
        ensure_parent(str(path))
    message = str(info.value)
    assert "cannot create the output folder" in message
    assert str(blocker / "sub") in message
    # the writers refuse the same way, before writing anything
    with pytest.raises(OutputError, match="cannot create the output folder"):
        write_text_atomic(str(path), "x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        AtomicTextFile(str(path))
    assert blocker.read_text() == "I am a file"


def test_ensure_parent_names_a_folder_that_is_not_writable(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as info:
            ensure_parent(str(folder / "out.txt"))
        assert str(folder) in str(info.value) and "permission denied" in str(info.value)
    finally:
        folder.chmod(0o700)


def test_ensure_parent_reports_an_unwritable_folder_even_as_root(tmp_path, monkeypatch):
    """The same check through a simulated permission refusal, so that it also runs where tests run as root."""
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        fileio.os, "access", lambda p, mode: False if os.path.abspath(p) == str(folder) else real_access(p, mode)
    )
    with pytest.raises(OutputError) as info:
        ensure_parent(str(folder / "out.txt"))
    assert f"cannot write to {folder}" in str(info.value)
    assert "permission denied" in str(info.value)


def touch(path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 44)  # what a killed mp4 write leaves: the header only
    return str(path)


class _ReadOnlyFs:
    """What os.statvfs says of a folder on a read-only file system (only the flags are read)."""

    f_flag = os.ST_RDONLY


def test_a_read_only_place_is_said_in_one_wording_however_it_is_read_only(tmp_path, monkeypatch):
    """A folder that exists and one that must be made under it, refused by the permissions (EACCES) or by a
    read-only file system (EROFS): the same line, naming the read-only folder, for all four."""
    place = tmp_path / "place"
    place.mkdir()
    real_access, real_makedirs, real_statvfs = os.access, os.makedirs, os.statvfs
    lines = {}
    for why, err in (("permission denied", errno.EACCES), ("read-only file system", errno.EROFS)):

        def refuse_makedirs(path, *args, err=err, **kw):
            if os.path.abspath(path).startswith(str(place) + os.sep):
                raise OSError(err, os.strerror(err), path)
            return real_makedirs(path, *args, **kw)

        monkeypatch.setattr(
            fileio.os, "access", lambda p, mode: False if str(p) == str(place) else real_access(p, mode)
        )
        monkeypatch.setattr(fileio.os, "makedirs", refuse_makedirs)
        monkeypatch.setattr(
            fileio.os, "statvfs", lambda p, err=err: _ReadOnlyFs() if err == errno.EROFS else real_statvfs(p)
        )
        for target in (place / "out.txt", place / "new" / "deeper" / "out.txt"):
            with pytest.raises(OutputError) as info:
                ensure_parent(str(target))
            lines[why, target.parent == place] = str(info.value)
        assert (
            lines[why, True]
            == lines[why, False]
            == (f"cannot write to {place}: it is read-only ({why}): choose another output path")
        )
    monkeypatch.undo()
    assert os.listdir(place) == []


@pytest.mark.parametrize(
    "err, expected",
    [
        (errno.EACCES, "cannot write to out.mp4: it is read-only (permission denied): choose another output path"),
        (errno.EPERM, "cannot write to out.mp4: it is read-only (permission denied): choose another output path"),
        (errno.EROFS, "cannot write to out.mp4: it is read-only (read-only file system): choose another output path"),
        (errno.ENOSPC, "cannot write out.mp4: No space left on device (choose another output path)"),
    ],
)
def test_a_write_error_says_read_only_in_one_wording(err, expected):
    assert str(write_error("out.mp4", OSError(err, os.strerror(err)))) == expected


def test_an_atomic_write_refused_by_a_read_only_file_system_says_so(tmp_path, monkeypatch):
    def refuse(path, *args, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

    monkeypatch.setattr(fileio, "open_partial", refuse)
    with pytest.raises(OutputError) as info:
        write_text_atomic(str(tmp_path / "stats.json"), "{}")
    assert str(info.value) == (
        f"cannot write to {tmp_path / 'stats.json'}: it is read-only (read-only file system): choose another output path"
    )


def test_the_folders_a_run_made_are_removed_only_while_empty_and_real(tmp_path, victim):
    """missing_folders, taken before the folders are made, names only what was not there; remove_empty_folders
    then removes those still empty, deepest first, and leaves a folder with a file and a link alone."""
    (tmp_path / "there").mkdir()
    assert fileio.missing_folders(str(tmp_path / "there")) == []
    made = fileio.missing_folders(str(tmp_path / "there" / "a" / "b"))
    assert made == [str(tmp_path / "there" / "a" / "b"), str(tmp_path / "there" / "a")]
    full = fileio.missing_folders(str(tmp_path / "full" / "x"))
    linked = fileio.missing_folders(str(tmp_path / "linked"))
    os.makedirs(tmp_path / "there" / "a" / "b")
    os.makedirs(tmp_path / "full" / "x")
    (tmp_path / "full" / "x" / "kept.txt").write_text("written")
    os.symlink(victim, tmp_path / "linked")  # a link where vidcv made a folder: not followed, not removed
    removed = fileio.remove_empty_folders([*full, *made, *linked])
    assert removed == made
    assert sorted(os.listdir(tmp_path)) == ["full", "linked", "there", "victim.txt"]
    assert os.listdir(tmp_path / "there") == []
    assert (tmp_path / "full" / "x" / "kept.txt").exists() and os.path.islink(tmp_path / "linked")


def test_remove_stale_partials_of_a_file_removes_only_its_own(tmp_path):
    mine, other = touch(tmp_path / ".x.partial.mp4"), touch(tmp_path / ".y.partial.mp4")
    assert fileio.remove_stale_partials(str(tmp_path / "x.mp4")) == [mine]
    assert not os.path.exists(mine) and os.path.exists(other)
    assert fileio.remove_stale_partials(str(tmp_path / "x.mp4")) == []  # nothing left: nothing said


def test_remove_stale_partials_of_an_image_pattern_and_of_a_folder(tmp_path):
    out = tmp_path / "out"
    ours = [touch(out / ".f_00001.partial.png"), touch(out / ".f_00017.partial.png")]
    kept = [touch(out / ".g_00001.partial.png"), touch(out / ".f_00001.partial.jpg"), touch(out / "f_00002.png")]
    assert fileio.remove_stale_partials(str(out / "f_%05d.png")) == ours
    assert all(os.path.exists(p) for p in kept)
    # a folder output: every temporary file in it is a leftover of a write into it
    frames = tmp_path / "frames"
    ours = [touch(frames / ".frame_000003.partial.png")]
    kept = [touch(frames / "frame_000001.png"), touch(frames / ".hidden.png")]
    assert fileio.remove_stale_partials(str(frames)) == ours
    assert all(os.path.exists(p) for p in kept)
    assert fileio.remove_stale_partials(str(tmp_path / "nothing" / "x.mp4")) == []  # a folder not made yet


# --- planted links: never followed -----------------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def test_a_write_through_a_planted_temporary_name_is_refused(tmp_path, victim):
    target = tmp_path / "out" / "snap.png"
    target.parent.mkdir()
    os.symlink(victim, partial_name(str(target)))
    for write in (
        lambda: fileio.write_bytes_atomic(str(target), b"x"),
        lambda: write_text_atomic(str(target), "x"),
        lambda: AtomicTextFile(str(target)),
        lambda: atomic_path(str(target)).__enter__(),
    ):
        with pytest.raises(fileio.LinkRefused, match=r"refusing to write through .*\.snap\.partial\.png.*victim\.txt"):
            write()
    assert victim.read_text() == "precious\n"
    assert not target.exists()


def test_a_link_at_the_final_name_is_replaced_not_followed(tmp_path, victim):
    target = tmp_path / "stats.json"
    os.symlink(victim, target)
    write_text_atomic(str(target), "{}")
    assert not os.path.islink(target) and target.read_text() == "{}"
    assert victim.read_text() == "precious\n"


def test_open_remove_truncate_and_stale_partials_refuse_links(tmp_path, victim):
    link = tmp_path / "manifest.jsonl"
    os.symlink(victim, link)
    for mode in ("w", "a", "ab", "r+b", "x"):
        with pytest.raises(fileio.LinkRefused):
            fileio.open_file(str(link), mode)
    with pytest.raises(fileio.LinkRefused):
        fileio.truncate(str(link), 0)
    with pytest.raises(fileio.LinkRefused):
        fileio.remove(str(link))
    with pytest.raises(fileio.LinkRefused):
        fileio.replace(str(link), str(tmp_path / "moved"))
    os.symlink(victim, partial_name(str(tmp_path / "clip.mp4")))
    with pytest.raises(fileio.LinkRefused):
        fileio.remove_stale_partials(str(tmp_path / "clip.mp4"))
    with pytest.raises(fileio.LinkRefused):
        fileio.remove_stale_partials(str(tmp_path))
    assert victim.read_text() == "precious\n" and os.path.islink(link)
    assert fileio.remove(str(tmp_path / "nothing")) is False


def test_make_dirs_and_remove_tree_refuse_a_linked_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("k")
    root = tmp_path / "ds"
    root.mkdir()
    os.symlink(elsewhere, root / "labels")
    with pytest.raises(fileio.LinkRefused, match="labels"):
        fileio.make_dirs(str(root / "labels" / "train"), below=str(root))
    with pytest.raises(fileio.LinkRefused):
        fileio.remove_tree(str(root / "labels"))
    assert os.listdir(elsewhere) == ["keep"]
    fileio.make_dirs(str(root / "images" / "train"), below=str(root))
    assert (root / "images" / "train").is_dir()
    (root / "images" / "train" / "link").symlink_to(elsewhere)
    assert fileio.remove_tree(str(root / "images"))  # a link inside is removed as a link
    assert os.listdir(elsewhere) == ["keep"] and not (root / "images").exists()
    (root / "file").write_text("x")
    with pytest.raises(OutputError, match="in the way"):
        fileio.make_dirs(str(root / "file" / "sub"), below=str(root))


def test_free_name_passes_over_links_dangling_or_not(tmp_path, victim):
    stem = str(tmp_path / "d")
    os.symlink(victim, stem + ".recovered.jsonl")
    os.symlink(tmp_path / "gone", stem + ".recovered-2.jsonl")
    assert fileio.free_name(stem, ".jsonl", "recovered") == stem + ".recovered-3.jsonl"


def test_unused_path_skips_files_partials_links_and_names_taken(tmp_path):
    from vidcv.fileio import unused_path

    path = str(tmp_path / "vidcv_20261207_101010.mp4")
    assert unused_path(path) == path
    os.symlink(tmp_path / "nowhere", path)  # a dangling link is something there
    (tmp_path / "vidcv_20261207_101010-2.partial.mp4").write_bytes(b"killed")
    assert unused_path(path) == str(tmp_path / "vidcv_20261207_101010-3.mp4")
    assert unused_path(path, {str(tmp_path / "vidcv_20261207_101010-3.mp4")}) == str(
        tmp_path / "vidcv_20261207_101010-4.mp4"
    )
