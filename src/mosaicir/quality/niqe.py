"""NIQE, the Natural Image Quality Evaluator (Mittal, Soundararajan & Bovik, 2013), with a pristine
model fitted by mosaicir on clean natural patches (``train/niqe.py``; no downloaded parameters).

Per patch, at two scales: the generalised Gaussian fit of the mean-subtracted contrast-normalised
(MSCN) coefficients (shape, variance) and the asymmetric generalised Gaussian fits of the products
of neighbouring coefficients in four orientations (shape, mean, left and right variance): 36
features. An image's features are summarised by their mean and covariance; NIQE is the
Mahalanobis-like distance of that multivariate Gaussian to the pristine one. Lower is more natural
(roughly 2-4 for clean photographs, higher with blur, noise, blocking).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy.special import gamma as gamma_fn

from mosaicir.core.errors import MosaicirError
from mosaicir.core.image import check_image

PATCH = 48
_SHAPES = np.arange(0.2, 10.0, 0.001)
_GGD_RATIO = gamma_fn(2.0 / _SHAPES) ** 2 / (gamma_fn(1.0 / _SHAPES) * gamma_fn(3.0 / _SHAPES))


def mscn(grey: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a ``H x W`` image in [0, 255]."""
    mu = cv2.GaussianBlur(grey, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(grey * grey, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (grey - mu) / (np.sqrt(np.maximum(var, 0.0)) + 1.0)


def _ggd(x: np.ndarray) -> tuple[float, float]:
    sigma_sq = float(np.mean(x * x))
    e = float(np.mean(np.abs(x)))
    rho = e * e / max(sigma_sq, 1e-12)
    return float(_SHAPES[np.argmin(np.abs(rho - _GGD_RATIO))]), sigma_sq


def _aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    left, right = x[x < 0], x[x >= 0]
    left_std = np.sqrt(np.mean(left * left)) if left.size else 1e-6
    right_std = np.sqrt(np.mean(right * right)) if right.size else 1e-6
    gamma_hat = left_std / max(right_std, 1e-12)
    r_hat = float(np.mean(np.abs(x))) ** 2 / max(float(np.mean(x * x)), 1e-12)
    rhat_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = float(_SHAPES[np.argmin(np.abs(_GGD_RATIO - rhat_norm))])
    scale = gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha)
    bl, br = left_std * np.sqrt(scale), right_std * np.sqrt(scale)
    mean = (br - bl) * gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha)
    return alpha, float(mean), float(left_std ** 2), float(right_std ** 2)


def _patch_features(c: np.ndarray) -> list[float]:
    shape, variance = _ggd(c)
    features = [shape, variance]
    products = (c[:, :-1] * c[:, 1:], c[:-1, :] * c[1:, :], c[:-1, :-1] * c[1:, 1:], c[:-1, 1:] * c[1:, :-1])
    for product in products:
        features.extend(_aggd(product.ravel()))
    return features


def patch_features(image: np.ndarray, patch: int = PATCH, sharp_only: bool = False) -> np.ndarray:
    """``N x 36`` features of the ``patch``-pixel patches of an image (``H x W x 3`` in [0, 1]).
    ``sharp_only`` keeps the patches of highest local sharpness (for the pristine fit)."""
    grey = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2GRAY) * 255.0
    scales = [grey, cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_CUBIC)]
    coefficients = [mscn(s) for s in scales]
    rows, sharpness = [], []
    for y in range(0, grey.shape[0] - patch + 1, patch):
        for x in range(0, grey.shape[1] - patch + 1, patch):
            feats = []
            for level, c in enumerate(coefficients):
                p = patch >> level
                feats += _patch_features(c[(y >> level):(y >> level) + p, (x >> level):(x >> level) + p])
            rows.append(feats)
            block = grey[y:y + patch, x:x + patch]
            sharpness.append(float(np.std(block)))
    features = np.asarray(rows, np.float64).reshape(-1, 36)
    if sharp_only and len(features) > 4:
        keep = np.asarray(sharpness) >= 0.75 * max(sharpness)
        features = features[keep]
    return features


@lru_cache(maxsize=2)
def pristine_model(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    from mosaicir.tools.learned import models_dir

    file = Path(path) if path else models_dir() / "niqe_pristine.npz"
    if not file.is_file():
        raise MosaicirError(f"NIQE pristine model {file} is missing; fit it with train/niqe.py")
    with np.load(file) as data:
        return data["mean"], data["cov"]


def niqe(image: np.ndarray, patch: int = PATCH) -> float:
    """NIQE of ``image`` (``H x W x 3`` in [0, 1], at least ``2 * patch`` pixels on each side is
    advisable); lower is more natural. Returns NaN when the image holds fewer than two patches."""
    image = check_image(image)
    features = patch_features(image, patch)
    if features.shape[0] < 2:
        return float("nan")
    mean, cov = pristine_model()
    mu = np.nanmean(features, axis=0)
    sigma = np.cov(features, rowvar=False)
    diff = mean - mu
    pooled = (cov + sigma) / 2.0
    return float(np.sqrt(max(diff @ np.linalg.pinv(pooled) @ diff, 0.0)))
