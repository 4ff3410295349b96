"""Degradation models, spatial layouts, synthetic depth and the benchmark generator."""

from mosaicir.degrade.base import Degradation, DegradationParams
from mosaicir.degrade.depth import DepthParams, synthetic_depth
from mosaicir.degrade.models import DEGRADATION_REGISTRY, get_degradation

__all__ = [
    "DEGRADATION_REGISTRY",
    "Degradation",
    "DegradationParams",
    "DepthParams",
    "get_degradation",
    "synthetic_depth",
]
