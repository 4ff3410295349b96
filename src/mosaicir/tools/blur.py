"""Deblurring tools: total-variation (half-quadratic splitting) and Wiener deconvolution with an estimated kernel (reflect-padded, so borders do
not ring) for motion and defocus blur, and learned U-Nets for each.

Kernel estimation: the motion direction and length come from the power spectrum (the blur damps
it along the motion only: the angle is the phase of its second angular harmonic, the length the
kernel whose spectrum best explains the ratio of the power along and across the motion); the
defocus radius comes from the re-blur gradient ratio at edges (Zhuo & Sim 2011),
a disk of radius r having the spread of a Gaussian of sigma r / 2.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.fft
from pydantic import Field

from mosaicir.core.severity import defocus_radius
from mosaicir.estimators.blur import MOTION_MIN_LENGTH, estimate_defocus_radius, estimate_motion
from mosaicir.estimators.kernels import disk_kernel, motion_kernel
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer

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
    capped: bool = Field(True, description="a given radius at most the blur the image shows "
                         "(estimate_defocus_radius + DEFOCUS_ESTIMATE_MARGIN); the image left unchanged "
                         "when that is below DEFOCUS_PRESENT_SHARE of the given radius")


#: The defocus estimate (:func:`estimate_defocus_radius`) reads a disk of radius r as about
#: r - 0.7 px (median over 14 McMaster and CSet14 photographs, r 1.5-6). A planned radius above
#: estimate + this margin deconvolves blur the image does not have: a disk 25% too large turned a
#: +4 dB step into -0.7 to -1.6 dB, and after super-resolution, on motion blur read as defocus, a
#: radius of 4 px lost 2.4 dB (``mio-a``; capped: +2.3 and -0.3 dB; docs/BENCHMARKS.md).
DEFOCUS_ESTIMATE_MARGIN = 0.7
#: When the blur the image shows (estimate + margin) is below this share of the planned radius, the
#: plan was wrong about defocus (a sharp frame read as soft, motion blur after super-resolution):
#: the image is left unchanged, and the expert tries no other defocus tool. Costs 0.4-1 dB against
#: the cap alone only where the plan is 60% too large (``scripts/defocus_cap.py``).
DEFOCUS_PRESENT_SHARE = 0.6


class WienerDefocus(Tool):
    """Wiener deconvolution of defocus blur with a disk kernel of estimated or given radius. An
    image whose blur is directional (linear motion read from its spectrum) is left unchanged: a
    disk kernel deconvolves motion blur into ringing (`tests/test_tools.py`). A given radius is
    capped by the blur the image shows (``capped``, ``DEFOCUS_ESTIMATE_MARGIN``): the planned one
    comes from the severity perceived before earlier steps, and a disk larger than the blur rings;
    far less blur than planned leaves the image unchanged (``DEFOCUS_PRESENT_SHARE``)."""

    name = "wiener_defocus"
    checks_presence = True  # linear motion in the spectrum, or far less blur than planned: no defocus here
    targets = ("defocus_blur",)
    Params = WienerDefocusParams
    seconds_per_megapixel = 0.22

    def params_for(self, severity: float) -> WienerDefocusParams:
        return WienerDefocusParams(radius=defocus_radius(severity))

    def _apply(self, image, params):
        radius = params.radius if params.radius > 0 else estimate_defocus_radius(image)
        if params.radius > 0 and params.capped:
            shown = estimate_defocus_radius(image) + DEFOCUS_ESTIMATE_MARGIN
            if shown < DEFOCUS_PRESENT_SHARE * radius:
                return image
            radius = min(radius, shown)
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
