"""A pipeline packed to travel to a batch worker: its preset and, for workers on other machines, the files its
parameters name (models, cascades), so that the pipeline tuned in the GUI runs unchanged anywhere.

A worker rebuilds the pipeline from the bundle; shipped files land in a cache folder keyed by their content
(written once per machine, under a temporary name first) and the parameters that named them are pointed
there. The bundle's ``fingerprint`` (the preset and the content hashes of the files it names) tells a resumed
batch whether its outputs were made by the same pipeline.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from vidcv.errors import OutputError
from vidcv.fileio import make_dirs, open_fd, replace
from vidcv.pipeline import Pipeline


def _sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return _digest(fh)


def _digest(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def file_params(pipeline: Pipeline) -> list[tuple[int, str, str]]:
    """(stage index, parameter, path) of every file-path parameter whose value is an existing file."""
    found = []
    for index, stage in enumerate(pipeline.stages):
        values = stage.plugin.values()
        for name, param in stage.plugin.declared().items():
            value = values.get(name)
            if param.kind == "path" and isinstance(value, str) and value and os.path.isfile(value):
                found.append((index, name, value))
    return found


@dataclass(frozen=True)
class PipelineBundle:
    """``preset``: the pipeline as its preset document (``vidcv.presets.pipeline_to_dict``); ``digests``: the
    SHA-256 of each file a parameter names, by path; ``files``: those files' bytes, when shipped."""

    preset: dict[str, Any]
    digests: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, ship_files: bool = False) -> PipelineBundle:
        """Pack ``pipeline``; with ``ship_files`` the files its parameters name travel inside the bundle."""
        from vidcv.presets import pipeline_to_dict

        preset = pipeline_to_dict(pipeline)
        paths = sorted({path for _, _, path in file_params(pipeline)})
        for stage in preset["pipeline"]:  # a relative path must mean the same file in a worker's folder
            for name, value in stage["params"].items():
                if isinstance(value, str) and value in paths:
                    stage["params"][name] = os.path.abspath(value)
        paths = [os.path.abspath(p) for p in paths]
        digests = {path: _sha256(path) for path in paths}
        files = {}
        if ship_files:
            for path in paths:
                with open(path, "rb") as fh:
                    files[path] = fh.read()
        return cls(preset, digests, files)

    def fingerprint(self) -> dict[str, Any]:
        """What decides a batch's outputs on the pipeline's side: the preset and the content of its files."""
        return {"pipeline": self.preset, "files": self.digests}

    def build(self, cache_dir: str | None = None) -> Pipeline:
        """The pipeline, rebuilt here; shipped files are written under ``cache_dir`` (default: a vidcv folder in
        the system's temporary folder) and the parameters naming them point there."""
        from vidcv.presets import pipeline_from_dict

        preset = self.preset
        if self.files:
            local = {path: self._materialise(path, cache_dir) for path in self.files}
            preset = {
                **preset,
                "pipeline": [
                    {
                        **stage,
                        "params": {k: local.get(v, v) if isinstance(v, str) else v for k, v in stage["params"].items()},
                    }
                    for stage in preset["pipeline"]
                ],
            }
        return pipeline_from_dict(preset, origin="the batch's pipeline")

    def _materialise(self, path: str, cache_dir: str | None) -> str:
        """The shipped file ``path`` on this machine: ``CACHE/<sha256>/<name>``, written once. The default cache is
        this user's own folder (mode 0700) in the temporary folder, and a file found there is used only when its
        content has the digest: another user of the machine can neither plant a model nor a link there."""
        digest = self.digests[path]
        base = cache_dir or os.path.join(tempfile.gettempdir(), f"vidcv-shipped-{os.getuid()}")
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise OutputError(
                f"{base} is not a folder of this user's (a link, or another user's): remove it, "
                "or give the batch another cache folder"
            )
        folder = os.path.join(base, digest)
        local = os.path.join(folder, os.path.basename(path))
        if not _holds(local, digest):
            make_dirs(folder, below=base)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".partial")
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.files[path])
            replace(tmp, local)  # two tasks on one machine may race: both write the same bytes
        return local


def _holds(path: str, digest: str) -> bool:
    """Whether ``path`` is a regular file (not a link) whose SHA-256 is ``digest``."""
    try:
        fd = open_fd(path, os.O_RDONLY)
    except (OSError, OutputError):
        return False
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        return _digest(fh) == digest
