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
from mosaicir.estimators.colour import luminance

PATCH = 48
_SHAPES = np.arange(0.2, 10.0, 0.001)
_GGD_RATIO = gamma_fn(2.0 / _SHAPES) ** 2 / (gamma_fn(1.0 / _SHAPES) * gamma_fn(3.0 / _SHAPES))


def mscn(grey: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a ``H x W`` image in [0, 255]."""
    mu = cv2.GaussianBlur(grey, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE)
    var = cv2.GaussianBlur(grey * grey, (7, 7), 7.0 / 6.0, borderType=cv2.BORDER_REPLICATE) - mu * mu
    return (grey - mu) / (np.sqrt(np.maximum(var, 0.0)) + 1.0)


def _nearest_shape(ratios: np.ndarray) -> np.ndarray:
    """The tabulated shape whose ratio is nearest to each of ``ratios`` (the lower on ties; the
    ratio grows with the shape, so a binary search finds the two neighbours)."""
    upper = np.clip(np.searchsorted(_GGD_RATIO, ratios), 1, len(_GGD_RATIO) - 1)
    lower = upper - 1
    index = np.where(np.abs(ratios - _GGD_RATIO[upper]) < np.abs(ratios - _GGD_RATIO[lower]), upper, lower)
    return _SHAPES[index]


def _ggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Gaussian fit of each row of ``x`` (``N x M``): ``(shape, variance)``, each ``N``."""
    sigma_sq = np.mean(x * x, axis=1)
    e = np.mean(np.abs(x), axis=1)
    rho = e * e / np.maximum(sigma_sq, 1e-12)
    return _nearest_shape(rho), sigma_sq


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit of each row of ``x`` (``N x M``): ``(shape, mean, left
    variance, right variance)``, each ``N``."""
    negative = x < 0
    squares = x * x
    count_left, count_right = negative.sum(axis=1), (~negative).sum(axis=1)
    left_std = np.where(count_left > 0, np.sqrt(np.where(negative, squares, 0).sum(axis=1) / np.maximum(count_left, 1)), 1e-6)
    right_std = np.where(count_right > 0, np.sqrt(np.where(negative, 0, squares).sum(axis=1) / np.maximum(count_right, 1)), 1e-6)
    gamma_hat = left_std / np.maximum(right_std, 1e-12)
    r_hat = np.mean(np.abs(x), axis=1) ** 2 / np.maximum(np.mean(squares, axis=1), 1e-12)
    rhat_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = _nearest_shape(rhat_norm)
    scale = gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha)
    bl, br = left_std * np.sqrt(scale), right_std * np.sqrt(scale)
    mean = (br - bl) * gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha)
    return alpha, mean, left_std ** 2, right_std ** 2


def _level_features(c: np.ndarray) -> np.ndarray:
    """``N x 18`` features of ``N`` patches of MSCN coefficients (``N x p x p``)."""
    n = c.shape[0]
    columns = list(_ggd(c.reshape(n, -1)))
    products = (c[:, :, :-1] * c[:, :, 1:], c[:, :-1, :] * c[:, 1:, :], c[:, :-1, :-1] * c[:, 1:, 1:], c[:, :-1, 1:] * c[:, 1:, :-1])
    for product in products:
        columns.extend(_aggd(product.reshape(n, -1)))
    return np.stack(columns, axis=1)


def _patches(values: np.ndarray, rows: int, cols: int, side: int) -> np.ndarray:
    """The ``rows x cols`` grid of ``side``-pixel patches at the top left of ``values``, as
    ``(rows * cols) x side x side`` in row-major order."""
    grid = values[:rows * side, :cols * side].reshape(rows, side, cols, side)
    return np.ascontiguousarray(grid.transpose(0, 2, 1, 3)).reshape(rows * cols, side, side)


def patch_features(image: np.ndarray, patch: int = PATCH, sharp_only: bool = False) -> np.ndarray:
    """``N x 36`` features of the ``patch``-pixel patches of an image (``H x W x 3`` in [0, 1]), all
    patches at once. ``sharp_only`` keeps the patches of highest local sharpness (for the pristine fit)."""
    grey = luminance(np.asarray(image, np.float32)) * np.float32(255.0)
    scales = [grey, cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_CUBIC)]
    rows, cols = grey.shape[0] // patch, grey.shape[1] // patch
    if rows * cols == 0:
        return np.zeros((0, 36), np.float64)
    features = np.concatenate([
        _level_features(_patches(mscn(s).astype(np.float64), rows, cols, patch >> level)) for level, s in enumerate(scales)
    ], axis=1)
    if sharp_only and len(features) > 4:
        sharpness = _patches(grey, rows, cols, patch).reshape(rows * cols, -1).std(axis=1)
        features = features[sharpness >= 0.75 * sharpness.max()]
    return features


@lru_cache(maxsize=2)
def pristine_model(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    from mosaicir.runtime.onnx import models_dir

    file = Path(path) if path else models_dir() / "niqe_pristine.npz"
    if not file.is_file():
        raise MosaicirError(f"NIQE pristine model {file} is missing; fit it with train/niqe.py")
    with np.load(file) as data:
        return data["mean"], data["cov"]


def niqe(image: np.ndarray, patch: int = PATCH, model: str | None = None) -> float:
    """NIQE of ``image`` (``H x W x 3`` in [0, 1], at least ``2 * patch`` pixels on each side is
    advisable); lower is more natural. Returns NaN when the image holds fewer than two patches.
    ``model``: a pristine model file (default: the shipped one)."""
    image = check_image(image)
    return niqe_of_features(patch_features(image, patch), model)


def niqe_of_features(features: np.ndarray, model: str | None = None) -> float:
    """NIQE of the patches whose features (``N x 36``, :func:`patch_features`) are given: those of
    one image, or those of several windows of one image pooled (a sample of a large photograph).
    NaN with fewer than two patches."""
    if features.shape[0] < 2:
        return float("nan")
    mean, cov = pristine_model(model)
    mu = np.nanmean(features, axis=0)
    sigma = np.cov(features, rowvar=False)
    diff = mean - mu
    pooled = (cov + sigma) / 2.0
    return float(np.sqrt(max(diff @ np.linalg.pinv(pooled) @ diff, 0.0)))
