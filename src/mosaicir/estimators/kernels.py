"""Blur kernels shared by the degradation models and the deblurring tools."""

from __future__ import annotations

import math

import cv2
import numpy as np


def motion_kernel(length: float, angle_deg: float, profile_sigma: float | None = None) -> np.ndarray:
    """Linear motion-blur kernel, normalised to sum 1.

    Args:
        length: extent of the motion in pixels (>= 1).
        angle_deg: direction in degrees, counter-clockwise from the +x axis.
        profile_sigma: if given, weights along the path follow a Gaussian of this standard
            deviation (pixels) instead of being uniform (an object accelerating and slowing).

    Returns:
        ``float32 K x K`` array, K odd, centred.
    """
    length = max(float(length), 1.0)
    size = int(math.ceil(length)) + 2
    size += 1 - size % 2
    centre = (size - 1) / 2.0
    kernel = np.zeros((size, size), np.float64)
    steps = max(int(length * 8), 2)
    t = np.linspace(-(length - 1) / 2.0, (length - 1) / 2.0, steps)
    weights = np.ones_like(t) if not profile_sigma else np.exp(-0.5 * (t / profile_sigma) ** 2)
    theta = math.radians(angle_deg)
    xs = centre + t * math.cos(theta)
    ys = centre - t * math.sin(theta)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), w * weights)
    return (kernel / kernel.sum()).astype(np.float32)


def disk_kernel(radius: float, supersample: int = 8) -> np.ndarray:
    """Anti-aliased uniform disk (defocus point-spread function) of ``radius`` pixels, sum 1.

    Returns:
        ``float32 K x K`` array, K = 2 * ceil(radius) + 1.
    """
    radius = max(float(radius), 0.5)
    half = int(math.ceil(radius))
    size = 2 * half + 1
    fine = (np.arange(size * supersample) + 0.5) / supersample - half - 0.5
    yy, xx = np.meshgrid(fine, fine, indexing="ij")
    inside = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    kernel = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return (kernel / kernel.sum()).astype(np.float32)


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel of ``H x W x C`` float32 with ``kernel`` (reflected borders)."""
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return cv2.filter2D(image, -1, flipped, borderType=cv2.BORDER_REFLECT_101)
