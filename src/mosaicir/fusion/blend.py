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
    # only the box around all the results is blended; the rest is copied (it is the input there)
    y0, x0 = min(r.box[0] for r in results), min(r.box[1] for r in results)
    y1, x1 = max(r.box[2] for r in results), max(r.box[3] for r in results)
    base = image[y0:y1, x0:x1]
    delta = np.zeros_like(base)
    weight = np.zeros(base.shape[:2], np.float32)
    for result in results:
        top, left, bottom, right = result.box
        mask = result.mask.astype(np.float32)
        delta[top - y0:bottom - y0, left - x0:right - x0] += mask[:, :, None] * (result.image - image[top:bottom, left:right])
        weight[top - y0:bottom - y0, left - x0:right - x0] += mask
    # in place, in ``delta``: the same operations as ``where(covered, clip(image + delta / max(weight, 1)),
    # image)`` without five more full-size copies (1.4 GB on a 24 MP photograph)
    uncovered = weight <= 0
    delta /= np.maximum(weight, 1.0)[:, :, None]
    delta += base
    np.clip(delta, 0.0, 1.0, out=delta)
    np.copyto(delta, base, where=uncovered[:, :, None])
    out = image.copy()
    out[y0:y1, x0:x1] = delta
    return out
