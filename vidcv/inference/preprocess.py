"""Pre-processing of a YOLO model's input, as ultralytics' predict step: the letterbox (aspect kept, grey 114
padding) that ``postprocess`` undoes, a classifier's resize and centre crop, the normalised input tensor (RGB
in 0..1, 1x3xHxW) and a fixed batch filled up with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass
class Letterbox:
    """How a source image was fitted into the network input (to map results back)."""

    source_hw: tuple[int, int]
    input_hw: tuple[int, int]
    new_wh: tuple[int, int]
    left: int
    top: int


def letterbox(image: np.ndarray, input_hw: tuple[int, int], stride: int | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad with grey 114 to ``input_hw`` (ultralytics' LetterBox); with
    ``stride`` (models of any input size) pad only to the next multiple of it, as ultralytics does."""
    h, w = image.shape[:2]
    r = min(input_hw[0] / h, input_hw[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = input_hw[1] - new_w, input_hw[0] - new_h
    if stride:
        dw, dh = dw % stride, dh % stride
    input_hw = (new_h + dh, new_w + dw)
    dw, dh = dw / 2, dh / 2
    if (w, h) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, Letterbox((h, w), input_hw, (new_w, new_h), left, top)


def to_blob(padded_bgr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """HWC BGR uint8 -> 1x3xHxW RGB in 0..1."""
    rgb = padded_bgr[:, :, ::-1].transpose(2, 0, 1)
    blob = np.ascontiguousarray(rgb, dtype=np.float32)[None] / np.float32(255.0)
    typed: np.ndarray = blob.astype(dtype, copy=False)
    return typed


def classify_input(image_bgr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """A classifier's input as ultralytics prepares it: shortest side resized to the input (PIL bilinear),
    centre crop, RGB in 0..1 (torchvision's Resize, CenterCrop and ToTensor)."""
    from PIL import Image

    h, w = image_bgr.shape[:2]
    th, tw = size_hw
    if th == tw:
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = th, int(th * long / short)
        size = (new_short, new_long) if w <= h else (new_long, new_short)  # PIL: (width, height)
    else:
        size = (tw, th)
    # Pillow sets its module-level filter names at import; its annotations declare only Image.Resampling
    resized = np.asarray(Image.fromarray(image_bgr).resize(size, Image.BILINEAR))  # type: ignore[attr-defined]
    rh, rw = resized.shape[:2]
    top, left = int(round((rh - th) / 2.0)), int(round((rw - tw) / 2.0))
    return np.ascontiguousarray(resized[top : top + th, left : left + tw])


def batch_of(blob: np.ndarray, batch: int, dynamic_batch: bool) -> np.ndarray:
    """A fixed batch larger than the images given gets zeros after them (whose results are dropped)."""
    if dynamic_batch or len(blob) >= batch:
        return blob
    return np.concatenate([blob, np.zeros((batch - len(blob), *blob.shape[1:]), blob.dtype)])
