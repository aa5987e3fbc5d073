"""Annotate: draw the detections found so far onto the frame (boxes, labels, masks, track ids, trails)."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.detections import KEYPOINTS, OBB, TRAIL, Classification, Detections
from vidcv.drawing import KEYPOINT_MIN_CONF, banner_lines, color_key, color_rgb, label_text, skeleton
from vidcv.frame import Frame, xywhr_corners
from vidcv.imageops import to_bgr
from vidcv.params import Bool, Choice, Float, Int
from vidcv.plugin import Plugin


def color_for(key: int) -> tuple[int, int, int]:
    """BGR colour of a palette index."""
    r, g, b = color_rgb(key)
    return b, g, r


class Annotate(Plugin):
    """Burn the detections into the image (for recordings and exports; the GUI overlays need no stage)."""

    name = "annotate"
    title = "Annotate detections"
    category = "detection"
    summary = (
        "Draws the frame's detections onto the image: boxes, labels with confidence, masks, polygons "
        "and track ids, coloured by class or by track, with optional trails of each track's centre (the "
        "'trail' data a tracker attaches); keypoints (COCO's skeleton for 17), oriented boxes, and a "
        "classifier's top classes as a banner. "
        "Draws on the current image (gray becomes BGR) or on the original."
    )
    params = (
        Choice("draw_on", "frame", ("frame", "original"), help="draw on the current image or on the original"),
        Choice("color_by", "class", ("class", "track"), help="colour per class or per track id"),
        Int("thickness", 2, 1, 10, help="line width in pixels"),
        Bool("labels", True, help="write class (and track id)"),
        Bool("confidence", True, help="add the confidence to labels"),
        Bool("masks", True, help="fill segmentation masks"),
        Float("mask_alpha", 0.4, 0.0, 1.0, step=0.05, help="mask opacity"),
        Int("trail", 0, 0, 300, help="frames of each track's path to draw (0: none)"),
    )

    def _key(self, dets: Detections, i: int) -> int:
        return color_key(dets, i, self.p.color_by == "track")

    def reads_source_image(self) -> bool:
        return self.p.draw_on == "original"

    def process(self, frame: Frame) -> Frame:
        p = self.p
        dets = frame.detections if p.draw_on == "original" else frame.detections_to_image(frame.detections)
        base = frame.source_image if p.draw_on == "original" else to_bgr(frame.image, frame.color_space)
        canvas = base.copy()
        if p.masks and dets.masks is not None and len(dets):
            overlay = canvas.copy()
            for i, mask in enumerate(dets.masks):
                if mask.shape == canvas.shape[:2]:
                    overlay[mask] = color_for(self._key(dets, i))
            canvas = cv2.addWeighted(overlay, p.mask_alpha, canvas, 1 - p.mask_alpha, 0)
        for i in range(len(dets)):
            color = color_for(self._key(dets, i))
            x1, y1, x2, y2 = (int(round(v)) for v in dets.xyxy[i])
            if dets.polygons is not None and len(dets.polygons[i]) >= 3:
                cv2.polylines(canvas, [np.round(dets.polygons[i]).astype(np.int32)], True, color, p.thickness)
            if OBB.name in dets.data:  # an oriented box instead of its axis-aligned bounds
                corners = np.round(xywhr_corners(dets.data[OBB.name][i][None])[0]).astype(np.int32)
                cv2.polylines(canvas, [corners], True, color, p.thickness)
            else:
                cv2.rectangle(canvas, (x1, y1), (x2, y2), color, p.thickness)
            if KEYPOINTS.name in dets.data:
                self._draw_keypoints(canvas, dets.data[KEYPOINTS.name][i], color)
            if p.labels:
                text = label_text(dets, i, p.confidence)
                (tw, th), base_line = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
                top = max(th + base_line, y1)
                cv2.rectangle(canvas, (x1, top - th - base_line), (x1 + tw + 2, top), color, -1)
                cv2.putText(
                    canvas, text, (x1 + 1, top - base_line), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA
                )
        if p.trail and TRAIL.name in dets.data:
            self._draw_trails(canvas, dets)
        if p.labels and frame.classification is not None:
            self._draw_banner(canvas, frame.classification)
        return frame.with_image(canvas, "bgr")

    def _draw_keypoints(self, canvas: np.ndarray, keypoints: np.ndarray, color: tuple[int, int, int]) -> None:
        """The keypoints sure enough to show, joined by COCO's skeleton when there are 17."""
        sure = keypoints[:, 2] >= KEYPOINT_MIN_CONF
        points = np.round(keypoints[:, :2]).astype(np.int32)
        for a, b in skeleton(len(keypoints)):
            if sure[a] and sure[b]:
                cv2.line(canvas, tuple(points[a]), tuple(points[b]), color, max(1, self.p.thickness - 1), cv2.LINE_AA)
        radius = max(2, self.p.thickness + 1)
        for point in points[sure]:
            cv2.circle(canvas, tuple(point), radius, color, -1, cv2.LINE_AA)

    @staticmethod
    def _draw_banner(canvas: np.ndarray, classification: Classification) -> None:
        """A classifier's top classes, top left."""
        for row, text in enumerate(banner_lines(classification)):
            y = 22 + 22 * row
            cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)

    def _draw_trails(self, canvas: np.ndarray, dets: Detections) -> None:
        """The last ``trail`` centres of each track (already in the canvas' pixels)."""
        width = max(1, self.p.thickness - 1)
        for i, points in enumerate(dets.data[TRAIL.name]):
            if len(points) > 1:
                color = color_for(color_key(dets, i, by_track=True))
                cv2.polylines(canvas, [np.round(points[-self.p.trail :]).astype(np.int32)], False, color, width)
