"""What needs the train extra says so when it is missing (vidcv.extras): `vidcv train` and `vidcv model export`
print one line with the pip command that adds it and exit 2; `vidcv doctor` lists the extras.

The extra is made to look missing in a child process by sys.modules entries of None, as Python itself marks a
module that cannot be imported (importlib.util.find_spec answers None, ``import torch`` raises)."""

import subprocess
import sys

import pytest

from vidcv.cli.exit_codes import EXIT_USAGE
from vidcv.extras import RAY, TRAIN, missing_line, missing_modules

pytestmark = pytest.mark.timeout(120)

WITHOUT_TRAIN = (
    "import sys\n"
    "sys.modules.update(torch=None, ultralytics=None)\n"
    "from vidcv.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def cli_without_train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_TRAIN, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (("train", "datasets/shapes", "--epochs", "1"), "vidcv train"),
        (("train", "--resume", "runs/train-shapes-1"), "vidcv train"),
        (("model", "export", "best.pt"), "vidcv model export"),
    ],
)
def test_a_command_that_needs_the_train_extra_says_how_to_add_it(args, feature, tmp_path):
    res = cli_without_train(*args)
    assert res.returncode == EXIT_USAGE, res.stderr
    assert res.stdout == ""
    assert res.stderr == (
        f"vidcv: {feature} needs the train extra (PyTorch and ultralytics; not installed: torch, ultralytics): "
        'pip install "vidcv[train]"\n'
    )


def test_an_onnx_file_is_still_told_it_needs_no_export():
    res = cli_without_train("model", "export", "best.onnx")
    assert res.returncode == 1 and "an .onnx file needs no export" in res.stderr


def test_model_info_needs_no_extra():
    res = cli_without_train("model", "info", "shapes_yolov8n", "--device", "cpu")
    assert res.returncode == 0, res.stderr
    assert "0=circle" in res.stdout


def test_the_doctor_lists_the_extras_and_their_commands():
    lines = cli_without_train("doctor").stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.split()[1:3] == ["train", "extra"])
    assert lines[row].startswith("INFO") and lines[row].endswith("not installed: torch, ultralytics")
    fix = 'fix: vidcv train, Dataset > Train… and vidcv model export need it: pip install "vidcv[train]"'
    assert lines[row + 1].strip() == fix


def test_the_extras_here_are_complete():
    """The dev install (these tests) holds both extras."""
    assert missing_modules(TRAIN) == [] and missing_modules(RAY) == []
    assert missing_line(TRAIN, "vidcv train") is None
