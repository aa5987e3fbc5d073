"""``vidcv model export`` and ``vidcv model info``."""

from __future__ import annotations

import argparse
import os
import re
import sys

from vidcv.cli.exit_codes import EXIT_OK, EXIT_USAGE
from vidcv.cli.output import say
from vidcv.errors import VidcvError
from vidcv.extras import TRAIN, missing_line

OFFICIAL = re.compile(r"^yolo(v?\d+)[nsmlx]?(-seg|-pose|-obb|-cls)?\.pt$")


def export_command(args: argparse.Namespace) -> int:
    """Convert ultralytics weights to ONNX (ultralytics does the export; vidcv runs the result). Without the train
    extra: one line naming it, exit status 2."""
    weights = args.weights
    if not weights.lower().endswith((".pt", ".pth")):
        raise VidcvError(f"{weights}: give PyTorch weights (.pt) to export; an .onnx file needs no export")
    missing = missing_line(TRAIN, "vidcv model export")
    if missing:
        say(f"vidcv: {missing}", file=sys.stderr)
        return EXIT_USAGE
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    if not os.path.isfile(weights) and not OFFICIAL.match(os.path.basename(weights)):
        raise VidcvError(f"no such weights file: {weights}")
    say(
        f"vidcv: warning: loading {weights} unpickles it, which can run code: load only weights you trust. "
        "The exported ONNX has no such risk.",
        file=sys.stderr,
    )
    if args.nms and args.end2end:
        raise VidcvError("--nms and --end2end exclude each other: NMS in the graph, or a head that needs none")
    out = args.out or os.path.splitext(weights)[0] + ".onnx"
    if not args.out and os.path.lexists(out):  # a file the user did not name is never replaced
        raise VidcvError(
            f"{out} is already there (a training run's own export?): give --out NEW.onnx, or --out {out} to replace it"
        )
    if not out.lower().endswith(".onnx"):  # an ONNX graph under a .pt name would replace weights, unloadable
        raise VidcvError(f"--out {out}: the export is an ONNX model; give a name ending in .onnx")
    from vidcv.fileio import same_file
    from vidcv.sinks.base import check_writable

    if same_file(out, weights):
        raise VidcvError(f"--out {out} is the weights being exported; give another name")
    check_writable(out)  # before the export's minutes: a folder there, or no permission, is said now
    import shutil  # here: every command imports this module, and shutil brings bz2 and lzma
    import tempfile

    from ultralytics import YOLO

    from vidcv.fileio import copy_atomic

    # ultralytics writes its export beside the weights it loaded: it loads a copy in a private folder, so that no
    # file of the user's (a best.onnx beside best.pt) is overwritten, moved or removed
    with tempfile.TemporaryDirectory(prefix="vidcv-export-") as work:
        given = weights
        if os.path.isfile(weights):
            given = os.path.join(work, os.path.basename(weights))
            shutil.copyfile(weights, given)
        try:
            model = YOLO(given)
        except Exception as exc:  # noqa: BLE001 - ultralytics raises many kinds when a download fails
            if not os.path.isfile(weights):
                raise VidcvError(
                    f"{weights} is not here and could not be downloaded ({type(exc).__name__}; "
                    f"offline?): download it from the Ultralytics releases page and put it at "
                    f"./{os.path.basename(weights)}, or give the path of your own weights"
                ) from None
            raise VidcvError(f"ultralytics cannot load {weights}: {exc}") from None
        # ultralytics 8.4 spells fp16 quantize=16 and the end-to-end head nms=False (half and end2end are
        # deprecated); simplify runs onnxslim (of the train extra) on the graph: constants folded, shape
        # arithmetic removed.
        options = {
            **({"imgsz": args.imgsz} if args.imgsz else {}),  # none: the size the model was trained at
            "dynamic": args.dynamic,
            "batch": args.batch,
            "simplify": True,
            **({"quantize": 16} if args.half else {}),
            **({"nms": True} if args.nms else {}),
            **({"nms": False} if args.end2end else {}),
        }
        onnx = model.export(format="onnx", verbose=False, **options)
        copy_atomic(onnx, out)
    say(f"wrote {out}")
    return EXIT_OK


def info_command(args: argparse.Namespace) -> int:
    from vidcv.bundled import DEMO_MODEL, bundled_models
    from vidcv.inference.providers import available, caller_reports_fallback
    from vidcv.inference.yolo import YoloModel

    # as the yolo stage reads its model: a bundled name, else a path; empty is the demo model
    name = args.model or DEMO_MODEL
    path = bundled_models().get(name, name)
    with caller_reports_fallback():  # said once, below, among the model's facts
        model = YoloModel(path, device=args.device, warmup=False)
    doc = {
        **model.info.to_dict(),
        "providers_available": available(),
        "provider_in_use": model.provider,
        "warnings": model.session_info.warnings,
        "fallback_reasons": model.session_info.reasons,
    }
    if args.json:  # JSON escapes every control character itself
        import json

        print(json.dumps(doc, indent=2))
        return EXIT_OK
    say(f"model      {doc['path']}")
    forms = {
        "raw": "raw head (vidcv runs NMS)",
        "end2end": "end-to-end, NMS-free head",
        "nms": "NMS inside the graph",
        "rtdetr": "RT-DETR decoder (no NMS)",
    }
    say(
        f"task       {doc['task']}"
        + (f", keypoints {doc['kpt_shape'][0]} x {doc['kpt_shape'][1]}" if "kpt_shape" in doc else "")
    )
    say(f"form       {forms.get(doc['form'], doc['form'])}")
    size = f"{doc['imgsz'][1]}x{doc['imgsz'][0]}"
    size = f"any size (default {size})" if doc["dynamic"] else size
    batch = f", batch {doc['batch']}" if doc["batch"] > 1 else ""
    say(f"input      {size} (stride {doc['stride']}, {doc['input_dtype']}{batch})")
    say(f"classes    {len(doc['classes'])}: " + ", ".join(f"{k}={v}" for k, v in doc["classes"].items()))
    say(f"providers  available: {', '.join(doc['providers_available'])}")
    why = f": {model.session_info.why}" if model.session_info.why and not doc["warnings"] else ""
    say(f"runs on    {doc['provider_in_use'].upper()} (device {args.device}){why}")
    for warning in doc["warnings"]:
        say(f"warning    {warning}")
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    model = sub.add_parser(
        "model",
        parents=[common],
        help="export and inspect YOLO models",
        description="Convert ultralytics weights to ONNX, or describe an ONNX model.",
        epilog="examples:\n  vidcv model export best.pt --imgsz 640\n"
        "  vidcv model export yolo11n.pt            # fetched by ultralytics when online\n"
        "  vidcv model info assets/models/shapes_yolov8n.onnx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    msub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    # --debug and -v again after the action, without resetting what was given before it
    nested = argparse.ArgumentParser(add_help=False)
    nested.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logging"
    )
    nested.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log what happens (info level)"
    )
    export = msub.add_parser(
        "export", parents=[nested], help="PyTorch weights -> ONNX (through ultralytics: the train extra)"
    )
    export.add_argument("weights", metavar="WEIGHTS.pt")
    export.add_argument(
        "--imgsz", type=int, help="network input size (default: the size the model was trained at; 640 for a yaml)"
    )
    export.add_argument("--half", action="store_true", help="fp16 weights (for GPUs)")
    export.add_argument("--dynamic", action="store_true", help="dynamic input size and batch")
    export.add_argument("--nms", action="store_true", help="put NMS inside the graph (rows of boxes out)")
    export.add_argument("--end2end", action="store_true", help="YOLO26 / YOLOv10: their NMS-free head")
    export.add_argument("--batch", type=int, default=1, metavar="N", help="a fixed batch size (default 1)")
    export.add_argument(
        "--out",
        metavar="FILE.onnx",
        help="where to write (default: NAME.onnx beside NAME.pt, unless a file is there already)",
    )
    info = msub.add_parser("info", parents=[nested], help="task, classes, input size, providers")
    info.add_argument(
        "model",
        metavar="MODEL",
        help='an .onnx file or a bundled model name ("": the demo model, as the yolo stage\'s empty model)',
    )
    info.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "tensorrt"))
    info.add_argument("--json", action="store_true")
    model.set_defaults(handler=model_command)


def model_command(args: argparse.Namespace) -> int:
    return export_command(args) if args.model_command == "export" else info_command(args)
