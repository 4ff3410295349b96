"""Low-resolution recovery: edge-aware sharpening (guided-filter detail boost) and a learned
super-resolution U-Net (operating at the output size, as the degradation is applied per region)."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


class SharpenParams(ToolParams):
    amount: float = Field(0.5, ge=0.0, le=3.0, description="gain on the detail layer")
    radius: int = Field(1, ge=1, le=8, description="guided-filter radius of the base layer, px")
    eps: float = Field(1e-3, ge=1e-5, le=1e-1, description="guided-filter edge threshold")


class GuidedSharpen(Tool):
    """Edge-aware unsharp masking: boosts the detail above a guided-filter base layer, so strong
    edges do not get halos."""

    name = "guided_sharpen"
    targets = ("low_resolution",)
    Params = SharpenParams
    seconds_per_megapixel = 0.08
    #: sharpens noise and compression artefacts as well: it lowered all 55 real development
    #: photographs it was tried on (docs/REAL.md); only for planners that know the image is soft
    default = False

    def params_for(self, severity: float) -> SharpenParams:
        return SharpenParams(amount=0.4 + 0.5 * severity, radius=2 if severity >= 0.4 else 1)

    def _apply(self, image, params):
        base = cv2.ximgproc.guidedFilter(image, image, params.radius, params.eps)
        return image + np.float32(params.amount) * (image - base)


class SuperResolutionNet(OnnxRestorer):
    """Learned super-resolution U-Net for bicubic-upsampled content (factors 1/2 to 1/4)."""

    name = "sr_unet"
    targets = ("low_resolution",)
    model_file = "sr_unet.onnx"
    seconds_per_megapixel = 0.35
