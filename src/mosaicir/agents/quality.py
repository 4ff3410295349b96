"""The quality agent: judges each step without a reference, and the final result region by region."""

from __future__ import annotations

import numpy as np

from mosaicir.agents.messages import QualityVerdict
from mosaicir.perception import DegradationMaps, perceive
from mosaicir.quality import artifact_penalty, artifacts, quality_score, remaining_degradation
from mosaicir.quality.judge import StepJudge, step_features
from mosaicir.quality.metrics import get_metric
from mosaicir.quality.niqe import PATCH
from mosaicir.quality.sample import (
    MEASURE_PIXELS, artifacts_on_windows, naturalness_on_windows, remaining_on_windows, sample_windows,
)

#: A step must raise the score by at least this much to be kept.
MIN_GAIN = 0.02
#: Weight of NIQE (naturalness, lower is better) in the score.
NIQE_WEIGHT = 0.02
#: A tool's own evidence (``Tool.evidence``) at or above this accepts its step, below it rolls
#: the step back, whatever the no-reference score says.
STRONG_EVIDENCE = 0.5


class QualityAgent:
    """Scores a crop by the degradation perception still sees in it (weighted by the region's
    mask), by its naturalness (NIQE, on crops of at least two 48-px patches) and by artifact checks
    against the step's input; accepts a step that raises the score by ``min_gain`` or more, and
    asks for a rollback otherwise. A step whose tool gives physical evidence of what it removed
    (``Tool.evidence``) is decided by that evidence (``STRONG_EVIDENCE``); the score is still
    recorded.

    Crops larger than ``measure_pixels`` are measured on a fixed sample of full-resolution windows
    of half that many pixels in all (:mod:`mosaicir.quality.sample`), the same for a step's input
    and output; smaller ones whole."""

    def __init__(self, method: str = "auto", min_gain: float = MIN_GAIN, measure_pixels: int = MEASURE_PIXELS,
                 step_judge: StepJudge | None = None, judge_threshold: float = 0.0) -> None:
        self.method = method
        self.min_gain = min_gain
        self.measure_pixels = measure_pixels
        self.step_judge = step_judge
        self.judge_threshold = judge_threshold
        self.judged_tools = set(step_judge.tools()) if step_judge is not None else set()

    def windows(self, image: np.ndarray, weight: np.ndarray | None = None) -> list[tuple[int, int, int, int]] | None:
        """The windows ``image`` is measured on (None: whole; see :func:`sample_windows`)."""
        return sample_windows(image.shape[:2], weight, self.measure_pixels)

    @staticmethod
    def naturalness(image: np.ndarray) -> float | None:
        if min(image.shape[:2]) < 2 * PATCH:
            return None
        value = get_metric("niqe")(image)
        return None if not np.isfinite(value) else round(value, 4)

    def _total(self, remaining: dict[str, float], naturalness: float | None, penalty: float = 0.0) -> float:
        return round(quality_score(remaining, penalty) - (NIQE_WEIGHT * naturalness if naturalness is not None else 0.0), 4)

    def score(self, image: np.ndarray, weight: np.ndarray | None = None) -> tuple[float, dict[str, float]]:
        boxes = self.windows(image, weight)
        if boxes is not None:
            remaining = remaining_on_windows(image, weight, boxes, self.method)
            return self._total(remaining, naturalness_on_windows(image, boxes)), remaining
        remaining = remaining_degradation(image, weight, self.method)
        return self._total(remaining, self.naturalness(image)), remaining

    def judge(self, before: np.ndarray, after: np.ndarray, weight: np.ndarray | None, targets: list[str],
              score_before: float | None = None, evidence: float | None = None, tool: str | None = None,
              params: dict | None = None) -> QualityVerdict:
        if score_before is None:
            score_before, _ = self.score(before, weight)
        boxes = self.windows(after, weight)
        if boxes is not None:
            remaining = remaining_on_windows(after, weight, boxes, self.method)
            measures = artifacts_on_windows(before, after, weight, boxes)
            naturalness = naturalness_on_windows(after, boxes)
        else:
            remaining = remaining_degradation(after, weight, self.method)
            measures = artifacts(before, after, weight)
            naturalness = self.naturalness(after)
        penalty = artifact_penalty(measures, targets)
        score_after = self._total(remaining, naturalness, penalty)
        gain = score_after - score_before
        predicted = None
        if evidence is None and self.step_judge is not None and tool in self.judged_tools:
            readings = {"score_before": score_before, "score_after": score_after, "naturalness": naturalness,
                        "artifacts": measures, "remaining": remaining}
            predicted = round(float(self.step_judge.predict(step_features(before, after, weight, tool, params, readings))[0]), 3)
        if evidence is not None:
            strong = evidence >= STRONG_EVIDENCE
            decision = "accept" if strong else "rollback"
            reason = (f"the tool's own test: evidence {evidence:.2f} ({'at least' if strong else 'below'} {STRONG_EVIDENCE}); "
                      f"score {score_before:.3f} -> {score_after:.3f}")
        elif predicted is not None:
            kept = predicted > self.judge_threshold
            decision = "accept" if kept else "rollback"
            reason = (f"the step judge: {predicted:+.2f} dB expected ({'above' if kept else 'at most'} "
                      f"{self.judge_threshold:+.2f}); score {score_before:.3f} -> {score_after:.3f}")
        elif gain >= self.min_gain:
            decision, reason = "accept", f"score {score_before:.3f} -> {score_after:.3f}"
        elif penalty > 0:
            decision, reason = "rollback", f"artifacts {measures} (penalty {penalty:.3f})"
        else:
            decision, reason = "rollback", f"score {score_before:.3f} -> {score_after:.3f}: gain below {self.min_gain}"
        return QualityVerdict(score_before=score_before, score_after=score_after, remaining=remaining,
                              naturalness=naturalness, artifacts=measures, decision=decision, reason=reason,
                              evidence=evidence, predicted_gain=predicted)

    def region_scores(self, base: np.ndarray, fused: np.ndarray,
                      results: list[tuple[int, tuple[int, int, int, int], np.ndarray]], regions: dict,
                      before: DegradationMaps) -> dict[int, tuple[float, float]]:
        """The final check's scores: per restored region ``(id, box, mask over the box)``, the
        quality score of ``base`` and of ``fused`` under its mask, ``{id: (before, after)}``: the
        degradation perception still sees there (``before``: the maps of ``base``, already run;
        ``regions``: ``{id: Region}``, whose full-frame masks weigh it), the artefacts of the
        change counting against ``after`` for the region's degradations. Frames larger than
        ``measure_pixels`` are measured on a sample of windows of each region's box."""
        if base.shape[0] * base.shape[1] > self.measure_pixels:
            remaining, measured = {}, {}
            for region, (top, left, bottom, right), mask in results:
                before_crop, after_crop = base[top:bottom, left:right], fused[top:bottom, left:right]
                boxes = sample_windows(before_crop.shape[:2], mask, self.measure_pixels) or [(0, 0, bottom - top, right - left)]
                remaining[region] = (remaining_on_windows(before_crop, mask, boxes, self.method),
                                     remaining_on_windows(after_crop, mask, boxes, self.method))
                measured[region] = artifacts_on_windows(before_crop, after_crop, mask, boxes)
        else:
            after = perceive(fused, method=self.method, estimates=False)
            # one full-resolution map at a time, summed under every region's mask (all sixteen at
            # once take 1.5 GB on a 24 MP frame)
            remaining = {region: ({}, {}) for region, _, _ in results}
            totals = {region: max(float(regions[region].mask.sum()), 1e-6) for region, _, _ in results}
            for side, maps in enumerate((before, after)):
                for name in maps.names:
                    expected = maps.upsample(name, which="expected")
                    for region, _, _ in results:
                        remaining[region][side][name] = float((expected * regions[region].mask).sum()) / totals[region]
                    del expected
            measured = {}
        scores = {}
        for region, (top, left, bottom, right), mask in results:
            remaining_before, remaining_after = remaining[region]
            measures = measured.get(region)
            if measures is None:
                measures = artifacts(base[top:bottom, left:right], fused[top:bottom, left:right], mask)
            penalty = artifact_penalty(measures, list(regions[region].signature))
            scores[region] = (quality_score(remaining_before), quality_score(remaining_after, penalty))
        return scores
