"""Multi-object tracking in NumPy and OpenCV alone: ByteTrack and BoT-SORT (with camera-motion compensation), for the
``track`` stage.

Written for vidcv from the published algorithms (ByteTrack, Zhang et al. 2022; BoT-SORT, Aharon et al. 2022, whose
reference implementations are MIT): no PyTorch, no ultralytics (AGPL-3.0), no SciPy and no ``lap``. ``assignment``
pairs tracks with detections under a cost limit, ``kalman`` predicts boxes, ``gmc`` measures the camera's motion
and ``tracker`` holds the tracks. ultralytics' trackers, which the stage used before, remain the reference the tests
score these against (tests/plugins/test_tracking_reference.py).
"""
