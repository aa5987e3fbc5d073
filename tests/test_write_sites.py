"""Every place vidcv, its plugins and its window create, write, truncate, rename or remove a file goes through
vidcv.fileio, the one module that refuses planted symbolic links: a new call of a raw writing function anywhere
else fails this test, unless it is listed below with the reason it is safe."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDERS = ("vidcv", "ui", "plugins")

#: module.function calls that create, write, truncate, rename or remove files
RAW = (
    {
        ("os", f)
        for f in (
            "remove",
            "unlink",
            "rename",
            "renames",
            "replace",
            "truncate",
            "makedirs",
            "mkdir",
            "rmdir",
            "removedirs",
            "open",
            "symlink",
            "link",
        )
    }
    | {("shutil", f) for f in ("rmtree", "move", "copy", "copyfile", "copy2", "copytree", "copyfileobj")}
    | {("cv2", "imwrite"), ("np", "save"), ("np", "savez"), ("pathlib", "Path")}
)

#: (file, call) -> why it is safe
ALLOWED = {
    ("vidcv/jobs/bundle.py", "os.makedirs"): "the user's own cache folder, checked with lstat (a real folder, the "
    "user's) right after",
    ("vidcv/jobs/cluster.py", "os.open"): "/dev/null, to quiet Ray's stderr",
    ("vidcv/jobs/cluster.py", "os.makedirs"): "inside a private folder from tempfile.mkdtemp (mode 0700)",
    ("vidcv/jobs/cluster.py", "open:wb"): "inside a private folder from tempfile.mkdtemp (mode 0700)",
    ("vidcv/jobs/cluster.py", "shutil.rmtree"): "that private folder, removed at the end",
    ("vidcv/cli/main.py", "os.open"): "/dev/null, for a stdout whose reader has gone",
    ("vidcv/cli/model.py", "shutil.copyfile"): "into a private folder from tempfile.TemporaryDirectory",
    ("vidcv/dataset/writer.py", "os.makedirs"): "the dataset folder the user named (--out), as ensure_parent",
    ("vidcv/media/encode.py", "av.open:w"): "FFmpeg writes the name its caller gives: fileio.writer_path of a "
    "descriptor vidcv created",
    ("vidcv/media/clips.py", "av.open:w"): "an event clip: fileio.writer_path of a descriptor vidcv created; and "
    "the encoder's header, into memory (io.BytesIO)",
    ("vidcv/sources/camera.py", "os.open"): "opens a camera device read-only to ask for its name",
}


def _mode(call: ast.Call) -> str:
    if len(call.args) >= 2 and isinstance(call.args[1], ast.Constant):
        return str(call.args[1].value)
    for keyword in call.keywords:
        if keyword.arg == "mode" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return "r" if len(call.args) < 2 and not any(k.arg == "mode" for k in call.keywords) else "?"


def raw_writes() -> set[tuple[str, str]]:
    """(file, call) of every raw write in the code, found in its syntax tree."""
    found = set()
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "vidcv/fileio.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                dotted = (
                    (func.value.id, func.attr)
                    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    else None
                )
                if dotted in RAW:
                    found.add((rel, ".".join(dotted)))
                elif isinstance(func, ast.Name) and func.id == "open" and _mode(node) not in ("r", "rb", "rt"):
                    found.add((rel, f"open:{_mode(node)}"))
                elif dotted == ("av", "open") and _mode(node) != "r":
                    found.add((rel, f"av.open:{_mode(node)}"))
                elif isinstance(func, ast.Attribute) and func.attr in (
                    "write_text",
                    "write_bytes",
                    "unlink",
                    "rename",
                    "mkdir",
                    "rmdir",
                    "touch",
                    "symlink_to",
                ):  # pathlib (not str.replace)
                    found.add((rel, f".{func.attr}"))
    return found


def test_every_write_goes_through_fileio():
    unexpected = sorted(raw_writes() - set(ALLOWED))
    assert not unexpected, f"write through vidcv.fileio (it refuses planted links), or list with a reason: {unexpected}"


def test_the_list_of_exceptions_holds_only_what_is_there():
    assert not set(ALLOWED) - raw_writes()
