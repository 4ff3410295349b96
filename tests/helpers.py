"""Small helpers shared by the tests (bundled images only, never shared data)."""

import cv2
import numpy as np

from mosaicir.degrade import get_degradation


def resized(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """``uint8`` RGB sample (e.g. ``skimage.data.chelsea()``) -> ``float32 height x width x 3`` in [0, 1]."""
    image = pixels.astype(np.float32) / 255.0
    return np.ascontiguousarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))


def degrade(image: np.ndarray, name: str, severity: float, seed: int = 0) -> np.ndarray:
    """``image`` with one degradation at ``severity``, its parameters drawn from ``seed``."""
    model = get_degradation(name)
    return model.apply(image, model.sample(np.random.default_rng(seed), severity))
