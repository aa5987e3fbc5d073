"""`vidcv model export` and `vidcv model info` (vidcv/cli/model.py)."""

import json
import os

import pytest

from media import run_cli

pytestmark = pytest.mark.timeout(300)


def test_model_info_of_the_demo_model():
    res = run_cli("model", "info", "shapes_yolov8n", "--device", "cpu", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["task"] == "detect" and doc["classes"] == {"0": "circle", "1": "square", "2": "triangle"}
    assert (
        doc["imgsz"] == [256, 256]
        and doc["provider_in_use"] == "cpu"
        and "CPUExecutionProvider" in doc["providers_available"]
    )
    text = run_cli("model", "info", "shapes_yolov8n").stdout
    assert "runs on    CPU" in text and "0=circle" in text
    if "runs on    CPU (device auto)" in text and "warning" not in text:  # no GPU here: said, not warned
        assert "runs on    CPU (device auto): no NVIDIA GPU driver found" in text


def test_model_info_of_an_empty_model_is_the_demo_model_as_in_the_yolo_stage():
    from vidcv.bundled import DEMO_MODEL, bundled_models
    from vidcv.plugins.yolo import resolve_model

    res = run_cli("model", "info", "", "--device", "cpu", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert os.path.samefile(doc["path"], resolve_model("")) and os.path.samefile(
        doc["path"], bundled_models()[DEMO_MODEL]
    )
    assert doc["classes"] == {"0": "circle", "1": "square", "2": "triangle"}


def test_export_builds_an_onnx_that_vidcv_runs(tmp_path):
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    code = "from ultralytics import YOLO; m = YOLO('yolov8n.yaml'); m.save(r'%s')" % (tmp_path / "tiny.pt")
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env, timeout=120)
    res = run_cli("model", "export", str(tmp_path / "tiny.pt"), "--imgsz", "160", env=env)
    assert res.returncode == 0, res.stderr
    assert "unpickles it, which can run code" in res.stderr
    out = tmp_path / "tiny.onnx"
    assert out.exists() and f"wrote {out}" in res.stdout
    info = json.loads(run_cli("model", "info", str(out), "--device", "cpu", "--json").stdout)
    assert info["imgsz"] == [160, 160] and len(info["classes"]) == 80
    # --out elsewhere: the user's tiny.onnx beside the weights (ultralytics' own export name) is left alone
    mine = out.read_bytes()
    res = run_cli(
        "model",
        "export",
        str(tmp_path / "tiny.pt"),
        "--imgsz",
        "160",
        "--out",
        str(tmp_path / "tiny_vidcv.onnx"),
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == mine and (tmp_path / "tiny_vidcv.onnx").stat().st_size > 0
    assert sorted(os.listdir(tmp_path)) == ["tiny.onnx", "tiny.pt", "tiny_vidcv.onnx"]
    # without --out, the default name taken already (a training run's best.onnx): refused, nothing touched
    res = run_cli("model", "export", str(tmp_path / "tiny.pt"), env=env)
    assert res.returncode == 1 and "is already there" in res.stderr and "--out" in res.stderr
    assert out.read_bytes() == mine


def test_export_of_an_official_name_offline_says_where_to_put_it(tmp_path):
    res = run_cli("model", "export", "yolo11n.pt", cwd=tmp_path, env={**os.environ, "YOLO_OFFLINE": "1"})
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "yolo11n.pt is not here and could not be downloaded" in res.stderr
    assert "put it at ./yolo11n.pt" in res.stderr


def test_export_refuses_what_it_cannot_export(tmp_path):
    assert "no such weights file" in run_cli("model", "export", str(tmp_path / "mine.pt")).stderr
    assert "needs no export" in run_cli("model", "export", str(tmp_path / "mine.onnx")).stderr


@pytest.mark.parametrize(
    "out, words",
    [
        ("mine.pt", "--out mine.pt: the export is an ONNX model; give a name ending in .onnx"),
        ("other.pt", "--out other.pt: the export is an ONNX model; give a name ending in .onnx"),
        ("alias.onnx", "--out alias.onnx is the weights being exported; give another name"),
        ("folder.onnx", "cannot write folder.onnx: it is a folder (give a file name)"),
    ],
)
def test_export_never_writes_over_the_weights_nor_beside_a_folder(tmp_path, out, words):
    """Refused before ultralytics loads anything: the weights, even reached through a link, stay as they were."""
    weights = tmp_path / "mine.pt"
    weights.write_bytes(b"the user's only weights")
    os.symlink("mine.pt", tmp_path / "alias.onnx")
    (tmp_path / "folder.onnx").mkdir()
    res = run_cli("model", "export", "mine.pt", "--out", out, cwd=tmp_path)
    assert res.returncode != 0 and res.stderr.strip().splitlines()[-1] == f"vidcv: error: {words}"
    assert weights.read_bytes() == b"the user's only weights"
    assert sorted(os.listdir(tmp_path)) == ["alias.onnx", "folder.onnx", "mine.pt"]


@pytest.mark.parametrize(
    "argv, debug, verbose",
    [
        (["model", "--debug", "info", "x.onnx"], True, False),
        (["model", "info", "x.onnx", "--debug"], True, False),
        (["model", "-v", "export", "w.pt"], False, True),
        (["model", "info", "x.onnx"], False, False),
    ],
)
def test_debug_and_verbose_count_before_or_after_the_action(argv, debug, verbose):
    from vidcv.cli.main import build_parser

    args = build_parser().parse_args(argv)
    assert (args.debug, args.verbose) == (debug, verbose)


TINY_DETECT = os.path.join(os.path.dirname(__file__), "..", "assets", "models", "tiny_detect.pt")


def test_export_simplifies_the_graph_with_current_arguments_and_no_warning(tmp_path):
    import shutil

    import numpy as np
    import onnx
    import onnxruntime as ort
    from ultralytics import YOLO

    weights = tmp_path / "best.pt"
    shutil.copy(TINY_DETECT, weights)
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    for args in ([], ["--half"]):
        out = tmp_path / f"slim{'_half' if args else ''}.onnx"
        res = run_cli("model", "export", str(weights), "--imgsz", "160", "--out", str(out), *args, env=env)
        assert res.returncode == 0, res.stderr
        said = res.stdout + res.stderr
        # ultralytics' own warnings: a deprecated argument, a requirement not found, the simplifier failing
        assert "WARNING" not in said and "deprecated" not in said and "not found" not in said, said
        assert "slimming with onnxslim" in said
        args_used = {p.key: p.value for p in onnx.load(str(out)).metadata_props}["args"]
        assert "'simplify': True" in args_used and ("'quantize': 16" in args_used) == bool(args)
    # the same weights exported unsimplified, for comparison (under another name: it writes beside the weights)
    shutil.copy(TINY_DETECT, tmp_path / "plain.pt")
    plain = YOLO(str(tmp_path / "plain.pt")).export(format="onnx", imgsz=160, simplify=False, verbose=False)
    slim, raw = onnx.load(str(tmp_path / "slim.onnx")), onnx.load(plain)
    ops = [n.op_type for n in slim.graph.node]
    assert "Constant" not in ops and [n.op_type for n in raw.graph.node].count("Constant") > 0  # folded
    assert len(ops) < len(raw.graph.node)
    # ... and it computes the same
    x = np.random.default_rng(0).random((1, 3, 160, 160), dtype=np.float32)
    outputs = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
        for m in (slim, raw)
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-3)
    from vidcv.inference.yolo import YoloModel

    for name in ("slim.onnx", "slim_half.onnx"):  # vidcv runs both
        info = YoloModel(str(tmp_path / name), "cpu", warmup=False).info
        assert info.imgsz == (160, 160) and list(info.names.values()) == ["circle", "square", "triangle"]


def test_an_rtdetr_exports_and_info_names_its_form(tmp_path):
    """An RT-DETR checkpoint exports through `vidcv model export`; `model info` says it is RT-DETR's decoder."""
    import shutil

    weights = tmp_path / "tiny_rtdetr.pt"
    shutil.copy(os.path.join(os.path.dirname(TINY_DETECT), "tiny_rtdetr.pt"), weights)
    out = tmp_path / "rtdetr.onnx"
    env = {**os.environ, "YOLO_OFFLINE": "1"}
    res = run_cli("model", "export", str(weights), "--imgsz", "160", "--out", str(out), env=env)
    assert res.returncode == 0, res.stderr
    text = run_cli("model", "info", str(out), "--device", "cpu").stdout
    assert "task       detect\n" in text and "form       RT-DETR decoder (no NMS)\n" in text
    assert "input      160x160 " in text and "classes    3: 0=circle, 1=square, 2=triangle" in text


HOSTILE_NAMES = {0: "\x1b]0;pwned\x07", 1: "\x1b[2J\rsq\nare", 2: "tri\u202eangle"}


def test_model_info_prints_names_from_the_file_with_control_characters_escaped(tmp_path):
    """Class names that would set the terminal's title, clear the screen, split or reverse lines, in a file whose
    name holds an escape too: shown escaped, one line each."""
    import onnx

    from vidcv.bundled import DEMO_MODEL, bundled_models

    model = onnx.load(bundled_models()[DEMO_MODEL])
    for prop in model.metadata_props:
        if prop.key == "names":
            prop.value = repr(HOSTILE_NAMES)
    path = tmp_path / "m\x1b[2J.onnx"
    onnx.save(model, str(path))
    res = run_cli("model", "info", str(path), "--device", "cpu")
    assert res.returncode == 0, res.stderr
    assert not any(c in res.stdout for c in "\x1b\x07\r\u202e"), res.stdout
    lines = res.stdout.splitlines()
    assert lines[0] == f"model      {tmp_path}/m\\x1b[2J.onnx"
    assert "classes    3: 0=\\x1b]0;pwned\\x07, 1=\\x1b[2J\\rsq\\nare, 2=tri\\u202eangle" in lines
    assert len(lines) == 7 + sum(line.startswith("warning") for line in lines)
    doc = json.loads(run_cli("model", "info", str(path), "--device", "cpu", "--json").stdout)  # JSON escapes them
    assert doc["classes"] == {str(k): v for k, v in HOSTILE_NAMES.items()}


def test_export_without_imgsz_keeps_the_size_the_model_was_trained_at(tmp_path):
    import shutil

    weights = tmp_path / "best.pt"
    shutil.copy(TINY_DETECT, weights)  # trained at 160
    out = tmp_path / "again.onnx"
    res = run_cli("model", "export", str(weights), "--out", str(out), env={**os.environ, "YOLO_OFFLINE": "1"})
    assert res.returncode == 0, res.stderr
    info = json.loads(run_cli("model", "info", str(out), "--device", "cpu", "--json").stdout)
    assert info["imgsz"] == [160, 160]
