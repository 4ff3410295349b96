"""Low-light enhancement: adaptive gamma on the intensity, an illumination-map method (LIME,
Guo et al. 2017, with a guided-filter refined map) and a learned U-Net."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.core.severity import low_light_gamma
from mosaicir.estimators.colour import luminance
from mosaicir.estimators.exposure import short_exposure
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


#: The automatic gamma brightens only images whose median is below this fraction of the target.
DARK_FRACTION = 0.6
#: Largest exposure gain applied (about three and a half stops).
MAX_GAIN = 12.0


def scale_intensity(image: np.ndarray, new_value: np.ndarray) -> np.ndarray:
    """Scale all channels so that the HSV value (max channel) becomes ``new_value`` (hue kept)."""
    value = image.max(axis=2, keepdims=True)
    return image * (new_value / np.maximum(value, 1e-4))


class GammaParams(ToolParams):
    white: float = Field(0.0, ge=0.0, le=1.0, description="intensity mapped to 1; 0 = 99.5th percentile")
    gamma: float = Field(0.0, ge=0.0, le=1.0, description="intensity^gamma after the stretch; 0 = from the median")
    target_median: float = Field(0.35, ge=0.2, le=0.6, description="median luminance aimed at when choosing")
    target_mean: float = Field(0.45, ge=0.2, le=0.6, description="mean luminance a short exposure is brought to "
                                                                 "by a gain (SHORT_EXPOSURE_WHITE)")


class AdaptiveGamma(Tool):
    """Levels and gamma on the intensity (hue kept): stretch the white point to 1, then a gamma
    that brings the median luminance to a target. Exposure already right is left alone. A short
    exposure (:func:`short_exposure`) is instead multiplied by the gain that brings its mean
    luminance to ``target_mean`` (at least the white-point stretch, at most ``MAX_GAIN``), the
    highlights clipped, as a longer exposure would have recorded them."""

    name = "adaptive_gamma"
    checks_presence = True  # exposure already right: unchanged
    targets = ("low_light",)
    Params = GammaParams
    seconds_per_megapixel = 0.16

    def params_for(self, severity: float) -> GammaParams:
        """Undo the darkening that a low-light severity ``severity`` implies: the inverse of the
        intensity power ``1 + 1.5 s`` of the degradation model (after the white-point stretch)."""
        return GammaParams(gamma=low_light_gamma(severity)) if severity > 0 else GammaParams()

    def evidence(self, before, after):
        """1 for a short exposure (:func:`short_exposure`: the step is an exposure gain); no
        opinion otherwise: the stretch of a frame with nothing near white is judged by the quality
        agent. A white point below ``UNDEREXPOSED_WHITE`` is not evidence enough: dark crops of
        correctly exposed PolyU photographs reach 0.28, and stretched they lost 19-23 dB, where
        the score refused them (docs/BENCHMARKS.md, ``s18``)."""
        return 1.0 if short_exposure(before) else None

    def _apply(self, image, params):
        if not params.white and short_exposure(image):
            mean = max(float(luminance(image).mean()), 1e-4)
            white = max(float(np.percentile(image.max(axis=2), 99.5)), 0.05)
            gain = float(np.clip(params.target_mean / mean, 1.0 / white, MAX_GAIN))
            return np.clip(image * np.float32(gain), 0.0, 1.0)
        value = image.max(axis=2, keepdims=True)
        white = params.white or float(np.percentile(value, 99.5))
        white = max(white, 0.05)
        stretched = np.clip(value / white, 0.0, 1.0) if white < 0.98 else value
        gamma = params.gamma
        if gamma <= 0:
            median = float(np.median(luminance(scale_intensity(image, stretched))))
            # only an image clearly darker than the target gets a gamma: dark scenes that are
            # correctly exposed (night, a black cat) keep their tones
            dark = median < DARK_FRACTION * params.target_median
            gamma = float(np.clip(np.log(params.target_median) / np.log(max(median, 1e-3)), 0.25, 1.0)) if dark else 1.0
        return scale_intensity(image, np.power(stretched, np.float32(gamma)))


class LimeParams(ToolParams):
    alpha: float = Field(0.4, ge=0.1, le=1.0, description="exponent of the illumination map divided out")
    radius: int = Field(15, ge=2, le=60, description="guided-filter radius of the illumination map, px")
    floor: float = Field(0.05, ge=0.01, le=0.5, description="lowest illumination value")


class Lime(Tool):
    """Illumination-map enhancement: divide by a smoothed max-RGB illumination raised to alpha."""

    name = "lime"
    targets = ("low_light",)
    Params = LimeParams
    seconds_per_megapixel = 0.07
    default = False  # brightens any image, dark or not: for planners that already know it is dark

    def params_for(self, severity: float) -> LimeParams:
        return LimeParams(alpha=float(np.clip(0.8 * severity, 0.1, 1.0)))

    def _apply(self, image, params):
        illumination = image.max(axis=2)
        illumination = cv2.ximgproc.guidedFilter(illumination, illumination, params.radius, 1e-3)
        illumination = np.clip(illumination, params.floor, 1.0)[:, :, None]
        return image / np.power(illumination, np.float32(params.alpha))


class EnhanceNet(OnnxRestorer):
    """Learned low-light enhancement U-Net (global context for exposure)."""

    name = "enhance_unet"
    targets = ("low_light",)
    model_file = "enhance_unet.onnx"
    seconds_per_megapixel = 0.34
    default = False  # shifts the tones of well-exposed images (25 dB on a clean fixture): only where low light is known
