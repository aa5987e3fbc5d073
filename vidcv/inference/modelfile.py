"""What vidcv reads of a model file, bounded before anything parses it: the file's kind and size, and its
metadata (class names, imgsz, stride, kpt_shape, ...).

The metadata's sizes are read from the file itself, skipping the graph, before ONNX Runtime loads it; each
value is then parsed as a Python or JSON literal only when it is small enough, in bytes and in tokens, for
the parse to be cheap. Beyond a limit, the model is refused in one line that names the file, what was too
large and the limit. The values vidcv reads (class names, imgsz, stride, kpt_shape) are then checked for their
type and range (``meta_int``, ``meta_ints``, ``meta_names``).
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import os
import stat
import tokenize
from collections.abc import Mapping
from typing import Any, BinaryIO

from vidcv.inference.providers import InferenceError
from vidcv.params import shown

#: protobuf's limit on one message: an .onnx file beyond it cannot load (larger weights live in external data)
MAX_MODEL_BYTES = 2**31 - 1
MAX_META_ENTRIES = 256  #: metadata entries (ultralytics writes about 15)
MAX_META_KEY_BYTES = 256  #: one metadata key
MAX_META_VALUE_BYTES = 2**20  #: one metadata value: 10,000 class names of 90 characters fit
MAX_META_BYTES = 2 * 2**20  #: all metadata keys and values together
#: tokens (numbers, strings, signs) of one value: a class takes 4 (id, colon, name, comma)
MAX_META_TOKENS = 50_000
MAX_META_DEPTH = 8  #: ultralytics' metadata nests two levels; deeper values stay unparsed text
MAX_CLASSES = 10_000  #: COCO has 80, Objects365 365, Open Images 601, LVIS 1203, YOLOE's prompt-free vocabulary 4585
#: a class name in UTF-8: a file name's limit, as datasets make a folder of each class
MAX_NAME_BYTES = 255
#: top-level fields of the file scanned for its metadata before giving up (ONNX Runtime then reads it)
_MAX_FIELDS = 10_000
_METADATA_PROPS = 14  #: ModelProto.metadata_props, in onnx.proto
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  #: Python 3.12 splits an f-string into tokens

AGAIN = "export the model again with ultralytics (vidcv model export) or correct its metadata"


def _key(key: str | None) -> str:
    """A metadata key as messages quote it (escaped by repr, cut)."""
    if key is None:
        return "a metadata value"
    return "its metadata " + (repr(key) if len(key) <= 40 else repr(key[:40]) + "...")


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size} bytes"


def check_file(path: str) -> int:
    """The size of the model file ``path``; an InferenceError saying what it is when it is missing, a folder, no
    regular file (a device, a pipe) or larger than an ONNX file can be."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL in the path
        raise InferenceError(f"model file not found: {path}") from None
    except OSError as exc:
        raise InferenceError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise InferenceError(f"{path} is a folder, not a model file: give the path of an .onnx file")
    if not stat.S_ISREG(mode):
        kind = (
            "a character device"
            if stat.S_ISCHR(mode)
            else "a block device"
            if stat.S_ISBLK(mode)
            else "a pipe"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "no file"
        )
        raise InferenceError(f"{path} is not a regular file ({kind}): give the path of an .onnx model file")
    if info.st_size > MAX_MODEL_BYTES:
        raise InferenceError(
            f"{path} is {info.st_size / 2**30:.1f} GB: an ONNX model file holds at most 2 GB "
            "(protobuf's limit; larger weights live in external data files beside a small .onnx): give that .onnx"
        )
    return info.st_size


class _Malformed(Exception):
    """The file is no protobuf vidcv can scan: ONNX Runtime reads it and says what is wrong."""


def _varint(f: BinaryIO) -> int:
    result = 0
    for shift in range(0, 70, 7):
        byte = f.read(1)
        if not byte:
            raise _Malformed
        result |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return result
    raise _Malformed


def _skip(f: BinaryIO, wire_type: int, end: int) -> None:
    """Skip one field's value, which ends by ``end``."""
    if wire_type == 0:
        _varint(f)
        return
    length = {1: 8, 5: 4}.get(wire_type)
    if length is None:
        if wire_type != 2:
            raise _Malformed  # groups (3, 4) are not in onnx.proto
        length = _varint(f)
    if f.tell() + length > end:
        raise _Malformed
    f.seek(length, io.SEEK_CUR)


def _entry(f: BinaryIO, end: int, path: str) -> tuple[str, str, int]:
    """One StringStringEntryProto ending at ``end``: its key, its value and their bytes. A key or value beyond its
    limit raises (naming the key wherever it comes in the entry) before the value is read."""
    key, key_bytes, value_at, value_bytes = None, 0, -1, 0
    while f.tell() < end:
        tag = _varint(f)
        if tag >> 3 == 1 and tag & 7 == 2:
            key_bytes = _varint(f)
            if key_bytes > MAX_META_KEY_BYTES:
                raise InferenceError(
                    f"{path}: a metadata key is {_megabytes(key_bytes)} long; vidcv reads keys of "
                    f"at most {MAX_META_KEY_BYTES} bytes: {AGAIN}"
                )
            if f.tell() + key_bytes > end:
                raise _Malformed
            key = f.read(key_bytes).decode("utf-8", "replace")
        elif tag >> 3 == 2 and tag & 7 == 2:
            value_bytes = _varint(f)
            value_at = f.tell()
            if value_at + value_bytes > end:
                raise _Malformed
            f.seek(value_bytes, io.SEEK_CUR)
        else:
            _skip(f, tag & 7, end)
    if value_bytes > MAX_META_VALUE_BYTES:
        raise _too_large(path, key, value_bytes)
    value = ""
    if value_at >= 0:
        f.seek(value_at)
        value = f.read(value_bytes).decode("utf-8", "replace")
        f.seek(end)
    return key or "", value, key_bytes + value_bytes


def _too_large(path: str, key: str | None, size: int) -> InferenceError:
    return InferenceError(
        f"{path}: {_key(key)} is {_megabytes(size)} long; vidcv reads metadata values of at "
        f"most {MAX_META_VALUE_BYTES // 2**20} MB: {AGAIN}"
    )


def _too_many_entries(path: str, count: int | None) -> InferenceError:
    many = f"{count}" if count is not None else f"more than {MAX_META_ENTRIES}"
    return InferenceError(f"{path} has {many} metadata entries; vidcv reads at most {MAX_META_ENTRIES}: {AGAIN}")


def _too_much(path: str) -> InferenceError:
    return InferenceError(
        f"{path}: its metadata is more than {MAX_META_BYTES // 2**20} MB in all; vidcv reads at most that: {AGAIN}"
    )


def read_file_metadata(path: str, size: int) -> dict[str, str] | None:
    """The metadata of the model file ``path`` (``size`` bytes), read from the file's top-level fields, seeking past
    the graph, before ONNX Runtime parses anything; refused beyond MAX_META_ENTRIES, MAX_META_KEY_BYTES,
    MAX_META_VALUE_BYTES or MAX_META_BYTES before a value is read. None when the file is no protobuf this can
    scan: ONNX Runtime then reads it (and says what is wrong with it)."""
    meta: dict[str, str] = {}
    try:
        with open(path, "rb") as f:
            entries = total = 0
            for _ in range(_MAX_FIELDS):
                if f.tell() >= size:
                    return meta
                tag = _varint(f)
                if tag >> 3 != _METADATA_PROPS or tag & 7 != 2:
                    _skip(f, tag & 7, size)
                    continue
                length = _varint(f)
                if f.tell() + length > size:
                    return None
                entries += 1
                if entries > MAX_META_ENTRIES:
                    raise _too_many_entries(path, None)
                key, value, nbytes = _entry(f, f.tell() + length, path)
                total += nbytes
                if total > MAX_META_BYTES:
                    raise _too_much(path)
                meta[key] = value
    except _Malformed:
        return None
    except OSError as exc:
        raise InferenceError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    return None  # more top-level fields than an ONNX model has


def _python_tokens(value: str) -> int | None:
    """The tokens of ``value`` as Python source, counted up to one past MAX_META_TOKENS; None when it is no
    Python (or holds an f-string, whose inside the parser would parse though it is one token)."""
    count = 0
    try:
        tokens = tokenize.generate_tokens(io.StringIO(value).readline)
        for token in itertools.islice(tokens, MAX_META_TOKENS + 1):
            if token.type == FSTRING_START or (
                token.type == tokenize.STRING and "f" in token.string.split("'")[0].split('"')[0].lower()
            ):
                return None
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER):
                count += 1
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return count


def _parse(value: str) -> tuple[Any, bool]:
    """``value`` parsed (see :func:`parse_meta`), and whether it was too long to parse."""
    if len(value) > MAX_META_VALUE_BYTES:
        return value, True
    tokens = _python_tokens(value)
    if tokens is not None and tokens > MAX_META_TOKENS:
        return value, True
    try:
        if tokens is None:
            raise ValueError
        parsed = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return value, False
    return (parsed if _depth_within(parsed, MAX_META_DEPTH) else value), False


def parse_meta(value: str) -> Any:
    """A metadata value written by ultralytics (a Python or JSON literal), never evaluated as code; the text
    itself when it is no literal, longer than MAX_META_VALUE_BYTES or MAX_META_TOKENS, or nests deeper than
    MAX_META_DEPTH (printing that could overflow the stack)."""
    return _parse(value)[0]


def _depth_within(value: Any, limit: int) -> bool:
    """Whether lists, tuples, sets and dicts nest at most ``limit`` levels in ``value`` (iteratively)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = [*item.keys(), *item.values()]
        if isinstance(item, (list, tuple, set, frozenset)):
            if depth >= limit:
                return False
            stack.extend((child, depth + 1) for child in item)
    return True


def _utf8_bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def read_metadata(raw: Mapping[str, str], path: str) -> dict[str, Any]:
    """A model's metadata (as ONNX Runtime gives it) with each value parsed, after checking every limit above:
    an InferenceError naming ``path``, the key and the limit otherwise."""
    if len(raw) > MAX_META_ENTRIES:
        raise _too_many_entries(path, len(raw))
    total = 0
    for key, value in raw.items():
        if _utf8_bytes(key) > MAX_META_KEY_BYTES:
            raise InferenceError(
                f"{path}: a metadata key is {_utf8_bytes(key)} bytes long; vidcv reads keys of "
                f"at most {MAX_META_KEY_BYTES} bytes: {AGAIN}"
            )
        size = _utf8_bytes(value) if len(value) <= MAX_META_VALUE_BYTES else len(value)
        if size > MAX_META_VALUE_BYTES:
            raise _too_large(path, key, size)
        total += _utf8_bytes(key) + size
        if total > MAX_META_BYTES:
            raise _too_much(path)
    meta = {}
    for key, value in raw.items():
        parsed, too_long = _parse(value)
        if too_long:
            raise InferenceError(
                f"{path}: {_key(key)} has more than {MAX_META_TOKENS} tokens (numbers, strings, "
                f"signs); vidcv reads at most {MAX_CLASSES} classes of 4 tokens each: {AGAIN}"
            )
        meta[key] = parsed
    return meta


def check_names(names: Mapping[Any, Any], path: str) -> None:
    """Refuse more than MAX_CLASSES classes, or a class name longer than MAX_NAME_BYTES (its start shown)."""
    if len(names) > MAX_CLASSES:
        raise InferenceError(
            f"{path}: its metadata 'names' has {len(names)} classes; vidcv reads at most {MAX_CLASSES}: {AGAIN}"
        )
    for class_id, name in names.items():
        name = str(name)
        size = _utf8_bytes(name)
        if size > MAX_NAME_BYTES:
            raise InferenceError(
                f"{path}: the name of class {class_id} is {size} bytes long ({name[:40]!r}...); "
                f"vidcv reads class names of at most {MAX_NAME_BYTES} bytes (UTF-8; datasets make "
                f"a folder of each class): {AGAIN}"
            )


def _bad_meta(path: str, key: str, value: Any, expected: str) -> InferenceError:
    return InferenceError(
        f"{path}: its metadata '{key}' = {shown(value)} is not {expected}; export the model again "
        "with ultralytics (vidcv model export) or correct its metadata"
    )


def meta_int(meta: dict[str, Any], key: str, path: str, lo: int, hi: int) -> int | None:
    """``meta[key]`` as an integer from ``lo`` to ``hi``; None when absent; InferenceError otherwise."""
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad_meta(path, key, value, f"an integer from {lo} to {hi}")
    return value


def meta_ints(meta: dict[str, Any], key: str, path: str, lo: int, hi: int) -> tuple[int, int] | None:
    """``meta[key]`` as a pair of integers from ``lo`` to ``hi``; None when absent; InferenceError otherwise."""
    value = meta.get(key)
    if value is None:
        return None
    pair = value if isinstance(value, (list, tuple)) and len(value) == 2 else None
    if pair is None or any(isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi for v in pair):
        raise _bad_meta(path, key, value, f"two integers from {lo} to {hi}")
    return pair[0], pair[1]


def meta_names(meta: dict[str, Any], path: str) -> dict[int, str] | None:
    """The class names (a dict of ids to names, or a list); None when absent; InferenceError otherwise."""
    names = meta.get("names")
    if names is None:
        return None
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    expected = "a mapping of class ids (0, 1, ...) to names, as ultralytics writes it"
    if not isinstance(names, dict):
        raise _bad_meta(path, "names", names, expected)
    check_names(names, path)  # their count and lengths, before each is converted
    out = {}
    for key, name in names.items():
        if isinstance(key, str) and key.isdigit() and len(key) < 7:
            key = int(key)
        if (
            isinstance(key, bool)
            or not isinstance(key, int)
            or not 0 <= key < MAX_CLASSES
            or isinstance(name, (list, tuple, set, frozenset, dict))
        ):
            raise _bad_meta(path, "names", names, expected)
        out[key] = str(name)
    return out
