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


def tile_origins(size: int, tile: int, step: int, align: int) -> list[int]:
    """Origins of the tiles along one axis: every ``step`` px (a multiple of ``align``), the last
    one aligned too and reaching the border (so it may be shorter than ``tile``)."""
    if size <= tile:
        return [0]
    last = -(-(size - tile) // align) * align
    return list(range(0, last, step)) + [last]


def process_tiled(
    image: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], *, tile: int = 512, overlap: int = 32, align: int = 16,
    scale: int = 1,
) -> np.ndarray:
    """Apply ``fn`` on overlapping tiles of ``image`` (``H x W x 3``) and blend the results.

    ``fn`` maps an ``h x w x 3`` tile to ``ceil(h / scale) x ceil(w / scale) x C``: the same
    grid (``scale`` 1, a restored tile) or a coarser one (``scale`` 8: perception's cells); the
    result is ``ceil(H / scale) x ceil(W / scale) x C``. Tile origins are multiples of ``align``
    (itself a multiple of ``scale``), so that e.g. the 8x8 JPEG grid keeps its phase in every tile
    and the cells of every tile fall on the image's cells; overlapping parts are blended with
    linear ramps over ``overlap / scale`` samples, so no seam appears. This is the one tile loop
    of the package: the learned tools, non-local means and perception go through it.
    """
    if align % scale:
        raise ValueError(f"tile alignment {align} is not a multiple of the scale {scale}")
    if tile % align or tile < align + overlap:
        raise ValueError(f"tile {tile} must be a multiple of the alignment {align} and at least it plus the overlap {overlap}")
    height, width = image.shape[:2]
    if height <= tile and width <= tile:
        return fn(image)
    step = max(align, ((tile - overlap) // align) * align)
    ramp = overlap // scale
    out: np.ndarray | None = None
    weight = np.zeros((-(-height // scale), -(-width // scale), 1), np.float32)
    for y in tile_origins(height, tile, step, align):
        for x in tile_origins(width, tile, step, align):
            y1, x1 = min(y + tile, height), min(x + tile, width)
            result = fn(image[y:y1, x:x1])
            if out is None:
                out = np.zeros(weight.shape[:2] + result.shape[2:], np.float32)
            rows, cols = result.shape[:2]
            wy = feather_ramp(rows, ramp, y == 0, y1 == height)
            wx = feather_ramp(cols, ramp, x == 0, x1 == width)
            w = (wy[:, None] * wx[None, :])[:, :, None]
            cy, cx = y // scale, x // scale
            out[cy:cy + rows, cx:cx + cols] += result * w
            weight[cy:cy + rows, cx:cx + cols] += w
    out /= np.maximum(weight, 1e-8)  # in place: the same quotient without a second full-size copy
    return out
