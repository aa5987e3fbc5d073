"""Small image helpers shared by sources and plugins: normalisation and colour-space conversion."""

from __future__ import annotations

import cv2
import numpy as np

COLOR_SPACES = ("bgr", "gray", "hsv", "hls", "lab", "ycrcb", "rgb")

# From BGR to each space, and back.
_FROM_BGR = {
    "gray": cv2.COLOR_BGR2GRAY,
    "hsv": cv2.COLOR_BGR2HSV,
    "hls": cv2.COLOR_BGR2HLS,
    "lab": cv2.COLOR_BGR2LAB,
    "ycrcb": cv2.COLOR_BGR2YCrCb,
    "rgb": cv2.COLOR_BGR2RGB,
}
_TO_BGR = {
    "gray": cv2.COLOR_GRAY2BGR,
    "hsv": cv2.COLOR_HSV2BGR,
    "hls": cv2.COLOR_HLS2BGR,
    "lab": cv2.COLOR_LAB2BGR,
    "ycrcb": cv2.COLOR_YCrCb2BGR,
    "rgb": cv2.COLOR_RGB2BGR,
}
# Direct conversions OpenCV has besides the ones through BGR.
_DIRECT = {
    ("rgb", "gray"): cv2.COLOR_RGB2GRAY,
    ("gray", "rgb"): cv2.COLOR_GRAY2RGB,
    ("rgb", "hsv"): cv2.COLOR_RGB2HSV,
    ("rgb", "hls"): cv2.COLOR_RGB2HLS,
    ("rgb", "lab"): cv2.COLOR_RGB2LAB,
    ("rgb", "ycrcb"): cv2.COLOR_RGB2YCrCb,
}


def to_bgr_uint8(image: np.ndarray) -> np.ndarray:
    """Normalise any decoded image to uint8 BGR (gray, BGRA, 16-bit and float inputs converted)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            scale = 255.0 if img.size and float(np.nanmax(img)) <= 1.0 else 1.0
            img = np.clip(np.nan_to_num(img) * scale, 0, 255).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3:
        raise ValueError(f"expected an image of shape HxW or HxWxC, got {img.shape}")
    channels = img.shape[2]
    if channels == 3:
        return img
    if channels == 1:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"expected 1, 3 or 4 channels, got {channels}")


def convert_color(image: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert ``image`` from colour space ``src`` to ``dst`` (a 2-D image is always gray)."""
    if image.ndim == 2:
        src = "gray"
    if src == dst:
        return image
    for name in (src, dst):
        if name not in COLOR_SPACES:
            raise ValueError(f"unknown colour space {name!r}; known: {', '.join(COLOR_SPACES)}")
    if src == "bgr":
        return cv2.cvtColor(image, _FROM_BGR[dst])
    if dst == "bgr":
        return cv2.cvtColor(image, _TO_BGR[src])
    if (src, dst) in _DIRECT:
        return cv2.cvtColor(image, _DIRECT[(src, dst)])
    return cv2.cvtColor(cv2.cvtColor(image, _TO_BGR[src]), _FROM_BGR[dst])


def to_gray(image: np.ndarray, space: str = "bgr") -> np.ndarray:
    """A single-channel view of the image for operators that need gray input."""
    return image if image.ndim == 2 else convert_color(image, space, "gray")


def to_bgr(image: np.ndarray, space: str = "bgr") -> np.ndarray:
    """A 3-channel BGR version of the image for operators that need colour input."""
    return convert_color(image, space, "bgr")
