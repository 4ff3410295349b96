"""Fusion of regional results with their soft masks.

``fuse`` blends each region's restored crop into the input with the region's feathered mask:
``out = input + sum_i m_i (r_i - input) / max(1, sum_i m_i)``. Pixels that no mask covers are
copied from the input unchanged (bit-identical).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mosaicir.core.image import check_image


@dataclass
class RegionResult:
    """A restored crop: ``box`` = (top, left, bottom, right) in the image, ``image`` its pixels
    (``float32 h x w x 3``), ``mask`` the region's soft mask over the crop (``float32 h x w``)."""

    region: int
    box: tuple[int, int, int, int]
    image: np.ndarray
    mask: np.ndarray


def fuse(image: np.ndarray, results: list[RegionResult]) -> np.ndarray:
    """Blend regional results into ``image`` (``float32 H x W x 3``); returns a new image."""
    image = check_image(image)
    if not results:
        return image.copy()
    delta = np.zeros_like(image)
    weight = np.zeros(image.shape[:2], np.float32)
    for result in results:
        top, left, bottom, right = result.box
        mask = result.mask.astype(np.float32)
        delta[top:bottom, left:right] += mask[:, :, None] * (result.image - image[top:bottom, left:right])
        weight[top:bottom, left:right] += mask
    covered = weight > 0
    blended = image + delta / np.maximum(weight, 1.0)[:, :, None]
    out = np.where(covered[:, :, None], np.clip(blended, 0.0, 1.0), image)
    return out.astype(np.float32)
