"""Haze estimates: the dark channel (He et al. 2009) and the atmospheric light. Used by the dehazing
tools and by perception."""

from __future__ import annotations

import cv2
import numpy as np


def dark_channel(image: np.ndarray, patch: int = 15) -> np.ndarray:
    """Minimum over colour channels and a ``patch`` x ``patch`` window: ``H x W``."""
    return cv2.erode(image.min(axis=2), np.ones((patch, patch), np.uint8))


def estimate_airlight(image: np.ndarray, dark: np.ndarray | None = None) -> float:
    """Atmospheric light: mean intensity of the brightest 0.1% of the dark channel."""
    dark = dark_channel(image) if dark is None else dark
    flat = dark.ravel()
    count = max(1, flat.size // 1000)
    top = np.argpartition(flat, -count)[-count:]
    return float(np.clip(image.reshape(-1, 3)[top].mean(), 0.3, 1.0))
