"""Intensity: histogram equalisation, CLAHE, brightness, contrast and gamma."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Choice, Float, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode


class Equalize(Plugin):
    """Histogram equalisation or CLAHE; colour frames are equalised on their luma."""

    name = "equalize"
    title = "Equalise histogram"
    category = "intensity"
    summary = (
        "Global histogram equalisation (cv2.equalizeHist) or CLAHE (cv2.createCLAHE). Gray frames "
        "directly; colour frames on the Y channel of YCrCb, so that hues are kept."
    )
    params = (
        Choice("method", "clahe", ("global", "clahe"), help="global equalisation or contrast-limited adaptive"),
        Float("clip_limit", 2.0, 0.1, 40.0, step=0.1, help="CLAHE: contrast limit"),
        Int("tile", 8, 1, 32, help="CLAHE: tiles per side of the grid"),
    )

    def setup(self) -> None:
        self.clahe = cv2.createCLAHE(clipLimit=self.p.clip_limit, tileGridSize=(self.p.tile, self.p.tile))

    def _equalize(self, gray: np.ndarray) -> np.ndarray:
        return cv2.equalizeHist(gray) if self.p.method == "global" else self.clahe.apply(gray)

    def process(self, frame: Frame) -> Frame:
        if frame.image.ndim == 2:
            return frame.with_image(self._equalize(frame.image))
        ycrcb = cv2.cvtColor(to_bgr(frame.image, frame.color_space), cv2.COLOR_BGR2YCrCb)
        ycrcb[:, :, 0] = self._equalize(np.ascontiguousarray(ycrcb[:, :, 0]))
        return frame.with_image(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR), "bgr")

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        if p.method == "global":
            equalize, doc, constants, state = "cv2.equalizeHist", "global histogram equalisation", {}, {}
        else:
            equalize, doc = "CLAHE.apply", f"CLAHE, clip limit {p.clip_limit:g}, {p.tile}x{p.tile} tiles"
            constants = {"CLIP_LIMIT": p.clip_limit, "TILE": p.tile}
            state = {"CLAHE": "cv2.createCLAHE(clipLimit=CLIP_LIMIT, tileGridSize=(TILE, TILE))"}
        return StageCode(
            f"""
            if frame.image.ndim == 2:
                return frame.with_image({equalize}(frame.image))
            ycrcb = cv2.cvtColor(to_bgr(frame.image, frame.color_space), cv2.COLOR_BGR2YCrCb)
            ycrcb[:, :, 0] = {equalize}(np.ascontiguousarray(ycrcb[:, :, 0]))
            return frame.with_image(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR), "bgr")""",
            f"{doc}; colour frames on the Y channel of YCrCb",
            constants,
            state,
        )


class BrightnessContrast(Plugin):
    """Linear point operation alpha * x + beta, then gamma."""

    name = "brightness_contrast"
    title = "Brightness / contrast"
    category = "intensity"
    summary = (
        "out = saturate(alpha * in + beta) (cv2.convertScaleAbs), then gamma through a lookup table: "
        "255 * (v / 255) ** (1 / gamma), so gamma > 1 brightens the shadows. Gray and colour alike."
    )
    params = (
        Float("alpha", 1.0, 0.0, 5.0, step=0.05, help="contrast (gain)"),
        Float("beta", 0.0, -255.0, 255.0, step=1.0, help="brightness (offset)"),
        Float("gamma", 1.0, 0.1, 5.0, step=0.05, help="gamma; 1 = none"),
    )

    def setup(self) -> None:
        levels = np.arange(256, dtype=np.float64) / 255.0
        self.lut = np.clip(np.round(255.0 * levels ** (1.0 / self.p.gamma)), 0, 255).astype(np.uint8)

    def process(self, frame: Frame) -> Frame:
        out = cv2.convertScaleAbs(frame.image, alpha=self.p.alpha, beta=self.p.beta)
        if self.p.gamma != 1.0:
            out = cv2.LUT(out, self.lut)
        return frame.with_image(out)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        scale = "out = cv2.convertScaleAbs(frame.image, alpha=ALPHA, beta=BETA)"
        doc = f"out = saturate({p.alpha:g} * in + {p.beta:g})"
        if p.gamma == 1.0:
            return StageCode(f"{scale}\nreturn frame.with_image(out)", doc, {"ALPHA": p.alpha, "BETA": p.beta})
        return StageCode(
            f"{scale}\nreturn frame.with_image(cv2.LUT(out, LUT))",
            f"{doc}, then gamma {p.gamma:g} (lookup table)",
            {"ALPHA": p.alpha, "BETA": p.beta, "GAMMA": p.gamma},
            {
                "CURVE": "(np.arange(256, dtype=np.float64) / 255.0) ** (1.0 / GAMMA)",
                "LUT": "np.clip(np.round(255.0 * CURVE), 0, 255).astype(np.uint8)",
            },
        )
