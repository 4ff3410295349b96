"""The step judge: a learned estimate of how much one tool step changed a crop's PSNR.

The quality agent's score reads how much degradation perception still sees; on a deblurring,
super-resolution or brightening step, which has no physical test of its own (``Tool.evidence``),
that reading is all it has, and it misreads ringing, sharpened noise and photographs unlike our
training data. The judge predicts the step's true change of PSNR (dB, against the clean image)
from the pair itself: what changed and where (the difference's energy, its high frequencies,
the 8x8 grid, the band around edges), how the input and output look (noise, gradients,
exposure), the tool and its parameters, and the quality agent's own readings. It is a
gradient-boosted regressor trained on the steps the engine itself takes on generated items and on
real development pairs and clean photographs (``train/judge.py``), shipped as ONNX
(``models/step_judge.onnx``).

:func:`step_features` is the one definition of the features, shared by training and inference.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from mosaicir.core.image import weighted_mean
from mosaicir.core.names import DEGRADATIONS
from mosaicir.estimators.colour import luminance

#: Tools the judge can decide: those without a physical test of their own (``Tool.evidence``). A
#: trained judge decides only those it saw steps of (``StepJudge.tools``).
JUDGED_TOOLS: tuple[str, ...] = (
    "wiener_motion", "deconv_motion", "deblur_motion_unet", "wiener_defocus", "deblur_defocus_unet",
    "sr_unet", "guided_sharpen", "lime", "dehaze_unet",
)
#: Numeric parameters read from a step (0 where the tool has none of that name).
PARAMS: tuple[str, ...] = ("length", "radius", "strength", "balance", "amount", "alpha")
#: Floor of the mean squared error in the true gain (about 0.8/255 RMS): a clean crop restored to
#: within a grey level counts as unchanged rather than as an infinite loss.
MSE_FLOOR = 1e-5
#: Gains are clipped to this many dB either way in training.
GAIN_CLIP = 6.0

_IMAGE_STATS = ("mean", "std", "gradient", "laplacian", "noise", "clipped")
FEATURE_NAMES: tuple[str, ...] = (
    *(f"tool_{t}" for t in JUDGED_TOOLS),
    *(f"param_{p}" for p in PARAMS),
    "score_before", "score_after", "score_gain", "naturalness", "colour_shift", "halo", "over_smoothing",
    *(f"remaining_{d}" for d in DEGRADATIONS),
    *(f"before_{s}" for s in _IMAGE_STATS),
    *(f"after_{s}" for s in _IMAGE_STATS),
    "log_gradient_ratio", "log_laplacian_ratio", "log_noise_ratio", "log_std_ratio",
    "diff_rms", "diff_mean", "diff_high_share", "diff_grid_ratio", "diff_edge_band", "diff_flat",
    "diff_on_edges", "diff_gradient_corr", "chroma_change",
)
#: The crop's size and the weight's mean are left out: in the training steps they told the source
#: apart (clean photographs are the largest, probes have no mask), not whether a step helped.


def _noise_sigma(grey: np.ndarray, weight: np.ndarray) -> float:
    """Robust noise level of a grey image ``H x W`` in [0, 1]: Immerkaer's (1996) second-difference
    filter, which cancels linear ramps, with the median of its absolute response over the weight
    in place of the mean (texture counts less; it reads about 0.85 of the noise's sigma)."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(grey, cv2.CV_32F, kernel))
    values = response[weight > 0.5] if (weight > 0.5).sum() > 64 else response.ravel()
    return float(np.median(values)) * math.sqrt(math.pi / 2) / 6.0


def _image_stats(grey: np.ndarray, weight: np.ndarray) -> list[float]:
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    mean = weighted_mean(grey, weight)
    return [mean, math.sqrt(max(weighted_mean((grey - mean) ** 2, weight), 0.0)),
            weighted_mean(np.sqrt(gx ** 2 + gy ** 2), weight),
            weighted_mean(np.abs(cv2.Laplacian(grey, cv2.CV_32F)), weight), _noise_sigma(grey, weight),
            weighted_mean(((grey > 0.98) | (grey < 0.02)).astype(np.float32), weight)]


def _log_ratio(a: float, b: float, floor: float = 1e-4) -> float:
    return math.log((a + floor) / (b + floor))


def step_features(before: np.ndarray, after: np.ndarray, weight: np.ndarray | None, tool: str,
                  params: dict | None = None, readings: dict | None = None) -> np.ndarray:
    """Features of one step (``before`` -> ``after``, ``H x W x 3`` float32 in [0, 1]; ``weight``
    ``H x W`` in [0, 1] or None for all): a float32 vector in the order of :data:`FEATURE_NAMES`.
    ``readings``: the quality agent's ``score_before``, ``score_after``, ``naturalness``,
    ``artifacts`` (dict) and ``remaining`` (dict); missing ones read 0."""
    params, readings = params or {}, readings or {}
    weight = np.ones(before.shape[:2], np.float32) if weight is None else weight.astype(np.float32, copy=False)
    grey_b, grey_a = luminance(before), luminance(after)
    stats_b, stats_a = _image_stats(grey_b, weight), _image_stats(grey_a, weight)
    diff = grey_a - grey_b
    energy = weighted_mean(diff ** 2, weight)
    high = cv2.Laplacian(diff, cv2.CV_32F)
    high_share = weighted_mean(high ** 2, weight) / (16.0 * energy + 1e-9)
    grid = np.zeros(diff.shape, bool)
    grid[::8, :] = True
    grid[:, ::8] = True
    grid[7::8, :] = True
    grid[:, 7::8] = True
    grid_ratio = _log_ratio(weighted_mean(diff ** 2, weight * grid), weighted_mean(diff ** 2, weight * ~grid), 1e-7)
    edges = cv2.Canny((np.clip(grey_b, 0, 1) * 255).astype(np.uint8), 40, 100) > 0
    near = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    band = (cv2.dilate(edges.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & ~near
    far = ~(cv2.dilate(edges.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0)
    rms = math.sqrt(energy)
    absdiff = np.abs(diff)
    gradient_b = np.sqrt(cv2.Sobel(grey_b, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey_b, cv2.CV_32F, 0, 1) ** 2)
    flat_w = weight > 0.5
    if flat_w.sum() > 16 and absdiff[flat_w].std() > 1e-8 and gradient_b[flat_w].std() > 1e-8:
        corr = float(np.corrcoef(absdiff[flat_w], gradient_b[flat_w])[0, 1])
    else:
        corr = 0.0
    lab_b = cv2.cvtColor(before, cv2.COLOR_RGB2LAB)
    lab_a = cv2.cvtColor(after, cv2.COLOR_RGB2LAB)
    chroma = weighted_mean(np.hypot(lab_a[:, :, 1] - lab_b[:, :, 1], lab_a[:, :, 2] - lab_b[:, :, 2]), weight)
    artifacts = readings.get("artifacts") or {}
    remaining = readings.get("remaining") or {}
    score_before = float(readings.get("score_before") or 0.0)
    score_after = float(readings.get("score_after") or 0.0)
    naturalness = readings.get("naturalness")
    values = [
        *(1.0 if tool == t else 0.0 for t in JUDGED_TOOLS),
        *(float(params.get(p, 0.0)) if isinstance(params.get(p, 0.0), (int, float)) else 0.0 for p in PARAMS),
        score_before, score_after, score_after - score_before,
        float(naturalness) if naturalness is not None and math.isfinite(naturalness) else 0.0,
        float(artifacts.get("colour_shift", 0.0)), float(artifacts.get("halo", 0.0)),
        float(artifacts.get("over_smoothing", 0.0)),
        *(float(remaining.get(d, 0.0)) for d in DEGRADATIONS),
        *stats_b, *stats_a,
        _log_ratio(stats_a[2], stats_b[2]), _log_ratio(stats_a[3], stats_b[3]),
        _log_ratio(stats_a[4], stats_b[4]), _log_ratio(stats_a[1], stats_b[1]),
        rms, weighted_mean(diff, weight), high_share, grid_ratio,
        weighted_mean(absdiff, weight * band) / (rms + 1e-6), weighted_mean(absdiff, weight * far) / (rms + 1e-6),
        weighted_mean(absdiff, weight * near) / (rms + 1e-6), corr, chroma,
    ]
    return np.nan_to_num(np.asarray(values, np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def true_gain(before: np.ndarray, after: np.ndarray, reference: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The step's change of PSNR against ``reference`` (all ``H x W x 3`` in [0, 1]; ``weight``
    ``H x W`` in [0, 1] or None), in dB over the weight, with the error floored at
    :data:`MSE_FLOOR`: positive when the step brought the crop closer to the clean image, 0 when it
    changed nothing (a clean crop left as it is)."""
    w = np.ones(before.shape[:2], np.float32) if weight is None else weight
    total = max(float(w.sum()), 1e-6)
    mse_before = float((((before - reference) ** 2).mean(axis=2) * w).sum()) / total
    mse_after = float((((after - reference) ** 2).mean(axis=2) * w).sum()) / total
    return 10.0 * math.log10((mse_before + MSE_FLOOR) / (mse_after + MSE_FLOOR))


class StepJudge:
    """The shipped judge (``models/step_judge.onnx``; its card ``step_judge.md`` and its feature
    list ``step_judge.json``). :meth:`predict` returns the expected change of PSNR in dB."""

    model_file = "step_judge.onnx"

    def __init__(self, model_path: str | Path | None = None) -> None:
        from mosaicir.runtime.onnx import models_dir

        self.model_path = Path(model_path) if model_path is not None else models_dir() / self.model_file
        self._session = None

    def available(self) -> bool:
        return self.model_path.exists()

    def threshold(self) -> float:
        """The least expected gain (dB) for a step to be kept, as trained (0 without a card)."""
        card = self.model_path.with_suffix(".json")
        return float(json.loads(card.read_text()).get("threshold", 0.0)) if card.exists() else 0.0

    def tools(self) -> list[str]:
        """The judged tools this judge was trained on steps of (all of :data:`JUDGED_TOOLS` without a card)."""
        card = self.model_path.with_suffix(".json")
        trained = json.loads(card.read_text()).get("per_tool", {}) if card.exists() else {}
        return [t for t in JUDGED_TOOLS if t in trained] if trained else list(JUDGED_TOOLS)

    def check(self) -> None:
        """Raise :class:`~mosaicir.core.errors.MosaicirError` unless the weights are there and were
        trained on today's features (before a restore starts, not at its first judged step)."""
        from mosaicir.core.errors import MosaicirError

        if not self.available():
            raise MosaicirError(f"the step judge's weights {self.model_path} are missing; train them with train/judge.py")
        if self.feature_names() != list(FEATURE_NAMES):
            raise MosaicirError(f"{self.model_path} was trained on other features; retrain it with train/judge.py")

    def feature_names(self) -> list[str]:
        card = self.model_path.with_suffix(".json")
        return json.loads(card.read_text())["features"] if card.exists() else list(FEATURE_NAMES)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``features``: ``N x F`` (or ``F``) float32 rows of :func:`step_features`; returns ``N`` dB."""
        from mosaicir.runtime.onnx import onnx_session

        if self._session is None:
            self.check()
            self._session = onnx_session(self.model_path, recipe="train/judge.py")
        rows = np.atleast_2d(np.asarray(features, np.float32))
        name = self._session.get_inputs()[0].name
        return np.asarray(self._session.run(None, {name: rows})[0], np.float32).reshape(-1)
