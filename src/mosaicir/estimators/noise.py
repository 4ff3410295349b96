"""Noise estimates. Used by the denoising tools and by perception."""

from __future__ import annotations

import numpy as np


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Noise standard deviation (of 1) from the finest wavelet sub-band, robust median estimator
    (Donoho & Johnstone 1994), averaged over channels."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=2, average_sigmas=True))
