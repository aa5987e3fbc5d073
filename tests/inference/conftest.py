"""Fixtures of the inference tests."""

import onnx
import pytest

from vidcv.bundled import DEMO_MODEL, bundled_models


@pytest.fixture(scope="module")
def demo_onnx() -> onnx.ModelProto:
    """The bundled demo model, loaded for copies with other metadata (``onnx_meta.with_metadata``)."""
    return onnx.load(bundled_models()[DEMO_MODEL])
