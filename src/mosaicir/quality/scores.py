"""No-reference quality of a (restored) image region, and artifact checks.

``remaining_degradation``: perception re-run on the result (how much of each degradation is
still seen, weighted by the region mask). Artifact checks compare a step's output with its input:
``colour_shift`` (change of mean chroma, CIELAB units), ``halo`` (share of pixels overshooting the
input's local range by more than 0.08), ``over_smoothing`` (loss of gradient energy in textured
parts, 0-1). :func:`quality_score` folds them into one number, higher is better.
"""

from __future__ import annotations

import cv2
import numpy as np

from mosaicir.core.image import weighted_mean
from mosaicir.core.names import DEGRADATIONS
from mosaicir.perception import perceive

#: Artifact tolerances; beyond them the excess is penalised with the weights.
TOLERANCE = {"colour_shift": 6.0, "halo": 0.01, "over_smoothing": 0.35}
WEIGHT = {"colour_shift": 0.02, "halo": 4.0, "over_smoothing": 1.0}
#: Degradations whose removal legitimately changes the quantity an artifact check measures.
EXEMPT = {
    "colour_shift": {"haze", "low_light"},
    "over_smoothing": {"noise", "jpeg", "rain"},
    "halo": {"low_light", "haze"},
}


def remaining_degradation(image: np.ndarray, weight: np.ndarray | None = None, method: str = "auto") -> dict[str, float]:
    """``{degradation: mean expected severity (confidence x severity) over the weight}`` for all
    eight degradations."""
    maps = perceive(image, method=method, estimates=False)
    return {name: round(weighted_mean(maps.upsample(name, which="expected"), weight), 4) for name in DEGRADATIONS}


def artifacts(before: np.ndarray, after: np.ndarray, weight: np.ndarray | None = None) -> dict[str, float]:
    """Artifact measures of a step (``before`` -> ``after``, both ``H x W x 3`` in [0, 1])."""
    lab_b = cv2.cvtColor(before, cv2.COLOR_RGB2LAB)
    lab_a = cv2.cvtColor(after, cv2.COLOR_RGB2LAB)
    shift = float(np.hypot(weighted_mean(lab_a[:, :, 1] - lab_b[:, :, 1], weight),
                           weighted_mean(lab_a[:, :, 2] - lab_b[:, :, 2], weight)))
    grey_b, grey_a = before.mean(axis=2), after.mean(axis=2)
    kernel = np.ones((5, 5), np.uint8)
    high, low = cv2.dilate(grey_b, kernel), cv2.erode(grey_b, kernel)
    over = ((grey_a > high + 0.08) | (grey_a < low - 0.08)).astype(np.float32)
    grad = lambda g: cv2.Sobel(g, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_32F, 0, 1) ** 2
    energy_b, energy_a = cv2.blur(grad(grey_b), (9, 9)), cv2.blur(grad(grey_a), (9, 9))
    textured = (energy_b > 0.01).astype(np.float32)
    if weight is not None:
        textured = textured * weight
    loss = 0.0
    if textured.sum() > 16:
        loss = float(np.clip(1.0 - (energy_a * textured).sum() / max((energy_b * textured).sum(), 1e-9), 0.0, 1.0))
    return {"colour_shift": round(shift, 3), "halo": round(weighted_mean(over, weight), 4), "over_smoothing": round(loss, 4)}


def artifact_penalty(measures: dict[str, float], targets: set[str] | list[str] = ()) -> float:
    """Weighted excess of the artifact measures over their tolerances (0 when all are within)."""
    targets = set(targets)
    penalty = 0.0
    for key, value in measures.items():
        if targets & EXEMPT.get(key, set()):
            continue
        penalty += WEIGHT[key] * max(0.0, value - TOLERANCE[key])
    return penalty


def quality_score(remaining: dict[str, float], penalty: float = 0.0) -> float:
    """Higher is better: minus the total remaining severity, minus the artifact penalty."""
    return round(-float(sum(remaining.values())) - penalty, 4)
