"""Parameter declarations: the single description from which validation, presets and UI widgets derive."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vidcv.errors import ParamError

KINDS = ("int", "float", "bool", "choice", "str", "path", "color", "ints")
#: integers must fit a C int (what OpenCV takes): a parameter without a maximum is bounded by this
INT_LIMIT = 2**31 - 1


class _Shown(reprlib.Repr):
    """``repr`` cut to a readable length: long texts and lists elided, nesting shown three levels deep."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 3, 40, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 5

    def repr_int(self, x: int, level: int) -> str:
        if abs(x) < 10**24:
            return repr(x)
        digits = int(x.bit_length() * 0.30103)  # counted without str(x), which refuses over 4300 digits
        while 10**digits <= abs(x):
            digits += 1
        return f"<an integer of {digits} digits>"

    def repr_str(self, x: str, level: int) -> str:
        return super().repr_str(x if len(x) <= 200 else x[:100] + x[-100:], level)


_shown = _Shown()


def shown(value: Any) -> str:
    """``value`` as error messages echo it: its repr, cut to about 60 characters whatever its size."""
    text = _shown.repr(value)
    return text if len(text) <= 80 else text[:60] + "..." + text[-15:]


@dataclass(frozen=True)
class Param:
    """One typed, bounded parameter of a plugin.

    ``kind`` is one of int, float, bool, choice, str, path, color (a BGR triple of 0..255) or ints
    (a fixed-length list of integers, such as HSV bounds or a region). ``minimum``/``maximum`` bound
    numbers (and each item of ints); ``step`` is the UI step; ``odd`` requires odd integers (with a
    minimum of 0, also 0, meaning "off");
    ``choices`` lists the allowed values of a choice (for a path: suggestions besides any path);
    ``length`` is the item count of ints; ``provenance`` marks a parameter that says how detections were
    made (a model, a cascade, a threshold): datasets record it beside every label.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    odd: bool = False
    length: int | None = None
    provenance: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}; known: {', '.join(KINDS)}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r}: a choice needs choices")
        try:
            self.validate(self.default)
        except ParamError as exc:
            raise ValueError(f"default of parameter {self.name!r} is invalid: {exc}") from None

    def allowed(self) -> str:
        """What values are allowed, in words (used in every error message)."""
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices or ()))
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("str", "path"):
            return "a text" if self.kind == "str" else "a file path"
        if self.kind == "color":
            return "three integers 0..255 (B, G, R)"
        odd = "0 or an odd integer" if self.minimum == 0 else "an odd integer"
        what = {
            "int": odd if self.odd else "an integer",
            "float": "a number",
            "ints": f"a list of {self.length} integers",
        }[self.kind]
        return f"{what}{self._range_text()}"

    def _range_text(self) -> str:
        lo, hi = self.minimum, self.maximum
        fmt: Callable[[float], str] = (lambda v: str(int(v))) if self.kind in ("int", "ints") else (lambda v: f"{v:g}")
        if lo is not None and hi is not None:
            return f" from {fmt(lo)} to {fmt(hi)}"
        if lo is not None:
            return f" >= {fmt(lo)}"
        if hi is not None:
            return f" <= {fmt(hi)}"
        return ""

    def _fail(self, value: Any) -> ParamError:
        items = value if isinstance(value, (list, tuple)) else [value]
        beyond = any(isinstance(v, int) and not -INT_LIMIT - 1 <= v <= INT_LIMIT for v in items)
        unbounded = self.minimum is None or self.maximum is None
        note = (
            f" (integers go from {-INT_LIMIT - 1} to {INT_LIMIT})"
            if beyond and unbounded and self.kind != "float"
            else ""
        )
        return ParamError(f"parameter '{self.name}' = {shown(value)} is not allowed: expected {self.allowed()}{note}")

    def _check_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not -INT_LIMIT - 1 <= value <= INT_LIMIT:
            raise self._fail(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise self._fail(value)
        return int(value)

    def validate(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ParamError naming the parameter and what is allowed."""
        kind = self.kind
        if kind == "int":
            value = self._check_int(value)
            if self.odd and value % 2 == 0 and not (value == 0 and self.minimum == 0):
                raise self._fail(value)
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self._fail(value)
            try:
                number = float(value)
            except OverflowError:  # an integer beyond any float
                raise self._fail(value) from None
            if not math.isfinite(number):
                raise self._fail(value)
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise self._fail(value)
            return float(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise self._fail(value)
            return value
        if kind == "choice":
            if isinstance(value, bool) or value not in (self.choices or ()):
                raise self._fail(value)
            return value
        if kind in ("str", "path"):
            if not isinstance(value, str):
                raise self._fail(value)
            return value
        # color and ints: fixed-length lists of integers
        length = 3 if kind == "color" else self.length
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != length:
            raise self._fail(value)
        lo, hi = (0, 255) if kind == "color" else (self.minimum, self.maximum)
        items = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not -INT_LIMIT - 1 <= item <= INT_LIMIT:
                raise self._fail(value)
            if (lo is not None and item < lo) or (hi is not None and item > hi):
                raise self._fail(value)
            items.append(int(item))
        return items

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready declaration (for `vidcv plugins --json` and generated UIs)."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "default": self.default, "help": self.help}
        for key in ("minimum", "maximum", "step", "length"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices is not None:
            out["suggestions" if self.kind == "path" else "choices"] = list(self.choices)
        if self.odd:
            out["odd"] = True
        if self.provenance:
            out["provenance"] = True
        return out


def Int(
    name: str,
    default: int,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    step: int = 1,
    odd: bool = False,
    help: str = "",
    provenance: bool = False,
) -> Param:
    """An integer parameter (``odd`` for kernel sizes that OpenCV requires odd)."""
    return Param(
        name, "int", default, help, minimum, maximum, step if not odd else max(step, 2), odd=odd, provenance=provenance
    )


def Float(
    name: str,
    default: float,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    step: float = 0.1,
    help: str = "",
    provenance: bool = False,
) -> Param:
    """A real-valued parameter."""
    return Param(name, "float", float(default), help, minimum, maximum, step, provenance=provenance)


def Bool(name: str, default: bool, *, help: str = "") -> Param:
    """An on/off parameter."""
    return Param(name, "bool", default, help)


def Choice(name: str, default: Any, choices: Sequence[Any], *, help: str = "") -> Param:
    """One value out of a fixed list."""
    return Param(name, "choice", default, help, choices=tuple(choices))


def Text(name: str, default: str = "", *, help: str = "") -> Param:
    """Free text."""
    return Param(name, "str", default, help)


def FilePath(
    name: str, default: str = "", *, help: str = "", suggestions: Sequence[str] = (), provenance: bool = False
) -> Param:
    """A path to a file (the UI shows a file picker); ``suggestions`` are well-known values offered besides
    a path (shipped cascades, bundled models)."""
    return Param(name, "path", default, help, choices=tuple(suggestions) or None, provenance=provenance)


def Color(name: str, default: Sequence[int], *, help: str = "") -> Param:
    """A BGR colour."""
    return Param(name, "color", list(default), help)


def Ints(
    name: str, default: Sequence[int], minimum: int | None = None, maximum: int | None = None, *, help: str = ""
) -> Param:
    """A fixed-length list of integers (HSV bounds, a region as x, y, w, h)."""
    return Param(name, "ints", list(default), help, minimum, maximum, 1, length=len(default))
