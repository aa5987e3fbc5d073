"""vidcv.batch.single: the one-line description of an error that reaches a user."""

import cv2
import numpy as np
import pytest

from vidcv.batch.single import describe_error
from vidcv.errors import OutputError


def test_an_opencv_assertion_is_one_line_without_error_twice():
    with pytest.raises(cv2.error) as caught:
        cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_BGR2YUV_I420)
    line = describe_error(caught.value)
    assert line.startswith("OpenCV: (-215:Assertion failed)") and "CvtHelper" in line
    assert "\n" not in line and "error: error" not in f"error: {line}"


def test_other_errors_keep_their_type_and_vidcv_errors_their_message():
    assert describe_error(OutputError("cannot write x")) == "cannot write x"
    assert describe_error(ValueError("bad\nvalue")) == "ValueError: bad value"
    assert "secret" not in describe_error(RuntimeError("rtsp://admin:secret@cam/x failed"))
