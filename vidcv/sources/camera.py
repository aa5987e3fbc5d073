"""Cameras: opened by index or device path, and enumerated without opening them where the OS allows."""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import re
import struct
import sys
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidcv.errors import SourceError
from vidcv.events import SourceState
from vidcv.frame import Frame
from vidcv.sources.base import CaptureSource

log = logging.getLogger(__name__)

_VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
_CAP_VIDEO_CAPTURE = 0x00000001
_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
_CAP_DEVICE_CAPS = 0x80000000


@dataclass
class CameraInfo:
    """A camera found on this machine; ``modes`` holds "WxH@fps" strings where known."""

    index: int
    path: str = ""
    name: str = ""
    modes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "path": self.path, "name": self.name, "modes": self.modes}


def _v4l2_is_capture(path: str) -> bool | None:
    """True for a video-capture node (webcams also expose metadata nodes), None when unknown."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        buf = bytearray(104)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, buf)
        caps, device_caps = struct.unpack_from("<II", buf, 84)
        used = device_caps if caps & _CAP_DEVICE_CAPS else caps
        return bool(used & (_CAP_VIDEO_CAPTURE | _CAP_VIDEO_CAPTURE_MPLANE))
    except OSError:
        return None
    finally:
        os.close(fd)


#: Where Linux lists its video devices (sysfs) and where their nodes are; list_cameras reads them at each call.
SYSFS_ROOT = "/sys/class/video4linux"
DEV_ROOT = "/dev"


def list_cameras(sys_root: str | None = None, dev_root: str | None = None, probe: bool = False) -> list[CameraInfo]:
    """Cameras of this machine. Linux: from sysfs names and V4L2 capabilities; elsewhere: by probing.

    ``probe`` opens each camera to read its default mode (slow, and it fails on a busy camera).
    """
    sys_root, dev_root = sys_root or SYSFS_ROOT, dev_root or DEV_ROOT
    cameras: list[CameraInfo] = []
    if sys.platform.startswith("linux"):
        for node in sorted(glob.glob(os.path.join(sys_root, "video*")), key=lambda p: int(re.sub(r"\D", "", p) or 0)):
            base = os.path.basename(node)
            index = int(re.sub(r"\D", "", base) or 0)
            try:
                with open(os.path.join(node, "name"), encoding="utf-8", errors="replace") as fh:
                    name = fh.read().strip()
            except OSError:
                name = ""
            path = os.path.join(dev_root, base)
            if _v4l2_is_capture(path) is False:
                continue
            cameras.append(CameraInfo(index, path, name))
    else:
        for index in range(8):
            cap = cv2.VideoCapture(index)
            if cap.isOpened():
                cameras.append(CameraInfo(index, "", f"camera {index}"))
            cap.release()
    if probe:
        for cam in cameras:
            cap = cv2.VideoCapture(cam.path or cam.index)
            if cap.isOpened():
                w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
                fps = cap.get(cv2.CAP_PROP_FPS)
                cam.modes.append(f"{w}x{h}@{fps:g}" if fps > 0 else f"{w}x{h}")
            cap.release()
    return cameras


def _plain(name: str) -> str:
    return " ".join(name.split()).casefold()


def find_camera(name: str, cameras: list[CameraInfo] | None = None) -> CameraInfo:
    """The camera called ``name`` as `vidcv sources` shows it: the exact name (case and spacing aside), else
    the one camera whose name contains it. SourceError naming the cameras when none or several match."""
    cameras = list_cameras() if cameras is None else cameras
    wanted = _plain(name)
    matches = [c for c in cameras if _plain(c.name) == wanted] or [c for c in cameras if wanted in _plain(c.name)]
    listing = ", ".join(f"{c.index} ({c.name})" if c.name else str(c.index) for c in (matches or cameras))
    if not matches:
        raise SourceError(f"no camera named '{name}' (cameras found: {listing or 'none'}; `vidcv sources` lists them)")
    if len(matches) > 1:
        raise SourceError(
            f"{len(matches)} cameras match '{name}': {listing}; give the index instead, e.g. camera:{matches[0].index}"
        )
    return matches[0]


class CameraSource(CaptureSource[cv2.VideoCapture]):
    """A live camera; ``device`` is an index or a device path such as /dev/video0, or ``name`` the name that
    `vidcv sources` shows (``camera:"HD Pro Webcam C920"``), looked up when the camera opens."""

    live = True

    def __init__(
        self,
        device: int | str | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        spec: str | None = None,
        stall_timeout_s: float = 3.0,
        name: str | None = None,
    ) -> None:
        if device is None and not name:
            raise SourceError(
                'a camera needs an index, a device path or a name, e.g. 0, /dev/video0 or camera:"HD Pro Webcam C920"'
            )
        super().__init__(spec or (str(device) if device is not None else f"camera:{name}"))
        self.device = device
        self.name = name
        self._request = (width, height, fps)
        self._pending: np.ndarray | None = None
        self._stall_timeout_s = stall_timeout_s

    def _label(self) -> str:
        if self.name:
            return f"camera '{self.name}'" + (f" ({self.device})" if self.device is not None else "")
        return f"camera {self.device}"

    def _open(self) -> None:
        if self.name:
            cam = find_camera(self.name)
            self.device = cam.path or cam.index
        assert self.device is not None  # __init__ took a device or a name
        if isinstance(self.device, str) and not os.path.exists(self.device):
            raise SourceError(
                f"{self._label()} not found: {self.device} does not exist "
                "(`vidcv sources` lists the cameras of this machine)"
            )
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            found = list_cameras() if isinstance(self.device, int) else []
            listing = ", ".join(f"{c.index} ({c.name})" if c.name else str(c.index) for c in found) or "none"
            raise SourceError(
                f"{self._label()} could not be opened: no such camera or it is in use "
                f"(cameras found: {listing}; `vidcv sources` lists them)"
            )
        width, height, fps = self._request
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        ok, img = cap.read()
        if not ok or img is None:
            cap.release()
            raise SourceError(
                f"{self._label()} opened but delivered no frame: it is probably busy in another "
                "program (close that program and retry)"
            )
        self._use(cap)
        self._pending = img
        self.size_wh = (img.shape[1], img.shape[0])

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        img, self._pending = self._pending, None
        stalled_since = time.monotonic()
        while img is None:
            if self.stopping:
                return None
            ok, img = self._cap.read()
            if ok and img is not None:
                break
            img = None
            if time.monotonic() - stalled_since > self._stall_timeout_s:
                self._set_state(SourceState.FAILED, "no frames")
                raise SourceError(
                    f"{self._label()} stopped delivering frames for {self._stall_timeout_s:g} s "
                    "(unplugged, or taken by another program?)"
                )
            self.wait(0.05)
        return self._frame(img)
