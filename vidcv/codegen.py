"""A pipeline as a standalone Python script: one function per stage, the tuned values as named constants.

Each plugin says how it is written as code (``Plugin.to_code`` returns a ``StageCode``: the body of the
stage's function for the values it has now, with no branch for the values it has not). The helpers a
body uses (module-level functions and tables of the plugin's module, or of ``vidcv.imageops``) are copied
into the script from their source, so the script computes what the plugin computes, bit for bit. A
plugin that cannot be written without vidcv (models, trackers, counting) is run through vidcv's own
plugin from the script, which then imports vidcv and says so at the top.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import keyword
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from vidcv._version import __version__
from vidcv.pipeline import Pipeline, Stage
from vidcv.stagecode import CodeContext, StageCode

#: Modules whose top-level helpers a stage body may use besides its plugin's own module.
HELPER_MODULES = ("vidcv.imageops",)
WIDTH = 100


# --- copying helpers from their source -----------------------------------------------------------------
def _top_level(module: ModuleType) -> dict[str, ast.stmt]:
    """Top-level functions, classes and assignments of ``module`` by the name they define."""
    tree = ast.parse(inspect.getsource(module))
    found: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = node
    return found


def _names_used(code: str | ast.AST) -> set[str]:
    tree = ast.parse(code) if isinstance(code, str) else code
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


class _Helpers:
    """Collects, in dependency order, the source of the helpers that the stage bodies use."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}  # name -> source, in the order they must appear
        self._tables: dict[str, dict[str, ast.stmt]] = {}
        self._texts: dict[str, str] = {}

    def _table(self, module_name: str) -> dict[str, ast.stmt]:
        if module_name not in self._tables:
            module = importlib.import_module(module_name)
            self._tables[module_name] = _top_level(module)
            self._texts[module_name] = inspect.getsource(module)
        return self._tables[module_name]

    def add_used_by(self, code: str, modules: Iterable[str]) -> None:
        modules = tuple(modules)
        for name in sorted(_names_used(code)):
            self._add(name, modules)

    def _add(self, name: str, modules: tuple[str, ...]) -> None:
        if name in self.sources:
            return
        for module_name in modules:
            node = self._table(module_name).get(name)
            if node is None:
                continue
            self.sources[name] = ""  # placeholder: marks it while its own dependencies are added
            for used in sorted(_names_used(node) - {name}):
                self._add(used, (module_name,))
            text = ast.get_source_segment(self._texts[module_name], node) or ""
            self.sources.pop(name)
            if text not in self.sources.values():  # one assignment may define several names
                self.sources[name] = text
            return


# --- the script ----------------------------------------------------------------------------------------
def _assignment(name: str, expression: str) -> str:
    """``name = expression``; a call too long for one line gets one argument per line."""
    line = f"{name} = {expression}"
    call = ast.parse(expression, mode="eval").body
    if len(line) <= WIDTH or not isinstance(call, ast.Call):
        return line
    args = [ast.get_source_segment(expression, a) for a in (*call.args, *call.keywords)]
    inner = "".join(f"    {a},\n" for a in args)
    return f"{name} = {ast.get_source_segment(expression, call.func)}(\n{inner})"


def _literal(value: object) -> str:
    """Python source for a parameter value, strings in double quotes."""
    if isinstance(value, str) and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return repr(value)


def _body(code: StageCode) -> str:
    return textwrap.dedent(code.body).strip("\n")


def _function_name(stage_name: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", stage_name.replace("#", "_"))
    if keyword.iskeyword(name) or hasattr(builtins, name) or name in taken:
        name += "_stage"
    return name


def _rename(code: str, names: Iterable[str], prefix: str) -> str:
    for name in sorted(names, key=len, reverse=True):
        code = re.sub(rf"(?<![\w.]){re.escape(name)}(?!\w)", f"{prefix}_{name}", code)
    return code


def _comment(text: str, indent: str = "") -> str:
    return "\n".join(
        textwrap.wrap(text, WIDTH - len(indent) - 2, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ")
    )


@dataclass
class _Part:
    index: int
    stage: Stage
    function: str
    code: StageCode | None  # None: through vidcv


def export_script(pipeline: Pipeline, title: str = "pipeline") -> str:
    """The script for ``pipeline`` (``title`` names it in the docstring)."""
    stages = pipeline.stages
    codes = [s.plugin.to_code(CodeContext()) if s.enabled else None for s in stages]
    needs_vidcv = any(s.enabled and code is None for s, code in zip(stages, codes))
    if needs_vidcv:  # the script's frames are vidcv's: the stages write what they track on them too
        codes = [s.plugin.to_code(CodeContext(vidcv_frame=True)) if s.enabled else None for s in stages]
    helpers = _Helpers()
    parts: list[_Part] = []
    taken: set[str] = set()
    for i, (stage, code) in enumerate(zip(stages, codes)):
        function = _function_name(pipeline.stage_name(i), taken)
        taken.add(function)
        parts.append(_Part(i, stage, function, code))
        if code is not None:
            modules = (type(stage.plugin).__module__, *HELPER_MODULES)
            helpers.add_used_by(_body(code), modules)
            for expression in code.state.values():
                helpers.add_used_by(expression, modules)
    if not needs_vidcv:
        helpers.add_used_by("next_color_space", ("vidcv.frame",))
    clash = set(helpers.sources) & taken
    if clash:  # a stage named like a helper it uses: rename the stage
        for part in parts:
            if part.function in clash:
                part.function += "_stage"
    uses_outputs = any(p.code is not None and "stage_images" in p.code.body for p in parts)

    out: list[str] = [
        _docstring(parts, title, needs_vidcv, pipeline.decode),
        "",
        "from __future__ import annotations",
        "",
    ]
    body: list[str] = []
    if not needs_vidcv:
        body += [_FRAME_CLASS]
    constants: list[str] = []
    state: list[str] = []  # after the helpers: their expressions may call them
    for part in parts:
        body.append(_stage_function(part, constants, state))
    body += [_process(parts, uses_outputs), _MAIN]
    sections = ["\n".join(constants), *(t for t in helpers.sources.values() if t), "\n".join(state), *body]
    script = "\n\n\n".join(s for s in sections if s) + '\n\n\nif __name__ == "__main__":\n    sys.exit(main())\n'
    out += _imports(script, needs_vidcv)
    # isort's blank lines after the imports: two before a definition, one before anything else
    out += ["", "", script] if script.startswith(("def ", "class ", "@")) else ["", script]
    return "\n".join(out)


def _docstring(parts: list[_Part], title: str, needs_vidcv: bool, decode: str = "bgr") -> str:
    lines = [f'"""Pipeline {title!r}, exported from vidcv {__version__} as a standalone script.', "", "Stages:"]
    for part in parts:
        plugin = part.stage.plugin
        if not part.stage.enabled:
            state = "bypassed, left out"
        elif part.code is None:
            state = "through vidcv"
        else:
            state = part.code.doc
        name = part.function if part.function == plugin.name else f"{part.function} ({plugin.name})"
        lines += textwrap.wrap(
            f"{part.index + 1}. {name}: {state}", WIDTH, initial_indent="  ", subsequent_indent="     "
        )
    lines.append("")
    if needs_vidcv:
        through = ", ".join(p.function for p in parts if p.stage.enabled and p.code is None)
        lines += [
            "It needs vidcv (pip install vidcv, or this project): " + through + " run through vidcv's own",
            "plugins; the other stages are plain OpenCV and NumPy.",
        ]
    else:
        lines.append("It needs only OpenCV and NumPy: pip install opencv-python numpy")
    if decode == "luma":
        lines += [
            "",
            "The preset asks vidcv for decode: luma (gray straight from a video's luma plane). This script",
            "decodes colour and converts, vidcv's default: the same pixels as vidcv run --no-gray-decode, which",
            "may differ from the luma path's on saturated colours.",
        ]
    lines += [
        "",
        "Run it on a video file, a camera index or an image folder (or glob):",
        "    python SCRIPT.py SOURCE [--output OUT.mp4 | --output FOLDER/] [--show] [--max-frames N]",
        "or import it and call process(Frame(image, index, pts_ms)) on BGR images.",
        '"""',
    ]
    return "\n".join(lines)


def _imports(code: str, needs_vidcv: bool) -> list[str]:
    used = _names_used(code)
    stdlib = ["argparse", "glob", "os", "re", "sys"]
    lines = [f"import {m}" for m in stdlib if m in used]
    if not needs_vidcv:
        lines.append("from dataclasses import dataclass, field, replace")
    lines += [""]
    lines += ["import cv2"] if "cv2" in used else []
    lines += ["import numpy as np"] if "np" in used else []
    if needs_vidcv:
        lines += ["from vidcv.frame import Frame", "from vidcv.registry import default_registry"]
    return lines


def _stage_function(part: _Part, constants: list[str], state: list[str]) -> str:
    plugin = part.stage.plugin
    summary = f"{part.index + 1}. {plugin.title or plugin.name} ({plugin.name}): {plugin.to_dict()['summary']}"
    head = _comment(summary)
    if not part.stage.enabled:
        return f"{head}\n# Bypassed in the pipeline: left out of process()."
    prefix = part.function.upper()
    if part.code is None:
        values = "".join(f"    {k}={_literal(v)},\n" for k, v in plugin.values().items())
        constants.append(f"{prefix} = default_registry().create(\n    {_literal(plugin.name)},\n{values})")
        return (
            f"{head}\ndef {part.function}(frame: Frame) -> Frame:\n"
            f'    """Runs vidcv\'s {plugin.name!r} plugin (it needs vidcv)."""\n'
            f"    return {prefix}.process(frame)"
        )
    code = part.code
    names = [*code.constants, *code.state]
    for name, value in code.constants.items():
        constants.append(f"{prefix}_{name} = {_literal(value)}")
    for name, expression in code.state.items():
        state.append(_assignment(f"{prefix}_{name}", _rename(expression, names, prefix)))
    body = textwrap.indent(_rename(_body(code), names, prefix), "    ")
    return f'{head}\ndef {part.function}(frame: Frame) -> Frame:\n    """{code.doc}"""\n{body}'


def _process(parts: list[_Part], uses_outputs: bool) -> str:
    lines = [
        "def process(frame: Frame) -> Frame:",
        '    """Every stage, in order, on one frame; returns the processed frame."""',
    ]
    for part in parts:
        if part.stage.enabled:
            lines.append(f"    frame = {part.function}(frame)")
        else:
            lines.append(f"    # {part.function}: bypassed in the pipeline")
        if uses_outputs:
            lines.append("    frame.stage_images.append(frame.image)")  # the script's own Frame, not vidcv's
    lines.append("    return frame")
    return "\n".join(lines)


_FRAME_CLASS = '''@dataclass
class Frame:
    """What a stage sees: the image and its colour space, the original, and each stage's output so far."""

    image: np.ndarray
    index: int = 0
    pts_ms: float = 0.0
    source_image: np.ndarray | None = None
    color_space: str = "bgr"
    stage_images: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.source_image is None:
            self.source_image = self.image
        if self.image.ndim == 2:
            self.color_space = "gray"

    def with_image(self, image: np.ndarray, color_space: str | None = None) -> Frame:
        """A new frame with ``image`` as the processed image; this one is left as it was."""
        return replace(self, image=image, color_space=next_color_space(image, self.color_space, color_space))'''


_MAIN = '''def read_frames(source: str, fps: float = 30.0):
    """(index, time in ms, BGR image) of an image folder or glob, at a nominal ``fps``."""
    pattern = os.path.join(source, "*") if os.path.isdir(source) else source
    paths = sorted(p for p in glob.glob(pattern) if cv2.haveImageReader(p))
    for index, path in enumerate(paths):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is not None:
            yield index, index * 1000.0 / fps, image


def read_video(capture: cv2.VideoCapture, fps: float):
    """(index, time in ms, BGR image) of an opened video file or camera."""
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        yield index, index * 1000.0 / fps, image
        index += 1
    capture.release()


def open_source(source: str):
    """The frames of a video file, a camera index, or an image folder or glob, and their rate."""
    if os.path.isdir(source) or glob.has_magic(source):
        return read_frames(source), 30.0
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        shown = re.sub(r"://.*@", "://***@", source)  # a stream's user name and password are never printed
        raise SystemExit(f"cannot open {shown}: give a video file, a camera index or an image folder")
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if 0 < fps < 1000 else 30.0
    return read_video(capture, fps), fps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="video file, camera index, or image folder or glob")
    parser.add_argument("--output", help="a video file (.mp4, .avi) or a folder for PNG images")
    parser.add_argument("--show", action="store_true", help="show the result in a window (q quits)")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    args = parser.parse_args()
    frames, fps = open_source(args.source)
    writer = None
    count = 0
    for index, pts_ms, image in frames:
        if args.max_frames is not None and count >= args.max_frames:
            break
        result = process(Frame(image, index, pts_ms)).image
        bgr = cv2.cvtColor(result, cv2.COLOR_GRAY2BGR) if result.ndim == 2 else result
        if args.output and os.path.splitext(args.output)[1]:
            if writer is None:
                writer = cv2.VideoWriter(args.output, cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (bgr.shape[1], bgr.shape[0]))
            writer.write(bgr)
        elif args.output:
            os.makedirs(args.output, exist_ok=True)
            cv2.imwrite(os.path.join(args.output, f"frame_{index:06d}.png"), result)
        if args.show:
            cv2.imshow("result", result)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
        count += 1
    if writer is not None:
        writer.release()
    print(f"{count} frames")
    return 0'''
