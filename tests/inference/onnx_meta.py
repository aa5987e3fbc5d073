"""Models with chosen metadata, for the tests of what vidcv reads from a model file: copies of a model whose
metadata entries are replaced."""

from __future__ import annotations

import onnx


def with_metadata(model: onnx.ModelProto, path, **values: str) -> str:
    """A copy of ``model`` whose metadata entries ``values`` are replaced (or added)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for prop in copy.metadata_props:
        if prop.key in values:
            prop.value = values.pop(prop.key)
    for key, value in values.items():
        copy.metadata_props.add(key=key, value=value)
    onnx.save(copy, str(path))
    return str(path)
