"""vidcv.errors.error_line: the one line of an error that reaches a user, for every command and job."""

import cv2
import numpy as np
import pytest

from vidcv.errors import OutputError, error_line


def test_an_opencv_assertion_is_one_line_without_error_twice():
    with pytest.raises(cv2.error) as caught:
        cv2.cvtColor(np.zeros((1, 1, 3), np.uint8), cv2.COLOR_BGR2YUV_I420)
    line = error_line(caught.value)
    assert line.startswith("OpenCV: (-215:Assertion failed)") and "CvtHelper" in line
    assert "\n" not in line and "error: error" not in f"error: {line}"


def test_other_errors_keep_their_type_and_vidcv_errors_their_message():
    assert error_line(OutputError("cannot write x")) == "cannot write x"
    assert error_line(ValueError("bad\nvalue")) == "ValueError: bad\nvalue"  # printing escapes it: one line
    assert error_line(KeyError()) == "KeyError"
    assert "secret" not in error_line(RuntimeError("rtsp://admin:secret@cam/x failed"))
