"""A whole-image classical restoration used by ``mosaicir restore`` until the agents land.

It estimates three degradations without a reference and corrects the ones it finds, in the
reverse of the physical order: sensor noise (wavelet noise estimate, Donoho & Johnstone 1994, then
non-local means, Buades et al. 2005), under-exposure (luminance statistics, then a gamma on the
intensity that brings the median luminance toward mid-grey) and haze (dark-channel prior, He et
al. 2009, with a guided-filter refined transmission). Each step is recorded with its parameters
and time so that the run can be explained and replayed.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel

from mosaicir.core.image import check_image, to_float_image
from mosaicir.degrade.models import luminance


class Step(BaseModel):
    """One decision of the pipeline: an estimate, and the tool applied (or skipped) with params."""

    kind: str
    name: str
    params: dict[str, Any] = {}
    applied: bool = False
    seconds: float = 0.0
    note: str = ""


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Noise standard deviation (of 1) from the finest wavelet sub-band (robust median estimator)."""
    from skimage.restoration import estimate_sigma

    return float(estimate_sigma(image, channel_axis=2, average_sigmas=True))


def denoise_nl_means(image: np.ndarray, sigma: float) -> np.ndarray:
    """Non-local means (scikit-image, fast mode) tuned by the noise ``sigma`` (of 1)."""
    from skimage.restoration import denoise_nl_means

    out = denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                           fast_mode=True, channel_axis=2, preserve_range=True)
    return to_float_image(out)


def brighten_gamma(image: np.ndarray, target_median: float = 0.42) -> tuple[np.ndarray, float]:
    """Gamma on the intensity (hue kept) chosen so that the median luminance reaches ``target_median``."""
    median = float(np.median(luminance(image)))
    gamma = float(np.clip(np.log(target_median) / np.log(max(median, 1e-3)), 0.25, 1.0))
    value = image.max(axis=2, keepdims=True)
    brighter = np.power(value, gamma)
    return to_float_image(image * brighter / np.maximum(value, 1e-6)), gamma


def dark_channel(image: np.ndarray, patch: int = 15) -> np.ndarray:
    return cv2.erode(image.min(axis=2), np.ones((patch, patch), np.uint8))


def dehaze_dark_channel(image: np.ndarray, omega: float = 0.9, t_min: float = 0.15) -> tuple[np.ndarray, float]:
    """Dark-channel prior dehazing with a guided-filter refined transmission. Returns the image
    and the estimated airlight."""
    dark = dark_channel(image)
    flat = dark.ravel()
    top = np.argsort(flat)[-max(1, flat.size // 1000):]
    airlight = float(np.clip(image.reshape(-1, 3)[top].mean(), 0.5, 1.0))
    transmission = 1.0 - omega * dark_channel(image / airlight)
    guide = luminance(image)
    transmission = cv2.ximgproc.guidedFilter(guide, transmission.astype(np.float32), 40, 1e-3)
    t = np.clip(transmission, t_min, 1.0)[:, :, None]
    return to_float_image((image - airlight) / t + airlight), airlight


def restore_image(image: np.ndarray) -> tuple[np.ndarray, list[Step]]:
    """Restore ``image`` (``float32 H x W x 3`` in [0, 1]); returns the result and its steps."""
    check_image(image)
    steps: list[Step] = []
    current = image

    start = time.perf_counter()
    sigma = estimate_noise_sigma(current)
    applied = sigma * 255 > 4.0
    if applied:
        current = denoise_nl_means(current, sigma)
    steps.append(Step(kind="tool", name="nl_means", params={"sigma_255": round(sigma * 255, 2)}, applied=applied,
                      seconds=time.perf_counter() - start, note="noise estimated from the finest wavelet band"))

    start = time.perf_counter()
    lum = luminance(current)
    median, bright = float(np.median(lum)), float(np.percentile(lum, 99))
    applied = median < 0.2 and bright < 0.8
    gamma = 1.0
    if applied:
        current, gamma = brighten_gamma(current)
    steps.append(Step(kind="tool", name="gamma", params={"median_luminance": round(median, 3), "gamma": round(gamma, 3)},
                      applied=applied, seconds=time.perf_counter() - start))

    start = time.perf_counter()
    dark_mean = float(dark_channel(current).mean())
    applied = dark_mean > 0.35
    airlight = None
    if applied:
        current, airlight = dehaze_dark_channel(current)
    steps.append(Step(kind="tool", name="dark_channel_dehaze", params={"dark_channel_mean": round(dark_mean, 3), "airlight": airlight},
                      applied=applied, seconds=time.perf_counter() - start))
    return current, steps
