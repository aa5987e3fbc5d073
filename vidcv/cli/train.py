"""``vidcv train``: a model trained on a vidcv dataset with ultralytics, in a child process, exported to ONNX with a
preset that runs it."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from vidcv.cli.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from vidcv.cli.output import say
from vidcv.errors import VidcvError
from vidcv.extras import TRAIN, missing_line
from vidcv.signals import StopSignals, describe, exit_status

TRAIN_EXAMPLES = """examples:
  vidcv train datasets/shapes --epochs 50 --imgsz 320
  vidcv train datasets/people --model yolo11s.yaml --device 0 --out runs/people-s
  vidcv train datasets/masks --model runs/train-masks-1/weights/best.pt --epochs 20   # start from weights
  vidcv train --resume runs/train-shapes-1       # go on with a run stopped by Ctrl-C

DIR is a dataset that `vidcv extract --out DIR` made: its data.yaml names the layout (yolo, coco, yolo-seg,
yolo-pose, yolo-obb, classify), which sets the task; --model must be a model of that task (yolo11n-seg.yaml
for yolo-seg). A model yaml is built untrained, so nothing is downloaded. The run folder gets ultralytics'
weights (weights/best.pt, last.pt), plots and results.csv, weights/best.onnx, pipeline.yaml (a preset that
runs the model) and vidcv_run.json (the dataset's digest, the options, the metrics); the dataset's
manifest.jsonl gets a line naming the run. Ctrl-C stops after the batch in hand and keeps last.pt of the
last complete epoch; Ctrl-C again stops at once."""

#: a signal this many seconds after the first ends the child at once
FORCE_AFTER_S = 3.0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "train",
        parents=[common],
        help="train a YOLO model on a dataset (ultralytics), export it to ONNX with a preset",
        description="Train a YOLO model on a vidcv dataset with ultralytics, in a process of its own; export the best "
        "weights to ONNX and write a preset that runs them.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dataset", metavar="DIR", nargs="?", default="", help="the dataset folder (its data.yaml names the layout)"
    )
    p.add_argument(
        "--model",
        default="",
        metavar="MODEL",
        help="an ultralytics model yaml (built untrained) or weights to start from (.pt); default yolo11n.yaml of "
        "the dataset's task (yolo11n-seg.yaml, -pose, -obb, -cls)",
    )
    p.add_argument("--epochs", type=int, default=100, metavar="N", help="epochs (default 100)")
    p.add_argument(
        "--imgsz", type=int, default=0, metavar="PX", help="training image size (default 640; 224 to classify)"
    )
    p.add_argument("--batch", type=int, default=16, metavar="N", help="images per batch (default 16)")
    p.add_argument(
        "--device",
        default="auto",
        metavar="DEV",
        help="auto (a CUDA GPU when there is one), cpu, or a GPU's index: 0, 1 ...",
    )
    p.add_argument(
        "--out",
        default="",
        metavar="RUN",
        help="the run folder, new or empty (default runs/train-NAME-N, the first N free)",
    )
    p.add_argument("--workers", type=int, default=8, metavar="N", help="data loader processes (default 8; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--resume",
        default="",
        metavar="RUN",
        help="go on with a run that was stopped, from its weights/last.pt (its dataset, model, epochs, image size "
        "and batch; --device and --workers may change)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no line per epoch")
    p.set_defaults(handler=train_command)


def _figures(values: dict[str, Any], digits: int = 3) -> str:
    return "  ".join(f"{k} {v:.{digits}f}" if isinstance(v, (int, float)) else f"{k} -" for k, v in values.items())


class Bar:
    """A tqdm bar on stderr for the epoch in progress (only on a terminal), with its losses."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.epoch = 0

    def batch(self, epoch: int, epochs: int, done: int, total: int, losses: dict[str, float]) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if self.bar is None or epoch != self.epoch:
            self.close()
            self.epoch = epoch
            self.bar = tqdm(
                total=total,
                desc=f"epoch {epoch}/{epochs}",
                unit="batch",
                dynamic_ncols=True,
                file=sys.stderr,
                leave=False,
            )
        self.bar.set_postfix_str(_figures(losses), refresh=False)
        self.bar.update(done - self.bar.n)

    def status(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def train_command(args: argparse.Namespace) -> int:
    """Train, with SIGINT and SIGTERM as a stop that keeps last.pt (exit status 130 or 143); a second one later
    than FORCE_AFTER_S ends the child at once. Without the train extra: one line naming it, exit status 2."""
    missing = missing_line(TRAIN, "vidcv train")
    if missing:
        say(f"vidcv: {missing}", file=sys.stderr)
        return EXIT_USAGE
    with StopSignals() as signals:
        return _train(args, signals)


def _train(args: argparse.Namespace, signals: StopSignals) -> int:
    from vidcv.training import (
        Batch,
        EpochEnd,
        Failed,
        Finished,
        Note,
        Started,
        Status,
        Stopped,
        TrainOptions,
        headline,
        start_training,
    )

    options = TrainOptions(
        dataset=args.dataset,
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        out=args.out,
        workers=args.workers,
        seed=args.seed,
        resume=args.resume,
    )
    training = start_training(options)
    signals.absorb()  # from now on a signal stops the child, which keeps what it has
    plan = training.plan
    task = plan.data.task
    if plan.resume:
        say(f"resuming {plan.run_dir} from {plan.model} ({task}, {plan.options.epochs} epochs in all)")
    else:
        say(
            f"training {plan.model} ({task}) on {plan.data.root}: {len(plan.data.names)} classes, "
            f"{plan.options.epochs} epochs at {plan.imgsz} px"
        )
    say(f"run folder {plan.run_dir} (ultralytics' log: {training.log})")
    bar = Bar(enabled=sys.stderr.isatty() and not args.quiet)
    stopping_at: float | None = None
    forced = False
    try:
        while True:
            event = training.get(timeout=0.2)
            if signals.received and stopping_at is None:
                stopping_at = signals.received[0][1]
                training.cancel()
                bar.close()
                say(
                    f"vidcv: {describe(signals.received[0][0])}: stopping after the batch in hand, keeping last.pt "
                    "(Ctrl-C again to stop at once)",
                    file=sys.stderr,
                    flush=True,
                )
            if (
                not forced
                and stopping_at is not None
                and any(at - stopping_at > FORCE_AFTER_S for _, at in signals.received[1:])
            ):
                forced = True
                training.kill()
            if event is None:
                if not training.running:
                    break
                continue
            if isinstance(event, Started):
                images = ", ".join(f"{n} {split}" for split, n in event.images.items())
                say(f"device {event.device}; images {images}; dataset digest {event.digest[:16]}")
            elif isinstance(event, Batch):
                bar.batch(event.epoch, event.epochs, event.batch, event.batches, event.losses)
            elif isinstance(event, Status):
                bar.status(event.text)
            elif isinstance(event, EpochEnd):
                bar.close()
                if not args.quiet:
                    say(
                        f"epoch {event.epoch}/{event.epochs}  {_figures(event.losses)}  "
                        f"{_figures(headline(event.metrics, task))}  {event.elapsed:.1f} s",
                        flush=True,
                    )
            elif isinstance(event, Note):
                bar.close()
                say(f"vidcv: {'warning: ' if event.warning else ''}{event.message}", file=sys.stderr)
            elif isinstance(event, Finished):
                bar.close()
                say(f"best.pt: {_figures(headline(event.metrics, task))}")
                say(f"wrote {event.onnx} and {event.preset}")
                say(f"vidcv run VIDEO --pipeline {shlex.quote(event.preset)}")
                return EXIT_OK
            elif isinstance(event, Stopped):
                bar.close()
                return _stopped(event, signals)
            elif isinstance(event, Failed):
                bar.close()
                if signals.received:
                    return _stopped(Stopped(plan.run_dir, None), signals)
                raise VidcvError(event.message)
    finally:
        bar.close()
        training.close()
    raise VidcvError(f"the training ended without a result; see {training.log}")


def _stopped(event: Any, signals: StopSignals) -> int:
    signum = signals.first
    what = describe(signum) if signum is not None else "stopped"
    if event.last_pt:
        after = f" after epoch {event.epoch}" if event.epoch else ""
        say(
            f"vidcv: {what}: kept {event.last_pt}{after}; go on with: vidcv train --resume {shlex.quote(event.run_dir)}"
            f"; or use it as it is: vidcv model export {shlex.quote(event.last_pt)}",
            file=sys.stderr,
        )
    else:
        say(f"vidcv: {what} before the first epoch ended: no weights kept ({event.run_dir})", file=sys.stderr)
    return exit_status(signum) if signum is not None else EXIT_ERROR
