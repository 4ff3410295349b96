"""Classical degradation estimators: one hand-built local measure per degradation, mapped to a
severity in [0, 1] on the cell grid, and whole-image estimates of physical parameters.

Every measure is computed at full resolution with box filters and sampled per cell, so the
whole set costs a few tens of milliseconds per megapixel. The mappings invert the degradation
models of :mod:`mosaicir.degrade.models` where the measure is physical (noise sigma, JPEG
quality) and are linear ramps between the reading of clean images and of strong degradation
elsewhere. They serve as inputs and as the fallback of the learned map network
(``perceive(image, method="classical")``).

Methods: noise from the Laplacian-difference operator of Immerkaer (1996) with the local minimum
over neighbouring cells to discount texture; JPEG from the 8 x 8 grid blockiness (Wang et al.
2000), or exactly from the file's quantisation tables; blur from the re-blur gradient ratio
(Crete et al. 2007) and motion against defocus from the structure-tensor coherence; haze from
the dark channel (He et al. 2009) and local contrast; low light from the local value (max of
RGB); rain from thin bright streaks along one direction (oriented top-hat); low resolution from
the share of the finest frequency band in the local gradient energy.
"""

from __future__ import annotations

import cv2
import numpy as np

from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.core.severity import SEVERITY_MAPS
from mosaicir.estimators.colour import LUMA_NOISE_GAIN, luminance

#: Pixels per side of a map cell.
CELL = 8
#: Side of the window (px) over which local measures are averaged around each cell.
WINDOW = 24

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
#: libjpeg's luminance quantisation table at quality 50 (ITU T.81, Annex K), zig-zag free order.
IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], np.float64)


def grid_shape(shape: tuple[int, int], cell: int = CELL) -> tuple[int, int]:
    """``(ceil(H / cell), ceil(W / cell))``."""
    return -(-shape[0] // cell), -(-shape[1] // cell)


def cell_mean(values: np.ndarray, cell: int = CELL, window: int = WINDOW) -> np.ndarray:
    """Mean of ``values`` (``H x W``) over a ``window``-pixel square centred on each cell."""
    height, width = values.shape
    h, w = grid_shape((height, width), cell)
    local = cv2.blur(values.astype(np.float32), (window, window), borderType=cv2.BORDER_REFLECT)
    ys = np.minimum(np.arange(h) * cell + cell // 2, height - 1)
    xs = np.minimum(np.arange(w) * cell + cell // 2, width - 1)
    return np.ascontiguousarray(local[np.ix_(ys, xs)])


def _ramp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values - low) / (high - low), 0.0, 1.0).astype(np.float32)


def quality_from_quantization(tables: dict[int, list[int]] | None) -> int | None:
    """JPEG quality (1-100, libjpeg scaling) whose luminance table is closest to the file's."""
    if not tables:
        return None
    table = np.asarray(tables.get(0) or next(iter(tables.values())), np.float64)
    if table.size != 64:
        return None
    best, best_error = None, np.inf
    for quality in range(1, 101):
        scale = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
        candidate = np.clip(np.floor((IJG_LUMA * scale + 50.0) / 100.0), 1, 255)
        # tables may be stored in zig-zag or natural order: compare sorted values too
        error = min(np.abs(candidate - table).mean(), np.abs(np.sort(candidate) - np.sort(table)).mean())
        if error < best_error:
            best, best_error = quality, error
    return best


def jpeg_severity_from_quality(quality: int) -> float:
    """Inverse of the JPEG degradation model (:data:`mosaicir.core.severity.SEVERITY_MAPS`)."""
    return SEVERITY_MAPS["jpeg"].severity_of(quality)


def noise_sigma_map(grey: np.ndarray) -> np.ndarray:
    """Local noise standard deviation (of 1) per cell of the channels, read on their luma ``grey``
    (:func:`luminance`; divided by ``LUMA_NOISE_GAIN``, exact for noise independent in each
    channel): Immerkaer's estimator, then the minimum over the 3 x 3 neighbouring cells (texture
    raises the reading, noise is smooth in space)."""
    response = np.abs(cv2.filter2D(grey, cv2.CV_32F, _IMMERKAER, borderType=cv2.BORDER_REFLECT))
    sigma = cell_mean(response) * np.float32(np.sqrt(np.pi / 2.0) / 6.0 / LUMA_NOISE_GAIN)
    return cv2.erode(sigma, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REFLECT)


def blockiness_map(grey: np.ndarray) -> np.ndarray:
    """Per cell: mean luminance step across 8 x 8 block borders over the mean step inside blocks,
    minus one (0 for unblocked content, rises with JPEG compression)."""
    height, width = grey.shape
    dx = np.zeros_like(grey)
    dy = np.zeros_like(grey)
    dx[:, :-1] = np.abs(np.diff(grey, axis=1))
    dy[:-1, :] = np.abs(np.diff(grey, axis=0))
    border_x = np.zeros_like(grey, dtype=bool)
    border_y = np.zeros_like(grey, dtype=bool)
    border_x[:, 7::8] = True
    border_y[7::8, :] = True
    border = np.where(border_x, dx, 0) + np.where(border_y, dy, 0)
    inner = np.where(~border_x, dx, 0) + np.where(~border_y, dy, 0)
    window = 32
    border_mean = cell_mean(border, window=window) * 8.0  # one border row/column in eight
    inner_mean = cell_mean(inner, window=window) * 8.0 / 7.0
    return (border_mean + 1e-3) / (inner_mean + 1e-3) - 1.0


def blur_ratio_map(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: ``(ratio, coherence, energy)``: gradient energy over that of a re-blurred copy
    (near 1 when already blurred), structure-tensor coherence (near 1 for one-directional blur),
    and the gradient energy itself (how much there is to judge by)."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    blurred = cv2.GaussianBlur(grey, (0, 0), 1.5)
    bx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    by = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    energy = cell_mean(gx * gx + gy * gy)
    ratio = (energy + 1e-6) / (cell_mean(bx * bx + by * by) + 1e-6)
    jxx, jyy, jxy = cell_mean(gx * gx), cell_mean(gy * gy), cell_mean(gx * gy)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy + 1e-6)
    return ratio, coherence.astype(np.float32), energy


def streak_map(grey: np.ndarray) -> np.ndarray:
    """Per cell: energy of thin bright streaks that are long in one direction: the white top-hat
    (thin bright structure) kept by an opening with a line of the dominant direction."""
    tophat = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    best = np.zeros_like(grey)
    for angle in (-30.0, -15.0, 0.0, 15.0, 30.0):
        line = np.zeros((15, 15), np.uint8)
        dx, dy = 7 * np.sin(np.radians(angle)), 7 * np.cos(np.radians(angle))
        cv2.line(line, (int(round(7 - dx)), int(round(7 - dy))), (int(round(7 + dx)), int(round(7 + dy))), 1, 1)
        best = np.maximum(best, cv2.morphologyEx(tophat, cv2.MORPH_OPEN, line))
    return cell_mean(best)


def fine_band_share(grey: np.ndarray) -> np.ndarray:
    """Per cell: share of the finest band (difference with a sigma-0.7 blur) in the energy of
    the two finest bands; bicubic up-sampling empties the finest band."""
    g1 = cv2.GaussianBlur(grey, (0, 0), 0.7)
    g2 = cv2.GaussianBlur(grey, (0, 0), 1.6)
    fine = cell_mean((grey - g1) ** 2)
    mid = cell_mean((g1 - g2) ** 2)
    return (fine + 1e-7) / (fine + mid + 2e-7)


def classical_features(image: np.ndarray) -> dict[str, np.ndarray]:
    """All raw measures, ``{name: float32 h x w}`` on the cell grid."""
    image = check_image(image)
    grey = luminance(image)
    ratio, coherence, energy = blur_ratio_map(grey)
    value = image.max(axis=2)
    dark = cv2.erode(image.min(axis=2), np.ones((15, 15), np.uint8))
    mean = cell_mean(grey, window=32)
    contrast = np.sqrt(np.maximum(cell_mean(grey * grey, window=32) - mean * mean, 0.0))
    return {
        "noise_sigma": noise_sigma_map(grey),
        "blockiness": blockiness_map(grey),
        "blur_ratio": ratio,
        "coherence": coherence,
        "gradient_energy": energy,
        "value": cell_mean(value, window=48),
        "dark_channel": cell_mean(dark, window=32),
        "contrast": contrast,
        "streaks": streak_map(grey),
        "fine_share": fine_band_share(grey),
    }


def classical_severity(image: np.ndarray, features: dict[str, np.ndarray] | None = None,
                       jpeg_quality: int | None = None) -> np.ndarray:
    """Severity maps ``float32 8 x h x w`` in [0, 1], in the order of ``DEGRADATIONS``.

    Args:
        image: ``float32 H x W x 3`` in [0, 1].
        features: the output of :func:`classical_features` when already computed.
        jpeg_quality: quality read from the file's quantisation tables (overrides blockiness).
    """
    f = classical_features(image) if features is None else features
    sigma255 = f["noise_sigma"] * 255.0
    textured = f["gradient_energy"] > 1e-4
    blur = np.where(textured, _ramp(1.0 / f["blur_ratio"], 0.45, 0.85), 0.0)
    motion = blur * _ramp(f["coherence"], 0.35, 0.7)
    defocus = blur * (1.0 - _ramp(f["coherence"], 0.35, 0.7))
    maps = {
        "noise": _ramp(sigma255, 3.0, 60.0),
        "motion_blur": motion,
        "defocus_blur": defocus,
        "haze": _ramp(f["dark_channel"], 0.15, 0.55) * (1.0 - _ramp(f["contrast"], 0.05, 0.2)),
        "rain": _ramp(f["streaks"], 0.004, 0.03),
        "low_light": _ramp(-f["value"], -0.45, -0.1),
        "jpeg": (np.full_like(sigma255, jpeg_severity_from_quality(jpeg_quality)) if jpeg_quality is not None
                 else _ramp(f["blockiness"], 0.15, 1.2)),
        "low_resolution": np.where(textured, _ramp(-f["fine_share"], -0.2, -0.03), 0.0),
    }
    return np.stack([maps[name] for name in DEGRADATIONS]).astype(np.float32)


def whole_image_estimates(image: np.ndarray, jpeg_quality: int | None = None) -> dict[str, float]:
    """Physical parameters of the whole image: ``noise_sigma`` (of 255), ``jpeg_quality``
    (read from the file, else from blockiness), ``motion_length`` (px) and ``motion_angle``
    (degrees), ``defocus_radius`` (px), ``airlight`` (0-1)."""
    from mosaicir.estimators import (
        MOTION_MIN_LENGTH, blockiness, estimate_airlight, estimate_defocus_radius, estimate_motion, estimate_noise_sigma,
    )

    length, angle, confidence = estimate_motion(image)
    estimates = {
        "noise_sigma": estimate_noise_sigma(image) * 255.0,
        "motion_length": length if confidence > 0 and length >= MOTION_MIN_LENGTH else 0.0,
        "motion_angle": angle,
        "defocus_radius": estimate_defocus_radius(image),
        "airlight": estimate_airlight(image),
    }
    if jpeg_quality is not None:
        estimates["jpeg_quality"] = float(jpeg_quality)
    else:  # blockiness 0 -> quality ~95, strong blocking -> quality ~5 (model inverse, rough)
        estimates["jpeg_quality"] = float(np.clip(95.0 - blockiness(image) * 2500.0, 5.0, 95.0))
    return estimates
