"""Batch inputs (vidcv/batch/inputs.py): specs expanded into video files, and one output folder per input."""

import os

import pytest

from vidcv.batch.inputs import InputError, common_parent, expand_inputs, plan_outputs


def touch(root, *names: str) -> list[str]:
    paths = []
    for name in names:
        path = os.path.join(str(root), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x")
        paths.append(path)
    return paths


def test_a_folder_gives_its_videos_in_natural_order_subfolders_included_hidden_and_others_left_out(tmp_path):
    touch(
        tmp_path,
        "v/clip10.mp4",
        "v/clip2.mp4",
        "v/clip.mp4",
        "v/notes.txt",
        "v/.hidden.mp4",
        "v/b/x.MOV",
        "v/.cache/y.mp4",
        "v/a/z.avi",
    )
    found = expand_inputs([str(tmp_path / "v")])
    assert [os.path.relpath(p, tmp_path / "v") for p in found] == [
        os.path.join("a", "z.avi"),
        os.path.join("b", "x.MOV"),
        "clip.mp4",
        "clip2.mp4",
        "clip10.mp4",
    ]


def test_globs_lists_and_files_in_the_order_given_each_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    touch(tmp_path, "a/1.mp4", "a/2.mp4", "a/10.mp4", "b/c.mkv", "b/d.txt")
    (tmp_path / "list.txt").write_text("# my inputs\nb/c.mkv\n\n  a/1.mp4  \nmissing.mp4\n")
    found = expand_inputs(["@list.txt", "a/*.mp4", "b/*"])
    assert found == ["b/c.mkv", "a/1.mp4", "missing.mp4", "a/2.mp4", "a/10.mp4"]  # b/d.txt: not a video


def test_a_missing_file_is_kept_as_an_input_but_an_empty_glob_folder_or_list_is_refused(tmp_path):
    assert expand_inputs([str(tmp_path / "gone.mp4")]) == [str(tmp_path / "gone.mp4")]
    with pytest.raises(InputError, match=r"no video file matches .*\*\.mp4 \(looked for \.mp4"):
        expand_inputs([str(tmp_path / "*.mp4")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video file in the folder .*empty"):
        expand_inputs([str(tmp_path / "empty")])
    (tmp_path / "list.txt").write_text("# nothing\n")
    with pytest.raises(InputError, match="names no file"):
        expand_inputs([f"@{tmp_path / 'list.txt'}"])
    with pytest.raises(InputError, match="cannot read the input list @.*nolist.txt"):
        expand_inputs([f"@{tmp_path / 'nolist.txt'}"])


@pytest.mark.parametrize("spec", ["rtsp://cam.local/stream", "0", "pattern:640x480", "camera:0", "/dev/video0"])
def test_live_sources_are_refused_with_the_command_to_use(spec):
    with pytest.raises(InputError, match="reads video files; for a camera, a stream or a test pattern use vidcv run"):
        expand_inputs([spec])


def test_the_output_folder_is_never_read_as_input(tmp_path):
    touch(tmp_path, "v/a.mp4", "v/out/a/a.mp4")
    assert expand_inputs([str(tmp_path / "v")], exclude=[str(tmp_path / "v" / "out")]) == [str(tmp_path / "v/a.mp4")]


def test_outputs_mirror_the_paths_under_the_common_parent_so_equal_names_never_collide(tmp_path):
    a, b, c = touch(tmp_path, "in/a/clip.mp4", "in/b/clip.mp4", "in/b/deep/x.mkv")
    assert common_parent([a, b, c]) == str(tmp_path / "in")
    plan = plan_outputs([a, b, c], str(tmp_path / "out"))
    assert [i.out for i in plan] == ["a/clip", "b/clip", "b/deep/x"]
    assert [i.out_dir for i in plan] == [
        str(tmp_path / "out" / "a" / "clip"),
        str(tmp_path / "out" / "b" / "clip"),
        str(tmp_path / "out" / "b" / "deep" / "x"),
    ]
    assert [i.index for i in plan] == [0, 1, 2] and plan[2].source == c
    # one input: its own folder is the parent
    assert [i.out for i in plan_outputs([c], str(tmp_path / "out"))] == ["x"]


def test_two_files_of_one_stem_keep_their_extension_and_the_ledger_name_is_reserved(tmp_path):
    files = touch(tmp_path, "v/clip.mp4", "v/clip.avi", "v/batch.jsonl.mp4", "v/other.mp4")
    plan = plan_outputs(files, str(tmp_path / "out"))
    assert [i.out for i in plan] == ["clip_mp4", "clip_avi", "batch.jsonl_mp4", "other"]
    # the same sources plan the same folders again (what resume relies on)
    assert plan_outputs(files, str(tmp_path / "out")) == plan
    # a video beside a folder of its name: its folder must not hold the other input's
    nested = touch(tmp_path, "w/clip.mp4", "w/clip/inner.mp4")
    assert [i.out for i in plan_outputs(nested, str(tmp_path / "out"))] == ["clip_mp4", "clip/inner"]
