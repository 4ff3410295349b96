"""Deblurring tools: total-variation (half-quadratic splitting) and Wiener deconvolution with an estimated kernel (reflect-padded, so borders do
not ring) for motion and defocus blur, and learned U-Nets for each.

Kernel estimation: the motion direction and length come from the power spectrum (the blur damps
it along the motion only: the angle is the phase of its second angular harmonic, the length the
kernel whose spectrum best explains the ratio of the power along and across the motion); the
defocus radius comes from the re-blur gradient ratio at edges (Zhuo & Sim 2011),
a disk of radius r having the spread of a Gaussian of sigma r / 2.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import scipy.fft
from pydantic import Field

from mosaicir.degrade.kernels import disk_kernel, motion_kernel
from mosaicir.degrade.models import luminance
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer

#: Bias of the re-blur radius estimate on natural edges, px.
DEFOCUS_BIAS_PX = 1.2
_LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], np.float32)


def psf_to_otf(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function of a centred ``psf`` for an image of ``shape`` (rfft2 layout)."""
    padded = np.zeros(shape, np.float32)
    kh, kw = psf.shape
    padded[:kh, :kw] = psf
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(padded)


def wiener_deconvolve(image: np.ndarray, psf: np.ndarray, balance: float) -> np.ndarray:
    """Wiener-Tikhonov deconvolution with a Laplacian regulariser, on a reflect-padded copy.

    Args:
        image: ``float32 H x W x 3`` in [0, 1].
        psf: centred blur kernel, sum 1.
        balance: regularisation weight (larger: smoother, fewer ringing artefacts).
    """
    pad = int(max(psf.shape) * 2 + 8)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    if padded.ndim == 2:  # OpenCV drops a single channel axis
        padded = padded[:, :, None]
    shape = padded.shape[:2]
    otf = psf_to_otf(psf, shape)
    reg = psf_to_otf(_LAPLACIAN, shape)
    filt = np.conj(otf) / (np.abs(otf) ** 2 + balance * np.abs(reg) ** 2)
    out = np.empty_like(padded)
    for c in range(padded.shape[2]):
        out[:, :, c] = np.fft.irfft2(np.fft.rfft2(padded[:, :, c]) * filt, s=shape)
    return out[pad:-pad, pad:-pad]


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


def tv_deconvolve(image: np.ndarray, psf: np.ndarray, weight: float = 3e-4, iterations: int = 8) -> np.ndarray:
    """Deconvolution under a total-variation prior by half-quadratic splitting (Krishnan & Fergus
    2009, with the L1 shrinkage of the gradients), on a reflect-padded copy.

    Minimises ``|k * x - y|^2 + weight |grad x|_1`` approximately: each iteration shrinks the
    gradients of the current estimate and solves the quadratic part exactly in the Fourier domain,
    with the splitting weight doubling from ``50 * weight``.

    Args:
        image: ``float32 H x W x C`` in [0, 1].
        psf: centred blur kernel, sum 1.
        weight: strength of the prior (larger: flatter, fewer ringing artefacts), about 1e-4 to 1e-2.
        iterations: splitting steps (each two FFTs per channel).

    Returns:
        ``float32 H x W x C``, not clipped.
    """
    pad = int(max(psf.shape) * 2 + 8)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    if padded.ndim == 2:
        padded = padded[:, :, None]
    shape = padded.shape[:2]
    otf = psf_to_otf(psf, shape)
    dx = psf_to_otf(np.array([[0, 0, 0], [0, -1, 1], [0, 0, 0]], np.float32), shape)
    dy = psf_to_otf(np.array([[0, 0, 0], [0, -1, 0], [0, 1, 0]], np.float32), shape)
    otf, dx, dy = otf.astype(np.complex64), dx.astype(np.complex64), dy.astype(np.complex64)
    blur_power = (np.abs(otf) ** 2).astype(np.float32)
    gradient_power = (np.abs(dx) ** 2 + np.abs(dy) ** 2).astype(np.float32)
    rfft2 = lambda a: scipy.fft.rfft2(a, workers=-1)
    irfft2 = lambda a: scipy.fft.irfft2(a, s=shape, workers=-1)
    out = np.empty_like(padded)
    for c in range(padded.shape[2]):
        numerator_data = np.conj(otf) * rfft2(padded[:, :, c])
        x = padded[:, :, c]
        for i in range(iterations):
            beta = np.float32(50.0 * weight * 2.0**i)
            spectrum = rfft2(x)
            gx, gy = irfft2(dx * spectrum), irfft2(dy * spectrum)
            shrink = np.float32(weight) / beta
            wx = np.sign(gx) * np.maximum(np.abs(gx) - shrink, 0.0)
            wy = np.sign(gy) * np.maximum(np.abs(gy) - shrink, 0.0)
            numerator = numerator_data + beta * (np.conj(dx) * rfft2(wx) + np.conj(dy) * rfft2(wy))
            x = irfft2(numerator / (blur_power + beta * gradient_power))
        out[:, :, c] = x
    return out[pad:-pad, pad:-pad].astype(np.float32)


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


class MotionKernelParams(ToolParams):
    length: float = Field(0.0, ge=0.0, le=48.0, description="motion length in px; 0 = estimate")
    angle: float = Field(0.0, ge=0.0, le=180.0, description="motion angle in degrees (used when length > 0)")


def linear_motion(image: np.ndarray) -> tuple[float, float] | None:
    """``(length_px, angle_deg)`` of the linear motion :func:`estimate_motion` finds in ``image``,
    or None when there is no clear motion (no fit, or shorter than ``MOTION_MIN_LENGTH``)."""
    length, angle, confidence = estimate_motion(image, max_length=30)
    return (length, angle) if confidence > 0 and length >= MOTION_MIN_LENGTH else None


def motion_kernel_for(image: np.ndarray, params: MotionKernelParams) -> np.ndarray | None:
    """The motion kernel given by ``params``, or estimated from ``image`` when ``params.length`` is
    0; None when there is no clear motion (deconvolving with a guessed kernel only rings)."""
    length, angle = params.length, params.angle
    if length <= 0:
        found = linear_motion(image)
        if found is None:
            return None
        length, angle = found
    if length < 2:
        return None
    return motion_kernel(length, angle, 0.4 * length)


class WienerMotionParams(MotionKernelParams):
    balance: float = Field(0.02, ge=1e-4, le=0.5, description="regularisation weight")


class WienerMotion(Tool):
    """Wiener deconvolution of linear motion blur with an estimated or given kernel."""

    name = "wiener_motion"
    checks_presence = True  # no linear motion in the spectrum: unchanged
    targets = ("motion_blur",)
    Params = WienerMotionParams
    seconds_per_megapixel = 0.2

    def _apply(self, image, params):
        kernel = motion_kernel_for(image, params)
        return image if kernel is None else wiener_deconvolve(image, kernel, params.balance)


class DeconvMotionParams(MotionKernelParams):
    weight: float = Field(3e-4, ge=1e-5, le=1e-2, description="total-variation weight (larger: flatter, less ringing)")
    iterations: int = Field(8, ge=1, le=16, description="half-quadratic splitting steps")


class DeconvMotion(Tool):
    """Total-variation deconvolution of linear motion blur (half-quadratic splitting) with a
    kernel estimated from the power spectrum or given."""

    name = "deconv_motion"
    checks_presence = True  # no linear motion in the spectrum: unchanged
    targets = ("motion_blur",)
    Params = DeconvMotionParams
    seconds_per_megapixel = 1.3

    def _apply(self, image, params):
        kernel = motion_kernel_for(image, params)
        return image if kernel is None else tv_deconvolve(image, kernel, params.weight, params.iterations)


class WienerDefocusParams(ToolParams):
    radius: float = Field(0.0, ge=0.0, le=12.0, description="defocus disk radius in px; 0 = estimate")
    balance: float = Field(0.0, ge=0.0, le=0.5, description="regularisation weight; 0 = 5e-4 * radius^2")
    motion_check: bool = Field(True, description="leave the image unchanged when its spectrum shows linear motion")


class WienerDefocus(Tool):
    """Wiener deconvolution of defocus blur with a disk kernel of estimated or given radius. An
    image whose blur is directional (linear motion read from its spectrum) is left unchanged: a
    disk kernel deconvolves motion blur into ringing (`tests/test_tools.py`)."""

    name = "wiener_defocus"
    checks_presence = True  # linear motion in the spectrum: the blur is not defocus
    targets = ("defocus_blur",)
    Params = WienerDefocusParams
    seconds_per_megapixel = 0.22

    def params_for(self, severity: float) -> WienerDefocusParams:
        return WienerDefocusParams(radius=6.0 * severity)

    def _apply(self, image, params):
        radius = params.radius if params.radius > 0 else estimate_defocus_radius(image)
        if radius < 0.75 or (params.motion_check and linear_motion(image) is not None):
            return image
        balance = params.balance or 5e-4 * radius**2
        return wiener_deconvolve(image, disk_kernel(radius), balance)


class DeblurMotionNet(OnnxRestorer):
    """Blind motion deblurring U-Net."""

    name = "deblur_motion_unet"
    targets = ("motion_blur",)
    model_file = "deblur_motion_unet.onnx"
    seconds_per_megapixel = 0.34


class DeblurDefocusNet(OnnxRestorer):
    """Blind defocus deblurring U-Net."""

    name = "deblur_defocus_unet"
    targets = ("defocus_blur",)
    model_file = "deblur_defocus_unet.onnx"
    seconds_per_megapixel = 0.32
