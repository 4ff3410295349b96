"""Perception: where each of the eight degradations is, and how strong.

``perceive(image)`` returns :class:`DegradationMaps` (severity per 8 x 8 cell and degradation,
presence thresholds, whole-image estimates); the learned map network and the classical
estimators are both available, and ``method="auto"`` uses per degradation the one that scored
better in calibration.
"""

from mosaicir.perception.maps import DegradationMaps, DegradationReport, PerceptionSummary
from mosaicir.perception.perceive import METHODS, perceive

__all__ = ["METHODS", "DegradationMaps", "DegradationReport", "PerceptionSummary", "perceive"]
