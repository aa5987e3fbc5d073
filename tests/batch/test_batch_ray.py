"""`vidcv batch --engine ray` against a real Ray cluster that the test starts on loopback: a head and a second
worker node, with Ray's token authentication on (vidcv/batch/ray_engine.py). Results equal the local
engine's; a worker node killed mid-batch has its input retried on the head and the batch completes.

Ray turns 127.0.0.1 given to `ray start` into the machine's network address, so the nodes listen on other
loopback addresses: the head on 127.0.0.2, the worker node on 127.0.0.3.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
import yaml
from batch_helpers import (
    ledger,
    open_files,
    partial_leftovers,
    sample_frames,
    wait_for,
    write_clip,
)

from media import vidcv_cmd
from vidcv.bundled import bundled_models, bundled_preset

pytestmark = pytest.mark.timeout(300)

RAY = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
CLIPS = {"a/one.mp4": (0, 40), "b/two.mp4": (60, 40), "b/three.mp4": (120, 40), "c/four.mp4": (180, 40)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HEAD_IP, 0))
        return s.getsockname()[1]


def session_processes(sid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes of session ``sid``."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            found.append((int(entry), cmdline))
    return found


class Cluster:
    """A head and a worker node, each `ray start --block` in a session of its own (killed as a group)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.token = secrets.token_hex(32)
        self.port = free_port()
        self.address = f"{HEAD_IP}:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        self.env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token, "RAY_USAGE_STATS_ENABLED": "0"}
        self.procs: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None

    def start_node(self, name: str, *args: str) -> subprocess.Popen:
        with open(os.path.join(self.root, f"{name}.log"), "w") as log:  # the node keeps its own handle
            proc = subprocess.Popen(
                [RAY, "start", *args, "--disable-usage-stats", "--block"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def wait_started(self, name: str, proc: subprocess.Popen) -> None:
        path = os.path.join(self.root, f"{name}.log")

        def log() -> str:
            with open(path) as fh:
                return fh.read()

        wait_for(
            lambda: "Ray runtime started" in log() or proc.poll() is not None,
            f"the Ray {name} node to start",
            every_s=0.2,
        )
        assert proc.poll() is None, log()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(30)


@pytest.fixture(scope="module")
def cluster_and_clips(tmp_path_factory):
    """The cluster, the clips, and what the local engine makes of them with `track_shapes` (the frames of a
    clip must stay in order for its tracks and counts to come out the same) pointed at a model file of its own
    (which the Ray engine ships with the tasks), made side by side."""
    root = tmp_path_factory.mktemp("ray")
    shutil.copy(bundled_models()["shapes_yolov8n"], root / "my_model.onnx")
    with open(bundled_preset("track_shapes")) as fh:
        preset = yaml.safe_load(fh)
    preset["pipeline"][0]["params"]["model"] = str(root / "my_model.onnx")
    (root / "track.yaml").write_text(yaml.safe_dump(preset))
    ray_root = tempfile.mkdtemp(prefix="vr", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    c = Cluster(ray_root)
    try:
        head = c.start_node(
            "head",
            "--head",
            f"--node-ip-address={HEAD_IP}",
            f"--port={c.port}",
            "--num-cpus=1",
            "--include-dashboard=false",
            f"--temp-dir={ray_root}",
        )
        for name, (start, count) in CLIPS.items():
            write_clip(str(root / "videos" / name), sample_frames(count, start))
        local = subprocess.Popen(
            [
                *vidcv_cmd(),
                "batch",
                str(root / "videos"),
                "-p",
                str(root / "track.yaml"),
                "--out",
                str(root / "local"),
                "--workers",
                "2",
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        c.wait_started("head", head)
        c.worker = c.start_node(
            "worker",
            f"--address={c.address}",
            f"--node-ip-address={WORKER_IP}",
            "--num-cpus=1",
            f"--temp-dir={ray_root}/worker",
        )
        c.wait_started("worker", c.worker)
        _, stderr = local.communicate(timeout=240)
        assert local.returncode == 0, stderr
        yield c, root
    finally:
        c.stop()
        shutil.rmtree(ray_root, ignore_errors=True)


def same_results(ours, theirs) -> None:
    for name in CLIPS:
        out = os.path.splitext(name)[0]
        assert (ours / out / "detections.jsonl").read_bytes() == (theirs / out / "detections.jsonl").read_bytes()
        assert sorted(os.listdir(ours / out)) == ["detections.jsonl", "stats.json"]


def ray_batch(cluster, root, out: str, token: bool = True) -> subprocess.Popen:
    env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}  # vidcv turns the token on itself
    if not token:  # and no ~/.ray/auth_token either
        env = {**{k: v for k, v in env.items() if k != "RAY_AUTH_TOKEN"}, "HOME": str(root / "home")}
    cmd = [
        sys.executable,
        "-m",
        "vidcv.cli.main",
        "batch",
        str(root / "videos"),
        "-p",
        str(root / "track.yaml"),
        "--out",
        str(root / out),
        "--engine",
        "ray",
        "--address",
        cluster.address,
        "--workers",
        "2",
        "-q",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_ray_results_equal_the_local_engines_with_the_token_presented(cluster_and_clips):
    cluster, root = cluster_and_clips
    refused = ray_batch(cluster, root, "refused", token=False)  # meanwhile: Ray retries for about 20 s
    proc = ray_batch(cluster, root, "ray")
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    _, stderr = refused.communicate(timeout=240)
    assert refused.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        f"vidcv: error: the Ray cluster at {cluster.address} refused the connection: it uses token authentication "
        "and no token was given here; run `ray get-auth-token` on its head node and export "
        "RAY_AUTH_TOKEN=<that token> here (or save it as ~/.ray/auth_token)"
    )
    assert not (root / "refused" / "batch.jsonl").exists()
    lines = ledger(root / "ray")
    assert sorted(line["out"] for line in lines) == ["a/one", "b/three", "b/two", "c/four"]
    assert all(line["status"] == "ok" and line["frames"] == 40 for line in lines)
    assert {line["worker"].split(":")[0] for line in lines} == {HEAD_IP, WORKER_IP}  # both nodes worked
    same_results(root / "ray", root / "local")
    assert partial_leftovers(root / "ray") == []
    # the model travelled with the tasks: the workers ran the copy in their machine's cache, keyed by content
    digest = hashlib.sha256((root / "my_model.onnx").read_bytes()).hexdigest()
    assert os.path.isfile(os.path.join(tempfile.gettempdir(), f"vidcv-shipped-{os.getuid()}", digest, "my_model.onnx"))


def detect_preset(root) -> str:
    """The model file alone (which the tasks must get shipped), as a dataset is extracted with it."""
    path = root / "detect.yaml"
    path.write_text(
        yaml.safe_dump({"pipeline": [{"plugin": "yolo", "params": {"model": str(root / "my_model.onnx")}}]})
    )
    return str(path)


def extract(cluster, root, out: str, ray: bool = True) -> subprocess.Popen:
    env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}
    more = ["--address", cluster.address, "--workers", "2"] if ray else []
    cmd = [
        sys.executable,
        "-m",
        "vidcv.cli.main",
        "extract",
        str(root / "videos"),
        "-p",
        detect_preset(root),
        "--out",
        str(root / out),
        "--every",
        "2",
        "-q",
        *more,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def dataset_contents(folder) -> dict[str, bytes]:
    """Every file of a dataset by relative path; data.yaml without its own path line, the manifest's lines
    sorted (inputs that run at once interleave theirs)."""
    found = {}
    for parent, _, files in os.walk(str(folder)):
        for name in files:
            path = os.path.join(parent, name)
            with open(path, "rb") as fh:
                data = fh.read()
            if name == "data.yaml":
                data = b"\n".join(line for line in data.splitlines() if not line.startswith(b"path:"))
            elif name == "manifest.jsonl":
                data = b"\n".join(sorted(data.splitlines()))
            found[os.path.relpath(path, str(folder))] = data
    return found


@pytest.fixture(scope="module")
def local_dataset(cluster_and_clips):
    """The dataset a sequential `vidcv extract` here makes of the clips: what the Ray engine must make."""
    cluster, root = cluster_and_clips
    proc = extract(cluster, root, "ds-local", ray=False)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    return dataset_contents(root / "ds-local")


def test_ray_extract_makes_the_dataset_a_local_extract_makes(cluster_and_clips, local_dataset):
    """`vidcv extract --engine ray`: each clip a task on the cluster, frames streamed back to the one writer;
    images, labels, splits and manifest (naming the source and the model as this machine does) are the same."""
    cluster, root = cluster_and_clips
    proc = extract(cluster, root, "ds-ray")
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    ours = dataset_contents(root / "ds-ray")
    assert sorted(ours) == sorted(local_dataset) and ours == local_dataset
    assert sum(name.startswith("labels" + os.sep) for name in ours) == 80  # 4 clips x 40 frames, every 2nd
    manifest = [json.loads(line) for line in ours["manifest.jsonl"].splitlines()]
    assert {m["detectors"][0]["model"] for m in manifest} == {str(root / "my_model.onnx")}
    assert {m["source"] for m in manifest} == {str(root / "videos" / name) for name in CLIPS}
    assert partial_leftovers(root / "ds-ray") == []
    proc = extract(cluster, root, "ds-ray")  # again: resumed, nothing to add
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert dataset_contents(root / "ds-ray") == local_dataset


def test_sigterm_stops_a_ray_extract_cleanly_and_the_same_command_completes_it(cluster_and_clips, local_dataset):
    """ray.init puts in a SIGTERM handler of its own that exits at once; vidcv's stays: the tasks are cancelled,
    what came is kept (exit 143), and the same command again completes the dataset."""
    cluster, root = cluster_and_clips
    slow = root / "slow.yaml"  # the same labels, slower: kmeans after the detector
    slow.write_text(
        yaml.safe_dump(
            {
                "pipeline": [
                    {"plugin": "yolo", "params": {"model": str(root / "my_model.onnx")}},
                    {"plugin": "kmeans", "params": {"k": 6, "attempts": 2}},
                ]
            }
        )
    )
    env = {k: v for k, v in cluster.env.items() if k != "RAY_AUTH_MODE"}
    cmd = [
        sys.executable,
        "-m",
        "vidcv.cli.main",
        "extract",
        str(root / "videos"),
        "-p",
        str(slow),
        "--out",
        str(root / "ds-term"),
        "--every",
        "2",
        "-q",
        "--address",
        cluster.address,
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    manifest = root / "ds-term" / "manifest.jsonl"
    wait_for(lambda: manifest.exists() and manifest.read_text().count("\n") >= 2, "the first frames filed")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM); the dataset is complete up to the last frame written" in stderr
    labels = [n for n in dataset_contents(root / "ds-term") if n.startswith("labels" + os.sep)]
    assert 2 <= len(labels) < 80
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert again.returncode == 0, again.stderr
    ours = {k: v for k, v in dataset_contents(root / "ds-term").items() if k != "manifest.jsonl"}
    assert ours == {k: v for k, v in local_dataset.items() if k != "manifest.jsonl"}


def test_a_worker_node_that_dies_mid_batch_has_its_input_retried_and_the_batch_completes(cluster_and_clips):
    cluster, root = cluster_and_clips

    def task_on_the_worker_node():  # a task process of the worker node, reading an input
        for pid, cmdline in session_processes(cluster.worker.pid):
            if cmdline.startswith("ray::_ray_process"):
                inputs = [p for p in open_files(pid) if "vidcv-ray-" in p and os.sep + "in" + os.sep in p]
                if inputs:
                    return pid, os.path.basename(inputs[0])
        return None

    proc = ray_batch(cluster, root, "killed")
    victim, name = wait_for(task_on_the_worker_node, "a task on the worker node")
    os.killpg(cluster.worker.pid, signal.SIGKILL)  # the whole node: its raylet, its workers, the task
    cluster.worker.wait(30)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    lines = {line["out"]: line for line in ledger(root / "killed")}
    assert len(lines) == 4 and all(line["status"] == "ok" for line in lines.values())
    (killed,) = [line for line in lines.values() if os.path.basename(line["source"]) == name]
    assert killed["worker"].startswith(f"{HEAD_IP}:") and killed["frames"] == 40  # redone on the head, whole
    assert victim > 0
    same_results(root / "killed", root / "local")
    assert partial_leftovers(root / "killed") == []


def test_without_an_address_a_ray_is_started_here_for_the_batch_on_loopback_with_a_token(cluster_and_clips):
    _, root = cluster_and_clips
    home = root / "home-local"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")}, "HOME": str(home)}
    clip = root / "videos" / "a" / "one.mp4"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "vidcv.cli.main",
            "batch",
            str(clip),
            "-p",
            str(root / "track.yaml"),
            "--out",
            str(root / "here"),
            "--engine",
            "ray",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    (line,) = ledger(root / "here")
    assert line["status"] == "ok" and line["worker"].startswith("127.0.0.1:")  # this machine only
    assert (home / ".ray" / "auth_token").is_file()  # Ray made a token for it: authentication on
    assert (root / "here" / "one" / "detections.jsonl").read_bytes() == (
        root / "local" / "a" / "one" / "detections.jsonl"
    ).read_bytes()


def test_a_worker_node_that_dies_mid_extract_has_its_input_redone_and_the_dataset_is_whole(
    cluster_and_clips, local_dataset
):
    """A third node joins and is SIGKILLed while one of its extract tasks streams frames: Ray reruns the task
    elsewhere and the dataset equals the local one, no frame missing or twice."""
    cluster, root = cluster_and_clips
    node = cluster.start_node(
        "worker2",
        f"--address={cluster.address}",
        "--node-ip-address=127.0.0.4",
        "--num-cpus=1",
        f"--temp-dir={cluster.root}/worker2",
    )
    cluster.wait_started("worker2", node)

    def task_on_that_node():
        for pid, cmdline in session_processes(node.pid):
            if cmdline.startswith("ray::_ray_sample") and any(
                "vidcv-ray-" in p and os.sep + "in" + os.sep in p for p in open_files(pid)
            ):
                return pid
        return None

    proc = extract(cluster, root, "ds-killed")
    wait_for(task_on_that_node, "an extract task on the third node")
    os.killpg(node.pid, signal.SIGKILL)
    node.wait(30)
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert dataset_contents(root / "ds-killed") == local_dataset
    assert partial_leftovers(root / "ds-killed") == []
