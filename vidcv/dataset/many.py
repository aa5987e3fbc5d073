"""Several sources into one dataset, one after another, in one writing session (one lock, one journal).

Each input gets its own sampler, filter and run; names carry each source's digest (``source_stem``), so two
files named alike in different folders never share a name, and the split is chosen per (source, run of
frames) as for one source. A killed run is resumed by running the same command again: frames already in the
dataset are skipped, whatever input they came from. An input that fails (does not open, breaks off) is
reported and the others go on; a fault of the dataset itself (disk full, lock) stops them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vidcv.dataset.existing import DatasetError
from vidcv.dataset.extract import ExtractOptions, open_writer, prepare_input
from vidcv.dataset.writer import Dataset
from vidcv.errors import OutputError, VidcvError, error_line
from vidcv.pipeline import Pipeline

if TYPE_CHECKING:
    from vidcv.runner import Runner

#: Runs a prepared input to its end; returns the signal that stopped it, or None.
RunInput = Callable[["Runner"], "int | None"]
#: Told when an input starts: its position (0-based), the count of inputs and the source.
OnInput = Callable[[int, int, str], None]


@dataclass
class InputOutcome:
    """What one input added to the dataset, and why it did not finish when it did not."""

    source: str
    kept: int = 0
    positives: int = 0
    negatives: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.source}: failed: {self.error}"
        already = self.skipped.get("already in dataset", 0)
        more = f", {already} already in the dataset" if already else ""
        return (
            f"{self.source}: kept {self.kept} frames ({self.positives} with labels, {self.negatives} negatives){more}"
        )


@dataclass
class ManyOutcome:
    """The inputs' outcomes in order (the ones not reached are absent), and the signal that stopped the
    run, if one did."""

    writer: Dataset
    inputs: list[InputOutcome]
    stopped_by: int | None = None
    fatal: str | None = None  #: a fault of the dataset that stopped every input

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.inputs if o.error is not None]

    def summary(self) -> str:
        w = self.writer
        kept = ", ".join(f"{k} {v}" for k, v in w.kept.items())
        lines = [o.line() for o in self.inputs]
        lines.append(
            f"kept {sum(w.kept.values())} frames from {len(self.inputs) - len(self.failed)} of "
            f"{len(self.inputs)} inputs ({kept}; {w.positives} with labels, {w.negatives} negatives)"
        )
        if w.unlabelled:
            why = "without keypoints" if w.fmt == "yolo-pose" else "too small to crop"
            lines.append(f"left out {w.unlabelled} detections {why} (the format cannot hold them)")
        note = w.split_note()
        return "\n".join(lines + ([note] if note else []))


def extract_many(
    sources: Sequence[str],
    pipeline: Pipeline,
    options: ExtractOptions,
    run: RunInput,
    on_input: OnInput | None = None,
    on_open: Callable[[Dataset], None] | None = None,
) -> ManyOutcome:
    """Extract ``sources`` in order into the dataset of ``options.out``, each through ``run``; the dataset is
    opened (locked) when the first input opens (``on_open`` told then) and closed at the end, also on a stop
    or a fault. Bad options
    and a dataset that cannot be written to raise before any input runs."""
    writer = open_writer(pipeline, options)
    outcome = ManyOutcome(writer, [])
    try:
        for position, spec in enumerate(sources):
            if on_input is not None:
                on_input(position, len(sources), spec)
            result = InputOutcome(spec)
            outcome.inputs.append(result)
            try:
                pipeline.reset()  # no tracker state carries over from one video to the next
                job = prepare_input(spec, pipeline, writer, options, owns_writer=False)
            except (DatasetError, OutputError):
                raise
            except VidcvError as exc:
                result.error = error_line(exc)
                continue
            if not writer.opened:
                try:
                    writer.open()  # the lock, at the first input that opens
                except BaseException:
                    job.runner.source.close()
                    raise
                if on_open is not None:
                    on_open(writer)
            before = (sum(writer.kept.values()), writer.positives, writer.negatives)
            outcome.stopped_by = run(job.runner)
            result.kept = sum(writer.kept.values()) - before[0]
            result.positives, result.negatives = writer.positives - before[1], writer.negatives - before[2]
            result.skipped = job.skipped()
            error = job.runner.error
            if error is not None:
                result.error = error_line(error)
                if isinstance(error, (DatasetError, OutputError, OSError)):
                    outcome.fatal = result.error
                    break
            if outcome.stopped_by is not None:
                break
    finally:
        writer.close()
    return outcome
