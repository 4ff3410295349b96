"""Blur estimates: the motion direction and length from the power spectrum (the blur damps it along
the motion only: the angle is the phase of its second angular harmonic, the length the kernel whose
spectrum best explains the ratio of the power along and across the motion); the defocus radius from
the re-blur gradient ratio at edges (Zhuo & Sim 2011), a disk of radius r having the spread of a
Gaussian of sigma r / 2. Used by the deblurring tools and by perception."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from mosaicir.estimators.colour import luminance


#: Bias of the re-blur radius estimate on natural edges, px.
DEFOCUS_BIAS_PX = 1.2


#: Radial frequency bands (radians per pixel) of the spectral motion estimate.
_BAND_EDGES = np.linspace(0.05, np.pi, 49)


_BAND_CENTRES = (_BAND_EDGES[:-1] + _BAND_EDGES[1:]) / 2


#: Fit error of the spectral model above which no motion estimate is trusted.
MOTION_MAX_FIT_ERROR = 2.5


#: Shortest estimated motion acted upon, px (sharp photographs read 2-4.5 px).
MOTION_MIN_LENGTH = 5.0


def _motion_profile_power(length: float, ratio: float = 0.4) -> np.ndarray:
    """``|K(w)|^2`` over the radial bands of a motion kernel of ``length`` px seen along its
    direction: a path weighted by a Gaussian of sigma ``ratio * length`` (as ``motion_kernel``)."""
    t = np.linspace(-(length - 1) / 2.0, (length - 1) / 2.0, max(int(length * 8), 2))
    weights = np.exp(-0.5 * (t / (ratio * length)) ** 2)
    weights /= weights.sum()
    return np.abs((weights[None, :] * np.exp(-1j * np.outer(_BAND_CENTRES, t))).sum(axis=1)) ** 2


_LENGTHS = np.arange(2.0, 48.5, 0.5)


@functools.lru_cache(maxsize=1)
def _profile_table() -> np.ndarray:
    """``len(_LENGTHS) x bands``: kernel power of every candidate length (computed once)."""
    return np.stack([_motion_profile_power(length) for length in _LENGTHS])


def _polar_spectrum(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrum of a Hann-windowed ``grey`` image binned by direction (1 degree, 0-180,
    counter-clockwise from +x with y up) and radial band: ``(sum, count, mean log power)``."""
    height, width = grey.shape
    g = grey.astype(np.float64) - float(grey.mean())
    power = np.abs(np.fft.fft2(g * np.outer(np.hanning(height), np.hanning(width)))) ** 2
    fx, fy = np.meshgrid(np.fft.fftfreq(width) * 2 * np.pi, np.fft.fftfreq(height) * 2 * np.pi)
    band = np.digitize(np.hypot(fx, fy), _BAND_EDGES) - 1
    direction = np.minimum((np.degrees(np.arctan2(-fy, fx)) % 180).astype(int), 179)
    ok = (band >= 0) & (band < len(_BAND_CENTRES))
    index = direction[ok] * len(_BAND_CENTRES) + band[ok]
    size, shape = 180 * len(_BAND_CENTRES), (180, len(_BAND_CENTRES))
    total = np.bincount(index, power[ok], minlength=size).reshape(shape)
    count = np.bincount(index, minlength=size).reshape(shape)
    log_total = np.bincount(index, np.log(power[ok] + 1e-20), minlength=size).reshape(shape)
    return total, count, log_total / np.maximum(count, 1)


def _wedge(total: np.ndarray, count: np.ndarray, centre: float, half_width: int = 10) -> np.ndarray:
    rows = np.arange(int(round(centre)) - half_width, int(round(centre)) + half_width + 1) % 180
    return total[rows].sum(axis=0) / np.maximum(count[rows].sum(axis=0), 1)


def estimate_motion(image: np.ndarray, max_length: int = 40) -> tuple[float, float, float]:
    """Estimate linear motion blur from the power spectrum: ``(length_px, angle_deg, confidence)``.

    Motion blur along a direction damps the spectrum along that direction only. The angle is the
    phase of the second angular harmonic of the log power spectrum over mid frequencies; the
    length is the one whose kernel spectrum best explains the ratio of the power along the motion
    to the power across it (above the noise floor, read at the highest frequencies along the
    motion); among near-equal fits (within 15%) the shortest is taken, since over-estimating a
    kernel rings far more than under-estimating it. Angle in [0, 180) counter-clockwise from +x;
    confidence in [0, 1] falls with the misfit of the spectral model (0 when it does not hold).
    """
    grey = luminance(image)
    if min(grey.shape) < 32:
        return 0.0, 0.0, 0.0
    total, count, log_power = _polar_spectrum(grey)
    directions = np.radians(np.arange(180) + 0.5)
    profile = log_power[:, (_BAND_CENTRES > 0.3) & (_BAND_CENTRES < 1.2)].mean(axis=1)
    c2, s2 = float((profile * np.cos(2 * directions)).mean()), float((profile * np.sin(2 * directions)).mean())
    angle = float((np.degrees(np.arctan2(s2, c2)) / 2 + 90.0) % 180.0)
    along, across = _wedge(total, count, angle), _wedge(total, count, angle + 90.0)
    floor = float(np.median(along[_BAND_CENTRES > 2.4]))
    valid = (_BAND_CENTRES < 2.4) & (across > 4 * floor)
    if valid.sum() < 6:
        return 0.0, angle, 0.0
    predicted = _profile_table() * (across - floor)[None, :] + floor
    with np.errstate(divide="ignore"):  # an empty wedge bin (log 0) makes that length's misfit infinite
        misfit = ((np.log(along[None, valid]) - np.log(predicted[:, valid])) ** 2).mean(axis=1)
    misfit[_LENGTHS > max_length] = np.inf
    best = int(np.flatnonzero(misfit <= 1.15 * misfit.min())[0])
    confidence = float(np.clip(1.0 - misfit[best] / MOTION_MAX_FIT_ERROR, 0.0, 1.0))
    return float(_LENGTHS[best]), angle, confidence


def estimate_defocus_radius(image: np.ndarray, reblur_sigma: float = 1.0) -> float:
    """Defocus disk radius in pixels from the re-blur gradient ratio at strong edges (0 if sharp)."""
    grey = luminance(image)
    grad = lambda g: np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    g0 = grad(grey)
    g1 = grad(cv2.GaussianBlur(grey, (0, 0), reblur_sigma))
    edges = cv2.Canny((np.clip(grey, 0, 1) * 255).astype(np.uint8), 30, 90) > 0
    edges &= g0 > np.percentile(g0, 90)
    if edges.sum() < 20:
        return 0.0
    ratio = g0[edges] / np.maximum(g1[edges], 1e-6)
    ratio = ratio[ratio > 1.01]
    if ratio.size < 10:
        return 0.0
    sigma = reblur_sigma / np.sqrt(ratio ** 2 - 1.0)
    # edges of natural images are not ideal steps: a sharp image reads as r ~ 1.5, and the
    # reading exceeds the true radius by about 1.2 px over the range 1.5-6 (measured on the
    # bundled images); subtract that bias.
    return float(np.clip(2.0 * np.median(sigma) - DEFOCUS_BIAS_PX, 0.0, 12.0))
