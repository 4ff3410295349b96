"""``perceive``: severity maps of the eight degradations for one image."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.perception.classical import (
    CELL, classical_features, classical_severity, grid_shape, jpeg_severity_from_quality, quality_from_quantization,
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
    if method == "learned":
        severity = default_network()(image)
        thresholds = dict(calibration["thresholds"]["learned"])
    else:
        features = classical_features(image)
        classical = classical_severity(image, features)
        if method == "classical":
            severity, thresholds = classical, dict(calibration["thresholds"]["classical"])
        else:
            choice = calibration["choice"]
            severity = classical.copy()
            if any(choice[n] == "learned" for n in DEGRADATIONS):
                learned = default_network()(image)
                for i, name in enumerate(DEGRADATIONS):
                    if choice[name] == "learned":
                        severity[i] = learned[i]
            thresholds = {n: calibration["thresholds"][choice[n]][n] for n in DEGRADATIONS}
    expected = grid_shape(image.shape[:2], CELL)
    severity = np.ascontiguousarray(severity[:, : expected[0], : expected[1]])
    if quality is not None:  # the file's own tables: exact, whole frame
        severity[DEGRADATIONS.index("jpeg")] = jpeg_severity_from_quality(quality)
    maps = DegradationMaps(severity=severity, image_shape=image.shape[:2], cell=CELL, thresholds=thresholds, method=method)
    if estimates:
        maps.estimates = physical_estimates(image, maps, features, quality)
    maps.seconds = time.perf_counter() - start
    return maps


def physical_estimates(image: np.ndarray, maps: DegradationMaps, features: dict[str, np.ndarray] | None,
                       quality: int | None) -> dict[str, float]:
    """Whole-image physical parameters, each measured where its degradation is flagged (or over
    the whole image when it is nowhere): ``noise_sigma`` (of 255), ``jpeg_quality``,
    ``motion_length`` (px), ``motion_angle`` (degrees), ``defocus_radius`` (px), ``airlight``."""
    from mosaicir.tools.blur import estimate_defocus_radius, estimate_motion
    from mosaicir.tools.haze import estimate_airlight

    if features is None:
        features = classical_features(image)
    out: dict[str, float] = {}

    def where(name: str) -> np.ndarray:
        flagged = maps.map(name) > maps.thresholds.get(name, 0.5)
        return flagged if flagged.any() else np.ones_like(flagged)

    out["noise_sigma"] = float(np.median(features["noise_sigma"][where("noise")]) * 255.0)
    if quality is not None:
        out["jpeg_quality"] = float(quality)
    else:  # model inverse of the perceived severity (quality = 65 - 60 s)
        out["jpeg_quality"] = float(np.clip(65.0 - 60.0 * np.median(maps.map("jpeg")[where("jpeg")]), 5.0, 95.0))
    for name in ("motion_blur", "defocus_blur"):
        crop = _crop_around(image, maps, name)
        if name == "motion_blur":
            length, angle, confidence = estimate_motion(crop, max_length=30)
            out["motion_length"], out["motion_angle"] = (length if confidence > 0.2 else 0.0), angle
        else:
            out["defocus_radius"] = estimate_defocus_radius(crop)
    out["airlight"] = estimate_airlight(_crop_around(image, maps, "haze"))
    return out


def _crop_around(image: np.ndarray, maps: DegradationMaps, name: str, side: int = 192) -> np.ndarray:
    """A ``side``-pixel crop centred on the strongest cell of a degradation (estimators on a crop
    keep the summary fast on large images)."""
    cells = maps.map(name)
    cy, cx = np.unravel_index(int(np.argmax(cells)), cells.shape)
    height, width = image.shape[:2]
    y = int(np.clip(cy * maps.cell + maps.cell // 2 - side // 2, 0, max(0, height - side)))
    x = int(np.clip(cx * maps.cell + maps.cell // 2 - side // 2, 0, max(0, width - side)))
    return image[y:y + side, x:x + side]
