"""Quality without a reference: remaining degradation (perception re-run), naturalness (NIQE with our
pristine model), artifact checks, one score; the metrics by name (:mod:`mosaicir.quality.metrics`)."""

from mosaicir.quality.metrics import METRIC_REGISTRY, Metric, get_metric
from mosaicir.quality.niqe import niqe
from mosaicir.quality.scores import artifact_penalty, artifacts, quality_score, remaining_degradation

__all__ = ["METRIC_REGISTRY", "Metric", "get_metric", "niqe", "artifact_penalty", "artifacts", "quality_score",
           "remaining_degradation"]
