"""Quality measured on a sample of full-resolution windows, for large images.

The quality agent perceives each step's output, measures its naturalness (NIQE) and checks it for
artifacts. On a crop of a 24 MP photograph every one of these passes costs seconds and gigabytes
(NIQE alone keeps float64 copies of every 48-px patch), so above ``MEASURE_PIXELS`` the same
measures are taken on a fixed sample of windows instead: ``WINDOW``-pixel squares on a grid aligned
with the crop (so with the 8 x 8 JPEG grid, the perception cells and the NIQE patches), spread
evenly over the part of the crop where the region's weight is substantial, ``SAMPLE_SHARE`` of
``MEASURE_PIXELS`` pixels in all (so measuring a large image costs less than measuring the largest
image measured whole). Windows are taken at full resolution, not from a reduced copy:
perception and NIQE are calibrated at the camera's own scale (a reduced copy averages noise and
JPEG blocks away, and sharpens blur). The same windows serve the step's input and its output, so
the comparison stays paired. Images up to ``MEASURE_PIXELS`` are measured whole, exactly as before.
"""

from __future__ import annotations

import cv2
import numpy as np

from mosaicir.core.names import DEGRADATIONS
from mosaicir.perception import perceive
from mosaicir.quality.niqe import PATCH, niqe_of_features, patch_features

#: Images (or crops) up to this many pixels are measured whole; larger ones on a sample of
#: windows of ``SAMPLE_SHARE`` of it in all (``RestoreConfig.measure_pixels``).
MEASURE_PIXELS = 4_000_000
#: Share of the limit that a sample takes (8 windows of 480 px for the default limit).
SAMPLE_SHARE = 0.5
#: Side of a window (px): a multiple of 16 (JPEG blocks and crop origins), 32 (the map network's
#: stride) and 48 (NIQE patches).
WINDOW = 480
#: Windows whose mean weight is below this share of the best window's are not sampled (they hold
#: the feathered rim of the region, not the region).
WEIGHT_SHARE = 0.25

Box = tuple[int, int, int, int]


def _origins(size: int, side: int) -> list[int]:
    """Window origins along one axis: every ``side`` pixels, plus one flush with the far end
    (16-aligned) when what is left is at least half a window."""
    if size <= side:
        return [0]
    starts = list(range(0, size - side + 1, side))
    if size - (starts[-1] + side) >= side // 2:
        starts.append((size - side) // 16 * 16)
    return starts


def sample_windows(shape: tuple[int, int], weight: np.ndarray | None = None, limit: int = MEASURE_PIXELS,
                   side: int = WINDOW) -> list[Box] | None:
    """The windows ``(top, left, bottom, right)`` on which to measure an image of ``shape``
    ``(H, W)`` with ``weight`` (``H x W`` in [0, 1] or None), or None when it is measured whole
    (``H * W <= limit``).

    Deterministic: of the grid's windows whose mean weight reaches ``WEIGHT_SHARE`` of the best,
    ``SAMPLE_SHARE * limit // side**2`` (at least one) at evenly spaced ranks along a Hilbert curve
    through the grid (so spread in both directions, as a stratified sample); in raster order."""
    height, width = shape
    if height * width <= limit:
        return None
    boxes = [(y, x, min(y + side, height), min(x + side, width)) for y in _origins(height, side) for x in _origins(width, side)]
    if weight is not None:
        means = np.array([float(weight[t:b, l:r].mean()) for t, l, b, r in boxes])
        top = float(means.max())
        if top > 0:
            boxes = [box for box, mean in zip(boxes, means) if mean >= WEIGHT_SHARE * top]
    count = max(1, int(SAMPLE_SHARE * limit) // (side * side))
    if len(boxes) > count:
        order = sorted(range(len(boxes)), key=lambda i: _hilbert(boxes[i][0] // side, boxes[i][1] // side))
        ranks = [(2 * k + 1) * len(boxes) // (2 * count) for k in range(count)]
        boxes = [boxes[i] for i in sorted(order[r] for r in ranks)]
    return boxes


def _hilbert(row: int, col: int, order: int = 16) -> int:
    """Position of cell ``(row, col)`` along the Hilbert curve through a ``2**order`` square grid."""
    size = 1 << order
    index, x, y = 0, col, row
    s = size >> 1
    while s > 0:
        rx, ry = int(x & s > 0), int(y & s > 0)
        index += s * s * ((3 * rx) ^ ry)
        if ry == 0:  # rotate the quadrant
            if rx == 1:
                x, y = size - 1 - x, size - 1 - y
            x, y = y, x
        s >>= 1
    return index


def remaining_on_windows(image: np.ndarray, weight: np.ndarray | None, boxes: list[Box],
                         method: str = "auto") -> dict[str, float]:
    """:func:`mosaicir.quality.remaining_degradation` over ``boxes`` pooled: the mean expected
    severity (confidence x severity) weighted by ``weight`` over all the windows' pixels."""
    totals = dict.fromkeys(DEGRADATIONS, 0.0)
    mass = 0.0
    for top, left, bottom, right in boxes:
        maps = perceive(image[top:bottom, left:right], method=method, estimates=False)
        local = None if weight is None else weight[top:bottom, left:right]
        mass += float(local.sum()) if local is not None else float((bottom - top) * (right - left))
        for name in DEGRADATIONS:
            expected = maps.upsample(name, which="expected")
            totals[name] += float((expected * local).sum()) if local is not None else float(expected.sum())
    return {name: round(totals[name] / mass, 4) if mass > 0 else 0.0 for name in DEGRADATIONS}


def naturalness_on_windows(image: np.ndarray, boxes: list[Box]) -> float | None:
    """NIQE of the windows' patches pooled (None when not finite or fewer than two patches)."""
    features = [patch_features(np.ascontiguousarray(image[t:b, l:r]), PATCH) for t, l, b, r in boxes]
    value = niqe_of_features(np.concatenate(features, axis=0)) if features else float("nan")
    return None if not np.isfinite(value) else round(value, 4)


def artifacts_on_windows(before: np.ndarray, after: np.ndarray, weight: np.ndarray | None,
                         boxes: list[Box]) -> dict[str, float]:
    """:func:`mosaicir.quality.artifacts` with its sums pooled over ``boxes`` (each window filtered
    on its own: the 5-px range and 9-px energy windows see the window's border, as a crop's do)."""
    mass = shift_a = shift_b = over = energy_after = energy_before = textured_count = 0.0
    kernel = np.ones((5, 5), np.uint8)
    for top, left, bottom, right in boxes:
        b_img = np.ascontiguousarray(before[top:bottom, left:right])
        a_img = np.ascontiguousarray(after[top:bottom, left:right])
        w = np.ones(b_img.shape[:2], np.float32) if weight is None else weight[top:bottom, left:right]
        lab_b = cv2.cvtColor(b_img, cv2.COLOR_RGB2LAB)
        lab_a = cv2.cvtColor(a_img, cv2.COLOR_RGB2LAB)
        mass += float(w.sum())
        shift_a += float(((lab_a[:, :, 1] - lab_b[:, :, 1]) * w).sum())
        shift_b += float(((lab_a[:, :, 2] - lab_b[:, :, 2]) * w).sum())
        grey_b, grey_a = b_img.mean(axis=2), a_img.mean(axis=2)
        high, low = cv2.dilate(grey_b, kernel), cv2.erode(grey_b, kernel)
        over += float((((grey_a > high + 0.08) | (grey_a < low - 0.08)).astype(np.float32) * w).sum())
        grad = lambda g: cv2.Sobel(g, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_32F, 0, 1) ** 2
        e_b, e_a = cv2.blur(grad(grey_b), (9, 9)), cv2.blur(grad(grey_a), (9, 9))
        textured = (e_b > 0.01).astype(np.float32) * w
        textured_count += float(textured.sum())
        energy_after += float((e_a * textured).sum())
        energy_before += float((e_b * textured).sum())
    if mass <= 0:
        return {"colour_shift": 0.0, "halo": 0.0, "over_smoothing": 0.0}
    loss = 0.0
    if textured_count > 16:
        loss = float(np.clip(1.0 - energy_after / max(energy_before, 1e-9), 0.0, 1.0))
    shift = float(np.hypot(shift_a / mass, shift_b / mass))
    return {"colour_shift": round(shift, 3), "halo": round(over / mass, 4), "over_smoothing": round(loss, 4)}


def central_box(shape: tuple[int, int], limit: int = MEASURE_PIXELS) -> Box | None:
    """The centred box ``(top, left, bottom, right)`` of the frame's aspect ratio and at most
    ``SAMPLE_SHARE * limit`` pixels (16-aligned, so JPEG blocks keep their phase), or None when the
    whole ``shape`` ``(H, W)`` is within ``limit``."""
    height, width = shape
    if height * width <= limit:
        return None
    scale = (SAMPLE_SHARE * limit / (height * width)) ** 0.5
    h, w = max(16, int(height * scale) // 16 * 16), max(16, int(width * scale) // 16 * 16)
    top, left = (height - h) // 2 // 16 * 16, (width - w) // 2 // 16 * 16
    return top, left, top + h, left + w
