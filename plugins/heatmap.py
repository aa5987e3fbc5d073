"""Heatmap: where the tracks have been, accumulated with decay, drawn over the frame and saved at the end."""

from __future__ import annotations

import math
import os

import cv2
import numpy as np

from vidcv.detections import Detections
from vidcv.errors import OutputError, ParamError
from vidcv.fileio import write_bytes_atomic
from vidcv.frame import Frame
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Float, Int, Text
from vidcv.plugin import Plugin
from vidcv.status import StageStatus

COLORMAPS = {
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "hot": cv2.COLORMAP_HOT,
    "viridis": cv2.COLORMAP_VIRIDIS,
}


def stamp(radius_cells: float) -> np.ndarray:
    """The mark one anchor leaves, in heat cells: 1 at its centre, falling to 0 at ``radius_cells``
    (``1 - (d / r)^2``), so that the centre cell gains exactly 1 a frame."""
    reach = int(math.floor(radius_cells))
    if reach < 1:
        return np.ones((1, 1), np.float32)
    d = np.arange(-reach, reach + 1, dtype=np.float64)
    dist2 = d[None, :] ** 2 + d[:, None] ** 2
    return np.clip(1.0 - dist2 / radius_cells**2, 0.0, None).astype(np.float32)


def anchors(xyxy: np.ndarray, anchor: str) -> np.ndarray:
    """Each box's anchor point: its bottom centre (feet) or its centre, in the boxes' pixels."""
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2
    y = xyxy[:, 3] if anchor == "bottom" else (xyxy[:, 1] + xyxy[:, 3]) / 2
    return np.stack([x, y], axis=1)


class Heatmap(Plugin):
    """Accumulate where tracks have been into a decaying heat map, drawn over the frame and saved at the end."""

    name = "heatmap"
    title = "Heatmap (where tracks have been)"
    category = "tracking"
    summary = (
        "Where the tracks have been. Each frame every track (once), or without a track stage before it every "
        "detection, adds a round mark of 'radius' source pixels at its anchor, worth 1 at its centre. The heat is "
        "kept in source pixels (cells of 'cell' pixels), so resizing or cropping later does not move it. With "
        "'half_life' it halves every that many seconds of video time, showing recent activity; 0 keeps it all. "
        "'draw' lays it over the frame, coloured from none to the hottest place; 'save' writes it over the last "
        "frame, at the source's size, to an image file when the run ends (PNG without an extension). Seeking or "
        "a new source clears it. Figure: peak (the hottest cell's heat, in frames)."
    )
    stateful = True
    params = (
        Choice("anchor", "bottom", ("bottom", "center"), help="point of a box that leaves heat (bottom: feet)"),
        Float(
            "half_life",
            0.0,
            0.0,
            86400.0,
            step=1.0,
            help="seconds after which heat falls to half (0: it never fades)",
        ),
        Int("radius", 16, 1, 1000, help="radius of each anchor's mark, in source pixels"),
        Int("cell", 4, 1, 64, help="source pixels per heat cell (larger: coarser and faster)"),
        Text("classes", "", help="only these classes: ids or names, comma-separated (empty: all)"),
        Choice("colormap", "jet", tuple(COLORMAPS), help="colours from cold to hot"),
        Float("opacity", 0.6, 0.0, 1.0, step=0.05, help="opacity of the hottest place over the frame"),
        Bool("draw", True, help="lay the heat over the frame"),
        Text("save", "", help="image file written with the heat over the last frame when the run ends (empty: none)"),
    )

    def _check_save(self) -> None:
        save = self.p.save
        if save and os.path.splitext(save)[1] and not cv2.haveImageWriter(save):
            raise ParamError(
                f"parameter 'save' = {save!r}: OpenCV writes no image of that extension; use .png, .jpg or .bmp"
            )

    def setup(self) -> None:
        self._configure()
        self.clear()

    def _configure(self) -> None:
        self._check_save()
        self.wanted = [c.strip().lower() for c in self.p.classes.split(",") if c.strip()]
        self.mark = stamp(self.p.radius / self.p.cell)

    def clear(self) -> None:
        """Forget the heat and everything it was made from."""
        self.heat: np.ndarray | None = None  # float32 cells over the source image
        self.source_hw: tuple[int, int] = (0, 0)
        self.last_pts: float | None = None
        self.background: np.ndarray | None = None  # the last source image, for the saved picture
        self.tracked = False  # track ids seen: each track counts once a frame

    def on_params_changed(self, changed: set[str]) -> None:
        self._configure()
        if "cell" in changed:  # another grid: the heat so far does not fit it
            self.clear()

    def reset(self) -> None:
        self.clear()

    def reads_source_image(self) -> bool:
        return bool(self.p.save)  # the saved picture is drawn over the original

    def status(self) -> StageStatus:
        return StageStatus(
            figures={"peak": round(self.peak(), 4)},
            state="" if self.tracked else "no track ids: each detection counts",
        )

    def peak(self) -> float:
        """The hottest cell's heat (0 before any)."""
        return float(self.heat.max()) if self.heat is not None and self.heat.size else 0.0

    # --- accumulating -------------------------------------------------------------------------------------------
    def _selected(self, dets: Detections) -> np.ndarray:
        if not self.wanted:
            return np.ones(len(dets), bool)
        keys = [(str(int(c)), dets.class_name(int(c)).strip().lower()) for c in dets.class_id]
        return np.array([cid in self.wanted or name in self.wanted for cid, name in keys], bool)

    def _counted(self, dets: Detections) -> np.ndarray:
        """Indices of the detections that leave heat this frame: each track once, each untracked detection."""
        picked = self._selected(dets)
        ids = dets.tracker_id
        if ids is None:
            return np.flatnonzero(picked)
        tracked = picked & (ids >= 0)
        _, first = np.unique(ids[tracked], return_index=True)
        once = np.flatnonzero(tracked)[first]
        return np.sort(np.concatenate([once, np.flatnonzero(picked & (ids < 0))]))

    def _decay(self, now: float) -> None:
        if self.heat is None or self.last_pts is None or self.p.half_life <= 0:
            return
        seconds = max(0.0, now - self.last_pts) / 1000.0
        if seconds > 0:
            self.heat *= np.float32(0.5 ** (seconds / self.p.half_life))

    def _deposit(self, points: np.ndarray) -> None:
        assert self.heat is not None
        rows, cols = self.heat.shape
        reach = self.mark.shape[0] // 2
        cell = self.p.cell
        for x, y in points:
            cx = min(max(int(math.floor(x / cell)), 0), cols - 1)
            cy = min(max(int(math.floor(y / cell)), 0), rows - 1)
            x0, y0 = max(cx - reach, 0), max(cy - reach, 0)
            x1, y1 = min(cx + reach + 1, cols), min(cy + reach + 1, rows)
            kx, ky = x0 - (cx - reach), y0 - (cy - reach)
            self.heat[y0:y1, x0:x1] += self.mark[ky : ky + y1 - y0, kx : kx + x1 - x0]

    def process(self, frame: Frame) -> Frame:
        dets = frame.detections
        now = float(frame.pts_ms)
        hw = (int(frame.source_image.shape[0]), int(frame.source_image.shape[1]))
        if self.heat is None or hw != self.source_hw:
            cell = self.p.cell
            self.heat = np.zeros((-(-hw[0] // cell), -(-hw[1] // cell)), np.float32)
            self.source_hw, self.last_pts = hw, None
        if self.last_pts is not None and now < self.last_pts:  # time went back without a reset: start afresh
            self.heat[:] = 0
        else:
            self._decay(now)
        self.last_pts = now
        ids = dets.tracker_id
        # a track stage's output has track ids, even when it holds no detection
        self.tracked = self.tracked or (ids is not None and (len(ids) == 0 or bool(np.any(ids >= 0))))
        counted = self._counted(dets)
        if len(counted):
            self._deposit(anchors(dets.xyxy[counted], self.p.anchor))
        self.background = frame.source_image
        if not self.p.draw:
            return frame
        canvas = to_bgr(frame.image, frame.color_space)
        to_source = np.eye(3) if frame.to_source is None else np.asarray(frame.to_source, np.float64)
        return frame.with_image(self.overlay(canvas, to_source), "bgr")

    # --- drawing and saving -------------------------------------------------------------------------------------
    def _grid_from_source(self) -> np.ndarray:
        """Maps source pixel coordinates to heat-cell coordinates (pixel and cell centres at integers)."""
        s = 1.0 / self.p.cell
        return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5], [0.0, 0.0, 1.0]])

    def overlay(self, image: np.ndarray, to_source: np.ndarray) -> np.ndarray:
        """``image`` (BGR) with the heat laid over it; ``to_source`` maps its pixels to source pixels. The colour
        map spans no heat to the peak; each pixel's opacity grows with its heat up to ``opacity``."""
        peak = self.peak()
        if self.heat is None or peak <= 0 or self.p.opacity <= 0:
            return image
        h, w = image.shape[:2]
        levels = np.round(np.clip(self.heat / np.float32(peak), 0, 1) * 255).astype(np.uint8)
        to_grid = self._grid_from_source() @ to_source
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        if np.allclose(to_grid[2], (0.0, 0.0, 1.0)):  # what the geometry stages make: the faster affine warp
            levels = cv2.warpAffine(levels, to_grid[:2], (w, h), flags=flags)
        else:
            levels = cv2.warpPerspective(levels, to_grid, (w, h), flags=flags)
        x, y, bw, bh = cv2.boundingRect(levels)  # only where there is heat
        if bw == 0 or bh == 0:
            return image
        part = levels[y : y + bh, x : x + bw]
        colours = cv2.applyColorMap(part, COLORMAPS[self.p.colormap])
        ramp = np.round(255 * self.p.opacity * np.sqrt(np.arange(256) / 255)).astype(np.uint8)
        alpha = cv2.merge([cv2.LUT(part, ramp)] * 3)  # 0..255: transparent where there is no heat
        under = image[y : y + bh, x : x + bw]
        out = image.copy()
        out[y : y + bh, x : x + bw] = cv2.add(
            cv2.multiply(colours, alpha, scale=1 / 255), cv2.multiply(under, cv2.bitwise_not(alpha), scale=1 / 255)
        )
        return out

    def picture(self) -> np.ndarray | None:
        """What ``save`` writes: the heat over the last source frame, at the source's size (None before a frame)."""
        if self.background is None:
            return None
        space = "bgr" if self.background.ndim == 3 else "gray"
        return self.overlay(to_bgr(self.background, space), np.eye(3))

    def save(self, path: str) -> None:
        """Write ``picture()`` to ``path`` through vidcv.fileio (a temporary name, then a rename)."""
        image = self.picture()
        if image is None:
            return
        ok, data = cv2.imencode(os.path.splitext(path)[1] or ".png", image)
        if not ok:
            raise OutputError(f"could not encode the heatmap as {os.path.splitext(path)[1] or '.png'}")
        write_bytes_atomic(path, data.tobytes())

    def close(self) -> None:
        """At the end of a run: write the heatmap to ``save`` if it is set and a frame was seen."""
        if self.p.save:
            self.save(self.p.save)
