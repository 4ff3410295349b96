"""Denoising tools: non-local means (Buades et al. 2005, scikit-image) and a learned U-Net."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Noise standard deviation (of 1) from the finest wavelet sub-band, robust median estimator
    (Donoho & Johnstone 1994), averaged over channels."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=2, average_sigmas=True))


class NLMeansParams(ToolParams):
    sigma: float = Field(0.0, ge=0.0, le=100.0, description="noise sigma of 255; 0 = estimate")
    h_factor: float = Field(0.8, ge=0.2, le=2.0, description="filter strength h = h_factor * sigma")


class NLMeans(Tool):
    """Non-local means, fast mode, 5x5 patches searched over 13x13 (scikit-image)."""

    name = "nl_means"
    targets = ("noise",)
    Params = NLMeansParams
    seconds_per_megapixel = 1.31

    def params_for(self, severity: float) -> NLMeansParams:
        return NLMeansParams(sigma=60.0 * severity)

    def _apply(self, image, params):
        from skimage.restoration import denoise_nl_means

        sigma = params.sigma / 255.0 if params.sigma > 0 else estimate_noise_sigma(image)
        if sigma < 0.5 / 255.0:
            return image
        return denoise_nl_means(image, h=params.h_factor * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                                fast_mode=True, channel_axis=2, preserve_range=True).astype(np.float32)


class DenoiseNet(OnnxRestorer):
    """Blind colour denoiser: residual U-Net trained on Gaussian and Poisson noise."""

    name = "denoise_unet"
    targets = ("noise",)
    model_file = "denoise_unet.onnx"
    seconds_per_megapixel = 0.34


class DenoiseNetEnsemble(DenoiseNet):
    """``denoise_unet`` averaged over the eight flips and quarter turns of its input (geometric
    self-ensemble): a little more accurate, eight times slower, so never chosen by default."""

    name = "denoise_unet_x8"
    default = False
    seconds_per_megapixel = 2.7

    def run_network(self, image: np.ndarray) -> np.ndarray:
        total = np.zeros_like(image)
        for turns in range(4):
            for flip in (False, True):
                view = np.rot90(image[:, ::-1] if flip else image, turns)
                restored = np.rot90(super().run_network(np.ascontiguousarray(view)), -turns)
                total += restored[:, ::-1] if flip else restored
        return total / np.float32(8.0)

