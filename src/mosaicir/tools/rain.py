"""Rain-streak removal: a morphological layer separation along the estimated streak direction,
and a learned U-Net.

The classical tool isolates thin bright structures (white top-hat across the streak direction),
keeps of them only what is long along that direction (opening with a line along it) and
subtracts that streak layer: textures that are thin but short survive.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.degrade.kernels import motion_kernel
from mosaicir.degrade.models import luminance
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


def line_element(length: float, angle_deg: float) -> np.ndarray:
    """``uint8`` structuring element: a one-pixel line of ``length`` at ``angle_deg`` (from +x)."""
    kernel = motion_kernel(length, angle_deg)
    return (kernel > kernel.max() * 0.3).astype(np.uint8)


def streak_layer(image: np.ndarray, angle_from_vertical: float, width: int, length: int) -> np.ndarray:
    """``H x W x C`` layer of thin bright streaks running at ``angle_from_vertical`` degrees."""
    across = line_element(width, -angle_from_vertical)  # perpendicular to streaks
    along = line_element(length, 90.0 - angle_from_vertical)
    tophat = image - cv2.morphologyEx(image, cv2.MORPH_OPEN, across)
    return cv2.morphologyEx(tophat, cv2.MORPH_OPEN, along)


def estimate_rain_angle(image: np.ndarray, length: int = 15, width: int = 5) -> tuple[float, float]:
    """Streak angle from vertical (degrees, -45..45) maximising the streak energy, and that energy."""
    grey = luminance(image)
    angles = np.arange(-45, 46, 5)
    energies = [float(streak_layer(grey, a, width, length).mean()) for a in angles]
    best = int(np.argmax(energies))
    return float(angles[best]), energies[best]


class RainMorphologyParams(ToolParams):
    angle: float = Field(0.0, ge=-45.0, le=45.0, description="streak angle from vertical, degrees (used if auto is off)")
    auto_angle: bool = Field(True, description="estimate the angle")
    width: int = Field(5, ge=3, le=11, description="widest streak removed, px")
    length: int = Field(15, ge=5, le=41, description="shortest streak removed, px")
    strength: float = Field(1.0, ge=0.0, le=1.5, description="fraction of the streak layer subtracted")


class RainMorphology(Tool):
    """Directional morphological streak separation (classical derainer)."""

    name = "rain_morphology"
    targets = ("rain",)
    Params = RainMorphologyParams
    seconds_per_megapixel = 0.12

    def _apply(self, image, params):
        angle = estimate_rain_angle(image, params.length, params.width)[0] if params.auto_angle else params.angle
        layer = streak_layer(image, angle, params.width, params.length)
        return image - np.float32(params.strength) * layer


class DerainNet(OnnxRestorer):
    """Learned rain-streak removal U-Net."""

    name = "derain_unet"
    targets = ("rain",)
    model_file = "derain_unet.onnx"
    seconds_per_megapixel = 0.34
