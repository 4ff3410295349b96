"""Tiled processing with overlap and feathering: bounded memory, no seams."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def pad_to_multiple(image: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad ``H x W x C`` at the bottom and right to multiples of ``multiple``."""
    height, width = image.shape[:2]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        mode = "reflect" if height > pad_h and width > pad_w else "edge"
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
    return image, (height, width)


def feather_ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """Blending weights of a tile along one axis: ramps over ``overlap`` samples on the sides that
    are not at the image border (``at_start`` / ``at_end``: the tile touches that border)."""
    weights = np.ones(length, np.float32)
    if overlap > 0:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        if not at_start:
            weights[:overlap] = np.minimum(weights[:overlap], ramp)
        if not at_end:
            weights[-overlap:] = np.minimum(weights[-overlap:], ramp[::-1])
    return weights


def process_tiled(
    image: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], *, tile: int = 512, overlap: int = 32, align: int = 16,
) -> np.ndarray:
    """Apply ``fn`` (``h x w x 3 -> h x w x 3``) on overlapping tiles and blend them.

    Tile origins are multiples of ``align`` (so that e.g. the 8x8 JPEG grid keeps its phase in
    every tile); overlapping parts are blended with linear ramps, so no seam appears.
    """
    height, width = image.shape[:2]
    if height <= tile and width <= tile:
        return fn(image)
    step = max(align, ((tile - overlap) // align) * align)

    def origins(size: int) -> list[int]:
        if size <= tile:
            return [0]
        starts = list(range(0, size - tile, step)) + [size - tile]
        return sorted({(s // align) * align if s != size - tile else s for s in starts})

    out = np.zeros(image.shape, np.float32)
    weight = np.zeros((height, width, 1), np.float32)
    for y in origins(height):
        for x in origins(width):
            y1, x1 = min(y + tile, height), min(x + tile, width)
            result = fn(image[y:y1, x:x1])
            wy = feather_ramp(y1 - y, overlap, y == 0, y1 == height)
            wx = feather_ramp(x1 - x, overlap, x == 0, x1 == width)
            w = (wy[:, None] * wx[None, :])[:, :, None]
            out[y:y1, x:x1] += result * w
            weight[y:y1, x:x1] += w
    out /= np.maximum(weight, 1e-8)  # in place: the same quotient without a second full-size copy
    return out
