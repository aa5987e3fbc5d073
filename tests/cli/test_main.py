"""The ``vidcv`` entry point (vidcv/cli/main.py): help, version, the table of commands, errors and exit statuses."""

import argparse
import importlib
import subprocess
import sys

import pytest

from media import run_cli
from vidcv.cli import exit_codes
from vidcv.cli import main as cli_main
from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from vidcv.cli.main import COMMANDS, build_parser, main
from vidcv.errors import VidcvError

EXIT_CODES = {EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED}


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser``, by name, in the order they were added."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def command_module(name: str):
    """The module of vidcv.cli that owns the command ``name`` (export-script: vidcv.cli.export_script)."""
    return importlib.import_module(f"vidcv.cli.{COMMANDS[name]}")


def test_version_and_help_with_examples():
    assert run_cli("--version").stdout.strip().startswith("vidcv 0.")
    for args in ([], ["run"], ["plugins"], ["sources"]):
        out = run_cli(*args, "--help")
        assert out.returncode == 0 and "examples:" in out.stdout, args


def test_the_exit_statuses_are_distinct_and_documented():
    names = [n for n in vars(exit_codes) if n.startswith("EXIT_")]
    assert sorted(names) == ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE"]
    assert len(EXIT_CODES) == 4 and EXIT_OK == 0 and EXIT_USAGE == 2  # argparse's own status for usage errors


def test_every_module_of_the_table_adds_its_command_with_a_callable_handler():
    parser = build_parser()
    commands = subcommands(parser)
    assert list(commands) == list(COMMANDS)  # one command per module, in help order
    assert len(set(COMMANDS.values())) == len(COMMANDS)
    for name in COMMANDS:
        module = command_module(name)
        assert module.__name__.rsplit(".", 1)[1].replace("_", "-") == name  # export_script -> export-script
        handler = commands[name].get_default("handler")
        assert callable(handler), f"{module.__name__} sets no callable handler"
        assert handler.__module__ == module.__name__  # each module owns its handler
    help_text = parser.format_help()
    assert all(name in help_text for name in commands)


def test_a_command_builds_its_own_parser_alone_and_imports_no_other_command():
    """`vidcv run` starts without the other commands' modules and parsers; the same options as in the whole."""
    code = (
        "import sys; from vidcv.cli.main import build_parser; p = build_parser('run'); "
        "print(sorted(m for m in sys.modules if m.startswith('vidcv.cli.') and m not in "
        "('vidcv.cli.main', 'vidcv.cli.run', 'vidcv.cli.exit_codes', 'vidcv.cli.output', 'vidcv.cli.progress')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    alone = subcommands(build_parser("run"))
    assert list(alone) == ["run"]
    assert alone["run"].format_help() == subcommands(build_parser())["run"].format_help()


@pytest.mark.parametrize(
    "words", [[name] for name in COMMANDS] + [["model", "export"], ["model", "info"]], ids=" ".join
)
def test_help_of_every_command(words):
    res = run_cli(*words, "--help")
    assert res.returncode == EXIT_OK and res.stderr == "", res.stderr
    assert res.stdout.startswith(f"usage: vidcv {' '.join(words)} "), res.stdout
    if len(words) == 1:
        assert "examples:" in res.stdout  # every command shows how it is used


def test_no_command_prints_the_help_and_is_a_usage_error(capsys):
    assert main([]) == EXIT_USAGE
    out = capsys.readouterr().out
    assert out.startswith("usage: vidcv ") and "examples:" in out


def test_an_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nope"])
    assert exc.value.code == EXIT_USAGE
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    res = run_cli("nope")
    assert res.returncode == EXIT_USAGE and "invalid choice: 'nope'" in res.stderr and "Traceback" not in res.stderr


def test_a_missing_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run"])
    assert exc.value.code == EXIT_USAGE
    assert "the following arguments are required: SOURCE" in capsys.readouterr().err


def raising(exc: BaseException):
    def handler(args):
        raise exc

    return handler


@pytest.mark.parametrize(
    "exc, status, line",
    [
        (VidcvError("no such thing; give another"), EXIT_ERROR, "vidcv: error: no such thing; give another"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "vidcv: interrupted"),
        (
            ZeroDivisionError("division by zero"),
            EXIT_ERROR,
            "vidcv: internal error: ZeroDivisionError: division by zero (run with --debug for the traceback)",
        ),
    ],
    ids=["user error", "ctrl-c", "bug"],
)
def test_what_a_handler_raises_becomes_one_line_and_an_exit_status(monkeypatch, capsys, exc, status, line):
    from vidcv.cli import sources

    monkeypatch.setattr(sources, "sources_command", raising(exc))  # main builds its parser on each call
    assert main(["sources"]) == status
    assert capsys.readouterr() == ("", line + "\n")


@pytest.mark.parametrize("exc", [VidcvError("no such thing"), ZeroDivisionError("division by zero")])
def test_debug_raises_what_the_handler_raised(monkeypatch, capsys, exc):
    from vidcv.cli import sources

    monkeypatch.setattr(sources, "sources_command", raising(exc))
    with pytest.raises(type(exc)):
        main(["sources", "--debug"])


def test_the_handler_status_is_the_exit_status(monkeypatch):
    from vidcv.cli import sources

    monkeypatch.setattr(sources, "sources_command", lambda args: EXIT_INTERRUPTED)
    assert main(["sources"]) == EXIT_INTERRUPTED


@pytest.mark.parametrize(
    "case, args, words",
    [
        ("missing file", ["run", "nope.mp4"], "no such file or folder: nope.mp4"),
        ("not a video", ["run", "{notvideo}"], "as a video"),
        ("absent camera", ["run", "7"], "camera 7 could not be opened"),
        ("absent camera path", ["run", "/dev/video42"], "/dev/video42 does not exist"),
        ("bad url scheme", ["run", "foo://host/x"], "unsupported URL scheme 'foo'"),
        ("url without host", ["run", "rtsp:///x"], "names no host"),
        # no retry: a refused connection ends at once, saying so (OpenCV's and FFmpeg's own lines silenced)
        (
            "refused url",
            ["run", "http://127.0.0.1:9/none.ts", "--reconnect-attempts", "0"],
            "cannot open stream http://127.0.0.1:9/none.ts: connection refused by 127.0.0.1:9",
        ),
        ("refused rtsp", ["run", "rtsp://127.0.0.1:9/x", "--reconnect-attempts", "0"], "connection refused by"),
        ("missing preset", ["run", "pattern:", "-p", "nope.yaml"], "no such preset file: nope.yaml"),
        ("bad preset", ["run", "pattern:", "-p", "{badpreset}"], "stage 0 (blur): parameter 'ksize' = 4"),
        ("unknown plugin", ["run", "pattern:", "-p", "{unknownplugin}"], "unknown plugin 'sharpn'"),
        ("bad output", ["run", "pattern:", "-o", "out.xyz", "--max-frames", "2"], "unknown extension '.xyz'"),
        ("zero frames", ["run", "pattern:", "--max-frames", "0"], "--max-frames must be at least 1"),
    ],
)
def test_errors_are_one_clear_line_without_traceback(tmp_path, case, args, words):
    (tmp_path / "notvideo.mp4").write_text("plain text")
    (tmp_path / "bad.yaml").write_text("pipeline:\n  - plugin: blur\n    params: {ksize: 4}\n")
    (tmp_path / "unknown.yaml").write_text("pipeline:\n  - plugin: sharpn\n")
    subst = {
        "{notvideo}": str(tmp_path / "notvideo.mp4"),
        "{badpreset}": str(tmp_path / "bad.yaml"),
        "{unknownplugin}": str(tmp_path / "unknown.yaml"),
    }
    res = run_cli(*[subst.get(a, a) for a in args], cwd=tmp_path)
    assert res.returncode != 0, case
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidcv: error: ") and words in lines[0], (case, res.stderr)
    assert "Traceback" not in res.stderr


def test_an_error_line_shows_a_file_name_s_control_characters_escaped(tmp_path):
    path = tmp_path / "no\x1b]0;pwned\x07such\u202e\nfile.onnx"
    res = run_cli("model", "info", str(path))
    assert res.returncode == EXIT_ERROR and not any(c in res.stderr for c in "\x1b\x07\u202e"), res.stderr
    assert res.stderr.splitlines() == [
        f"vidcv: error: model file not found: {tmp_path}/no\\x1b]0;pwned\\x07such\\u202e\\nfile.onnx"
    ]


@pytest.mark.parametrize(
    "exc, line",
    [
        (
            VidcvError("cannot read x\x1b[2J.mp4:\nsecond line"),
            "vidcv: error: cannot read x\\x1b[2J.mp4:\\nsecond line",
        ),
        (
            ValueError("bad name \x1b]0;t\x07\r"),
            "vidcv: internal error: ValueError: bad name \\x1b]0;t\\x07\\r (run with --debug for the traceback)",
        ),
    ],
    ids=["user error", "bug"],
)
def test_error_lines_are_one_line_with_control_characters_escaped(monkeypatch, capsys, exc, line):
    from vidcv.cli import sources

    monkeypatch.setattr(sources, "sources_command", raising(exc))
    assert main(["sources"]) == EXIT_ERROR
    assert capsys.readouterr() == ("", line + "\n")


def test_debug_shows_the_traceback(tmp_path):
    res = run_cli("run", "nope.mp4", "--debug", cwd=tmp_path)
    assert res.returncode != 0 and "Traceback" in res.stderr


# --- every handler ends with one of the exit statuses -------------------------------------------------------

ALL_OK = [("python", "ok", "3.11.9", ""), ("opencv", "ok", "4.11.0", ""), ("onnxruntime", "ok", "1.22.0", "")]
OPENCV_MISSING = [
    ("python", "ok", "3.11.9", ""),
    ("opencv", "missing", "no module cv2", "pip install opencv-python"),
    ("onnxruntime", "ok", "1.22.0", ""),
]

HANDLER_CASES = [
    ("run", ["run", "pattern:", "--max-frames", "3", "-q"], EXIT_OK),
    ("run, missing source", ["run", "nope.mp4"], EXIT_ERROR),
    ("plugins", ["plugins", "--json"], EXIT_OK),
    ("plugins, markdown", ["plugins", "--markdown"], EXIT_OK),
    ("presets", ["presets", "--json"], EXIT_OK),
    ("presets, no such preset", ["presets", "nope"], EXIT_ERROR),
    ("sources", ["sources", "--json"], EXIT_OK),
    (
        "extract",
        ["extract", "pattern:", "-p", "edges", "--out", "ds", "--max-frames", "3", "--negatives-only", "-q"],
        EXIT_OK,
    ),
    (
        "extract, missing source",
        ["extract", "nope.mp4", "-p", "edges", "--out", "ds", "--negatives-only", "-q"],
        EXIT_ERROR,
    ),
    ("label, not a dataset", ["label", "nope"], EXIT_ERROR),
    ("dataset, not a dataset", ["dataset", "check", "nope"], EXIT_ERROR),
    ("train, not a dataset", ["train", "nope"], EXIT_ERROR),
    ("batch, a missing input", ["batch", "nope.mp4", "-p", "edges", "--out", "b", "-q"], EXIT_ERROR),
    ("export-script", ["export-script", "edges", "-o", "edges.py"], EXIT_OK),
    ("export-script, missing preset", ["export-script", "nope.yaml"], EXIT_ERROR),
    ("model info", ["model", "info", "shapes_yolov8n", "--device", "cpu", "--json"], EXIT_OK),
    ("model export of an onnx", ["model", "export", "mine.onnx"], EXIT_ERROR),
    ("doctor", ["doctor"], EXIT_OK),
    ("doctor, opencv missing", ["doctor"], EXIT_ERROR),
]
DOCTOR_ROWS = {"doctor": ALL_OK, "doctor, opencv missing": OPENCV_MISSING}


def test_the_handler_cases_cover_every_command():
    assert {args[0] for _, args, _ in HANDLER_CASES} == set(COMMANDS)


def spying_build_parser(outcomes: list):
    """build_parser whose handlers record what they returned or raised in ``outcomes``."""
    real = cli_main.build_parser

    def build(command=None):
        parser = real(command)
        for sub in subcommands(parser).values():

            def spy(args, handler=sub.get_default("handler")):  # noqa: B008 - bound now, per subcommand
                try:
                    result = handler(args)
                except BaseException as exc:
                    outcomes.append(exc)
                    raise
                outcomes.append(result)
                return result

            sub.set_defaults(handler=spy)
        return parser

    return build


@pytest.mark.parametrize("case, args, status", HANDLER_CASES, ids=[c[0] for c in HANDLER_CASES])
def test_every_handler_ends_with_an_exit_status(tmp_path, monkeypatch, capsys, case, args, status):
    from vidcv.cli import doctor

    monkeypatch.chdir(tmp_path)
    rows = DOCTOR_ROWS.get(case, ALL_OK)
    monkeypatch.setattr(doctor, "checks", lambda: [dict(zip(("name", "status", "detail", "fix"), r)) for r in rows])
    outcomes: list = []
    monkeypatch.setattr(cli_main, "build_parser", spying_build_parser(outcomes))
    assert main(args) == status
    assert len(outcomes) == 1, outcomes
    outcome = outcomes[0]
    if isinstance(outcome, BaseException):  # a user error: main turns it into EXIT_ERROR and one line
        assert isinstance(outcome, VidcvError) and status == EXIT_ERROR, repr(outcome)
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("vidcv: error: "), err
    else:
        assert type(outcome) is int and outcome in EXIT_CODES and outcome == status


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--json"],
        ["plugins"],
        ["model", "info", "shapes_yolov8n"],
        ["run", "pattern:64x48", "--max-frames", "3"],
        ["--help"],
    ],
    ids=" ".join,
)
def test_a_reader_that_went_away_ends_the_command_quietly(args):
    """`vidcv doctor --json | head -1`: the reader closes the pipe before vidcv writes; no error line."""
    import subprocess

    from media import vidcv_cmd

    proc = subprocess.Popen([*vidcv_cmd(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # as `head -1` that has exited
    err = proc.stderr.read()
    assert proc.wait(timeout=120) in (EXIT_OK, EXIT_ERROR)
    assert "rror" not in err and "Traceback" not in err and "Exception ignored" not in err, err


def test_a_broken_pipe_that_is_not_stdout_is_still_reported(monkeypatch, capsys):
    from vidcv.cli import sources

    monkeypatch.setattr(sources, "sources_command", raising(BrokenPipeError(32, "Broken pipe")))
    assert main(["sources"]) == EXIT_ERROR  # stdout here is pytest's and open: some other pipe broke
    assert "internal error: BrokenPipeError" in capsys.readouterr().err
