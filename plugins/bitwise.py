"""Bitwise combination of the frame with the original image or an earlier stage's output (a mask)."""

from __future__ import annotations

import cv2
import numpy as np

from vidcv.frame import Frame
from vidcv.params import Choice, Int
from vidcv.plugin import Plugin
from vidcv.stagecode import CodeContext, StageCode

OPS = {"and": cv2.bitwise_and, "or": cv2.bitwise_or, "xor": cv2.bitwise_xor}


class Bitwise(Plugin):
    """AND, OR, XOR or NOT of the frame with the original or an earlier stage."""

    name = "bitwise"
    title = "Bitwise"
    category = "combine"
    summary = (
        "AND, OR or XOR of the frame with the original source image ('with: original') or the output of "
        "an earlier stage ('with: stage', 'stage' = its index); NOT inverts the frame. When one side is a "
        "1-channel mask and the other colour, AND keeps the colour pixels where the mask is set "
        "(cv2.bitwise_and with mask=), OR and XOR use the mask on all three channels."
    )
    params = (
        Choice("op", "and", ("and", "or", "xor", "not"), help="operation"),
        Choice("with", "original", ("original", "stage"), help="second operand: the original image or a stage"),
        Int("stage", 0, 0, 99, help="with 'stage': index of the earlier stage whose output is the operand"),
    )

    def operand(self, frame: Frame) -> np.ndarray:
        if self.p["with"] == "original":
            return frame.source_image
        index = self.p.stage
        if index >= len(frame.stage_images):
            raise ValueError(
                f"'stage' = {index} is not an earlier stage: this stage is stage {len(frame.stage_images)}"
            )
        return frame.stage_images[index]

    def reads_source_image(self) -> bool:
        return self.p.op != "not" and self.p["with"] == "original"

    def process(self, frame: Frame) -> Frame:
        image = frame.image
        if self.p.op == "not":
            return frame.with_image(cv2.bitwise_not(image))
        other = self.operand(frame)
        if image.shape[:2] != other.shape[:2]:
            raise ValueError(
                f"sizes differ: the frame is {image.shape[1]}x{image.shape[0]}, the operand "
                f"{other.shape[1]}x{other.shape[0]} (resize or crop both the same way)"
            )
        op = OPS[self.p.op]
        if image.ndim == other.ndim:
            return frame.with_image(op(image, other))
        color, mask = (image, other) if image.ndim == 3 else (other, image)
        space = frame.color_space if color is image else "bgr"
        if self.p.op == "and":
            return frame.with_image(op(color, color, mask=mask), space)
        return frame.with_image(op(color, cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)), space)

    def to_code(self, ctx: CodeContext) -> StageCode:
        p = self.p
        if p.op == "not":
            return StageCode(
                "return frame.with_image(cv2.bitwise_not(frame.image))", "NOT: invert the frame (cv2.bitwise_not)"
            )
        fn, upper = f"cv2.bitwise_{p.op}", p.op.upper()
        if p["with"] == "original":  # the original is BGR: only the frame can be a 1-channel mask
            return StageCode(
                f"""
                image, original = frame.image, frame.source_image
                if image.ndim == 2:  # {_mask_comment(p.op, "the original")}
                    return frame.with_image({_with_mask(p.op, "original", "image")}, "bgr")
                return frame.with_image({fn}(image, original))""",
                f"{upper} of the frame with the original source image ({fn})",
            )
        return StageCode(
            f"""
            if STAGE >= len(frame.stage_images):  # not an earlier stage: passed on unchanged, as vidcv does
                return frame
            image, other = frame.image, frame.stage_images[STAGE]
            if image.ndim == other.ndim:
                return frame.with_image({fn}(image, other))
            if image.ndim == 3:  # the other is {_mask_comment(p.op, "the frame")}
                return frame.with_image({_with_mask(p.op, "image", "other")}, frame.color_space)
            # the frame is {_mask_comment(p.op, "the other")}
            return frame.with_image({_with_mask(p.op, "other", "image")}, "bgr")""",
            f"{upper} of the frame with the output of stage {p.stage} ({fn})",
            {"STAGE": p.stage},
        )


def _mask_comment(op: str, color: str) -> str:
    """What ``op`` does with a 1-channel mask and the colour image named ``color``, for a comment."""
    if op == "and":
        return f"a mask: keep {color}'s pixels where it is set"
    return f"a mask: {op.upper()} it into all three channels of {color}"


def _with_mask(op: str, color: str, mask: str) -> str:
    """Code for ``op`` of the colour image named ``color`` with the 1-channel one named ``mask`` (as process)."""
    if op == "and":
        return f"cv2.bitwise_and({color}, {color}, mask={mask})"
    return f"cv2.bitwise_{op}({color}, cv2.cvtColor({mask}, cv2.COLOR_GRAY2BGR))"
