"""The plugin contract: a declared, validated set of parameters and ``process(frame) -> frame``."""

from __future__ import annotations

import enum
import threading
from typing import Any, ClassVar

from vidcv.errors import ParamError
from vidcv.frame import Frame
from vidcv.params import Param
from vidcv.stagecode import CodeContext, StageCode
from vidcv.status import StageStatus


class ParamValues(dict[str, Any]):
    """Current parameter values; read them as ``self.p.ksize`` or ``self.p["ksize"]``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Produces(enum.Flag):
    """What a stage adds to the frame besides its image, for its current values: objects
    (``frame.detections``) and a whole-frame class (``frame.classification``). Dataset extraction reads it
    to tell a pipeline that can label frames from one that cannot."""

    NOTHING = 0
    DETECTIONS = enum.auto()
    CLASSIFICATION = enum.auto()


class InputColor(enum.Enum):
    """What a stage does with the colour of its input. GRAY: its output depends only on the gray version
    of its input (it converts colour to gray first, and its output is not its input), so a source may hand
    it gray straight from the decoder (``Pipeline.accepts_gray_source``). ANY: colour may change its
    output (the default)."""

    ANY = "any"
    GRAY = "gray"


class Plugin:
    """Base of every pipeline operation.

    Subclasses set ``name`` (registry name), ``title``, ``category``, ``summary`` and ``params`` (what the
    plugin takes in), implement ``process``, and may report what they give out besides the frame through
    ``status()``. Parameter edits may come from any thread through ``set_param``; they are
    queued and applied by the processing thread between two frames (``apply_pending``), so that
    ``process`` always sees one consistent set of values in ``self.p``. Plugins never touch the UI.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = "other"
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: what an empty value of a parameter stands for, shown as the field's hint (yolo: the bundled model)
    placeholders: ClassVar[dict[str, str]] = {}
    #: True for plugins that keep state across frames (trackers); ``reset`` clears it.
    stateful: ClassVar[bool] = False
    #: False for plugins that must not run on several frames at once: ones that spread one frame over every
    #: core themselves (ONNX Runtime), where frame-level workers would only oversubscribe the machine.
    #: Stateful plugins never do (see ``Pipeline.parallel_safe``).
    parallel_frames: ClassVar[bool] = True

    def __init__(self, **values: Any) -> None:
        declared = self.declared()
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise ParamError(
                f"plugin '{self.name}' has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are: {', '.join(declared) or 'none'}"
            )
        self.p = ParamValues(
            {name: param.validate(values.get(name, param.default)) for name, param in declared.items()}
        )
        self._pending: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: why the set-up for the current values failed: until an edit sets it up again, every frame fails
        #: with it (the pipeline passes frames through untouched), never processed with the earlier values
        self._setup_error: Exception | None = None
        self.setup()

    @classmethod
    def declared(cls) -> dict[str, Param]:
        """Parameter declarations by name, in declaration order."""
        return {p.name: p for p in cls.params}

    @classmethod
    def provenance_params(cls) -> tuple[str, ...]:
        """Names of the parameters that say how detections were made (model, cascade, thresholds)."""
        return tuple(p.name for p in cls.params if p.provenance)

    @classmethod
    def to_dict(cls) -> dict[str, Any]:
        """JSON-ready description (registry listing, docs, UI)."""
        summary = cls.summary or ((cls.__doc__ or "").strip().splitlines() or [""])[0]
        return {
            "name": cls.name,
            "title": cls.title or cls.name,
            "category": cls.category,
            "summary": summary,
            "params": [p.to_dict() for p in cls.params],
        }

    # --- parameters -------------------------------------------------------------------------------
    def set_param(self, name: str, value: Any) -> None:
        """Validate now (so the caller hears of a bad value at once) and apply before the next frame."""
        param = self.declared().get(name)
        if param is None:
            raise ParamError(
                f"plugin '{self.name}' has no parameter '{name}'; "
                f"its parameters are: {', '.join(self.declared()) or 'none'}"
            )
        value = param.validate(value)
        with self._lock:
            self._pending[name] = value

    def values(self) -> dict[str, Any]:
        """The values as they will be on the next frame (current values with queued edits applied)."""
        with self._lock:
            return {**self.p, **self._pending}

    def apply_pending(self) -> None:
        """Apply queued edits; called by the pipeline between frames, in the processing thread. A set-up that
        fails (a bad model file) raises here on every frame until an edit sets the plugin up again: the
        plugin never goes on with what it was set up with before (the earlier model's boxes)."""
        if not self._pending:
            if self._setup_error is not None:
                raise self._setup_error
            return
        with self._lock:
            changes, self._pending = self._pending, {}
        changed = {k for k, v in changes.items() if self.p.get(k) != v}
        self.p.update(changes)
        if not changed and self._setup_error is None:
            return
        try:
            if self._setup_error is not None:
                self.setup()  # all of it again: the values of the failed set-up are in there too
            else:
                self.on_params_changed(changed)
        except Exception as exc:
            self._setup_error = exc
            raise
        self._setup_error = None

    # --- hooks ------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Build what depends on the parameters (kernels, models). Called once after construction."""

    def on_params_changed(self, changed: set[str]) -> None:
        """Called between frames after parameters changed; by default rebuilds with ``setup``."""
        self.setup()

    def process(self, frame: Frame) -> Frame:
        """Transform one frame and return it. Raise on failure: the pipeline reports and bypasses."""
        raise NotImplementedError

    def batch_frames(self, asked: int | None = None) -> int:
        """How many frames this stage takes per ``process_batch`` call with its current values, when a run
        of a file gathers frames (``Runner.batch``): ``asked`` is the run's request (None: the stage's own
        choice). 1 (the default): one frame at a time, through ``process``."""
        return 1

    def process_batch(self, frames: list[Frame]) -> list[Frame]:
        """Several consecutive frames, in order, at most ``batch_frames()`` of them; returns one frame for
        each, in the same order. The default processes each with ``process``. A stage that overrides it
        (one inference call for the lot) gives the results ``process`` gives each; when it raises, the
        pipeline runs those frames again one by one, so it must be stateless."""
        return [self.process(frame) for frame in frames]

    def region_params(self, x: int, y: int, width: int, height: int) -> dict[str, Any] | None:
        """Parameter values that make this plugin use a region drawn by the user (source pixels), or None
        for plugins that take no region. The GUI applies them with ``set_param``."""
        return None

    def status(self) -> StageStatus | None:
        """What this stage reports besides the frame (provider, counts, state), read by the pipeline after
        each frame it processed; None (the default) reports nothing. Called in the processing thread."""
        return None

    def input_color(self) -> InputColor:
        """How this stage uses the colour of its input, with its current values (default: ANY)."""
        return InputColor.ANY

    def reads_source_image(self) -> bool:
        """Whether this stage, with its current values, reads ``frame.source_image`` (the colour original):
        then the source must deliver colour. Default: False."""
        return False

    def produces(self) -> Produces:
        """What this stage adds to the frame with its current values (default: nothing but the image)."""
        return Produces.NOTHING

    def to_code(self, ctx: CodeContext) -> StageCode | None:
        """How this stage is written in an exported script, for its current values (``vidcv.codegen``);
        None (the default): the script runs this plugin through vidcv."""
        return None

    def reset(self) -> None:
        """Forget state carried across frames (seek, source change). Stateless plugins do nothing."""

    def close(self) -> None:
        """Release resources (models, files)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.p.items())})"
