"""The training child: ``python -m vidcv.training.child``, started by ``vidcv.training.process``. The one place
that imports PyTorch and ultralytics.

It reads its plan (one JSON line) from stdin, then reports on its stdout (one JSON event a line,
``vidcv.training.events``); everything else it and the libraries print goes to ``RUN/train.log``. A ``stop``
line on stdin, the end of stdin (the parent has gone) or SIGINT / SIGTERM stop it: while training, at the next
batch, validation batch or epoch end (``last.pt`` of the last complete epoch stays, resumable); before and after
it at once. Checkpoints are written under a temporary name and renamed, so that a SIGKILL at any moment leaves
the last whole ``last.pt``, never a cut one under that name.

Offline by construction: ultralytics reads its settings from a private folder (no integrations, no analytics,
no user API key), ``YOLO_OFFLINE`` and ``YOLO_AUTOINSTALL=false`` are set before it is imported, the font check
(which asks the network for Arial.ttf even offline) is answered with matplotlib's own DejaVu Sans, the AMP
check on a GPU (which would download yolo26n.pt) is skipped unless those weights are already here, dataset
caches are not written into the dataset, and an audit hook refuses, and logs, any connection or name lookup
beyond this machine.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

from vidcv.errors import VidcvError, error_line
from vidcv.fileio import copy_atomic, open_file, partial_name, remove, replace, write_text_atomic
from vidcv.training.dataset import dataset_digest, record_training, ultralytics_data
from vidcv.training.events import (
    Batch,
    EpochEnd,
    Failed,
    Finished,
    Note,
    Started,
    Status,
    Stopped,
    TrainingEvent,
    finite,
    to_line,
)
from vidcv.training.process import Plan
from vidcv.training.runs import DATA_NAME, LOG_NAME, PRESET_NAME, now, preset_text, read_record, update_record

BATCH_EVERY_S = 0.25  #: at most this often a Batch event
INTEGRATIONS = ("sync", "clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")
LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1", b"::1"}


class StopRequested(BaseException):
    """A stop asked for (BaseException: ultralytics' ``except Exception`` blocks let it through)."""


class Channel:
    """The events' way to the parent: the stdout the child was started with."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.gone = False

    def send(self, event: TrainingEvent) -> None:
        if self.gone:
            return
        data = memoryview(to_line(event))
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:
            self.gone = True  # the parent has gone: its stdin's end stops the run


class State:
    """Where the run is, and whether a stop was asked for."""

    def __init__(self) -> None:
        self.phase = "setup"  #: setup, train (stop at the next safe point), export, done
        self.stop = False
        self.epoch_done = 0  #: 1-based, the last complete epoch (its last.pt written)

    def on_signal(self, signum: int, frame: object) -> None:
        self.stop = True
        if self.phase in ("setup", "export"):
            raise StopRequested

    def check(self) -> None:
        if self.stop:
            raise StopRequested


def _watch_stdin(stream: Any) -> None:
    """A ``stop`` line, or the end of stdin (the parent has gone), stops the run through SIGINT to itself (handled
    in the main thread, as a signal from outside is)."""
    try:
        for line in stream:
            if line.strip() == b"stop":
                os.kill(os.getpid(), signal.SIGINT)
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGINT)


def block_network() -> None:
    """Refuse every connection and name lookup beyond this machine, with a line in the log for each."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        where = None
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
                host = address[0]
                if host not in LOCAL_HOSTS and not str(host).startswith("127."):
                    where = f"{host}:{address[1]}"
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            host = args[0] if args else None
            if host not in LOCAL_HOSTS and not str(host).startswith("127."):
                where = str(host)
        if where is not None:
            print(f"vidcv: offline: refused a network request to {where}", file=sys.stderr, flush=True)
            traceback.print_stack(limit=12)  # which code asked, for its fix
            raise OSError(101, f"vidcv train runs offline (refused {where})")  # ENETUNREACH

    sys.addaudithook(hook)


def offline_ultralytics(config_dir: str) -> None:
    """Set up ultralytics to fetch nothing (see the module): call before importing it, then ``patch_ultralytics``."""
    os.environ["YOLO_CONFIG_DIR"] = config_dir
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("MPLBACKEND", "Agg")


def local_font(font: str = "Arial.ttf") -> str:
    """ultralytics' check_font, answered without the network: matplotlib's DejaVu Sans (it has Latin, Greek and
    Cyrillic; other scripts fall back as ultralytics does without its font)."""
    from matplotlib import get_data_path

    return os.path.join(get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")


def patch_ultralytics() -> None:
    """The replacements that keep ultralytics offline and its checkpoints whole (see the module)."""
    import ultralytics.data.dataset as ul_dataset
    import ultralytics.data.utils as ul_data_utils
    import ultralytics.engine.trainer as ul_trainer
    import ultralytics.utils.checks as ul_checks
    import ultralytics.utils.plotting as ul_plotting
    from ultralytics.utils import SETTINGS

    SETTINGS.update({k: False for k in INTEGRATIONS if k in SETTINGS})  # the private settings file only
    ul_checks.check_font = local_font
    ul_data_utils.check_font = local_font
    ul_plotting.check_font = local_font

    def no_cache_file(prefix: str, path: Any, x: dict[str, Any], version: str) -> None:
        """The dataset stays as vidcv wrote it: no labels/SPLIT.cache beside its labels (the cache is used as it
        is made, as ultralytics does when it cannot write it)."""
        x["version"] = version

    ul_dataset.save_dataset_cache_file = no_cache_file

    original_amp = ul_trainer.check_amp

    def check_amp(model: Any) -> bool:
        from ultralytics.utils import WEIGHTS_DIR

        if (WEIGHTS_DIR / "yolo26n.pt").is_file():
            return bool(original_amp(model))
        device = next(model.parameters()).device
        if device.type != "cuda":
            return False
        import re

        import torch

        name = torch.cuda.get_device_name(device)  # the GPUs ultralytics' check turns AMP off for
        return not re.search(
            r"(nvidia|geforce|quadro|tesla).*?(1660|1650|1630|t400|t550|t600|t1000|t1200|t2000|k40m)", name, re.I
        )

    ul_trainer.check_amp = check_amp
    original_strip = ul_trainer.strip_optimizer

    def strip_optimizer(f: Any = "best.pt", s: str = "", updates: dict[str, Any] | None = None) -> dict[str, Any]:
        """ultralytics' strip_optimizer, writing under a temporary name and renaming."""
        target = str(s or f)
        tmp = partial_name(target)
        remove(tmp)
        combined: dict[str, Any] = original_strip(f, s=tmp, updates=updates)
        if os.path.isfile(tmp):
            replace(tmp, target)
        return combined

    ul_trainer.strip_optimizer = strip_optimizer


def atomic_trainer(base: type) -> type:
    """``base`` (the task's trainer) with its checkpoints written under temporary names and renamed."""
    from pathlib import Path

    class Trainer(base):
        def save_model(self) -> Any:
            trainer: Any = self  # ultralytics' trainer: last and best are its checkpoints' paths
            last, best = trainer.last, trainer.best
            tmp_last, tmp_best = Path(partial_name(str(last))), Path(partial_name(str(best)))
            for tmp in (tmp_last, tmp_best):
                remove(str(tmp))
            trainer.last, trainer.best = tmp_last, tmp_best
            try:
                saved = super().save_model()
            finally:
                trainer.last, trainer.best = last, best
            for tmp, final in ((tmp_last, last), (tmp_best, best)):
                if tmp.is_file():
                    replace(str(tmp), str(final))
            return saved

    Trainer.__name__ = Trainer.__qualname__ = base.__name__  # ultralytics reads the trainer's kind from its name
    return Trainer


def _plain(values: dict[str, Any], prefix: str) -> dict[str, float]:
    """ultralytics' figures as plain floats, ``prefix`` (``train/``, ``metrics/``) taken off their names."""
    out = {}
    for key, value in values.items():
        if not str(key).startswith(prefix):
            continue
        try:
            out[str(key)[len(prefix) :]] = float(value)
        except (TypeError, ValueError):
            continue
    return out


class Reporter:
    """ultralytics' callbacks, turned into events (and the places a stop takes effect)."""

    def __init__(self, channel: Channel, state: State) -> None:
        self.channel, self.state = channel, state
        self.started = time.monotonic()
        self.in_epoch = False
        self.batch = 0
        self.sent_at = 0.0
        self.final: dict[str, float] = {}  #: the metrics of best.pt, validated at the end
        self.last_metrics: dict[str, float] = {}

    def attach(self, model: Any) -> None:
        for name in (
            "on_train_start",
            "on_train_epoch_start",
            "on_train_batch_end",
            "on_train_epoch_end",
            "on_val_batch_end",
            "on_fit_epoch_end",
            "on_train_end",
        ):
            model.add_callback(name, getattr(self, name))

    def losses(self, trainer: Any) -> dict[str, float]:
        if trainer.tloss is None:
            return {}
        return _plain(trainer.label_loss_items(trainer.tloss, prefix="train"), "train/")

    def on_train_start(self, trainer: Any) -> None:
        self.started = time.monotonic()
        self.state.phase = "train"
        self.state.check()

    def on_train_epoch_start(self, trainer: Any) -> None:
        self.state.check()
        self.in_epoch = True
        self.batch = 0

    def on_train_batch_end(self, trainer: Any) -> None:
        self.state.check()
        self.batch += 1
        batches = len(trainer.train_loader)
        at = time.monotonic()
        if at - self.sent_at >= BATCH_EVERY_S or self.batch >= batches:
            self.sent_at = at
            self.channel.send(Batch(trainer.epoch + 1, trainer.epochs, self.batch, batches, self.losses(trainer)))

    def on_train_epoch_end(self, trainer: Any) -> None:
        self.channel.send(Status(f"validating epoch {trainer.epoch + 1}"))

    def on_val_batch_end(self, validator: Any) -> None:
        if self.state.phase == "train":
            self.state.check()

    def on_fit_epoch_end(self, trainer: Any) -> None:
        metrics = _plain(trainer.metrics or {}, "metrics/")
        if not self.in_epoch:  # the final validation of best.pt (no epoch began before it)
            self.final = metrics
            return
        self.in_epoch = False
        self.state.epoch_done = trainer.epoch + 1
        self.last_metrics = metrics
        self.channel.send(
            EpochEnd(trainer.epoch + 1, trainer.epochs, self.losses(trainer), metrics, time.monotonic() - self.started)
        )
        self.state.check()  # after the epoch's last.pt was written

    def on_train_end(self, trainer: Any) -> None:
        self.channel.send(Status("plotting"))


def resolve_device(asked: str) -> str:
    """``cpu`` or a CUDA index as ultralytics takes it; VidcvError for a GPU that is not here."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if asked == "auto":
        return "0" if count else "cpu"
    if asked == "cpu":
        return "cpu"
    if int(asked) >= count:
        found = f"{count} CUDA GPU{'s' if count != 1 else ''}" if count else "no CUDA GPU"
        raise VidcvError(f"--device {asked}: this machine has {found} that PyTorch can use; use --device cpu or auto")
    return str(int(asked))


def load_model(model: str, task: str) -> Any:
    """The ultralytics model: built from its yaml or loaded from weights; VidcvError of one line otherwise."""
    from ultralytics import YOLO

    try:
        loaded = YOLO(model)
    except Exception as exc:  # noqa: BLE001 - ultralytics raises many kinds for a model it cannot make
        if model.lower().endswith((".yaml", ".yml")):
            raise VidcvError(
                f"ultralytics cannot build {model} ({error_line(exc)[:200]}): give one of its model yamls, such as "
                "yolo11n.yaml, yolov8s.yaml or yolo26n.yaml (with -seg, -pose, -obb or -cls for those tasks)"
            ) from None
        raise VidcvError(f"ultralytics cannot load {model}: {error_line(exc)[:300]}") from None
    if loaded.task != task:
        raise VidcvError(f"{model} is a {loaded.task} model and the dataset wants {task}: give a {task} model")
    return loaded


def export_onnx(best: str, imgsz: int, out: str) -> None:
    """best.pt to ONNX at ``out``, as ``vidcv model export`` does it: ultralytics writes its export beside the
    weights it loaded, so it loads a copy in a private folder; the result is copied into place whole."""
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(prefix="vidcv-export-") as work:
        given = os.path.join(work, os.path.basename(best))
        copy_atomic(best, given)
        onnx = YOLO(given).export(format="onnx", imgsz=imgsz, simplify=True, verbose=False)
        copy_atomic(str(onnx), out)


def train(plan: Plan, channel: Channel, state: State) -> Finished:
    options, data, run = plan.options, plan.data, plan.run_dir
    update_record(run, pid=os.getpid(), host=socket.gethostname())
    channel.send(Status("reading the dataset"))
    digest = dataset_digest(data)
    record = read_record(run)
    update_record(run, dataset={**record.get("dataset", {}), "digest": digest})
    if plan.resume and plan.digest and plan.digest != digest:
        channel.send(
            Note(
                f"{data.root} changed since this run began (digest {plan.digest[:12]} then, {digest[:12]} now): "
                "the run goes on with the dataset as it is now",
                warning=True,
            )
        )
    doc, notes = ultralytics_data(data)
    for note in notes:
        channel.send(Note(note, warning=True))
    if doc is None:
        data_arg = data.root
    else:
        import yaml

        data_arg = os.path.join(run, DATA_NAME)
        write_text_atomic(data_arg, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))

    channel.send(Status("loading ultralytics"))
    with tempfile.TemporaryDirectory(prefix="vidcv-ultralytics-") as config:
        offline_ultralytics(config)
        block_network()
        import torch
        import ultralytics

        patch_ultralytics()
        device = resolve_device(options.device)
        model = load_model(plan.model, data.task)
        trainer = atomic_trainer(model.task_map[model.task]["trainer"])
        reporter = Reporter(channel, state)
        reporter.attach(model)
        used = {k: v for k, v in data.images.items() if v}
        channel.send(Started(run, data.task, plan.model, options.epochs, device, used, digest))
        update_record(
            run,
            device=device,
            versions={
                "ultralytics": ultralytics.__version__,
                "torch": torch.__version__,
                "python": sys.version.split()[0],
            },
        )
        settings: dict[str, Any] = {"data": data_arg, "device": device, "workers": options.workers, "plots": True}
        if not plan.resume:  # a resumed run takes the rest from its checkpoint (ultralytics' resume)
            settings.update(
                epochs=options.epochs,
                imgsz=plan.imgsz,
                batch=options.batch,
                seed=options.seed,
                deterministic=True,
                amp=device != "cpu",
                project=os.path.dirname(run),
                name=os.path.basename(run),
                exist_ok=True,
                verbose=True,
            )
        try:
            model.train(resume=plan.resume, trainer=trainer, **settings)
        finally:
            state.phase = "export"  # a stop from now on takes effect at once
        state.check()
        weights = os.path.join(run, "weights")
        best, last = os.path.join(weights, "best.pt"), os.path.join(weights, "last.pt")
        if not os.path.isfile(best):
            raise VidcvError(f"ultralytics wrote no best.pt in {weights}: see {os.path.join(run, LOG_NAME)}")
        channel.send(Status("exporting to ONNX"))
        onnx = os.path.join(weights, "best.onnx")
        export_onnx(best, plan.imgsz, onnx)

    channel.send(Status("writing the preset"))
    from vidcv.presets import parse_preset

    preset = os.path.join(run, PRESET_NAME)
    text = preset_text(onnx, data.names, plan.model, data.root, run)
    parse_preset(text, origin=preset, folder=run)  # the yolo stage loads the model: the preset runs as written
    write_text_atomic(preset, text)
    metrics = finite(reporter.final or reporter.last_metrics)
    update_record(
        run,
        status="finished",
        ended=now(),
        epochs_done=state.epoch_done,
        metrics=metrics,
        files={"best_pt": best, "last_pt": last, "onnx": onnx, "preset": preset},
    )
    warning = record_training(data.root, {"event": "train", "run": run, "digest": digest, "time": now()})
    if warning:
        channel.send(Note(warning, warning=True))
    state.phase = "done"
    return Finished(run, onnx, preset, best, last, metrics)


def main() -> int:
    plan = Plan.from_json(sys.stdin.buffer.readline().decode("utf-8"))
    channel = Channel(os.dup(1))
    log = open_file(os.path.join(plan.run_dir, LOG_NAME), "ab")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    state = State()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, state.on_signal)
    threading.Thread(target=_watch_stdin, args=(sys.stdin.buffer,), name="vidcv-stdin", daemon=True).start()
    last = os.path.join(plan.run_dir, "weights", "last.pt")
    try:
        try:
            channel.send(train(plan, channel, state))
            return 0
        except StopRequested:
            state.phase = "done"
            kept = last if os.path.isfile(last) else None
            update_record(plan.run_dir, status="stopped", ended=now(), epochs_done=state.epoch_done, last_pt=kept)
            channel.send(Stopped(plan.run_dir, kept, state.epoch_done))
            return 130
    except StopRequested:  # a second stop while the first was being recorded
        channel.send(Stopped(plan.run_dir, last if os.path.isfile(last) else None, state.epoch_done))
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure is one line for the parent, the traceback in the log
        traceback.print_exc()
        message = error_line(exc)
        try:
            update_record(plan.run_dir, status="failed", ended=now(), error=message)
        except Exception:  # noqa: BLE001 - the event below says it
            pass
        channel.send(Failed(message, os.path.join(plan.run_dir, LOG_NAME)))
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # no interpreter shutdown under a data loader's threads
