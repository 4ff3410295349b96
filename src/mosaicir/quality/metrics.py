"""The metrics, by name (after pyiqa's registry): what each measures, whether higher is better, its
range and whether it needs a reference. The quality agent (NIQE, remaining degradation), the final
check (through the quality agent) and the benchmarks (PSNR, SSIM) take their metrics from here.

    from mosaicir.quality.metrics import get_metric
    get_metric("psnr")(reference, image)      # dB
    get_metric("niqe")(image)                 # no reference; lower is better
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mosaicir.core.image import psnr, ssim
from mosaicir.core.registry import Registry
from mosaicir.quality.niqe import niqe
from mosaicir.quality.scores import remaining_degradation


@dataclass(frozen=True)
class Metric:
    """A named measure of an image.

    Attributes:
        name: registry name.
        higher_is_better: the direction of improvement.
        range: ``(lowest, highest)`` values it takes (``math.inf`` when unbounded).
        needs_reference: called as ``compute(reference, image)`` when True, ``compute(image)`` otherwise.
        unit: of its values ("" when none).
        compute: the function (images ``H x W x 3`` float32 in [0, 1]).
        description: one line.
    """

    name: str
    higher_is_better: bool
    range: tuple[float, float]
    needs_reference: bool
    unit: str
    compute: Callable[..., float]
    description: str

    def __call__(self, *images: np.ndarray) -> float:
        expected = 2 if self.needs_reference else 1
        if len(images) != expected:
            raise TypeError(f"metric {self.name!r} takes {expected} image(s), got {len(images)}")
        return float(self.compute(*images))

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b


def total_remaining(image: np.ndarray) -> float:
    """Sum over the eight degradations of the expected severity perception still sees (0-8)."""
    return float(sum(remaining_degradation(image).values()))


METRIC_REGISTRY: Registry[Metric] = Registry("metric")

for _metric in (
    Metric("psnr", True, (0.0, 100.0), True, "dB", psnr,
           "peak signal-to-noise ratio against the reference (100 dB when identical)"),
    Metric("ssim", True, (-1.0, 1.0), True, "", ssim,
           "structural similarity (Wang et al. 2004, Gaussian window) against the reference"),
    Metric("niqe", False, (0.0, math.inf), False, "", niqe,
           "naturalness (NIQE with the pristine model fitted on our clean images); NaN under two 48-px patches"),
    Metric("remaining", False, (0.0, 8.0), False, "", total_remaining,
           "degradation perception still sees: sum of the expected severities of the eight degradations"),
):
    METRIC_REGISTRY.register(_metric.name, _metric)


def get_metric(name: str) -> Metric:
    """The registered metric called ``name`` (raises with a suggestion if unknown)."""
    return METRIC_REGISTRY.get(name)
