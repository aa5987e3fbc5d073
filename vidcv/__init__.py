"""vidcv: a threaded frame pipeline of stackable plugins over cameras, files, streams and image folders.

The engine lives here and never imports Qt. Importing this package is cheap: heavy libraries
(torch, ultralytics, onnxruntime) are imported only by the plugins that need them.
"""

from vidcv._version import __version__
from vidcv.detections import Detections, data_field
from vidcv.errors import VidcvError
from vidcv.frame import Frame
from vidcv.params import Param
from vidcv.plugin import Plugin
from vidcv.status import StageStatus

__all__ = ["Detections", "Frame", "Param", "Plugin", "StageStatus", "VidcvError", "__version__", "data_field"]
