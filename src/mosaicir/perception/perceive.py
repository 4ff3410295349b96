"""``perceive``: severity maps of the eight degradations for one image."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.core.severity import jpeg_quality
from mosaicir.estimators.colour import luminance

from mosaicir.perception.classical import (
    CELL, classical_features, classical_severity, grid_shape, jpeg_severity_from_quality, noise_sigma_map,
    quality_from_quantization,
)
from mosaicir.perception.maps import DegradationMaps
from mosaicir.perception.network import default_network, load_calibration

Method = Literal["auto", "learned", "classical"]
METHODS: tuple[str, ...] = ("auto", "learned", "classical")


def perceive(
    image: np.ndarray,
    *,
    method: Method = "auto",
    jpeg_quantization: dict[int, list[int]] | None = None,
    estimates: bool = True,
) -> DegradationMaps:
    """Where each degradation is, and how strong.

    Args:
        image: ``float32 H x W x 3`` in [0, 1].
        method: ``learned`` (the map network), ``classical`` (hand-built estimators), or
            ``auto`` (per degradation the one that scored the better F1 in calibration).
        jpeg_quantization: the file's JPEG quantisation tables (``ImageMeta.jpeg_quantization``):
            when given, the JPEG severity is read from them exactly and applies to the whole frame.
        estimates: also estimate whole-image physical parameters (noise sigma, JPEG quality,
            blur, airlight) for the summary.

    Returns:
        :class:`DegradationMaps` on 8 x 8 pixel cells.
    """
    image = check_image(image)
    if method not in METHODS:
        raise InvalidInputError(f"unknown perception method {method!r}; choose one of {', '.join(METHODS)}")
    start = time.perf_counter()
    calibration = load_calibration()
    quality = quality_from_quantization(jpeg_quantization)
    features = None
    if method == "auto" and all(calibration["choice"][n] == "learned" for n in DEGRADATIONS):
        method_used = "learned"
    else:
        method_used = method
    count = len(DEGRADATIONS)
    if method_used == "learned":
        learned = default_network()(image)
        confidence, severity = learned[:count], learned[count:]
        thresholds = dict(calibration["thresholds"]["learned"])
        from_network = set(DEGRADATIONS)
    else:
        features = classical_features(image)
        classical = classical_severity(image, features)
        if method == "classical":
            confidence, severity = classical, classical.copy()
            thresholds = dict(calibration["thresholds"]["classical"])
            from_network = set()
        else:
            choice = calibration["choice"]
            from_network = {n for n in DEGRADATIONS if choice[n] == "learned"}
            confidence, severity = classical.copy(), classical.copy()
            if from_network:
                learned = default_network()(image)
                for i, name in enumerate(DEGRADATIONS):
                    if name in from_network:
                        confidence[i], severity[i] = learned[i], learned[count + i]
            thresholds = {n: calibration["thresholds"][choice[n]][n] for n in DEGRADATIONS}
    h, w = grid_shape(image.shape[:2], CELL)
    severity = np.ascontiguousarray(severity[:, :h, :w])
    confidence = np.ascontiguousarray(confidence[:, :h, :w])
    if quality is not None:  # the file's own tables: exact, whole frame
        jpeg = DEGRADATIONS.index("jpeg")
        severity[jpeg] = jpeg_severity_from_quality(quality)
        confidence[jpeg] = 1.0 if quality < 65 else 0.0
    # the whole-image thresholds are calibrated on the network's confidence
    image_thresholds = {n: t for n, t in calibration.get("image_thresholds", {}).items() if n in from_network}
    maps = DegradationMaps(severity=severity, confidence=confidence, image_shape=image.shape[:2], cell=CELL,
                           thresholds=thresholds, method=method, image_thresholds=image_thresholds)
    if estimates:
        maps.estimates = physical_estimates(image, maps, features, quality)
    maps.seconds = time.perf_counter() - start
    return maps


def physical_estimates(image: np.ndarray, maps: DegradationMaps, features: dict[str, np.ndarray] | None,
                       quality: int | None) -> dict[str, float]:
    """Physical parameters of the degradations present, each measured where it is flagged:
    ``noise_sigma`` (of 255; 0 when there is no noise), ``jpeg_quality`` (exact from the file's
    tables, else the model inverse of the perceived severity), ``motion_length`` (px) and
    ``motion_angle`` (degrees), ``defocus_radius`` (px), ``airlight`` (0-1), ``white_point`` (0-1,
    :func:`mosaicir.estimators.white_point`) and ``clipped_shadows`` (0-1, the share of pixels black in
    every channel, :func:`mosaicir.estimators.clipped_shadows`) where low light is flagged, and
    ``short_exposure`` (1) when the frame looks like a short exposure
    (``mosaicir.estimators.short_exposure``), whether or not low light is flagged."""
    from mosaicir.estimators import (
        MOTION_MIN_LENGTH, clipped_shadows, estimate_airlight, estimate_defocus_radius, estimate_motion, short_exposure,
        white_point,
    )

    present = set(maps.summary().present)
    out: dict[str, float] = {}

    def where(name: str) -> np.ndarray:
        flagged = maps.flag_cells(name)
        return flagged if flagged.any() else np.ones_like(flagged)

    if "noise" in present:  # the full-resolution noise map only when there is noise to measure
        sigma = features["noise_sigma"] if features is not None else noise_sigma_map(luminance(image))
        out["noise_sigma"] = float(np.median(sigma[where("noise")]) * 255.0)
    else:
        out["noise_sigma"] = 0.0
    if quality is not None:
        out["jpeg_quality"] = float(quality)
    elif "jpeg" in present:  # the quality the degradation model gives the perceived severity
        out["jpeg_quality"] = float(np.clip(jpeg_quality(np.median(maps.map("jpeg")[where("jpeg")])), 5.0, 95.0))
    if "motion_blur" in present:
        length, angle, confidence = estimate_motion(_crop_around(image, maps, "motion_blur"), max_length=30)
        out["motion_length"], out["motion_angle"] = (length if confidence > 0 and length >= MOTION_MIN_LENGTH else 0.0), angle
    if "defocus_blur" in present:
        out["defocus_radius"] = estimate_defocus_radius(_crop_around(image, maps, "defocus_blur"))
    if "haze" in present:
        out["airlight"] = estimate_airlight(_crop_around(image, maps, "haze"))
    if "low_light" in present:
        out["white_point"] = white_point(image)
        out["clipped_shadows"] = clipped_shadows(image)
    if short_exposure(image):
        out["short_exposure"] = 1.0
    return out


def _crop_around(image: np.ndarray, maps: DegradationMaps, name: str, side: int = 192) -> np.ndarray:
    """A ``side``-pixel crop centred on the strongest cell of a degradation (estimators on a crop
    keep the summary fast on large images)."""
    cells = maps.expected_map(name)
    cy, cx = np.unravel_index(int(np.argmax(cells)), cells.shape)
    height, width = image.shape[:2]
    y = int(np.clip(cy * maps.cell + maps.cell // 2 - side // 2, 0, max(0, height - side)))
    x = int(np.clip(cx * maps.cell + maps.cell // 2 - side // 2, 0, max(0, width - side)))
    return image[y:y + side, x:x + side]
