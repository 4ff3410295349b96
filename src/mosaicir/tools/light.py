"""Low-light enhancement: adaptive gamma on the intensity, an illumination-map method (LIME,
Guo et al. 2017, with a guided-filter refined map) and a learned U-Net."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.degrade.models import luminance
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


#: The automatic gamma brightens only images whose median is below this fraction of the target.
DARK_FRACTION = 0.6
#: A short exposure: nothing near white (white point below this) and the frame dark on average
#: (mean luminance below SHORT_EXPOSURE_MEAN). The white-point stretch alone leaves such a frame
#: dark (LOL inputs: white points 0.12-0.38, means 0.06-0.10); an exposure gain to a normal mean
#: luminance restores it (+10.9 to +13.0 dB on the LOL development pairs against +7-11 for a
#: gamma to the same mean: a short exposure scales the signal, it does not bend the curve).
SHORT_EXPOSURE_WHITE = 0.5
SHORT_EXPOSURE_MEAN = 0.15
#: A short exposure also shows the colour noise of few photons: fine chroma variation in flat
#: parts, relative to their brightness, of at least this (LOL inputs 0.032-0.043; a dark crop of a
#: camera JPEG, whose colour the camera smoothed, 0.000; ``colour_noise``).
SHORT_EXPOSURE_COLOUR_NOISE = 0.02
#: Largest exposure gain applied (about three and a half stops).
MAX_GAIN = 12.0


def colour_noise(image: np.ndarray) -> float:
    """Fine colour variation in the flattest 40% of ``image`` (``H x W x 3`` in [0, 1]): the
    median absolute difference of the chroma (RGB minus grey) from its Gaussian blur (sigma 1 px),
    divided by the median luminance there; >= 0."""
    grey = luminance(image)
    smooth = cv2.GaussianBlur(grey, (0, 0), 3.0)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    flat = gradient <= np.percentile(gradient, 40)
    chroma = image - image.mean(axis=2, keepdims=True)
    detail = chroma - cv2.GaussianBlur(chroma, (0, 0), 1.0)
    return float(np.median(np.abs(detail[flat])) / max(float(np.median(grey[flat])), 1e-3))


def short_exposure(image: np.ndarray) -> bool:
    """Whether ``image`` (``H x W x 3`` in [0, 1]) looks like a short exposure: nothing near white,
    dark on average (``SHORT_EXPOSURE_WHITE``, ``SHORT_EXPOSURE_MEAN``; every other pixel of every
    other row) and the colour noise of few photons (``SHORT_EXPOSURE_COLOUR_NOISE``)."""
    sample = image[::2, ::2]
    return (float(np.percentile(sample.max(axis=2), 99.0)) < SHORT_EXPOSURE_WHITE
            and float(luminance(sample).mean()) < SHORT_EXPOSURE_MEAN
            and colour_noise(image) >= SHORT_EXPOSURE_COLOUR_NOISE)


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
        return GammaParams(gamma=1.0 / (1.0 + 1.5 * severity)) if severity > 0 else GammaParams()

    def evidence(self, before, after):
        """1 for a short exposure (:func:`short_exposure`: the step is an exposure gain); no
        opinion otherwise (the white-point stretch and gamma are judged by the quality agent)."""
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
