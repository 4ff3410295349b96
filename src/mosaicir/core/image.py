"""The image contract: ``float32 H x W x 3`` RGB in [0, 1]; masks ``float32 H x W`` in [0, 1].

Every public entry calls :func:`check_image` (or :func:`check_mask`) on its inputs. Nothing is
rescaled or converted silently: an array that breaks the contract raises
:class:`~mosaicir.core.errors.InvalidImageError`.
"""

from __future__ import annotations

import numpy as np

from mosaicir.core.errors import InvalidImageError

#: Values may overshoot [0, 1] by this much through float rounding and still pass.
RANGE_TOLERANCE = 1e-4


def check_image(image: object, name: str = "image") -> np.ndarray:
    """Return ``image`` unchanged if it is a ``float32 H x W x 3`` array in [0, 1].

    Raises:
        InvalidImageError: wrong type, dtype, shape, non-finite values or values out of range.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.float32:
        raise InvalidImageError(f"{name} must be float32 in [0, 1], got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImageError(f"{name} must have shape H x W x 3, got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidImageError(f"{name} is empty: shape {image.shape}")
    _check_range(image, name)
    return image


def check_mask(mask: object, shape: tuple[int, int] | None = None, name: str = "mask") -> np.ndarray:
    """Return ``mask`` unchanged if it is a ``float32 H x W`` array in [0, 1] (of ``shape`` if given)."""
    if not isinstance(mask, np.ndarray):
        raise InvalidImageError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.float32:
        raise InvalidImageError(f"{name} must be float32 in [0, 1], got dtype {mask.dtype}")
    if mask.ndim != 2:
        raise InvalidImageError(f"{name} must have shape H x W, got {mask.shape}")
    if shape is not None and mask.shape != tuple(shape):
        raise InvalidImageError(f"{name} has shape {mask.shape}, expected {tuple(shape)}")
    _check_range(mask, name)
    return mask


def _check_range(array: np.ndarray, name: str) -> None:
    # min and max carry any NaN through, and an infinity is the min or the max: two passes over
    # the array and no boolean copy of it (a 24 MP image is checked at every public entry)
    lo, hi = float(array.min()), float(array.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InvalidImageError(f"{name} contains NaN or infinite values")
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise InvalidImageError(f"{name} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")


def weighted_mean(values: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Mean of ``values`` weighted per pixel by ``weight`` (same shape, weights >= 0; ``None``: the
    plain mean). A weight summing to (nearly) zero gives 0.0, so an empty region reads as nothing."""
    if weight is None:
        return float(values.mean())
    total = float(weight.sum())
    return float((values * weight).sum() / total) if total > 1e-6 else 0.0


def psnr(reference: np.ndarray, estimate: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB of ``estimate`` against ``reference`` (both in [0, 1]).

    With ``mask`` (``H x W`` weights in [0, 1]) the mean squared error is weighted per pixel,
    which gives the PSNR of a soft region. Identical inputs give 100 dB (a finite cap).
    """
    diff = (reference.astype(np.float64) - estimate.astype(np.float64)) ** 2
    if diff.ndim == 3:
        diff = diff.mean(axis=2)
    if mask is None:
        mse = float(diff.mean())
    else:
        weight = float(mask.sum())
        if weight <= 0:
            raise InvalidImageError("mask is empty: cannot compute a regional PSNR")
        mse = float((diff * mask).sum() / weight)
    if mse <= 1e-10:
        return 100.0
    return float(10.0 * np.log10(1.0 / mse))


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004, Gaussian window) of two ``H x W x 3`` images in [0, 1]."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            reference, estimate, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False,
        )
    )
