"""Quality without a reference: remaining degradation (perception re-run), naturalness (NIQE with our
pristine model), artifact checks, one score."""

from mosaicir.quality.niqe import niqe
from mosaicir.quality.scores import artifact_penalty, artifacts, quality_score, remaining_degradation

__all__ = ["niqe", "artifact_penalty", "artifacts", "quality_score", "remaining_degradation"]
