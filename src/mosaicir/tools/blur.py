"""Deblurring tools: Wiener deconvolution with an estimated kernel (reflect-padded, so borders do
not ring) for motion and defocus blur, and learned U-Nets for each.

Kernel estimation: the motion direction is the one of least directional-derivative energy and
its length the lag of the most negative autocorrelation of that derivative (Yitzhaky & Kopeika
1997); the defocus radius comes from the re-blur gradient ratio at edges (Zhuo & Sim 2011),
a disk of radius r having the spread of a Gaussian of sigma r / 2.
"""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.degrade.kernels import disk_kernel, motion_kernel
from mosaicir.degrade.models import luminance
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer

#: Directional anisotropy below which no motion blur is assumed (sharp photographs read 0.2-0.25).
MOTION_MIN_CONFIDENCE = 0.3
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


def estimate_motion(image: np.ndarray, max_length: int = 40) -> tuple[float, float, float]:
    """Estimate linear motion blur: ``(length_px, angle_deg, confidence)``.

    Angle in [0, 180) counter-clockwise from +x; confidence in [0, 1] is the relative anisotropy
    of the directional derivative energy (near 0 for an unblurred or isotropically blurred image).
    """
    grey = luminance(image)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    angles = np.arange(0, 180, 3.0)
    energy = np.array([np.abs(np.cos(np.radians(a)) * gx - np.sin(np.radians(a)) * gy).mean() for a in angles])
    best = int(energy.argmin())
    angle = float(angles[best])
    confidence = float(np.clip(1.0 - energy.min() / max(energy.max(), 1e-8), 0.0, 1.0))
    theta = np.radians(angle)
    deriv = np.cos(theta) * gx - np.sin(theta) * gy
    deriv = deriv - deriv.mean()
    height, width = deriv.shape
    margin = max_length + 2
    core = deriv[margin:height - margin, margin:width - margin]
    if core.size < 100:
        return 0.0, angle, 0.0
    corr = []
    for lag in range(1, max_length + 1):
        dx, dy = lag * np.cos(theta), -lag * np.sin(theta)
        shift = np.float32([[1, 0, -dx], [0, 1, -dy]])
        moved = cv2.warpAffine(deriv, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        corr.append(float((core * moved[margin:height - margin, margin:width - margin]).mean()))
    corr = np.array(corr) / max(float((core * core).mean()), 1e-12)
    lag = int(np.argmin(corr[2:])) + 3
    return float(lag), angle, confidence


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


class WienerMotionParams(ToolParams):
    length: float = Field(0.0, ge=0.0, le=48.0, description="motion length in px; 0 = estimate")
    angle: float = Field(0.0, ge=0.0, le=180.0, description="motion angle in degrees (used when length > 0)")
    balance: float = Field(0.02, ge=1e-4, le=0.5, description="regularisation weight")


class WienerMotion(Tool):
    """Wiener deconvolution of linear motion blur with an estimated or given kernel."""

    name = "wiener_motion"
    targets = ("motion_blur",)
    Params = WienerMotionParams
    seconds_per_megapixel = 0.45

    def _apply(self, image, params):
        length, angle = params.length, params.angle
        if length <= 0:
            length, angle, confidence = estimate_motion(image, max_length=30)
            if confidence < MOTION_MIN_CONFIDENCE:
                return image  # no clear direction: deconvolving with a guessed kernel only rings
        if length < 2:
            return image
        return wiener_deconvolve(image, motion_kernel(length, angle, 0.4 * length), params.balance)


class WienerDefocusParams(ToolParams):
    radius: float = Field(0.0, ge=0.0, le=12.0, description="defocus disk radius in px; 0 = estimate")
    balance: float = Field(0.0, ge=0.0, le=0.5, description="regularisation weight; 0 = 5e-4 * radius^2")


class WienerDefocus(Tool):
    """Wiener deconvolution of defocus blur with a disk kernel of estimated or given radius."""

    name = "wiener_defocus"
    targets = ("defocus_blur",)
    Params = WienerDefocusParams
    seconds_per_megapixel = 0.19

    def params_for(self, severity: float) -> WienerDefocusParams:
        return WienerDefocusParams(radius=6.0 * severity)

    def _apply(self, image, params):
        radius = params.radius if params.radius > 0 else estimate_defocus_radius(image)
        if radius < 0.75:
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
