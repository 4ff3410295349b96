"""JPEG artefact removal: a classical deblocking filter and a learned U-Net."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


def blockiness(image: np.ndarray) -> float:
    """Mean luminance step across 8x8 block borders minus the mean step elsewhere (>= 0)."""
    grey = image.mean(axis=2)
    dx = np.abs(np.diff(grey, axis=1))
    dy = np.abs(np.diff(grey, axis=0))
    border_x, border_y = dx[:, 7::8], dy[7::8, :]
    inner_x = np.delete(dx, np.s_[7::8], axis=1)
    inner_y = np.delete(dy, np.s_[7::8], axis=0)
    if border_x.size == 0 or border_y.size == 0:
        return 0.0
    return float(max(0.0, (border_x.mean() + border_y.mean() - inner_x.mean() - inner_y.mean()) / 2))


class DeblockParams(ToolParams):
    strength: float = Field(0.0, ge=0.0, le=1.0, description="smoothing strength; 0 = from the blockiness")
    chroma_sigma: float = Field(1.0, ge=0.0, le=3.0, description="extra smoothing of the colour channels, px")


class Deblock(Tool):
    """Edge-preserving deblocking: a bilateral filter on luma whose strength follows the measured
    8x8 blockiness, and a smoothing of chroma (undoing 4:2:0 blockiness)."""

    name = "deblock"
    targets = ("jpeg",)
    Params = DeblockParams
    seconds_per_megapixel = 0.05

    def _apply(self, image, params):
        strength = params.strength or float(np.clip(blockiness(image) * 40.0, 0.0, 1.0))
        if strength <= 0.01:
            return image
        ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
        luma = ycc[:, :, 0]
        filtered = cv2.bilateralFilter(luma, 5, 0.02 + 0.1 * strength, 2.0)
        ycc[:, :, 0] = luma + strength * (filtered - luma)
        if params.chroma_sigma > 0:
            for c in (1, 2):
                ycc[:, :, c] = cv2.GaussianBlur(ycc[:, :, c], (0, 0), params.chroma_sigma * (0.5 + strength))
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


class DejpegNet(OnnxRestorer):
    """Learned JPEG artefact removal U-Net (blind to the quality)."""

    name = "dejpeg_unet"
    targets = ("jpeg",)
    model_file = "dejpeg_unet.onnx"
    seconds_per_megapixel = 0.35
