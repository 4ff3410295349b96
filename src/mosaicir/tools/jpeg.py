"""JPEG artefact removal: a classical deblocking filter and a learned U-Net whose colour is then
re-drawn from its luminance."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.estimators.jpeg import block_grid_ratio, blockiness
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import NetworkParams, OnnxRestorer


#: A JPEG step is vetoed when its input shows no 8 x 8 grid (:func:`block_grid_ratio` below
#: JPEG_GRID_RATIO): ``CUrban100/img_018``, a photograph with a faint grid (1.06), was smoothed to
#: 33.5 dB against its input by ``dejpeg_unet``; synthetic JPEG at quality 50 reads 1.12-1.22
#: (10th percentile to median), at quality 20 1.45-1.71. ``scripts/jpeg_grid.py``.
JPEG_GRID_RATIO = 1.1


#: A JPEG step is kept on its own evidence, whatever the quality agent's score says, when its input
#: shows a strong 8 x 8 grid (at least JPEG_STRONG_GRID) and the step took most of it away (the
#: grid left, over 1, at most JPEG_GRID_LEFT of the grid before): the no-reference score reads the
#: smoothed blocks of a low-quality JPEG as lost detail and refused steps that gained 1-3 dB.
#: ``scripts/jpeg_grid.py --steps``.
JPEG_STRONG_GRID = 1.3
JPEG_GRID_LEFT = 0.5


def jpeg_grid_evidence(before: np.ndarray, after: np.ndarray) -> float | None:
    """0 (a veto) when ``before`` shows no JPEG block grid (:func:`block_grid_ratio` below
    ``JPEG_GRID_RATIO``); 1 when it shows a strong one (``JPEG_STRONG_GRID``) and ``after`` keeps
    at most ``JPEG_GRID_LEFT`` of it; else None (no opinion: the quality agent judges)."""
    grid = block_grid_ratio(before)
    if grid < JPEG_GRID_RATIO:
        return 0.0
    if grid >= JPEG_STRONG_GRID and block_grid_ratio(after) - 1.0 <= JPEG_GRID_LEFT * (grid - 1.0):
        return 1.0
    return None


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

    def evidence(self, before, after):
        """A veto when its input shows no 8 x 8 grid (:func:`jpeg_grid_evidence`)."""
        return jpeg_grid_evidence(before, after)

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


def chroma_from_luma(image: np.ndarray, radius: int = 2, eps: float = 1e-4) -> np.ndarray:
    """``image`` (float32 ``H x W x 3`` RGB in [0, 1]) with its chroma (Cb, Cr) replaced by a
    local linear function of its luma: a guided filter (He et al.) of each chroma plane with the
    luma as guide, over windows of ``2 * radius + 1`` px, ``eps`` the regularisation (in [0, 1]
    units squared; larger = smoother chroma). 4:2:0 JPEG keeps chroma at half resolution and
    quantises it coarsely, while the luma keeps the edges; colour edges mostly follow luma edges."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    luma = np.ascontiguousarray(ycc[:, :, 0])
    for c in (1, 2):
        ycc[:, :, c] = cv2.ximgproc.guidedFilter(luma, np.ascontiguousarray(ycc[:, :, c]), radius, eps)
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


class DejpegParams(NetworkParams):
    chroma_radius: int = Field(2, ge=0, le=8, description="window radius of the chroma-from-luma step, px; 0 = off")
    chroma_eps: float = Field(1e-4, ge=1e-6, le=1e-1, description="regularisation of the chroma-from-luma step")


class DejpegNet(OnnxRestorer):
    """Learned JPEG artefact removal U-Net (blind to the quality), then chroma re-drawn from the
    restored luma (:func:`chroma_from_luma`)."""

    name = "dejpeg_unet"
    targets = ("jpeg",)
    Params = DejpegParams
    model_file = "dejpeg_unet.onnx"
    seconds_per_megapixel = 0.35

    def evidence(self, before, after):
        """A veto when its input shows no 8 x 8 grid (:func:`jpeg_grid_evidence`)."""
        return jpeg_grid_evidence(before, after)

    def refine(self, restored: np.ndarray, params: DejpegParams) -> np.ndarray:
        if params.chroma_radius <= 0:
            return restored
        return chroma_from_luma(np.clip(restored, 0.0, 1.0), params.chroma_radius, params.chroma_eps)
